/* Gathers what a session report shows in one pass over the session files,
 * in time order: zone series downsampled to min/mean/max buckets, exact
 * per-zone medians, the zone values at the start, the end and each raised
 * alert, the session time of every event and alert row, and detection
 * re-run over the same samples so that the heat maps show what the rules
 * saw (dL, R) at each moment. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "detector.h"
#include "layout.h"
#include "report_int.h"
#include "session_time.h"

#define HIST_BINS 65536u

/* Alert rows are not records of the stream order. An alert reaches the
 * recorder near the sample that raised it (after it live; in a fast replay
 * detection can run thousands of frames ahead of the recorder, or behind),
 * and its t_device_us names that sample. So its session time is its device
 * time on the garment clock in effect where the row sits (its `order`): a
 * garment restart between the sample and the row is the one case this gets
 * wrong. */

/* A zone's quantity the rules had no value for in this minute (a feed or a
 * shower window pauses them) shows the last one they had, if it is at most
 * this old. */
#define LAST_VALID_US (3 * 3600000000ull)

/* What the rules saw of each zone: this minute's values, and the last
 * valid ones with their session time. */
struct rules_seen {
    uint64_t minute;
    bool have;
    double dl[DW_MAX_ZONES], r[DW_MAX_ZONES];
    double last_dl[DW_MAX_ZONES], last_r[DW_MAX_ZONES];
    uint64_t last_dl_us[DW_MAX_ZONES], last_r_us[DW_MAX_ZONES];
};

/* One pass over all files. */
struct pass {
    struct rules_seen seen;
    struct dw_session_clock clk;
    struct dw_detector *det;
    struct dw_session_record *rec;
    size_t *by_order;           /* this file's alerts (global indices) by order */
    size_t n_by_order, next_alert;
    size_t *pend;               /* this file's alert moments by alert device time */
    size_t n_pend, pend_next;
    unsigned pend_epoch;
    size_t event_next, event_end; /* this file's events in rep->events */
    uint64_t records, total;
};

static bool valid_temp(const struct dw_sample *s, unsigned z)
{
    return !(s->status[z] & (DW_ZS_TEMP_FAULT | DW_ZS_TEMP_RAIL));
}

static bool valid_pres(const struct dw_sample *s, unsigned z)
{
    return !(s->status[z] & (DW_ZS_PRES_FAULT | DW_ZS_PRES_SAT));
}

static bool in_window(const struct dw_report *rep, uint64_t el)
{
    return (!rep->window_from || el >= rep->from_us) && (!rep->window_to || el <= rep->to_us);
}

/* ---- buckets ----------------------------------------------------------- */

static void bucket_add(struct dw_report_bucket *b, float v)
{
    if (!b->n || v < b->min)
        b->min = v;
    if (!b->n || v > b->max)
        b->max = v;
    b->sum += v;
    b->n++;
}

static void bucket_merge(struct dw_report_bucket *dst, const struct dw_report_bucket *a,
                         const struct dw_report_bucket *b)
{
    struct dw_report_bucket m = *a;
    if (b->n) {
        if (!m.n || b->min < m.min)
            m.min = b->min;
        if (!m.n || b->max > m.max)
            m.max = b->max;
        m.sum += b->sum;
        m.n += b->n;
    }
    *dst = m;
}

/* Halves the resolution: bucket i takes 2i and 2i+1, the width doubles. */
static void buckets_halve(struct dw_report *rep)
{
    const unsigned nb = DW_REPORT_MAX_BUCKETS;
    for (unsigned q = 0; q < DW_RQ_COUNT; q++) {
        for (unsigned z = 0; z < rep->nz; z++) {
            struct dw_report_bucket *b = rep->bk[q] + (size_t)z * nb;
            for (unsigned i = 0; i < nb / 2; i++)
                bucket_merge(&b[i], &b[2 * i], &b[2 * i + 1]);
            memset(b + nb / 2, 0, (nb - nb / 2) * sizeof(*b));
        }
    }
    rep->bucket_us *= 2;
    rep->n_buckets = (rep->n_buckets + 1) / 2;
}

static void take_sample(struct dw_report *rep, const struct dw_session_record *rec,
                        uint64_t elapsed_us)
{
    const struct dw_sample *s = &rec->sample;
    uint64_t x;
    unsigned b;

    if (!rep->have_origin) {
        rep->have_origin = true;
        rep->origin_us = elapsed_us;
        rep->start_us = elapsed_us;
        rep->first_sample_ns = rec->t_host_ns;
    }
    x = elapsed_us - rep->origin_us;
    while (x / rep->bucket_us >= DW_REPORT_MAX_BUCKETS)
        buckets_halve(rep);
    b = (unsigned)(x / rep->bucket_us);
    if (b + 1 > rep->n_buckets)
        rep->n_buckets = b + 1;
    for (unsigned z = 0; z < rep->nz && z < s->n_zones; z++) {
        size_t at = (size_t)z * DW_REPORT_MAX_BUCKETS + b;
        if (valid_temp(s, z)) {
            bucket_add(&rep->bk[DW_RQ_TEMP][at], (float)dw_sample_temp_c(&rep->hello, s, z));
            rep->hist[DW_RQ_TEMP][(size_t)z * HIST_BINS + (uint16_t)(s->temp[z] + 32768)]++;
            rep->hist_n[DW_RQ_TEMP][z]++;
        }
        if (valid_pres(s, z)) {
            bucket_add(&rep->bk[DW_RQ_PRES][at], (float)dw_sample_pressure_kpa(&rep->hello, s, z));
            rep->hist[DW_RQ_PRES][(size_t)z * HIST_BINS + s->pressure[z]]++;
            rep->hist_n[DW_RQ_PRES][z]++;
        }
    }
    rep->last_sample_ns = rec->t_host_ns;
    if (elapsed_us > rep->end_us)
        rep->end_us = elapsed_us;
    rep->samples++;
}

/* ---- moments ----------------------------------------------------------- */

/* Once per device minute (the detector's epoch): what it saw. */
static void rules_update(const struct dw_report *rep, struct pass *p, uint64_t t_device_us,
                         uint64_t elapsed_us)
{
    struct rules_seen *rs = &p->seen;
    uint64_t minute = t_device_us / 60000000u;
    if (!p->det || (rs->have && minute == rs->minute))
        return;
    rs->have = true;
    rs->minute = minute;
    for (unsigned z = 0; z < rep->nz && z < DW_MAX_ZONES; z++) {
        struct dw_detector_zone dz;
        rs->dl[z] = rs->r[z] = NAN;
        if (dw_detector_zone(p->det, rep->info.device_id, z, &dz) < 0)
            continue;
        rs->dl[z] = dz.dl;
        rs->r[z] = dz.r;
        if (isfinite(dz.dl)) {
            rs->last_dl[z] = dz.dl;
            rs->last_dl_us[z] = elapsed_us;
        }
        if (isfinite(dz.r)) {
            rs->last_r[z] = dz.r;
            rs->last_r_us[z] = elapsed_us;
        }
    }
}

/* This minute's value, else a recent last valid one (*last set), else NaN. */
static double seen_value(double now, double last, uint64_t last_us, uint64_t el, bool *was_last)
{
    *was_last = false;
    if (isfinite(now))
        return now;
    if (last_us && el >= last_us && el - last_us <= LAST_VALID_US) {
        *was_last = true;
        return last;
    }
    return NAN;
}

static void fill_moment(struct dw_report *rep, const struct pass *p, struct dw_report_moment *m,
                        const struct dw_session_record *rec, uint64_t elapsed_us)
{
    const struct dw_sample *s = &rec->sample;
    const struct rules_seen *rs = &p->seen;
    m->filled = true;
    m->elapsed_us = elapsed_us;
    for (unsigned z = 0; z < DW_MAX_ZONES; z++) {
        bool in = z < rep->nz && z < s->n_zones;
        m->temp[z] = in && valid_temp(s, z) ? dw_sample_temp_c(&rep->hello, s, z) : NAN;
        m->pres[z] = in && valid_pres(s, z) ? dw_sample_pressure_kpa(&rep->hello, s, z) : NAN;
        m->dl[z] = m->r[z] = NAN;
        m->dl_last[z] = m->r_last[z] = false;
        if (!in || !rs->have)
            continue;
        m->dl[z] = seen_value(rs->dl[z], rs->last_dl[z], rs->last_dl_us[z], elapsed_us,
                              &m->dl_last[z]);
        m->r[z] = seen_value(rs->r[z], rs->last_r[z], rs->last_r_us[z], elapsed_us,
                             &m->r_last[z]);
    }
}

/* Session time of this file's alert rows whose order comes before
 * `order`; their heat maps keep the sample found on this clock, or wait
 * for one. */
static void map_alerts_before(struct dw_report *rep, struct pass *p, uint64_t order)
{
    while (p->next_alert < p->n_by_order &&
           rep->alerts[p->by_order[p->next_alert]].order < order) {
        size_t i = p->by_order[p->next_alert++];
        rep->alert_elapsed[i] = dw_session_clock_at(&p->clk, rep->alerts[i].t_device_us);
        for (size_t k = 0; k < rep->n_moments; k++) {
            struct dw_report_moment *m = &rep->moments[k];
            if (m->kind != DW_MOMENT_ALERT || m->alert != i)
                continue;
            m->placed = true;
            if (m->filled && m->epoch != p->clk.epoch)
                m->filled = false; /* a sample of the clock before a restart */
        }
    }
}

/* The first sample at or after each alert's device time, on the current
 * garment clock, for the alerts of the file being read: p->pend holds
 * their moments by alert device time, p->pend_next the first not reached. */
static void alert_samples(struct dw_report *rep, struct pass *p,
                          const struct dw_session_record *rec, uint64_t elapsed_us)
{
    if (p->pend_epoch != p->clk.epoch) {
        /* a garment restart: unplaced alerts look again on the new clock */
        p->pend_epoch = p->clk.epoch;
        p->pend_next = 0;
    }
    while (p->pend_next < p->n_pend) {
        struct dw_report_moment *m = &rep->moments[p->pend[p->pend_next]];
        if (rec->t_device_us < rep->alerts[m->alert].t_device_us)
            break;
        p->pend_next++;
        if (m->filled && (m->placed || m->epoch == p->clk.epoch))
            continue;
        fill_moment(rep, p, m, rec, elapsed_us);
        m->epoch = p->clk.epoch;
    }
}

/* Moments to draw: start, each raised alert (file and stream order), end. */
static int plan_moments(struct dw_report *rep)
{
    size_t n = 0;
    rep->moments = calloc(rep->n_alerts + 2, sizeof(*rep->moments));
    if (!rep->moments)
        return -ENOMEM;
    rep->moments[n++].kind = DW_MOMENT_START;
    for (size_t i = 0; i < rep->n_alerts; i++) {
        if (strncmp(rep->alerts[i].state, "raised", sizeof(rep->alerts[i].state)))
            continue;
        rep->moments[n].kind = DW_MOMENT_ALERT;
        rep->moments[n++].alert = i;
    }
    rep->moments[n++].kind = DW_MOMENT_END;
    rep->n_moments = n;
    return 0;
}

/* ---- the small tables -------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t n = *cap ? *cap : 64;
    void *np;
    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    if (!(np = realloc(*p, n * size)))
        return -ENOMEM;
    *p = np;
    *cap = n;
    return 0;
}

/* Appends the file's events, alerts and stats rows to the report's. */
static int load_tables(struct dw_report *rep, struct dw_session_reader *r)
{
    const struct dw_row_event *ev;
    const struct dw_row_alert *al;
    const struct dw_row_stats *st;
    size_t ne, na, ns, ce = rep->cap_events, ca = rep->cap_alerts, cc = rep->cap_alerts;
    size_t width = dw_session_reader_info(r)->alert_message_width;
    ev = dw_session_reader_events(r, &ne);
    al = dw_session_reader_alerts(r, &na);
    st = dw_session_reader_stats(r, &ns);
    if (grow((void **)&rep->events, &rep->cap_events, rep->n_events + ne, sizeof(*ev)) < 0 ||
        grow((void **)&rep->event_elapsed, &ce, rep->n_events + ne, sizeof(uint64_t)) < 0 ||
        grow((void **)&rep->alerts, &rep->cap_alerts, rep->n_alerts + na, sizeof(*al)) < 0 ||
        grow((void **)&rep->alert_elapsed, &ca, rep->n_alerts + na, sizeof(uint64_t)) < 0 ||
        grow((void **)&rep->alert_cut, &cc, rep->n_alerts + na, sizeof(bool)) < 0 ||
        grow((void **)&rep->stats, &rep->cap_stats, rep->n_stats + ns, sizeof(*st)) < 0)
        return -ENOMEM;
    if (ne)
        memcpy(rep->events + rep->n_events, ev, ne * sizeof(*ev));
    if (na)
        memcpy(rep->alerts + rep->n_alerts, al, na * sizeof(*al));
    if (ns)
        memcpy(rep->stats + rep->n_stats, st, ns * sizeof(*st));
    if (ne)
        memset(rep->event_elapsed + rep->n_events, 0, ne * sizeof(uint64_t));
    if (na)
        memset(rep->alert_elapsed + rep->n_alerts, 0, na * sizeof(uint64_t));
    for (size_t i = 0; i < na; i++)
        rep->alert_cut[rep->n_alerts + i] =
            width && strnlen(al[i].message, sizeof(al[i].message)) >= width;
    rep->n_events += ne;
    rep->n_alerts += na;
    rep->n_stats += ns;
    return 0;
}

/* Every file's tables, before the pass (the moments need the alerts). */
static int load_all_tables(struct dw_report *rep, char *err, size_t errcap)
{
    for (size_t i = 0; i < rep->n_files; i++) {
        struct dw_session_reader *r;
        int e = dw_session_reader_open(&r, rep->files[i].path, err, errcap);
        if (e < 0)
            return e;
        e = load_tables(rep, r);
        dw_session_reader_close(r);
        if (e < 0)
            return e;
    }
    return 0;
}

/* ---- detection, re-run ------------------------------------------------- */

static void on_replayed_alert(const struct dw_alert *a, void *user)
{
    struct dw_report *rep = user;
    if (a->state == DW_ALERT_RAISED && a->clinical)
        rep->replay_raised++;
}

static void detect_record(struct dw_report *rep, struct pass *p,
                          const struct dw_session_record *rec)
{
    const char *dev = rep->info.device_id;
    if (!p->det)
        return;
    if (rec->kind == DW_REC_SAMPLE) {
        dw_detector_sample(p->det, dev, rec->t_device_us, &rec->sample);
    } else if (rec->kind == DW_REC_EVENT) {
        char kind[DW_S_KIND + 1], side[DW_S_SIDE + 1];
        int k, s;
        DW_FIELD(kind, rec->event.kind);
        DW_FIELD(side, rec->event.side);
        k = dw_event_kind_from_name(kind);
        s = dw_side_from_name(side);
        if (k >= 0)
            dw_detector_event(p->det, dev, rec->t_device_us, k, s < 0 ? DW_SIDE_NONE : s,
                              !isnan(rec->event.value), rec->event.value);
    }
}

/* ---- the pass ---------------------------------------------------------- */

static void progress(struct dw_report *rep, uint64_t done, uint64_t total)
{
    struct dw_report_progress *p = &rep->progress;
    int pct;
    if (!p->fn || !total)
        return;
    pct = (int)(done * 100 / total);
    if (pct > 100)
        pct = 100;
    if (pct != p->last) {
        p->fn(rep->path, (unsigned)pct, p->user);
        p->last = pct;
    }
}

/* Alert indices by their rows' order (qsort_r passes the table). */
static int cmp_order(const void *a, const void *b, void *rows)
{
    const struct dw_row_alert *t = rows;
    uint64_t x = t[*(const size_t *)a].order, y = t[*(const size_t *)b].order;
    return x < y ? -1 : x > y;
}

/* Alert moments by their alert's device time. */
static int cmp_moment_time(const void *a, const void *b, void *report)
{
    const struct dw_report *rep = report;
    uint64_t x = rep->alerts[rep->moments[*(const size_t *)a].alert].t_device_us;
    uint64_t y = rep->alerts[rep->moments[*(const size_t *)b].alert].t_device_us;
    return x < y ? -1 : x > y;
}

/* The first record fixes session time 0 on the clock, and the window. */
static void fix_clock0(struct dw_report *rep, const struct dw_session_record *rec)
{
    const struct dw_session_info *in = &rep->files[0].info;
    rep->clock0_ns = (int64_t)in->start_ns +
                     ((int64_t)rec->t_device_us - (int64_t)in->start_device_us) * 1000;
    if (rep->window_from)
        rep->from_us = rep->from_clock_ns > rep->clock0_ns
            ? (uint64_t)(rep->from_clock_ns - rep->clock0_ns) / 1000 : 0;
    if (rep->window_to)
        rep->to_us = rep->to_clock_ns > rep->clock0_ns
            ? (uint64_t)(rep->to_clock_ns - rep->clock0_ns) / 1000 : 0;
}

static void one_record(struct dw_report *rep, struct pass *p)
{
    const struct dw_session_record *rec = p->rec;
    uint64_t el;
    if (!p->clk.have)
        fix_clock0(rep, rec);
    el = dw_session_clock_step(&p->clk, rec);
    map_alerts_before(rep, p, rec->order);
    detect_record(rep, p, rec);
    if (rec->kind == DW_REC_SAMPLE)
        rules_update(rep, p, rec->t_device_us, el);
    if (rec->kind == DW_REC_SAMPLE && in_window(rep, el)) {
        take_sample(rep, rec, el);
        alert_samples(rep, p, rec, el);
        if (!rep->moments[0].filled)
            fill_moment(rep, p, &rep->moments[0], rec, el);
        fill_moment(rep, p, &rep->moments[rep->n_moments - 1], rec, el);
    } else if (rec->kind == DW_REC_EVENT && p->event_next < p->event_end) {
        rep->event_elapsed[p->event_next++] = el;
    }
}

/* One file's records, in stream order. aidx/eidx: where its alerts and
 * events start in the report's tables. */
static int read_file(struct dw_report *rep, struct pass *p, size_t fi, size_t *aidx,
                     size_t *eidx, volatile sig_atomic_t *stop, char *err, size_t errcap)
{
    struct dw_session_reader *r;
    const struct dw_session_info *in;
    size_t na, ne;
    int e = dw_session_reader_open(&r, rep->files[fi].path, err, errcap);
    if (e < 0)
        return e;
    rep->path = rep->files[fi].path;
    in = dw_session_reader_info(r);
    dw_session_reader_alerts(r, &na);
    dw_session_reader_events(r, &ne);
    p->n_by_order = na;
    p->next_alert = 0;
    for (size_t i = 0; i < na; i++)
        p->by_order[i] = *aidx + i;
    qsort_r(p->by_order, na, sizeof(*p->by_order), cmp_order, (void *)rep->alerts);
    p->n_pend = p->pend_next = 0;
    p->pend_epoch = p->clk.epoch;
    for (size_t k = 1; k + 1 < rep->n_moments; k++)
        if (rep->moments[k].alert >= *aidx && rep->moments[k].alert < *aidx + na)
            p->pend[p->n_pend++] = k;
    qsort_r(p->pend, p->n_pend, sizeof(*p->pend), cmp_moment_time, rep);
    p->event_next = *eidx;
    p->event_end = *eidx + ne;
    if (p->det)
        dw_detector_hello(p->det, rep->info.device_id, dw_session_reader_hello(r));
    p->clk.dt_us = 1000000u / (in->frames && rep->hello.sample_rate_hz
                               ? rep->hello.sample_rate_hz : 1);
    dw_session_reader_rewind(r);
    for (;;) {
        int k = dw_session_reader_next(r, p->rec);
        if (k < 0) {
            snprintf(err, errcap, "%s: %s", rep->path, dw_session_reader_error(r));
            e = k;
            break;
        }
        if (!k)
            break;
        if (stop && *stop) {
            e = -EINTR;
            break;
        }
        one_record(rep, p);
        if ((++p->records & 0xffff) == 0)
            progress(rep, p->records, p->total);
    }
    if (!e)
        map_alerts_before(rep, p, UINT64_MAX);
    *aidx += na;
    *eidx += ne;
    dw_session_reader_close(r);
    return e;
}

/* ---- after the pass ---------------------------------------------------- */

static double hist_median(const uint32_t *h, uint64_t n, int32_t offset, uint32_t scale)
{
    uint64_t want = (n + 1) / 2, seen = 0;
    for (uint32_t i = 0; i < HIST_BINS; i++) {
        seen += h[i];
        if (seen >= want)
            return ((int32_t)i + offset) * (scale * 1e-6);
    }
    return NAN;
}

static void finish_stats(struct dw_report *rep)
{
    static const int32_t offset[DW_RQ_COUNT] = { -32768, 0 };
    const uint32_t scale[DW_RQ_COUNT] = { rep->hello.temp_scale, rep->hello.pressure_scale };
    for (unsigned q = 0; q < DW_RQ_COUNT; q++) {
        for (unsigned z = 0; z < rep->nz; z++) {
            const struct dw_report_bucket *b = rep->bk[q] + (size_t)z * DW_REPORT_MAX_BUCKETS;
            bool any = false;
            rep->median[q][z] = rep->hist_n[q][z]
                ? hist_median(rep->hist[q] + (size_t)z * HIST_BINS, rep->hist_n[q][z],
                              offset[q], scale[q])
                : NAN;
            rep->vmin[q][z] = rep->vmax[q][z] = NAN;
            for (unsigned i = 0; i < rep->n_buckets; i++) {
                if (!b[i].n)
                    continue;
                if (!any || b[i].min < rep->vmin[q][z])
                    rep->vmin[q][z] = b[i].min;
                if (!any || b[i].max > rep->vmax[q][z])
                    rep->vmax[q][z] = b[i].max;
                any = true;
            }
        }
    }
}

/* Alerts after the last sample show the last sample there is. */
static void fill_late_moments(struct dw_report *rep)
{
    const struct dw_report_moment *end = &rep->moments[rep->n_moments - 1];
    for (size_t k = 1; k + 1 < rep->n_moments; k++) {
        struct dw_report_moment *m = &rep->moments[k];
        if (!m->filled && end->filled) {
            enum dw_moment_kind kind = m->kind;
            size_t alert = m->alert;
            *m = *end;
            m->kind = kind;
            m->alert = alert;
        }
    }
}

/* Keeps the rows (and alert moments) inside the window, and at most
 * DW_REPORT_MAX_ALERT_MOMENTS alert moments. */
static void keep_window(struct dw_report *rep)
{
    size_t n = 0, nm = 0, drawn = 0;
    size_t *new_index = rep->n_alerts ? malloc(rep->n_alerts * sizeof(size_t)) : NULL;
    for (size_t i = 0; i < rep->n_events; i++) {
        if (!in_window(rep, rep->event_elapsed[i]))
            continue;
        rep->events[n] = rep->events[i];
        rep->event_elapsed[n++] = rep->event_elapsed[i];
    }
    rep->n_events = n;
    n = 0;
    for (size_t i = 0; i < rep->n_alerts; i++) {
        bool keep = in_window(rep, rep->alert_elapsed[i]);
        if (new_index)
            new_index[i] = keep ? n : SIZE_MAX;
        if (!keep)
            continue;
        rep->alerts[n] = rep->alerts[i];
        rep->alert_cut[n] = rep->alert_cut[i];
        rep->alert_elapsed[n++] = rep->alert_elapsed[i];
    }
    rep->n_alerts = n;
    for (size_t k = 0; k < rep->n_moments; k++) {
        struct dw_report_moment *m = &rep->moments[k];
        if (m->kind == DW_MOMENT_ALERT) {
            if (!new_index || new_index[m->alert] == SIZE_MAX)
                continue;
            m->alert = new_index[m->alert];
            if (drawn++ >= DW_REPORT_MAX_ALERT_MOMENTS) {
                rep->alerts_not_drawn++;
                continue;
            }
        }
        rep->moments[nm++] = *m;
    }
    rep->n_moments = nm;
    free(new_index);
}

static int allocate(struct dw_report *rep)
{
    int64_t span = 0;
    const struct dw_report_file *last = &rep->files[rep->n_files - 1];
    /* The buckets' first width from the files' clock span (or the
     * window); a garment restart makes the session longer than that, and
     * buckets_halve() then widens them. */
    span = ((int64_t)last->info.start_ns - (int64_t)rep->files[0].info.start_ns) / 1000 +
           (int64_t)(last->info.t_last_us > last->info.start_device_us
                     ? last->info.t_last_us - last->info.start_device_us : 0);
    if (rep->window_from && rep->window_to)
        span = (rep->to_clock_ns - rep->from_clock_ns) / 1000;
    rep->bucket_us = (uint64_t)(span > 0 ? span : 0) / DW_REPORT_MAX_BUCKETS + 1;
    for (unsigned q = 0; q < DW_RQ_COUNT; q++) {
        rep->bk[q] = calloc((size_t)(rep->nz ? rep->nz : 1) * DW_REPORT_MAX_BUCKETS,
                            sizeof(*rep->bk[q]));
        rep->hist[q] = calloc((size_t)(rep->nz ? rep->nz : 1) * HIST_BINS, sizeof(uint32_t));
        if (!rep->bk[q] || !rep->hist[q])
            return -ENOMEM;
    }
    return 0;
}

int dw_report_collect(struct dw_report *rep, volatile sig_atomic_t *stop,
                      char *err, size_t errcap)
{
    struct pass p = { 0 };
    size_t aidx = 0, eidx = 0;
    int e;

    rep->progress.last = -1;
    if ((e = allocate(rep)) < 0 || (e = load_all_tables(rep, err, errcap)) < 0 ||
        (e = plan_moments(rep)) < 0)
        goto out;
    p.rec = malloc(sizeof(*p.rec));
    p.by_order = malloc((rep->n_alerts + 1) * sizeof(*p.by_order));
    p.pend = malloc((rep->n_moments + 1) * sizeof(*p.pend));
    if (!p.rec || !p.by_order || !p.pend) {
        e = -ENOMEM;
        goto out;
    }
    /* No detector (out of memory): the maps say the rules saw nothing. */
    p.det = dw_detector_new(&rep->cfg, on_replayed_alert, rep);
    p.total = dw_report_records(rep);
    for (size_t i = 0; i < rep->n_files; i++)
        if ((e = read_file(rep, &p, i, &aidx, &eidx, stop, err, errcap)) < 0)
            goto out;
    progress(rep, p.total, p.total);
    fill_late_moments(rep);
    for (size_t i = 0; i < rep->n_alerts; i++) {
        char rule[DW_S_RULE + 1];
        DW_FIELD(rule, rep->alerts[i].rule);
        rep->file_raised += dw_report_rule_clinical(rule) &&
            !strncmp(rep->alerts[i].state, "raised", sizeof(rep->alerts[i].state));
    }
    keep_window(rep);
    finish_stats(rep);
out:
    if (e == -ENOMEM)
        snprintf(err, errcap, "%s: out of memory", rep->path);
    dw_detector_free(p.det);
    free(p.by_order);
    free(p.pend);
    free(p.rec);
    return e;
}

void dw_report_free(struct dw_report *rep)
{
    for (unsigned q = 0; q < DW_RQ_COUNT; q++) {
        free(rep->bk[q]);
        free(rep->hist[q]);
    }
    free(rep->events);
    free(rep->event_elapsed);
    free(rep->alerts);
    free(rep->alert_elapsed);
    free(rep->alert_cut);
    free(rep->stats);
    free(rep->moments);
}
