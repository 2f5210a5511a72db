/* Gathers what a session report shows in one pass over the file: zone
 * series downsampled to min/mean/max buckets, exact per-zone medians,
 * the zone values at the start, the end and each raised alert, and the
 * session time of every event and alert row. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "layout.h"
#include "report_int.h"

#define HIST_BINS 65536u

/* Session time: the garment's clock since the first record, continued
 * across garment restarts. A restart is a garment record more than
 * RESTART_SLACK_US behind the latest one; smaller steps back are the
 * garment stamping an event with the moment it happened, and move nothing.
 * (The reader's elapsed_us counts such a step twice: every feed event of
 * processing's synthetic garment, stamped ~10 s back, added ~10 s.)
 *
 * Alert rows are not records of the stream order. An alert reaches the
 * recorder near the sample that raised it (after it live; in a fast replay
 * detection can run thousands of frames ahead of the recorder, or behind),
 * and its t_device_us names that sample. So its session time is its device
 * time on the garment clock in effect where the row sits (its `order`): a
 * garment restart between the sample and the row is the one case this gets
 * wrong. */
#define RESTART_SLACK_US 60000000ll

struct session_clock {
    int64_t offset;             /* session time = device time + offset */
    uint64_t max_t_us;          /* latest garment time on this clock */
    uint64_t dt_us;             /* one sample period */
    bool have;
    unsigned epoch;             /* garment clock restarts seen */
    size_t next_alert;          /* in by_order */
    const size_t *by_order;     /* alert indices sorted by order */
};

static uint64_t clock_at(const struct session_clock *c, uint64_t t_us)
{
    int64_t e = (int64_t)t_us + c->offset;
    return e > 0 ? (uint64_t)e : 0;
}

/* The record's session time, after noting a restart it reveals. */
static uint64_t clock_step(struct session_clock *c, const struct dw_session_record *rec)
{
    uint64_t t = rec->t_device_us;
    if (!c->have) {
        c->have = true;
        c->offset = -(int64_t)t;
        c->max_t_us = t;
    } else if (rec->has_device_seq && (int64_t)t + RESTART_SLACK_US < (int64_t)c->max_t_us) {
        c->offset = (int64_t)clock_at(c, c->max_t_us) + (int64_t)c->dt_us - (int64_t)t;
        c->max_t_us = t;
        c->epoch++;
    }
    if (rec->has_device_seq && t > c->max_t_us)
        c->max_t_us = t;
    return clock_at(c, t);
}

static bool valid_temp(const struct dw_sample *s, unsigned z)
{
    return !(s->status[z] & (DW_ZS_TEMP_FAULT | DW_ZS_TEMP_RAIL));
}

static bool valid_pres(const struct dw_sample *s, unsigned z)
{
    return !(s->status[z] & (DW_ZS_PRES_FAULT | DW_ZS_PRES_SAT));
}

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
    unsigned b;

    while (elapsed_us / rep->bucket_us >= DW_REPORT_MAX_BUCKETS)
        buckets_halve(rep);
    b = (unsigned)(elapsed_us / rep->bucket_us);
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
    if (!rep->samples)
        rep->first_sample_ns = rec->t_host_ns;
    rep->last_sample_ns = rec->t_host_ns;
    rep->samples++;
}

static void fill_moment(struct dw_report *rep, struct dw_report_moment *m,
                        const struct dw_session_record *rec, uint64_t elapsed_us)
{
    const struct dw_sample *s = &rec->sample;
    m->filled = true;
    m->elapsed_us = elapsed_us;
    m->t_host_ns = rec->t_host_ns;
    for (unsigned z = 0; z < DW_MAX_ZONES; z++) {
        bool in = z < rep->nz && z < s->n_zones;
        m->temp[z] = in && valid_temp(s, z) ? dw_sample_temp_c(&rep->hello, s, z) : NAN;
        m->pres[z] = in && valid_pres(s, z) ? dw_sample_pressure_kpa(&rep->hello, s, z) : NAN;
    }
}

/* Session time of the alert rows whose order comes before `order`; their
 * heat maps keep the sample found on this clock, or wait for one. */
static void map_alerts_before(struct dw_report *rep, struct session_clock *am, uint64_t order)
{
    while (am->next_alert < rep->n_alerts
           && rep->alerts[am->by_order[am->next_alert]].order < order) {
        size_t i = am->by_order[am->next_alert++];
        rep->alert_elapsed[i] = clock_at(am, rep->alerts[i].t_device_us);
        for (size_t k = 0; k < rep->n_moments; k++) {
            struct dw_report_moment *m = &rep->moments[k];
            if (m->kind != DW_MOMENT_ALERT || m->alert != i)
                continue;
            m->placed = true;
            if (m->filled && m->epoch != am->epoch)
                m->filled = false; /* a sample of the clock before a restart */
        }
    }
}

/* The first sample at or after each pending alert's device time, on the
 * current garment clock. */
static void alert_samples(struct dw_report *rep, const struct session_clock *am,
                          const struct dw_session_record *rec, uint64_t elapsed_us)
{
    for (size_t k = 1; k + 1 < rep->n_moments; k++) {
        struct dw_report_moment *m = &rep->moments[k];
        if (m->filled && (m->placed || m->epoch == am->epoch))
            continue;
        if (rec->t_device_us >= rep->alerts[m->alert].t_device_us) {
            fill_moment(rep, m, rec, elapsed_us);
            m->epoch = am->epoch;
        }
    }
}

/* Alert indices by their rows' order (qsort_r passes the table). */
static int cmp_order(const void *a, const void *b, void *rows)
{
    const struct dw_row_alert *t = rows;
    uint64_t x = t[*(const size_t *)a].order, y = t[*(const size_t *)b].order;
    return x < y ? -1 : x > y;
}

/* Moments to draw: start, each raised alert (stream order), end. */
static int plan_moments(struct dw_report *rep, const size_t *by_order)
{
    size_t n = 0;
    rep->moments = calloc(DW_REPORT_MAX_ALERT_MOMENTS + 2, sizeof(*rep->moments));
    if (!rep->moments)
        return -ENOMEM;
    rep->moments[n++].kind = DW_MOMENT_START;
    for (size_t j = 0; j < rep->n_alerts; j++) {
        size_t i = by_order[j];
        if (strncmp(rep->alerts[i].state, "raised", sizeof(rep->alerts[i].state)))
            continue;
        if (n - 1 >= DW_REPORT_MAX_ALERT_MOMENTS) {
            rep->alerts_not_drawn++;
            continue;
        }
        rep->moments[n].kind = DW_MOMENT_ALERT;
        rep->moments[n++].alert = i;
    }
    rep->moments[n++].kind = DW_MOMENT_END;
    rep->n_moments = n;
    return 0;
}

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

int dw_report_collect(struct dw_report *rep, struct dw_session_reader *r,
                      volatile sig_atomic_t *stop, char *err, size_t errcap)
{
    struct dw_session_record *rec = NULL;
    size_t *by_order = NULL;
    struct session_clock am = { 0 };
    size_t next_event = 0;
    uint64_t records = 0, total, el;
    uint64_t span;
    int e = 0;

    rep->info = *dw_session_reader_info(r);
    rep->hello = *dw_session_reader_hello(r);
    rep->nz = rep->hello.n_zones;
    rep->events = dw_session_reader_events(r, &rep->n_events);
    rep->alerts = dw_session_reader_alerts(r, &rep->n_alerts);
    rep->stats = dw_session_reader_stats(r, &rep->n_stats);
    total = rep->info.frames + rep->info.events + rep->info.hellos + rep->info.status;
    rep->progress.last = -1;

    /* The buckets' first width from the file's own time range; a garment
     * restart makes the session longer than that, and buckets_halve()
     * then widens them. */
    span = rep->info.t_last_us > rep->info.t_first_us
        ? rep->info.t_last_us - rep->info.t_first_us : 0;
    rep->bucket_us = span / DW_REPORT_MAX_BUCKETS + 1;
    for (unsigned q = 0; q < DW_RQ_COUNT; q++) {
        rep->bk[q] = calloc((size_t)(rep->nz ? rep->nz : 1) * DW_REPORT_MAX_BUCKETS,
                            sizeof(*rep->bk[q]));
        rep->hist[q] = calloc((size_t)(rep->nz ? rep->nz : 1) * HIST_BINS, sizeof(uint32_t));
        if (!rep->bk[q] || !rep->hist[q]) {
            e = -ENOMEM;
            goto out;
        }
    }
    rep->event_elapsed = calloc(rep->n_events + 1, sizeof(uint64_t));
    rep->alert_elapsed = calloc(rep->n_alerts + 1, sizeof(uint64_t));
    rec = malloc(sizeof(*rec));
    if (!rep->event_elapsed || !rep->alert_elapsed || !rec) {
        e = -ENOMEM;
        goto out;
    }
    /* The writer appends alerts in stream order; sorting makes the pass
     * correct for any file whose rows carry their order. */
    by_order = malloc((rep->n_alerts + 1) * sizeof(*by_order));
    if (!by_order) {
        e = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < rep->n_alerts; i++)
        by_order[i] = i;
    qsort_r(by_order, rep->n_alerts, sizeof(*by_order), cmp_order, (void *)rep->alerts);
    am.by_order = by_order;
    am.dt_us = 1000000u / (rep->hello.sample_rate_hz ? rep->hello.sample_rate_hz : 1);
    if ((e = plan_moments(rep, by_order)) < 0)
        goto out;

    dw_session_reader_rewind(r);
    for (;;) {
        int k = dw_session_reader_next(r, rec);
        if (k < 0) {
            snprintf(err, errcap, "%s: %s", rep->path, dw_session_reader_error(r));
            e = k;
            goto out;
        }
        if (!k)
            break;
        if (stop && *stop) {
            e = -EINTR;
            goto out;
        }
        el = clock_step(&am, rec);
        map_alerts_before(rep, &am, rec->order);
        if (rec->kind == DW_REC_SAMPLE) {
            take_sample(rep, rec, el);
            alert_samples(rep, &am, rec, el);
            if (!rep->moments[0].filled)
                fill_moment(rep, &rep->moments[0], rec, el);
            fill_moment(rep, &rep->moments[rep->n_moments - 1], rec, el);
            if (el > rep->elapsed_end_us)
                rep->elapsed_end_us = el;
        } else if (rec->kind == DW_REC_EVENT && next_event < rep->n_events) {
            rep->event_elapsed[next_event++] = el;
        }
        if ((++records & 0xffff) == 0)
            progress(rep, records, total);
    }
    progress(rep, total, total);
    map_alerts_before(rep, &am, UINT64_MAX);
    /* Alerts after the last sample show the last sample there is. */
    for (size_t k = 1; k + 1 < rep->n_moments; k++) {
        struct dw_report_moment *m = &rep->moments[k];
        const struct dw_report_moment *end = &rep->moments[rep->n_moments - 1];
        if (!m->filled && end->filled) {
            memcpy(m->temp, end->temp, sizeof(m->temp));
            memcpy(m->pres, end->pres, sizeof(m->pres));
            m->elapsed_us = end->elapsed_us;
            m->t_host_ns = end->t_host_ns;
            m->filled = true;
        }
    }
    finish_stats(rep);
out:
    if (e == -ENOMEM)
        snprintf(err, errcap, "%s: out of memory", rep->path);
    free(by_order);
    free(rec);
    return e;
}

void dw_report_free(struct dw_report *rep)
{
    for (unsigned q = 0; q < DW_RQ_COUNT; q++) {
        free(rep->bk[q]);
        free(rep->hist[q]);
    }
    free(rep->event_elapsed);
    free(rep->alert_elapsed);
    free(rep->moments);
}
