/* Live pipeline state from received messages (see livestate.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "layout.h"
#include "livestate.h"

static bool same_alert(const struct dw_msg_alert *a, const struct dw_msg_alert *b)
{
    return a->id == b->id && !strcmp(a->rule, b->rule) && !strcmp(a->device, b->device);
}

static void track_alert(struct dw_live *l, const struct dw_msg_alert *a)
{
    unsigned i;
    for (i = 0; i < l->n_active; i++)
        if (same_alert(&l->active[i], a))
            break;
    if (!strcmp(a->state, "cleared")) {
        if (i < l->n_active)
            l->active[i] = l->active[--l->n_active];
        return;
    }
    if (i == l->n_active) {
        if (l->n_active >= DW_LIVE_MAX_ACTIVE)
            return;
        l->n_active++;
    }
    l->active[i] = *a;
}

static bool same_device(struct dw_live *l, const char *dev)
{
    if (l->any_device)
        return true;
    if (!l->device[0])
        snprintf(l->device, sizeof(l->device), "%s", dev);
    return !strcmp(l->device, dev);
}

static void taken(struct dw_live *l, enum dw_live_kind k, const struct dw_sub_msg *m)
{
    l->kind = k;
    if (l->cb)
        l->cb(l, k, m->body, m->len, l->cb_user);
}

static int on_frame(const struct dw_sub_msg *m, const struct dw_msg_frame *f, void *user)
{
    struct dw_live *l = user;
    int r = 0;
    if (!same_device(l, m->dev->id))
        return -ENOENT; /* not this device's HELLO: not taken */
    l->frames_seen++;
    if (f->type == DW_FRAME_HELLO) {
        struct dw_hello h;
        if ((r = dw_hello_parse(f->payload, f->len, &h)) == 0) {
            l->hello = h;
            l->have_hello = true;
        }
    } else if (f->type == DW_FRAME_SAMPLE) {
        struct dw_sample s;
        if (dw_sample_parse(f->payload, f->len, &s) == 0 && s.n_zones == l->hello.n_zones) {
            l->sample = s;
            l->have_sample = true;
            l->sample_t_device_us = f->t_device_us;
            l->sample_t_host_ns = f->t_host_ns;
        }
    }
    taken(l, DW_LIVE_FRAME, m);
    return r;
}

static void on_stats(const struct dw_sub_msg *m, const struct dw_msg_stats *s, void *user)
{
    struct dw_live *l = user;
    if (same_device(l, m->dev->id)) {
        l->stats = *s;
        l->have_stats = true;
        taken(l, DW_LIVE_STATS, m);
    }
}

static void on_event(const struct dw_sub_msg *m, const struct dw_msg_event *e, void *user)
{
    if (same_device(user, m->dev->id)) {
        struct dw_live *l = user;
        l->last_event = *e;
        l->have_event = true;
        taken(l, DW_LIVE_EVENT, m);
    }
}

static void on_alert(const struct dw_sub_msg *m, const struct dw_msg_alert *a, void *user)
{
    struct dw_live *l = user;
    if (!same_device(l, m->dev->id))
        return;
    l->last_alert = *a;
    l->alerts_seen++;
    track_alert(l, a);
    dw_alert_count(&l->counts, a);
    taken(l, DW_LIVE_ALERT, m);
}

void dw_live_init(struct dw_live *l)
{
    static const struct dw_sub_handlers h = {
        .on_frame = on_frame, .on_event = on_event, .on_stats = on_stats, .on_alert = on_alert,
    };
    memset(l, 0, sizeof(*l));
    dw_layout_default(&l->hello, "", "", 10);
    dw_stream_sub_init(&l->sub, &h, 0, l);
}

void dw_live_fini(struct dw_live *l)
{
    dw_stream_sub_fini(&l->sub);
}

enum dw_live_kind dw_live_handle(struct dw_live *l, const char *topic, size_t tlen,
                                 const uint8_t *body, size_t blen)
{
    l->kind = DW_LIVE_NONE;
    l->cb = NULL;
    dw_stream_sub_handle(&l->sub, topic, tlen, body, blen);
    return l->kind;
}

int dw_live_drain(struct dw_live *l, void *sub, dw_live_cb cb, void *user)
{
    int handled = 0, r;
    l->cb = cb;
    l->cb_user = user;
    do {
        l->kind = DW_LIVE_NONE;
        r = dw_stream_sub_recv(&l->sub, sub, ZMQ_DONTWAIT);
        handled += l->kind != DW_LIVE_NONE;
    } while (r > 0);
    l->cb = NULL;
    return r < 0 ? r : handled;
}
