/* One closed minute: the means of its samples, which zones count (the
 * validity gating of docs/detection.md), and the contrasts the rules read:
 * L (against the neighbours), A (against the mirror zone), R (pressure
 * against the post-feed soft baseline) and Q (R against the neighbours). */
#include <math.h>
#include <string.h>
#include "detector_internal.h"

/* The minute's mean acceleration is gravity (gait and breathing average
 * out). Lying on a side tilts the lateral x axis towards the vertical:
 * x <= -0.5 g (more than 30 degrees) is lying on the left, >= +0.5 g on the
 * right; else z (out of the chest) >= 0.5 g is lying on the back. */
static enum dw_posture posture_of(const double g[3])
{
    if (g[0] <= -DW_DET_LYING_G)
        return DW_POSTURE_LEFT;
    if (g[0] >= DW_DET_LYING_G)
        return DW_POSTURE_RIGHT;
    if (g[2] >= DW_DET_LYING_G)
        return DW_POSTURE_BACK;
    return DW_POSTURE_UPRIGHT;
}

static void posture(struct minute_ctx *x)
{
    struct dw_device *dv = x->dv;
    double g[3];
    if (!x->have)
        return; /* no data: keep the last posture */
    for (int k = 0; k < 3; k++)
        g[k] = dv->acc_gravity_g[k] / dv->acc_n;
    dv->posture = posture_of(g);
    /* rolling over takes a minute: the mattress's press lasts a little */
    if (dv->posture == DW_POSTURE_LEFT || dv->posture == DW_POSTURE_RIGHT)
        dv->lying_until_us[dv->posture == DW_POSTURE_LEFT ? DW_SIDE_LEFT : DW_SIDE_RIGHT] =
            x->t_us + DW_DET_LYING_AFTER_US;
}

/* Motion and room changes: artefact windows for the whole device. */
static void device_means(struct minute_ctx *x)
{
    const struct dw_detect_config *c = x->c;
    struct dw_device *dv = x->dv;
    x->have = dv->acc_n > 0;
    if (x->have) {
        for (int s = 0; s < 2; s++)
            dv->ambient_c[s] = dv->acc_ambient_c[s] / dv->acc_n;
        double mean = dv->acc_accel_g / dv->acc_n;
        double var = dv->acc_accel_g2 / dv->acc_n - mean * mean;
        if (var > c->motion_high_g * c->motion_high_g)
            dv->motion_until_us = x->t_us + c->motion_artefact_us;
    }
    x->ambient_mean_c = x->have ? 0.5 * (dv->ambient_c[0] + dv->ambient_c[1]) : NAN;
    unsigned aw = dw_det_minutes(c->ambient_change_window_us);
    if (aw >= DW_DET_AMB_HISTORY_MIN)
        aw = DW_DET_AMB_HISTORY_MIN - 1;
    if (x->have) {
        for (unsigned k = 1; k <= aw; k++) {
            float old = dv->ambient_history[(x->minute + DW_DET_AMB_HISTORY_MIN - k) %
                                            DW_DET_AMB_HISTORY_MIN];
            if (!isnan(old) && fabs(x->ambient_mean_c - old) > c->ambient_change_c)
                dv->ambient_artefact_until_us = x->t_us + c->ambient_artefact_us;
        }
    }
    dv->ambient_history[x->minute % DW_DET_AMB_HISTORY_MIN] = (float)x->ambient_mean_c;
    x->shower = x->t0_us < dv->shower_until_us;
    posture(x);
}

/* The band of raw values a zone kept since its run started (S3). */
static void stuck_runs(const struct dw_detect_config *c, struct dw_zone *z,
                       const struct dw_zone_acc *a)
{
    if (z->t_run_min && a->t_raw_min >= z->t_run_hi - (int)c->s3_lsb &&
        a->t_raw_max <= z->t_run_lo + (int)c->s3_lsb) {
        if (a->t_raw_min < z->t_run_lo) z->t_run_lo = a->t_raw_min;
        if (a->t_raw_max > z->t_run_hi) z->t_run_hi = a->t_raw_max;
        z->t_run_min++;
    } else if (a->t_raw_max - a->t_raw_min <= (int)c->s3_lsb) {
        z->t_run_lo = a->t_raw_min;
        z->t_run_hi = a->t_raw_max;
        z->t_run_min = 1;
    } else {
        z->t_run_min = 0;
    }
    if (z->p_run_min && a->p_raw_min + c->s3_lsb >= z->p_run_hi &&
        a->p_raw_max <= z->p_run_lo + c->s3_lsb) {
        if (a->p_raw_min < z->p_run_lo) z->p_run_lo = a->p_raw_min;
        if (a->p_raw_max > z->p_run_hi) z->p_run_hi = a->p_raw_max;
        z->p_run_min++;
    } else if ((unsigned)(a->p_raw_max - a->p_raw_min) <= c->s3_lsb) {
        z->p_run_lo = a->p_raw_min;
        z->p_run_hi = a->p_raw_max;
        z->p_run_min = 1;
    } else {
        z->p_run_min = 0;
    }
}

/* Contact, and the settling after contact comes back. */
static void zone_means(struct minute_ctx *x, struct dw_zone *z, const struct dw_zone_acc *a)
{
    const struct dw_detect_config *c = x->c;
    z->has = a->n > 0;
    z->out_of_range = a->out_of_range;
    if (!z->has) {
        z->contact = z->detached = false;
        return;
    }
    z->t_c = a->sum_t_c / a->n;
    z->p_kpa = a->sum_p_kpa / a->n;
    double amb = x->dv->ambient_c[z->side];
    /* A zone off the skin in a cool room reads the room, or is cooling
     * towards it: the garment off (S2) or a detached sensor (S1), not a
     * broken one. Out of range is cold under contact pressure for a whole
     * minute (a sensor put back on warms within seconds), or colder than
     * the room. */
    if (a->too_cold && (a->n_cold_pressed == a->n || z->t_c < amb - c->skin_minus_ambient_c))
        z->out_of_range = true;
    z->contact = z->p_kpa >= c->contact_kpa && z->t_c - amb >= c->skin_minus_ambient_c &&
                 z->t_c >= c->temp_min_c;
    z->detached = !z->contact;
    x->n_present++;
    x->n_detached += z->detached;
    if (!z->contact) {
        z->had_contact = false;
    } else if (!z->had_contact) {
        z->had_contact = true;
        uint64_t until = x->t0_us + c->settle_us;
        if (until > z->settle_until_us)
            z->settle_until_us = until;
    }
    stuck_runs(c, z, a);
}

void dw_minute_means(struct minute_ctx *x)
{
    device_means(x);
    x->n_present = x->n_detached = 0;
    for (unsigned i = 0; i < x->n_zones; i++)
        zone_means(x, &x->dv->zone[i], &x->dv->acc[i]);
}

/* A feed whose end was never logged ends by itself. */
void dw_minute_feed_timeouts(struct minute_ctx *x)
{
    for (int s = 0; s < 2; s++) {
        struct dw_breast *b = &x->dv->breast[s];
        if (b->in_feed && x->t_us - b->feed_start_us >= x->c->feed_max_us) {
            b->in_feed = false;
            b->feed_end_us = x->t_us;
            if (x->t_us + x->c->feed_artefact_us > b->artefact_until_us)
                b->artefact_until_us = x->t_us + x->c->feed_artefact_us;
        }
    }
}

static bool learned(const struct dw_detector *d, const struct dw_device *dv)
{
    return dv->wear_minutes * DW_DET_MINUTE_US >= d->c.learning_wear_us &&
           dv->feeds >= d->c.learning_feeds;
}

void dw_minute_validity(struct minute_ctx *x)
{
    const struct dw_detect_config *c = x->c;
    struct dw_device *dv = x->dv;
    bool dev_art = x->t0_us < dv->motion_until_us || x->t0_us < dv->ambient_artefact_until_us ||
                   x->shower || dv->s2_alert.active || dv->garment_off_logged;
    for (int s = 0; s < 2; s++)
        dv->breast[s].n_t_valid = dv->breast[s].n_present = 0;
    unsigned n_t_valid = 0;
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &dv->zone[i];
        struct dw_breast *b = &dv->breast[z->side];
        bool base = z->has && z->contact && !z->out_of_range && !z->stuck &&
                    x->t0_us >= z->settle_until_us && !dev_art && z->t_c <= c->temp_max_c;
        z->t_valid = base && x->t0_us >= z->suppress_until_us && !b->in_feed &&
                     !b->feed_minute && x->t0_us >= b->artefact_until_us;
        /* Lying on this side, the mattress presses its lateral zones: their
         * pressure is no firmness reading (as at P1's harmful pressure). */
        bool mattress = z->lateral && x->t_us <= dv->lying_until_us[z->side];
        z->p_valid = base && !b->in_feed && !b->feed_minute && !mattress;
        b->n_present += z->has;
        b->n_t_valid += z->t_valid;
        n_t_valid += z->t_valid;
    }
    if (n_t_valid * 2 >= x->n_zones && x->n_zones)
        dv->wear_minutes++;
    dv->learned = learned(x->d, dv);
}

/* L and A of a zone whose temperature counts; R where its pressure does. */
static void zone_contrasts(struct minute_ctx *x, unsigned i)
{
    struct dw_device *dv = x->dv;
    struct dw_zone *z = &dv->zone[i];
    float *buf = x->scratch;
    unsigned n = 0;
    z->has_l = z->has_a = z->has_r = z->has_q = false;
    if (z->t_valid) {
        for (unsigned k = 0; k < z->n_neighbours; k++)
            if (dv->zone[z->neighbour[k]].t_valid)
                buf[n++] = (float)dv->zone[z->neighbour[k]].t_c;
        if (n >= 2) {
            z->l_c = z->t_c - dw_det_median(buf, n);
            z->has_l = true;
        }
        struct dw_zone *mz = &dv->zone[z->mirror];
        if (z->mirror != i && mz->t_valid) {
            z->a_c = z->t_c - mz->t_c;
            z->has_a = true;
        }
    }
    if (z->p_valid && z->soft_median_kpa > 0) {
        z->r = z->p_kpa / z->soft_median_kpa;
        z->has_r = true;
        z->last_r = z->r;
    }
}

static void zone_q(struct minute_ctx *x, struct dw_zone *z)
{
    float *buf = x->scratch;
    unsigned n = 0;
    if (!z->has_r)
        return;
    for (unsigned k = 0; k < z->n_neighbours; k++)
        if (x->dv->zone[z->neighbour[k]].has_r)
            buf[n++] = (float)x->dv->zone[z->neighbour[k]].r;
    if (n >= 2) {
        double mr = dw_det_median(buf, n);
        if (mr > 0) {
            z->q = z->r / mr;
            z->has_q = true;
        }
    }
}

void dw_minute_contrasts(struct minute_ctx *x)
{
    struct dw_device *dv = x->dv;
    float *buf = x->scratch;
    for (unsigned i = 0; i < x->n_zones; i++)
        zone_contrasts(x, i);
    for (int s = 0; s < 2; s++) {
        struct dw_breast *b = &dv->breast[s];
        unsigned n = 0;
        for (unsigned i = 0; i < x->n_zones; i++)
            if (dv->zone[i].side == (unsigned)s && dv->zone[i].has_r)
                buf[n++] = (float)dv->zone[i].r;
        b->median_r = n * 2 >= (unsigned)b->n_present && n ? dw_det_median(buf, n) : NAN;
        if (!isnan(b->median_r))
            b->median_r_last = b->median_r;
    }
    for (unsigned i = 0; i < x->n_zones; i++)
        zone_q(x, &dv->zone[i]);
}

void dw_minute_reset(struct dw_device *dv)
{
    memset(dv->acc, 0, sizeof(dv->acc));
    dv->acc_ambient_c[0] = dv->acc_ambient_c[1] = dv->acc_accel_g = dv->acc_accel_g2 = 0;
    dv->acc_gravity_g[0] = dv->acc_gravity_g[1] = dv->acc_gravity_g[2] = 0;
    dv->acc_n = 0;
    for (int s = 0; s < 2; s++)
        dv->breast[s].feed_minute = dv->breast[s].in_feed;
}
