/* The baselines the contrasts are measured against: rolling robust L and A
 * (72 h of valid data that was under no suspicion), the post-feed "soft"
 * pressure of each zone, and the same-clock-hour means of the last 3 days. */
#include <math.h>
#include "detector_internal.h"

bool dw_baseline_zone_in_alert(const struct dw_zone *z)
{
    return z->handle[DW_RULE_T1].active || z->handle[DW_RULE_T2].active ||
           z->handle[DW_RULE_F1].active || z->handle[DW_RULE_FR].active ||
           z->sustain[DW_RULE_T1].minutes_true > 0 || z->sustain[DW_RULE_F1].minutes_true > 0;
}

void dw_baseline_soft_push(struct dw_zone *z, double p_kpa, uint64_t t)
{
    z->soft_p_kpa[z->soft_head] = (float)p_kpa;
    z->soft_t_us[z->soft_head] = t;
    z->soft_head = (z->soft_head + 1) % DW_DET_SOFT_CAP;
    if (z->soft_n < DW_DET_SOFT_CAP)
        z->soft_n++;
}

void dw_baseline_soft_update(struct dw_detector *d, struct dw_zone *z, uint64_t now,
                             float *scratch)
{
    unsigned n = 0;
    for (unsigned k = 0; k < z->soft_n; k++)
        if (now - z->soft_t_us[k] <= d->c.baseline_window_us)
            scratch[n++] = z->soft_p_kpa[k];
    /* With no fresh clean value (a lump that lasts beyond the window), keep
     * the last baseline: a stale baseline beats none. */
    if (n)
        z->soft_median_kpa = dw_det_median(scratch, n);
}

/* The median of the means at this clock hour on the previous 1..3 days
 * (hours with >= 20 minutes of data), NAN if none. */
double dw_baseline_clock_hour(float hour_sums[2][DW_DET_CLOCK_HOURS], uint64_t hour,
                              float *scratch)
{
    unsigned n = 0;
    for (unsigned day = 1; day <= 3; day++) {
        if (hour < 24 * day)
            break;
        uint64_t hh = hour - 24 * day;
        float sum = hour_sums[0][hh % DW_DET_CLOCK_HOURS];
        float cnt = hour_sums[1][hh % DW_DET_CLOCK_HOURS];
        if (!isnan(sum) && cnt >= 20)
            scratch[n++] = sum / cnt;
    }
    return n ? dw_det_median(scratch, n) : NAN;
}

/* This minute into the rolling windows and the clock-hour sums. */
static void push_minute(struct minute_ctx *x)
{
    struct dw_device *dv = x->dv;
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &dv->zone[i];
        const struct dw_breast *b = &dv->breast[z->side];
        bool clean = !dw_baseline_zone_in_alert(z) && !b->d1_alert.active && !b->i1_alert.active;
        dw_ring_push(&z->base_l, z->has_l && clean ? (float)z->l_c : NAN);
        dw_ring_push(&z->base_a, z->has_a && clean ? (float)z->a_c : NAN);
        if (z->t_valid && !x->system_fever && !dv->g1.minutes_true) {
            z->hour_sum_c += z->t_c;
            z->hour_n++;
        }
    }
    if (x->have && !isnan(x->ambient_mean_c)) {
        dv->ambient_hour_sum_c += x->ambient_mean_c;
        dv->ambient_hour_n++;
    }
}

/* At an hour boundary: store the hour's sums. */
static void close_hour(struct minute_ctx *x)
{
    struct dw_device *dv = x->dv;
    unsigned slot = (unsigned)(x->hour % DW_DET_CLOCK_HOURS);
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &dv->zone[i];
        z->hour_t[0][slot] = z->hour_n ? (float)z->hour_sum_c : NAN;
        z->hour_t[1][slot] = (float)z->hour_n;
        z->hour_sum_c = 0;
        z->hour_n = 0;
    }
    dv->ambient_hour[0][slot] = dv->ambient_hour_n ? (float)dv->ambient_hour_sum_c : NAN;
    dv->ambient_hour[1][slot] = (float)dv->ambient_hour_n;
    dv->ambient_hour_sum_c = 0;
    dv->ambient_hour_n = 0;
}

void dw_baseline_step(struct minute_ctx *x)
{
    const struct dw_detect_config *c = x->c;
    struct dw_device *dv = x->dv;
    push_minute(x);
    if ((x->minute + 1) % 60 == 0)
        close_hour(x);
    if (x->minute + 1 >= dv->next_baseline_minute) {
        uint32_t min_n = dw_det_minutes(c->baseline_min_us);
        /* too little clean data keeps the last baseline */
        for (unsigned i = 0; i < x->n_zones; i++) {
            if (dv->zone[i].base_l.n_valid >= min_n)
                dw_ring_update(&dv->zone[i].base_l, min_n, x->scratch);
            if (dv->zone[i].base_a.n_valid >= min_n)
                dw_ring_update(&dv->zone[i].base_a, min_n, x->scratch);
        }
        dv->next_baseline_minute = x->minute + 1 + dw_det_minutes(c->baseline_update_us);
    }
}

/* R = 1 + a * gap^b by least squares in log-log over the points that have
 * filled at all (R - 1 >= 0.02, gap >= 0.5 h); b is kept within [0.5, 4]
 * (filling near capacity is faster: tension). The scatter is the robust SD
 * (1.4826 x MAD) of her points around the curve. */
static void fill_fit(struct dw_breast *b, float *scratch)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    unsigned n = 0;
    for (uint32_t k = 0; k < b->fill_n; k++) {
        if (b->fill_r[k] - 1 < 0.02 || b->fill_gap_h[k] < 0.5)
            continue;
        double x = log(b->fill_gap_h[k]), y = log(b->fill_r[k] - 1);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        n++;
    }
    b->fill_fit = false;
    if (n < DW_DET_FILL_MIN)
        return;
    double den = n * sxx - sx * sx;
    double slope = den > 1e-6 ? (n * sxy - sx * sy) / den : 1.0;
    slope = fmin(fmax(slope, 0.5), 4.0);
    b->fill_b = slope;
    b->fill_a = exp((sy - slope * sx) / n);
    b->fill_fit = true;
    for (uint32_t k = 0; k < b->fill_n; k++)
        scratch[k] = (float)fabs(b->fill_r[k] - dw_baseline_fill_expected(b, b->fill_gap_h[k]));
    b->fill_sd = 1.4826 * dw_det_median(scratch, b->fill_n);
}

void dw_baseline_fill_add(struct dw_breast *b, double gap_h, double r, float *scratch)
{
    b->fill_gap_h[b->fill_head] = (float)gap_h;
    b->fill_r[b->fill_head] = (float)r;
    b->fill_head = (b->fill_head + 1) % DW_DET_FILL_CAP;
    if (b->fill_n < DW_DET_FILL_CAP)
        b->fill_n++;
    fill_fit(b, scratch);
}

double dw_baseline_fill_expected(const struct dw_breast *b, double gap_h)
{
    if (!b->fill_fit || gap_h <= 0)
        return NAN;
    return 1 + b->fill_a * pow(gap_h, b->fill_b);
}
