/* The hub: stream messages in, garment state and SSE text out (hub.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dwtime.h"
#include "hub.h"
#include "layout.h"

#define TEMP_BAD (0x01 | 0x04) /* TEMP_FAULT, TEMP_RAIL (docs/protocol.md) */
#define PRES_BAD (0x02 | 0x08) /* PRES_FAULT, PRES_SAT */

static struct dw_hub_device *dev_of(const struct dw_sub_msg *m)
{
    return (struct dw_hub_device *)m->dev;
}

static void rules_forget(struct dw_hub_device *d)
{
    for (unsigned z = 0; z < DW_MAX_ZONES; z++)
        d->rule_dl[z] = d->rule_r[z] = NAN;
    d->rule_minute = 0;
}

static void device_setup(struct dw_hub *h, struct dw_hub_device *d)
{
    if (!d->ready) {
        /* a new entry (zeroed), the newest in the table */
        d->ready = true;
        d->index = dw_stream_sub_count(&h->sub) - 1;
        d->link_up = true;
        dw_layout_default(&d->hello, d->sub.id, "", 10);
        rules_forget(d);
    }
}

/* The first message of each stream: whatever came before it was sent
 * before this server subscribed (counted apart from losses). */
static void joined(struct dw_hub_device *d, bool alert)
{
    if (alert && !d->det_joined) {
        d->det_joined = true;
        d->det_before = d->sub.det.missing;
    } else if (!alert && !d->acq_joined) {
        d->acq_joined = true;
        d->acq_before = d->sub.acq.missing;
    }
}

static void values_from_sample(struct dw_hub_device *d, const struct dw_sample *s)
{
    for (unsigned z = 0; z < d->hello.n_zones; z++) {
        d->status[z] = s->status[z];
        d->t_c[z] = s->status[z] & TEMP_BAD ? NAN : (float)dw_sample_temp_c(&d->hello, s, z);
        d->p_kpa[z] = s->status[z] & PRES_BAD ? NAN
                                              : (float)dw_sample_pressure_kpa(&d->hello, s, z);
    }
    for (unsigned i = 0; i < DW_N_AMBIENT; i++)
        d->ambient_c[i] = (float)dw_sample_ambient_c(&d->hello, s, i);
}

/* The detector's values change only when it closes a device minute, which
 * a sample of the next minute does: read them once a minute. */
static void rules_sample(struct dw_hub *h, struct dw_hub_device *d, uint64_t t_device_us,
                         const struct dw_sample *s)
{
    uint64_t minute = t_device_us / 60000000u + 1;
    if (!h->det)
        return;
    dw_detector_sample(h->det, d->sub.id, t_device_us, s);
    if (minute == d->rule_minute)
        return;
    d->rule_minute = minute;
    for (unsigned z = 0; z < d->hello.n_zones; z++) {
        struct dw_detector_zone dz;
        bool ok = dw_detector_zone(h->det, d->sub.id, z, &dz) == 0;
        d->rule_dl[z] = ok ? (float)dz.dl : NAN;
        d->rule_r[z] = ok ? (float)dz.r : NAN;
    }
}

static int take_hello(struct dw_hub *h, struct dw_hub_device *d, const struct dw_msg_frame *f)
{
    struct dw_hello hl;
    if (dw_hello_parse(f->payload, f->len, &hl) < 0)
        return -EBADMSG;
    if (d->trend && (hl.n_zones != d->hello.n_zones ||
                     memcmp(hl.zone, d->hello.zone, sizeof(hl.zone)))) {
        dw_trend_free(d->trend); /* another layout: its minutes mean nothing now */
        d->trend = NULL;
    }
    d->hello = hl;
    d->have_hello = true;
    if (h->det)
        dw_detector_hello(h->det, d->sub.id, &hl);
    rules_forget(d);
    d->have_sample = false;
    if (!d->trend)
        d->trend = dw_trend_new(&d->hello);
    return d->trend ? 0 : -ENOMEM;
}

static int on_frame(const struct dw_sub_msg *m, const struct dw_msg_frame *f, void *user)
{
    struct dw_hub *h = user;
    struct dw_hub_device *d = dev_of(m);
    struct dw_sample s;

    device_setup(h, d);
    /* a late subscriber gets acquire's pinned HELLO, then a jump to the
     * oldest message kept: that jump is no loss either */
    if (f->type != DW_FRAME_HELLO)
        joined(d, false);
    if (f->type == DW_FRAME_HELLO)
        return take_hello(h, d, f);
    if (f->type == DW_FRAME_STATUS) {
        d->have_status = dw_status_parse(f->payload, f->len, &d->battery) == 0;
        return 0;
    }
    if (f->type != DW_FRAME_SAMPLE || !d->have_hello || !d->trend ||
        dw_sample_parse(f->payload, f->len, &s) < 0 || s.n_zones != d->hello.n_zones)
        return 0;
    values_from_sample(d, &s);
    d->have_sample = d->dirty = true;
    d->sample_t_us = f->t_device_us;
    d->sample_host_ns = f->t_host_ns;
    d->samples++;
    dw_trend_add(d->trend, f->t_device_us, d->t_c, d->p_kpa);
    rules_sample(h, d, f->t_device_us, &s);
    return 0;
}

void dw_hub_sse_begin(struct dw_strbuf *b, const char *name)
{
    dw_strbuf_printf(b, "event: %s\ndata: ", name);
}

void dw_hub_sse_end(struct dw_strbuf *b)
{
    dw_strbuf_puts(b, "\n\n");
}

static struct dw_hub_event *event_slot(struct dw_hub *h, unsigned i)
{
    return &h->ev[(h->ev_head + DW_HUB_EVENTS - h->ev_n + i) % DW_HUB_EVENTS];
}

const struct dw_hub_event *dw_hub_event_at(const struct dw_hub *h, unsigned i)
{
    return &h->ev[(h->ev_head + DW_HUB_EVENTS - h->ev_n + i) % DW_HUB_EVENTS];
}

const struct dw_hub_alert *dw_hub_alert_at(const struct dw_hub *h, unsigned i)
{
    return &h->al[(h->al_head + DW_HUB_ALERTS - h->al_n + i) % DW_HUB_ALERTS];
}

static struct dw_hub_event *add_event(struct dw_hub *h, struct dw_hub_device *d,
                                      const struct dw_msg_event *e, bool from_file)
{
    struct dw_hub_event *x = &h->ev[h->ev_head];
    h->ev_head = (h->ev_head + 1) % DW_HUB_EVENTS;
    if (h->ev_n < DW_HUB_EVENTS)
        h->ev_n++;
    memset(x, 0, sizeof(*x));
    x->it.order = ++h->ev_order;
    x->it.dev = d->index;
    x->from_file = from_file;
    x->e = *e;
    return x;
}

/* The event a cancel names: its seq, in the same stream (or from the
 * session file of the same garment, which keeps no stream id), the
 * newest such one before the cancel. */
static void apply_cancel(struct dw_hub *h, struct dw_hub_device *d, const struct dw_msg_event *c)
{
    if (!c->has_value || c->value < 1)
        return;
    for (unsigned i = h->ev_n; i-- > 0;) {
        struct dw_hub_event *x = event_slot(h, i);
        if (x->it.dev == d->index && (double)x->e.seq == c->value &&
            (x->from_file || x->e.stream == c->stream) && x->e.kind != DW_EV_CANCEL) {
            x->cancelled = true;
            return;
        }
    }
}

static void set_acked(struct dw_hub *h, struct dw_hub_device *d, uint64_t id)
{
    for (unsigned i = 0; i < d->n_active; i++)
        if (d->active[i].a.id == id && !d->active[i].acked) {
            d->active[i].acked = true;
            dw_hub_sse_begin(&h->out, "alert");
            dw_hub_json_alert(h, &d->active[i], &h->out);
            dw_hub_sse_end(&h->out);
        }
    for (unsigned i = 0; i < h->al_n; i++) {
        struct dw_hub_alert *x = (struct dw_hub_alert *)dw_hub_alert_at(h, i);
        if (x->it.dev == d->index && x->a.id == id)
            x->acked = true;
    }
}

/* What an event says about the garment and the other events. */
static void event_effects(struct dw_hub *h, struct dw_hub_device *d, const struct dw_msg_event *e)
{
    switch (e->kind) {
    case DW_EV_CANCEL:
        apply_cancel(h, d, e);
        break;
    case DW_EV_ALERT_SEEN: {
        char *end;
        unsigned long long id = strtoull(e->text, &end, 10);
        if (e->text[0] && !*end)
            set_acked(h, d, id);
        break;
    }
    case DW_EV_LINK_DOWN:
    case DW_EV_LINK_UP:
        d->link_up = e->kind == DW_EV_LINK_UP;
        d->link_since_ns = e->t_host_ns;
        snprintf(d->link_why, sizeof(d->link_why), "%s", e->text);
        break;
    case DW_EV_GARMENT_OFF:
        d->garment_off = true;
        break;
    case DW_EV_GARMENT_ON:
        d->garment_off = false;
        break;
    default:
        break;
    }
}

/* An event that is also in the session file read at start (acquire
 * replays its last seconds to a new subscriber). */
static bool seen_in_file(const struct dw_hub *h, const struct dw_hub_device *d,
                         const struct dw_msg_event *e)
{
    for (unsigned i = h->ev_n; i-- > 0;) {
        const struct dw_hub_event *x = dw_hub_event_at(h, i);
        if (!x->from_file)
            continue;
        if (x->it.dev == d->index && x->e.seq == e->seq && x->e.t_host_ns == e->t_host_ns &&
            x->e.kind == e->kind)
            return true;
    }
    return false;
}

static void on_event(const struct dw_sub_msg *m, const struct dw_msg_event *e, void *user)
{
    struct dw_hub *h = user;
    struct dw_hub_device *d = dev_of(m);
    struct dw_hub_event *x;

    device_setup(h, d);
    joined(d, false);
    if (seen_in_file(h, d, e))
        return;
    x = add_event(h, d, e, false);
    event_effects(h, d, e);
    /* the feed and shower windows of the rules (not the events of a
     * session file read at start: another time line) */
    if (h->det && e->kind >= 0)
        dw_detector_event(h->det, d->sub.id, e->t_device_us, e->kind, e->side, e->has_value,
                          e->value);
    dw_hub_sse_begin(&h->out, "ev");
    dw_hub_json_event(h, x, &h->out);
    dw_hub_sse_end(&h->out);
}

void dw_hub_add_file_event(struct dw_hub *h, struct dw_hub_device *d,
                           const struct dw_msg_event *e)
{
    add_event(h, d, e, true);
    /* link events of an old file say nothing about the link now */
    if (e->kind != DW_EV_LINK_DOWN && e->kind != DW_EV_LINK_UP)
        event_effects(h, d, e);
}

static void on_stats(const struct dw_sub_msg *m, const struct dw_msg_stats *s, void *user)
{
    struct dw_hub *h = user;
    struct dw_hub_device *d = dev_of(m);

    device_setup(h, d);
    joined(d, false);
    if (d->have_stats && d->link_up != s->link_up)
        d->link_since_ns = s->t_host_ns;
    d->stats = *s;
    d->have_stats = true;
    d->link_up = s->link_up;
    dw_hub_sse_begin(&h->out, "link");
    dw_hub_json_link(h, d, &h->out);
    dw_hub_sse_end(&h->out);
}

static unsigned level_num(const char *l)
{
    return l[0] == 'L' && l[1] >= '0' && l[1] <= '3' ? (unsigned)(l[1] - '0') : 0;
}

/* The garment's active alerts: raised/updated replace, cleared removes.
 * Returns the entry (NULL when cleared or full) and the level before. */
static struct dw_hub_alert *track_active(struct dw_hub_device *d, const struct dw_msg_alert *a,
                                         char *prev, size_t pcap)
{
    unsigned i;
    for (i = 0; i < d->n_active; i++)
        if (d->active[i].a.id == a->id)
            break;
    snprintf(prev, pcap, "%s", i < d->n_active ? d->active[i].a.level : "");
    if (!strcmp(a->state, "cleared")) {
        if (i < d->n_active)
            d->active[i] = d->active[--d->n_active];
        return NULL;
    }
    if (i == d->n_active) {
        if (d->n_active >= DW_HUB_ACTIVE_MAX)
            return NULL;
        memset(&d->active[d->n_active++], 0, sizeof(*d->active));
    }
    /* an alert that gets worse asks to be seen again */
    if (level_num(a->level) > level_num(d->active[i].a.level))
        d->active[i].acked = false;
    d->active[i].a = *a;
    d->active[i].it.dev = d->index;
    return &d->active[i];
}

static void on_alert(const struct dw_sub_msg *m, const struct dw_msg_alert *a, void *user)
{
    struct dw_hub *h = user;
    struct dw_hub_device *d = dev_of(m);
    struct dw_hub_alert *x, *act;
    char prev[8];

    device_setup(h, d);
    joined(d, true);
    if (!d->active && !(d->active = calloc(DW_HUB_ACTIVE_MAX, sizeof(*d->active))))
        return;
    act = track_active(d, a, prev, sizeof(prev));
    x = &h->al[h->al_head];
    h->al_head = (h->al_head + 1) % DW_HUB_ALERTS;
    if (h->al_n < DW_HUB_ALERTS)
        h->al_n++;
    x->it.order = ++h->al_order;
    x->it.dev = d->index;
    x->acked = act ? act->acked : false;
    x->a = *a;
    if (act)
        act->it.order = x->it.order;
    dw_hub_sse_begin(&h->out, "alert");
    dw_hub_json_alert(h, x, &h->out);
    dw_hub_sse_end(&h->out);
    if (h->on_alert)
        h->on_alert(h->on_alert_user, d, a, prev, m->body, m->len);
}

/* The hub's detector raises what ductwatch-detect raised already. */
static void drop_alert(const struct dw_alert *a, void *user)
{
}

int dw_hub_detect_config(struct dw_hub *h, const struct dw_detect_config *cfg)
{
    struct dw_detector *det = dw_detector_new(cfg, drop_alert, NULL);
    if (!det)
        return -ENOMEM;
    dw_detector_free(h->det);
    h->det = det;
    h->cfg = *cfg;
    return 0;
}

static void on_bad(const struct dw_sub_msg *m, enum dw_topic_kind kind, const char *why,
                   void *user)
{
    ((struct dw_hub *)user)->bad++;
}

int dw_hub_init(struct dw_hub *h)
{
    static const struct dw_sub_handlers handlers = {
        .on_frame = on_frame, .on_event = on_event, .on_stats = on_stats,
        .on_alert = on_alert, .on_bad = on_bad,
    };
    memset(h, 0, sizeof(*h));
    h->ev = calloc(DW_HUB_EVENTS, sizeof(*h->ev));
    h->al = calloc(DW_HUB_ALERTS, sizeof(*h->al));
    if (!h->ev || !h->al) {
        free(h->ev);
        free(h->al);
        return -ENOMEM;
    }
    dw_detect_config_default(&h->cfg);
    h->det = dw_detector_new(&h->cfg, drop_alert, NULL);
    pthread_mutex_init(&h->lock, NULL);
    dw_stream_sub_init(&h->sub, &handlers, sizeof(struct dw_hub_device), h);
    dw_strbuf_init(&h->out);
    return 0;
}

void dw_hub_fini(struct dw_hub *h)
{
    for (unsigned i = 0; i < dw_hub_count(h); i++) {
        struct dw_hub_device *d = dw_hub_at(h, i);
        dw_trend_free(d->trend);
        free(d->active);
    }
    dw_detector_free(h->det);
    dw_stream_sub_fini(&h->sub);
    dw_strbuf_free(&h->out);
    free(h->ev);
    free(h->al);
    pthread_mutex_destroy(&h->lock);
}

int dw_hub_handle(struct dw_hub *h, const char *topic, size_t tlen, const uint8_t *body,
                  size_t blen)
{
    return dw_stream_sub_handle(&h->sub, topic, tlen, body, blen);
}

int dw_hub_drain(struct dw_hub *h, void *sock, unsigned max)
{
    return dw_stream_sub_drain(&h->sub, sock, max);
}

void dw_hub_tick(struct dw_hub *h, uint64_t now_ns)
{
    for (unsigned i = 0; i < dw_hub_count(h); i++) {
        struct dw_hub_device *d = dw_hub_at(h, i);
        if (!d->dirty || now_ns - d->sent_ns < DW_HUB_VALUES_NS)
            continue;
        d->dirty = false;
        d->sent_ns = now_ns;
        dw_hub_sse_begin(&h->out, "values");
        dw_hub_json_values(d, &h->out);
        dw_hub_sse_end(&h->out);
    }
}

unsigned dw_hub_count(const struct dw_hub *h)
{
    return dw_stream_sub_count(&h->sub);
}

struct dw_hub_device *dw_hub_at(const struct dw_hub *h, unsigned i)
{
    return (struct dw_hub_device *)dw_stream_sub_device(&h->sub, i);
}

struct dw_hub_device *dw_hub_find(const struct dw_hub *h, const char *id)
{
    return dw_devtab_find(&h->sub.devices, id);
}

struct dw_hub_device *dw_hub_get(struct dw_hub *h, const char *id)
{
    struct dw_hub_device *d = dw_devtab_get(&h->sub.devices, id);
    if (d)
        device_setup(h, d);
    return d;
}

static uint64_t on_timeline(const struct dw_hub_device *d, uint64_t t_us, uint64_t host_ns)
{
    uint64_t back_ns;
    if (t_us > d->sample_t_us)
        return host_ns;
    back_ns = (d->sample_t_us - t_us) * 1000;
    return back_ns < d->sample_host_ns ? d->sample_host_ns - back_ns : host_ns;
}

uint64_t dw_hub_event_clock_ns(const struct dw_hub_device *d, const struct dw_msg_event *e)
{
    if (!d->have_sample || e->stream != d->sub.acq.stream)
        return e->t_host_ns;
    return on_timeline(d, e->t_device_us, e->t_host_ns);
}

/* Detect's stream has its own id; an alert refers to a sample of the
 * current time line when it is not later than the latest sample. */
uint64_t dw_hub_alert_clock_ns(const struct dw_hub_device *d, const struct dw_msg_alert *a)
{
    if (!d->have_sample)
        return a->t_host_ns;
    return on_timeline(d, a->t_device_us, a->t_host_ns);
}

bool dw_hub_alert_pending(const struct dw_hub *h, const char *device, uint64_t id)
{
    const struct dw_hub_device *d = dw_hub_find(h, device);
    if (!d)
        return false;
    for (unsigned i = 0; i < d->n_active; i++)
        if (d->active[i].a.id == id)
            return !d->active[i].acked;
    return false;
}
