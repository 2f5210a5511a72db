/* The hub as JSON for the API and the event stream (docs/web.md). Event
 * and alert objects are the stream's bodies (common/msg.c, msg_alert.c)
 * with the hub's members added at the end. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "feedlog.h"
#include "hub.h"
#include "jsonw.h"
#include "layout.h"

#define STATE_EVENTS 50 /* events in a state object */

/* body without its closing '}', then the extra members. */
static void put_extended(struct dw_strbuf *b, const char *body, size_t len)
{
    while (len && body[len - 1] != '}')
        len--;
    if (!len) {
        b->oom = true;
        return;
    }
    dw_strbuf_put(b, body, len - 1);
}

void dw_hub_json_event(const struct dw_hub *h, const struct dw_hub_event *e,
                       struct dw_strbuf *b)
{
    char *j = dw_msg_event_to_json(&e->e);
    if (!j) {
        b->oom = true;
        return;
    }
    const struct dw_hub_device *d = dw_hub_at(h, e->it.dev);
    put_extended(b, j, strlen(j));
    dw_strbuf_printf(b, ",\"order\":%llu,\"cancelled\":%s,\"from_file\":%s,\"clock_ns\":%llu}",
                     (unsigned long long)e->it.order, e->cancelled ? "true" : "false",
                     e->from_file ? "true" : "false",
                     (unsigned long long)dw_hub_event_clock_ns(d, &e->e));
    free(j);
}

void dw_hub_json_alert(const struct dw_hub *h, const struct dw_hub_alert *a,
                       struct dw_strbuf *b)
{
    char *j = malloc(DW_MSG_ALERT_JSON_MAX);
    ssize_t n = j ? dw_msg_alert_write(&a->a, j, DW_MSG_ALERT_JSON_MAX) : -1;
    if (n < 0) {
        b->oom = true;
        free(j);
        return;
    }
    const struct dw_hub_device *d = dw_hub_at(h, a->it.dev);
    put_extended(b, j, (size_t)n);
    dw_strbuf_printf(b, ",\"order\":%llu,\"acked\":%s,\"clock_ns\":%llu}",
                     (unsigned long long)a->it.order, a->acked ? "true" : "false",
                     (unsigned long long)dw_hub_alert_clock_ns(d, &a->a));
    free(j);
}

static void put_float(struct dw_strbuf *b, float v, const char *fmt)
{
    if (isnan(v) || isinf(v))
        dw_strbuf_puts(b, "null");
    else
        dw_strbuf_printf(b, fmt, (double)v);
}

static void put_array(struct dw_strbuf *b, const char *key, const float *v, unsigned n,
                      const char *fmt)
{
    bool first = true;
    dw_strbuf_printf(b, ",\"%s\":[", key);
    for (unsigned i = 0; i < n; i++) {
        dw_strbuf_sep(b, &first);
        put_float(b, v[i], fmt);
    }
    dw_strbuf_puts(b, "]");
}

/* An object about one garment: it opens with the device id. */
static void device_object(struct dw_jsonw *w, char *buf, size_t cap,
                          const struct dw_hub_device *d)
{
    dw_jsonw_init(w, buf, cap);
    dw_jsonw_begin(w);
    dw_jsonw_str(w, "device", d->sub.id);
}

void dw_hub_json_values(const struct dw_hub_device *d, struct dw_strbuf *b)
{
    float w[DW_MAX_ZONES], f[DW_MAX_ZONES], st[DW_MAX_ZONES];
    unsigned nz = d->hello.n_zones;

    for (unsigned z = 0; z < nz; z++) {
        /* what the rules see (dL, R), else the trend's simpler baselines */
        w[z] = !isnan(d->rule_dl[z]) ? d->rule_dl[z]
               : d->trend            ? dw_trend_warmth(d->trend, z, d->t_c)
                                     : NAN;
        f[z] = !isnan(d->rule_r[z]) ? d->rule_r[z]
               : d->trend           ? dw_trend_firmness(d->trend, z, d->p_kpa[z])
                                    : NAN;
        st[z] = d->status[z];
    }
    char buf[256];
    struct dw_jsonw jw;

    device_object(&jw, buf, sizeof(buf), d);
    dw_jsonw_u64(&jw, "t_device_us", d->sample_t_us);
    dw_jsonw_u64(&jw, "t_host_ns", d->sample_host_ns);
    dw_jsonw_u64(&jw, "samples", d->samples);
    dw_jsonw_end(&jw);
    if (!d->have_sample) {
        dw_strbuf_jsonw(b, &jw);
        return;
    }
    put_extended(b, buf, strlen(buf));
    put_array(b, "t", d->t_c, nz, "%.2f");
    put_array(b, "p", d->p_kpa, nz, "%.3f");
    put_array(b, "warmth", w, nz, "%.2f");
    put_array(b, "firmness", f, nz, "%.2f");
    put_array(b, "status", st, nz, "%.0f");
    put_array(b, "ambient", d->ambient_c, DW_N_AMBIENT, "%.2f");
    dw_strbuf_puts(b, "}");
}

void dw_hub_json_link(const struct dw_hub *h, const struct dw_hub_device *d,
                      struct dw_strbuf *b)
{
    const struct dw_msg_stats *s = &d->stats;
    const struct dw_seq_tracker *a = &d->sub.acq, *t = &d->sub.det;
    char buf[2048];
    struct dw_jsonw w;

    device_object(&w, buf, sizeof(buf), d);
    dw_jsonw_bool(&w, "link_up", d->link_up);
    dw_jsonw_u64(&w, "since_ns", d->link_since_ns);
    dw_jsonw_str(&w, "why", d->link_why);
    dw_jsonw_bool(&w, "have_stats", d->have_stats);
    dw_jsonw_u64(&w, "crc_errors", s->crc_errors);
    dw_jsonw_u64(&w, "length_errors", s->length_errors);
    dw_jsonw_u64(&w, "frames_missing", s->frames_missing);
    dw_jsonw_u64(&w, "reconnects", s->reconnects);
    dw_jsonw_u64(&w, "zmq_dropped", s->zmq_dropped);
    dw_jsonw_number(&w, "drift_ppm", s->drift_ppm);
    /* this server's own subscription: stream messages it never got */
    dw_jsonw_u64(&w, "stream_gaps", a->gaps + t->gaps - (d->acq_before > 0) - (d->det_before > 0));
    dw_jsonw_u64(&w, "stream_missing", a->missing + t->missing - d->acq_before - d->det_before);
    dw_jsonw_u64(&w, "missed_before_joining", d->acq_before + d->det_before);
    dw_jsonw_u64(&w, "stream_received", a->received + t->received);
    if (d->have_status) {
        dw_jsonw_number(&w, "battery_pct", d->battery.battery_pct);
        dw_jsonw_bool(&w, "charging", d->battery.flags & 1);
    } else {
        dw_jsonw_null(&w, "battery_pct");
        dw_jsonw_null(&w, "charging");
    }
    dw_jsonw_end(&w);
    dw_strbuf_jsonw(b, &w);
}

static void garment_json(const struct dw_hub_device *d, struct dw_strbuf *b)
{
    char buf[512];
    struct dw_jsonw w;

    device_object(&w, buf, sizeof(buf), d);
    dw_jsonw_str(&w, "firmware", d->have_hello ? d->hello.firmware : "");
    dw_jsonw_number(&w, "rate_hz", d->have_hello ? d->hello.sample_rate_hz : 0);
    dw_jsonw_number(&w, "n_zones", d->have_hello ? d->hello.n_zones : 0);
    dw_jsonw_bool(&w, "link_up", d->link_up);
    dw_jsonw_u64(&w, "samples", d->samples);
    dw_jsonw_u64(&w, "last_sample_t_device_us", d->sample_t_us);
    dw_jsonw_u64(&w, "last_sample_host_ns", d->sample_host_ns);
    dw_jsonw_number(&w, "active_alerts", d->n_active);
    dw_jsonw_end(&w);
    dw_strbuf_jsonw(b, &w);
}

void dw_hub_json_garments(const struct dw_hub *h, struct dw_strbuf *b)
{
    bool first = true;
    dw_strbuf_puts(b, "[");
    for (unsigned i = 0; i < dw_hub_count(h); i++) {
        dw_strbuf_sep(b, &first);
        garment_json(dw_hub_at(h, i), b);
    }
    dw_strbuf_puts(b, "]");
}

static void zones_json(const struct dw_hub_device *d, struct dw_strbuf *b)
{
    bool first = true;
    dw_strbuf_puts(b, ",\"zones\":[");
    for (unsigned z = 0; d->have_hello && z < d->hello.n_zones; z++) {
        const struct dw_zone_desc *zd = &d->hello.zone[z];
        unsigned nb[DW_MAX_NEIGHBOURS], n = dw_layout_neighbours(&d->hello, z, nb);
        char name[64], buf[256];
        struct dw_jsonw w;
        dw_zone_name(&d->hello, z, name, sizeof(name));
        dw_jsonw_init(&w, buf, sizeof(buf));
        dw_jsonw_begin(&w);
        dw_jsonw_number(&w, "index", z);
        dw_jsonw_str(&w, "name", name);
        dw_jsonw_str(&w, "side", zd->side == DW_SIDE_LEFT ? "left" : "right");
        dw_jsonw_number(&w, "quadrant", zd->quadrant);
        dw_jsonw_number(&w, "ring", zd->ring);
        dw_jsonw_number(&w, "mirror", zd->mirror);
        dw_jsonw_end(&w);
        dw_strbuf_sep(b, &first);
        /* neighbours as an array: spliced in before the closing brace */
        put_extended(b, buf, strlen(buf));
        dw_strbuf_puts(b, ",\"neighbours\":[");
        for (unsigned i = 0; i < n; i++)
            dw_strbuf_printf(b, "%s%u", i ? "," : "", nb[i]);
        dw_strbuf_puts(b, "]}");
    }
    dw_strbuf_puts(b, "]");
}

void dw_hub_json_state(const struct dw_hub *h, const struct dw_hub_device *d,
                       struct dw_strbuf *b)
{
    bool first = true;
    dw_strbuf_puts(b, "{\"garment\":");
    garment_json(d, b);
    zones_json(d, b);
    dw_strbuf_puts(b, ",\"values\":");
    dw_hub_json_values(d, b);
    dw_strbuf_puts(b, ",\"link\":");
    dw_hub_json_link(h, d, b);
    dw_strbuf_printf(b, ",\"garment_off\":%s,\"alerts\":[", d->garment_off ? "true" : "false");
    for (unsigned i = 0; i < d->n_active; i++) {
        dw_strbuf_sep(b, &first);
        dw_hub_json_alert(h, &d->active[i], b);
    }
    dw_strbuf_puts(b, "],\"events\":");
    dw_hub_json_events(h, d, 0, STATE_EVENTS, b);
    dw_strbuf_puts(b, ",\"feeding\":");
    dw_feedlog_summary_json(h, d, b);
    /* the thresholds the colour scales mark, as in the report */
    dw_strbuf_printf(b, ",\"rules\":{\"t1_delta_c\":%.2f,\"t2_delta_c\":%.2f,\"f1_r\":%.2f}}",
                     h->cfg.t1_delta_c, h->cfg.t2_delta_c, h->cfg.f1_r);
}

/* Events and alerts are kept alike: one list writer for both. */
struct list {
    unsigned n;
    const struct dw_hub_item *(*at)(const struct dw_hub *h, unsigned i);
    void (*put)(const struct dw_hub *h, const struct dw_hub_item *it, struct dw_strbuf *b);
};

static const struct dw_hub_item *event_item(const struct dw_hub *h, unsigned i)
{
    return &dw_hub_event_at(h, i)->it;
}

static void put_event(const struct dw_hub *h, const struct dw_hub_item *it, struct dw_strbuf *b)
{
    dw_hub_json_event(h, (const struct dw_hub_event *)it, b);
}

static const struct dw_hub_item *alert_item(const struct dw_hub *h, unsigned i)
{
    return &dw_hub_alert_at(h, i)->it;
}

static void put_alert(const struct dw_hub *h, const struct dw_hub_item *it, struct dw_strbuf *b)
{
    dw_hub_json_alert(h, (const struct dw_hub_alert *)it, b);
}

/* The newest `limit` items after `since` (of one garment, or all), oldest
 * first. */
static void put_list(const struct dw_hub *h, const struct list *l,
                     const struct dw_hub_device *only, uint64_t since, unsigned limit,
                     struct dw_strbuf *b)
{
    unsigned start = l->n, n = 0;
    bool first = true;
    while (start > 0 && n < limit) {
        const struct dw_hub_item *it = l->at(h, start - 1);
        if (it->order <= since)
            break;
        start--;
        if (!only || it->dev == only->index)
            n++;
    }
    dw_strbuf_puts(b, "[");
    for (unsigned i = start; i < l->n; i++) {
        const struct dw_hub_item *it = l->at(h, i);
        if (only && it->dev != only->index)
            continue;
        dw_strbuf_sep(b, &first);
        l->put(h, it, b);
    }
    dw_strbuf_puts(b, "]");
}

void dw_hub_json_events(const struct dw_hub *h, const struct dw_hub_device *only,
                        uint64_t since, unsigned limit, struct dw_strbuf *b)
{
    const struct list l = { h->ev_n, event_item, put_event };
    put_list(h, &l, only, since, limit, b);
}

void dw_hub_json_alerts(const struct dw_hub *h, const struct dw_hub_device *only,
                        uint64_t since, unsigned limit, struct dw_strbuf *b)
{
    const struct list l = { h->al_n, alert_item, put_alert };
    put_list(h, &l, only, since, limit, b);
}

void dw_hub_sse_snapshot(const struct dw_hub *h, struct dw_strbuf *b)
{
    dw_hub_sse_begin(b, "garments");
    dw_hub_json_garments(h, b);
    dw_hub_sse_end(b);
    for (unsigned i = 0; i < dw_hub_count(h); i++) {
        dw_hub_sse_begin(b, "state");
        dw_hub_json_state(h, dw_hub_at(h, i), b);
        dw_hub_sse_end(b);
    }
    dw_strbuf_printf(b, "event: ready\ndata: {\"events\":%llu,\"alerts\":%llu}\n\n",
                     (unsigned long long)h->ev_order, (unsigned long long)h->al_order);
}
