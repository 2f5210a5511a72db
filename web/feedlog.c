#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dwtime.h"
#include "feedlog.h"
#include "jsonw.h"

#define HOUR_NS 3600000000000ull

static bool logged_kind(int k)
{
    switch (k) {
    case DW_EV_FEED_START: case DW_EV_PUMP_START: case DW_EV_THERMOMETER:
    case DW_EV_ICE_PACK: case DW_EV_HEAT_PACK: case DW_EV_SHOWER: case DW_EV_GARMENT_ON:
    case DW_EV_GARMENT_OFF: case DW_EV_SYMPTOM:
        return true;
    default:
        return false;
    }
}

/* Device time where both ends are on one time line, else host time. */
static uint64_t span_s(const struct dw_hub_event *a, const struct dw_hub_event *b)
{
    bool one_line = a->e.stream == b->e.stream || (a->from_file && b->from_file);
    if (one_line && b->e.t_device_us >= a->e.t_device_us)
        return (b->e.t_device_us - a->e.t_device_us) / 1000000;
    return b->e.t_host_ns > a->e.t_host_ns ? (b->e.t_host_ns - a->e.t_host_ns) / 1000000000 : 0;
}

/* A feed-end closes the open feed (of its side, or any); pump-end the
 * open pumping. */
static void close_open(struct dw_feed_row *rows, size_t n, const struct dw_hub_event **starts,
                       const struct dw_hub_event *end)
{
    int want = end->e.kind == DW_EV_FEED_END ? DW_EV_FEED_START : DW_EV_PUMP_START;
    for (size_t i = n; i-- > 0;) {
        if (rows[i].kind != want || rows[i].ended)
            continue;
        if (end->e.side != DW_SIDE_NONE && rows[i].side != DW_SIDE_NONE &&
            rows[i].side != end->e.side)
            continue;
        rows[i].ended = true;
        rows[i].duration_s = span_s(starts[i], end);
        return;
    }
}

static void fill_row(struct dw_feed_row *r, const struct dw_hub_device *d,
                     const struct dw_hub_event *x)
{
    memset(r, 0, sizeof(*r));
    r->kind = x->e.kind;
    r->side = x->e.side;
    r->seq = x->e.seq;
    r->order = x->it.order;
    r->clock_ns = dw_hub_event_clock_ns(d, &x->e);
    r->has_value = x->e.has_value && x->e.kind == DW_EV_THERMOMETER;
    r->value = x->e.value;
    snprintf(r->text, sizeof(r->text), "%s", x->e.text);
}

int dw_feedlog_rows(const struct dw_hub *h, const struct dw_hub_device *d, uint64_t now_ns,
                    unsigned hours, struct dw_feed_row **rows, size_t *n)
{
    struct dw_feed_row *out = calloc(h->ev_n + 1, sizeof(*out));
    const struct dw_hub_event **starts = calloc(h->ev_n + 1, sizeof(*starts));
    const struct dw_hub_event *prev_feed = NULL;
    uint64_t from = now_ns > hours * HOUR_NS ? now_ns - hours * HOUR_NS : 0;
    size_t k = 0;

    if (!out || !starts) {
        free(out);
        free(starts);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < h->ev_n; i++) {
        const struct dw_hub_event *x = dw_hub_event_at(h, i);
        if (x->it.dev != d->index || x->cancelled || dw_hub_event_clock_ns(d, &x->e) < from)
            continue;
        if (x->e.kind == DW_EV_FEED_END || x->e.kind == DW_EV_PUMP_END) {
            close_open(out, k, starts, x);
            continue;
        }
        if (!logged_kind(x->e.kind))
            continue;
        fill_row(&out[k], d, x);
        starts[k] = x;
        if (x->e.kind == DW_EV_FEED_START) {
            if (prev_feed) {
                out[k].has_gap = true;
                out[k].gap_s = span_s(prev_feed, x);
            }
            prev_feed = x;
        }
        k++;
    }
    free(starts);
    *rows = out;
    *n = k;
    return 0;
}

static const char *row_kind(const struct dw_feed_row *r)
{
    if (r->kind == DW_EV_FEED_START)
        return "feed";
    if (r->kind == DW_EV_PUMP_START)
        return "pump";
    return dw_event_kind_name((unsigned)r->kind);
}

void dw_feedlog_json(const struct dw_feed_row *rows, size_t n, struct dw_strbuf *b)
{
    bool first = true;
    dw_strbuf_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        const struct dw_feed_row *r = &rows[i];
        char buf[512];
        struct dw_jsonw w;
        dw_jsonw_init(&w, buf, sizeof(buf));
        dw_jsonw_begin(&w);
        dw_jsonw_str(&w, "kind", row_kind(r));
        dw_jsonw_str(&w, "side", dw_side_name((unsigned)r->side));
        dw_jsonw_u64(&w, "seq", r->seq);
        dw_jsonw_u64(&w, "order", r->order);
        dw_jsonw_u64(&w, "clock_ns", r->clock_ns);
        dw_jsonw_bool(&w, "ended", r->ended);
        if (r->ended)
            dw_jsonw_u64(&w, "duration_s", r->duration_s);
        else
            dw_jsonw_null(&w, "duration_s");
        if (r->has_gap)
            dw_jsonw_u64(&w, "gap_s", r->gap_s);
        else
            dw_jsonw_null(&w, "gap_s");
        if (r->has_value)
            dw_jsonw_number(&w, "value", r->value);
        else
            dw_jsonw_null(&w, "value");
        dw_jsonw_str(&w, "text", r->text);
        dw_jsonw_end(&w);
        dw_strbuf_sep(b, &first);
        dw_strbuf_jsonw(b, &w);
    }
    dw_strbuf_puts(b, "]");
}

static void csv_text(struct dw_strbuf *b, const char *s)
{
    dw_strbuf_puts(b, "\"");
    /* =, +, - or @ first would be a formula in a spreadsheet */
    if (strchr("=+-@", s[0]) && s[0])
        dw_strbuf_puts(b, "'");
    for (; *s; s++)
        dw_strbuf_put(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    dw_strbuf_puts(b, "\"");
}

static void csv_minutes(struct dw_strbuf *b, bool have, uint64_t s)
{
    if (have)
        dw_strbuf_printf(b, ",%.1f", (double)s / 60.0);
    else
        dw_strbuf_puts(b, ",");
}

void dw_feedlog_csv(const struct dw_feed_row *rows, size_t n, struct dw_strbuf *b)
{
    dw_strbuf_puts(b, "start_utc,kind,side,duration_min,gap_min,value_c,text\r\n");
    for (size_t i = 0; i < n; i++) {
        const struct dw_feed_row *r = &rows[i];
        char when[40];
        dw_format_utc(r->clock_ns, when, sizeof(when), 0);
        dw_strbuf_printf(b, "%s,%s,%s", when, row_kind(r), dw_side_name((unsigned)r->side));
        csv_minutes(b, r->ended, r->duration_s);
        csv_minutes(b, r->has_gap, r->gap_s);
        if (r->has_value)
            dw_strbuf_printf(b, ",%.1f,", r->value);
        else
            dw_strbuf_puts(b, ",,");
        csv_text(b, r->text);
        dw_strbuf_puts(b, "\r\n");
    }
}

/* The last feed that was not cancelled, and whether it (or pumping) is
 * still going on. */
static const struct dw_hub_event *last_feed(const struct dw_hub *h, const struct dw_hub_device *d,
                                            bool *in_feed, bool *pumping)
{
    const struct dw_hub_event *feed = NULL;
    bool ended = false, pump_seen = false;
    *pumping = false;
    for (unsigned i = h->ev_n; i-- > 0;) {
        const struct dw_hub_event *x = dw_hub_event_at(h, i);
        if (x->it.dev != d->index || x->cancelled)
            continue;
        if (!pump_seen && (x->e.kind == DW_EV_PUMP_START || x->e.kind == DW_EV_PUMP_END)) {
            pump_seen = true;
            *pumping = x->e.kind == DW_EV_PUMP_START;
        }
        if (!feed && x->e.kind == DW_EV_FEED_END)
            ended = true;
        if (!feed && x->e.kind == DW_EV_FEED_START)
            feed = x;
        if (feed && pump_seen)
            break;
    }
    *in_feed = feed && !ended;
    return feed;
}

void dw_feedlog_summary_json(const struct dw_hub *h, const struct dw_hub_device *d,
                             struct dw_strbuf *b)
{
    bool in_feed, pumping;
    const struct dw_hub_event *f = last_feed(h, d, &in_feed, &pumping);
    int hint = -1, suggest = -1;
    const char *why = NULL;
    char buf[512];
    struct dw_jsonw w;

    for (unsigned i = 0; i < d->n_active; i++)
        if (!strcmp(d->active[i].a.rule, "H1"))
            hint = dw_side_from_name(d->active[i].a.side);
    if (hint == DW_SIDE_LEFT || hint == DW_SIDE_RIGHT) {
        suggest = hint;
        why = "firmer";
    } else if (f && f->e.side != DW_SIDE_NONE) {
        suggest = f->e.side == DW_SIDE_LEFT ? DW_SIDE_RIGHT : DW_SIDE_LEFT;
        why = "other side";
    }
    dw_jsonw_init(&w, buf, sizeof(buf));
    dw_jsonw_begin(&w);
    if (f) {
        dw_jsonw_str(&w, "last_side", dw_side_name((unsigned)f->e.side));
        dw_jsonw_u64(&w, "last_clock_ns", dw_hub_event_clock_ns(d, &f->e));
        dw_jsonw_u64(&w, "last_seq", f->e.seq);
    } else {
        dw_jsonw_null(&w, "last_side");
        dw_jsonw_null(&w, "last_clock_ns");
        dw_jsonw_null(&w, "last_seq");
    }
    dw_jsonw_bool(&w, "in_feed", in_feed);
    dw_jsonw_bool(&w, "pumping", pumping);
    if (suggest >= 0) {
        dw_jsonw_str(&w, "suggest", dw_side_name((unsigned)suggest));
        dw_jsonw_str(&w, "suggest_why", why);
    } else {
        dw_jsonw_null(&w, "suggest");
        dw_jsonw_null(&w, "suggest_why");
    }
    if (hint == DW_SIDE_LEFT || hint == DW_SIDE_RIGHT)
        dw_jsonw_str(&w, "hint_side", dw_side_name((unsigned)hint));
    else
        dw_jsonw_null(&w, "hint_side");
    dw_jsonw_end(&w);
    dw_strbuf_jsonw(b, &w);
}
