/* Live pipeline state from received messages (see livestate.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "layout.h"
#include "livestate.h"

void dw_live_init(struct dw_live *l)
{
    memset(l, 0, sizeof(*l));
    dw_layout_default(&l->hello, "", "", 10);
}

static void track_alert(struct dw_live *l, const struct dw_alert_info *a)
{
    unsigned i;
    for (i = 0; i < l->n_active; i++)
        if (!strcmp(l->active[i].id, a->id) && !strcmp(l->active[i].rule, a->rule))
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

enum dw_live_kind dw_live_handle(struct dw_live *l, const char *topic, size_t tlen,
                                 const uint8_t *body, size_t blen)
{
    char kind[16], dev[DW_ID_LEN + 1];
    uint64_t seq, stream;

    if (!dw_topic_split(topic, tlen, kind, sizeof(kind), dev, sizeof(dev)))
        return DW_LIVE_NONE;
    if (!strcmp(kind, "frame")) {
        struct dw_msg_frame m;
        if (dw_msg_frame_parse(body, blen, &m) < 0 || !same_device(l, dev))
            return DW_LIVE_NONE;
        /* A HELLO replayed after a few live messages (docs/messages.md
         * section 8) is a duplicate by seq; without it the samples would be
         * read with the default layout. */
        if (dw_seq_check(&l->acq, m.stream, m.seq) == DW_SEQ_DUP &&
            !(m.type == DW_FRAME_HELLO && !l->have_hello))
            return DW_LIVE_NONE;
        l->frames_seen++;
        if (m.type == DW_FRAME_HELLO) {
            struct dw_hello h;
            if (dw_hello_parse(m.payload, m.len, &h) == 0) {
                l->hello = h;
                l->have_hello = true;
            }
        } else if (m.type == DW_FRAME_SAMPLE) {
            struct dw_sample s;
            if (dw_sample_parse(m.payload, m.len, &s) == 0 && s.n_zones == l->hello.n_zones) {
                l->sample = s;
                l->have_sample = true;
                l->sample_t_device_us = m.t_device_us;
                l->sample_t_host_ns = m.t_host_ns;
            }
        }
        return DW_LIVE_FRAME;
    }
    if (!strcmp(kind, "stats")) {
        struct dw_msg_stats s;
        if (dw_msg_stats_parse((const char *)body, blen, &s) < 0 || !same_device(l, dev))
            return DW_LIVE_NONE;
        if (dw_seq_check(&l->acq, s.stream, s.seq) == DW_SEQ_DUP)
            return DW_LIVE_NONE;
        l->stats = s;
        l->have_stats = true;
        return DW_LIVE_STATS;
    }
    if (!strcmp(kind, "event")) {
        struct dw_msg_event e;
        if (dw_msg_event_parse((const char *)body, blen, &e, NULL) < 0 || !same_device(l, dev))
            return DW_LIVE_NONE;
        if (dw_seq_check(&l->acq, e.stream, e.seq) == DW_SEQ_DUP)
            return DW_LIVE_NONE;
        l->last_event = e;
        l->have_event = true;
        return DW_LIVE_EVENT;
    }
    if (!strcmp(kind, "alert")) {
        struct dw_alert_info a;
        if (dw_alert_parse((const char *)body, blen, &a) < 0 || !same_device(l, dev))
            return DW_LIVE_NONE;
        if (dw_msg_json_seq((const char *)body, blen, &seq, &stream) == 0 &&
            dw_seq_check(&l->det, stream, seq) == DW_SEQ_DUP)
            return DW_LIVE_NONE;
        l->last_alert = a;
        l->alerts_seen++;
        track_alert(l, &a);
        dw_alert_count(&l->counts, &a);
        return DW_LIVE_ALERT;
    }
    return DW_LIVE_NONE;
}

int dw_live_drain(struct dw_live *l, void *sub, dw_live_cb cb, void *user)
{
    static uint8_t body[65536];
    char topic[DW_TOPIC_MAX + 1];
    int handled = 0;

    for (;;) {
        int more = 0, tn, bn;
        size_t ml = sizeof(more);
        tn = zmq_recv(sub, topic, sizeof(topic) - 1, ZMQ_DONTWAIT);
        if (tn < 0)
            break;
        if (zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml) < 0 || !more)
            continue;
        bn = zmq_recv(sub, body, sizeof(body), ZMQ_DONTWAIT);
        /* Swallow any further parts: not ours. */
        while (zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml) == 0 && more) {
            char junk[64];
            zmq_recv(sub, junk, sizeof(junk), ZMQ_DONTWAIT);
        }
        if (bn < 0 || (size_t)bn > sizeof(body) || (size_t)tn > sizeof(topic) - 1)
            continue;
        topic[tn] = 0;
        enum dw_live_kind k = dw_live_handle(l, topic, (size_t)tn, body, (size_t)bn);
        if (k != DW_LIVE_NONE) {
            handled++;
            if (cb)
                cb(l, k, body, (size_t)bn, user);
        }
    }
    return handled;
}
