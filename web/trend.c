#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "layout.h"
#include "robust.h"
#include "trend.h"

#define MINUTE_US 60000000ull
/* Baselines are a few hundred thousand operations: at most every few
 * minutes of device time (a fast replay closes thousands of minutes a
 * second). */
#define BASE_EVERY_MINUTES 5

struct dw_trend *dw_trend_new(const struct dw_hello *layout)
{
    struct dw_trend *tr = calloc(1, sizeof(*tr));
    size_t n = (size_t)DW_TREND_MINUTES * (layout->n_zones ? layout->n_zones : 1);
    if (!tr)
        return NULL;
    tr->nz = layout->n_zones;
    tr->layout = *layout;
    tr->t = malloc(n * sizeof(float));
    tr->p = malloc(n * sizeof(float));
    tr->scratch = malloc(DW_TREND_MINUTES * sizeof(float));
    if (!tr->t || !tr->p || !tr->scratch) {
        dw_trend_free(tr);
        errno = ENOMEM;
        return NULL;
    }
    for (unsigned z = 0; z < DW_MAX_ZONES; z++)
        tr->base_l[z] = tr->base_p[z] = NAN;
    return tr;
}

void dw_trend_free(struct dw_trend *tr)
{
    if (!tr)
        return;
    free(tr->t);
    free(tr->p);
    free(tr->scratch);
    free(tr);
}

static float *row(float *a, const struct dw_trend *tr, unsigned age)
{
    unsigned i = (tr->head + DW_TREND_MINUTES - 1 - age) % DW_TREND_MINUTES;
    return a + (size_t)i * tr->nz;
}

static void push_minute(struct dw_trend *tr, bool with_data)
{
    float *t = tr->t + (size_t)tr->head * tr->nz, *p = tr->p + (size_t)tr->head * tr->nz;
    for (unsigned z = 0; z < tr->nz; z++) {
        t[z] = with_data && tr->n_t[z] ? (float)(tr->sum_t[z] / tr->n_t[z]) : NAN;
        p[z] = with_data && tr->n_p[z] ? (float)(tr->sum_p[z] / tr->n_p[z]) : NAN;
    }
    tr->head = (tr->head + 1) % DW_TREND_MINUTES;
    if (tr->count < DW_TREND_MINUTES)
        tr->count++;
}

/* The detector's L: T of z minus the median T of its neighbours. */
static float contrast(const struct dw_trend *tr, unsigned z, const float *t)
{
    unsigned nb[DW_MAX_NEIGHBOURS], n = dw_layout_neighbours(&tr->layout, z, nb), k = 0;
    float v[DW_MAX_NEIGHBOURS];
    if (isnan(t[z]))
        return NAN;
    for (unsigned i = 0; i < n; i++)
        if (!isnan(t[nb[i]]))
            v[k++] = t[nb[i]];
    return k ? t[z] - (float)dw_median(v, k) : NAN;
}

static void update_baselines(struct dw_trend *tr)
{
    unsigned span = tr->count < DW_TREND_BASE_MINUTES ? tr->count : DW_TREND_BASE_MINUTES;
    for (unsigned z = 0; z < tr->nz; z++) {
        unsigned n = 0;
        for (unsigned a = 0; a < span; a++) {
            float l = contrast(tr, z, row(tr->t, tr, a));
            if (!isnan(l))
                tr->scratch[n++] = l;
        }
        tr->base_l[z] = n ? (float)dw_median(tr->scratch, n) : NAN;
        n = 0;
        for (unsigned a = 0; a < span; a++) {
            float p = row(tr->p, tr, a)[z];
            if (!isnan(p))
                tr->scratch[n++] = p;
        }
        tr->base_p[z] = n ? (float)dw_median(tr->scratch, n) : NAN;
    }
    tr->since_base = 0;
}

static void open_minute(struct dw_trend *tr, uint64_t minute)
{
    tr->minute = minute;
    memset(tr->sum_t, 0, sizeof(tr->sum_t));
    memset(tr->sum_p, 0, sizeof(tr->sum_p));
    memset(tr->n_t, 0, sizeof(tr->n_t));
    memset(tr->n_p, 0, sizeof(tr->n_p));
}

void dw_trend_add(struct dw_trend *tr, uint64_t t_device_us, const float *t_c,
                  const float *p_kpa)
{
    uint64_t m = t_device_us / MINUTE_US;
    if (!tr->started || m < tr->minute) {
        tr->started = true;
        tr->head = tr->count = 0;
        open_minute(tr, m);
    }
    if (m > tr->minute) {
        bool first_base = isnan(tr->base_p[0]);
        push_minute(tr, true);
        /* minutes without a sample (link down, garment off) */
        for (uint64_t k = tr->minute + 1; k < m && k < tr->minute + DW_TREND_MINUTES; k++)
            push_minute(tr, false);
        open_minute(tr, m);
        if (++tr->since_base >= BASE_EVERY_MINUTES || first_base)
            update_baselines(tr);
    }
    for (unsigned z = 0; z < tr->nz; z++) {
        if (!isnan(t_c[z])) {
            tr->sum_t[z] += t_c[z];
            tr->n_t[z]++;
        }
        if (!isnan(p_kpa[z])) {
            tr->sum_p[z] += p_kpa[z];
            tr->n_p[z]++;
        }
    }
}

float dw_trend_warmth(struct dw_trend *tr, unsigned z, const float *t_c)
{
    if (z >= tr->nz || isnan(tr->base_l[z]))
        return NAN;
    return contrast(tr, z, t_c) - tr->base_l[z];
}

float dw_trend_firmness(const struct dw_trend *tr, unsigned z, float p_kpa)
{
    if (z >= tr->nz || isnan(tr->base_p[z]) || tr->base_p[z] <= 0.01f || isnan(p_kpa))
        return NAN;
    return p_kpa / tr->base_p[z];
}

static void put_values(struct dw_strbuf *b, const char *key, const struct dw_trend *tr,
                       float *a, unsigned z, unsigned n, double open_mean, const char *fmt)
{
    bool first = true;
    dw_strbuf_printf(b, ",\"%s\":[", key);
    for (unsigned age = n; age-- > 0;) {
        float v = row(a, tr, age)[z];
        dw_strbuf_sep(b, &first);
        if (isnan(v))
            dw_strbuf_puts(b, "null");
        else
            dw_strbuf_printf(b, fmt, v);
    }
    dw_strbuf_sep(b, &first);
    if (isnan(open_mean))
        dw_strbuf_puts(b, "null");
    else
        dw_strbuf_printf(b, fmt, open_mean);
    dw_strbuf_puts(b, "]");
}

void dw_trend_json(const struct dw_trend *tr, unsigned z, unsigned minutes,
                   struct dw_strbuf *b)
{
    unsigned n = minutes ? minutes - 1 : 0;
    if (n > tr->count)
        n = tr->count;
    double mt = tr->n_t[z] ? tr->sum_t[z] / tr->n_t[z] : NAN;
    double mp = tr->n_p[z] ? tr->sum_p[z] / tr->n_p[z] : NAN;
    dw_strbuf_printf(b, "{\"zone\":%u,\"step_s\":60,\"end_t_device_us\":%llu", z,
                     (unsigned long long)((tr->minute + 1) * MINUTE_US));
    put_values(b, "t", tr, tr->t, z, n, mt, "%.2f");
    put_values(b, "p", tr, tr->p, z, n, mp, "%.3f");
    dw_strbuf_puts(b, "}");
}
