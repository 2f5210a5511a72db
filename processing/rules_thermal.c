/* Warmth: T1 and T2 (a zone warmer than its neighbours and its mirror,
 * each against its own baseline), G1 (the whole breast area warmer than at
 * the same clock hour of the previous days) and G2/G3 (a logged fever). */
#include <math.h>
#include "detector_internal.h"

/* dG per zone: against the same clock hour of the previous days. */
static void global_deltas(struct minute_ctx *x, unsigned valid[2], unsigned warm[2])
{
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &x->dv->zone[i];
        z->dg_c = NAN;
        if (!z->t_valid)
            continue;
        double base = dw_baseline_clock_hour(z->hour_t, x->hour, x->scratch);
        if (!isnan(base)) {
            z->dg_c = z->t_c - base;
            valid[z->side]++;
            warm[z->side] += z->dg_c >= x->c->g1_delta_c;
        }
    }
}

/* G1: both breasts warmer in most valid zones, with no warmer room. */
static void g1_step(struct minute_ctx *x)
{
    const struct dw_detect_config *c = x->c;
    struct dw_device *dv = x->dv;
    unsigned valid[2] = { 0, 0 }, warm[2] = { 0, 0 };
    global_deltas(x, valid, warm);
    double amb_base = dw_baseline_clock_hour(dv->ambient_hour, x->hour, x->scratch);
    bool amb_cause = !isnan(amb_base) && x->have &&
                     x->ambient_mean_c - amb_base >= c->g1_ambient_c;
    bool ok = valid[0] >= 2 && valid[1] >= 2;
    bool raise = ok && warm[0] >= c->g1_zone_fraction * valid[0] &&
                 warm[1] >= c->g1_zone_fraction * valid[1] && !amb_cause;
    bool hold = ok && warm[0] + warm[1] > 0 && !amb_cause &&
                (double)(warm[0] + warm[1]) >=
                    x->hysteresis * c->g1_zone_fraction * (valid[0] + valid[1]);
    int tr = dw_sustain_step(&dv->g1, raise && dv->learned, hold, ok,
                             dw_det_minutes(c->g1_sustain_us), x->clear_min, x->max_invalid_min);
    x->g1_fraction = ok ? (double)(warm[0] + warm[1]) / (valid[0] + valid[1]) : 0;
    struct dw_measure m = { x->g1_fraction, c->g1_zone_fraction };
    if (tr > 0)
        dw_det_alert_set(x->d, dv, &dv->g1_alert, DW_RULE_G1,
                         dv->fever_alert.active ? DW_L3 : DW_L1, DW_SIDE_NONE, -1, m, x->t_us);
    else if (tr < 0)
        dw_det_alert_clear(x->d, dv, &dv->g1_alert, DW_SIDE_NONE, m, x->t_us);
}

static enum dw_rule fever_rule(const struct dw_detect_config *c, double fever_c)
{
    return fever_c >= c->g3_high_fever_c ? DW_RULE_G3 : DW_RULE_G2;
}

static struct dw_measure fever_measure(const struct dw_detect_config *c, double fever_c)
{
    return (struct dw_measure){ fever_c, fever_c >= c->g3_high_fever_c ? c->g3_high_fever_c
                                                                      : c->g2_fever_c };
}

/* G1, then a logged fever: it expires, or lasts and escalates. */
void dw_rules_fever_step(struct minute_ctx *x)
{
    const struct dw_detect_config *c = x->c;
    struct dw_device *dv = x->dv;
    g1_step(x);
    if (dv->fever_alert.active && x->t_us - dv->fever_last_us >= c->g2_expire_us)
        dw_det_alert_clear(x->d, dv, &dv->fever_alert, DW_SIDE_NONE,
                           (struct dw_measure){ dv->fever_c, c->g2_fever_c }, x->t_us);
    x->fever = dv->fever_alert.active;
    bool fever_long = x->fever && dv->fever_last_us - dv->fever_first_us >= c->l3_fever_us;
    if (x->fever) {
        int lvl = dv->fever_c >= c->g3_high_fever_c || fever_long ? DW_L3 : DW_L2;
        dw_det_alert_set(x->d, dv, &dv->fever_alert, fever_rule(c, dv->fever_c), lvl,
                         DW_SIDE_NONE, -1, fever_measure(c, dv->fever_c), x->t_us);
    }
    x->system_fever = dv->g1_alert.active || x->fever;
}

/* G1's level: L3 with a duct or inflammation finding or a logged fever. */
void dw_rules_g1_escalate(struct minute_ctx *x)
{
    struct dw_device *dv = x->dv;
    if (!dv->g1_alert.active)
        return;
    bool l3 = dv->breast[0].d1_alert.active || dv->breast[1].d1_alert.active ||
              dv->breast[0].i1_alert.active || dv->breast[1].i1_alert.active || x->fever;
    dw_det_alert_set(x->d, dv, &dv->g1_alert, DW_RULE_G1, l3 ? DW_L3 : DW_L1, DW_SIDE_NONE, -1,
                     (struct dw_measure){ x->g1_fraction, x->c->g1_zone_fraction }, x->t_us);
}

void dw_rules_thermometer(struct dw_detector *d, struct dw_device *dv, uint64_t t,
                          bool has_value, double value)
{
    const struct dw_detect_config *c = &d->c;
    if (!has_value)
        return;
    if (value >= c->g2_fever_c) {
        if (!dv->fever_alert.active)
            dv->fever_first_us = t;
        dv->fever_last_us = t;
        dv->fever_c = value;
        int lvl = value >= c->g3_high_fever_c ? DW_L3 : DW_L2;
        dw_det_alert_set(d, dv, &dv->fever_alert, fever_rule(c, value), lvl, DW_SIDE_NONE, -1,
                         fever_measure(c, value), t);
    } else if (dv->fever_alert.active) {
        dw_det_alert_clear(d, dv, &dv->fever_alert, DW_SIDE_NONE,
                           (struct dw_measure){ value, c->g2_fever_c }, t);
    }
}

/* dL and dA against the zone's baselines; whether T1 and T2 hold now. */
static void warmth_deltas(struct minute_ctx *x, bool t1[], bool t2[], unsigned t1_raw[2])
{
    const struct dw_detect_config *c = x->c;
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &x->dv->zone[i];
        t1[i] = t2[i] = false;
        z->dl_c = z->da_c = NAN;
        if (!(z->has_l && z->has_a && z->base_l.have && z->base_a.have))
            continue;
        z->dl_c = z->l_c - z->base_l.median;
        z->da_c = z->a_c - z->base_a.median;
        z->last_dl_c = z->dl_c;
        double thl = fmax(c->t1_delta_c, c->t1_mad_factor * z->base_l.mad);
        double tha = fmax(c->t1_delta_c, c->t1_mad_factor * z->base_a.mad);
        t1[i] = z->dl_c >= thl && z->da_c >= tha;
        t2[i] = z->dl_c >= c->t2_delta_c && z->da_c >= c->t2_delta_c;
        t1_raw[z->side] += t1[i];
    }
}

static void warmth_rule(struct minute_ctx *x, unsigned i, enum dw_rule rule, bool raise,
                        bool hold, double delta_c)
{
    struct dw_zone *z = &x->dv->zone[i];
    bool valid = !isnan(z->dl_c);
    int tr = dw_sustain_step(&z->sustain[rule], raise, hold, valid,
                             dw_det_minutes(rule == DW_RULE_T1 ? x->c->t1_sustain_us
                                                               : x->c->t2_sustain_us),
                             x->clear_min, x->max_invalid_min);
    if (tr > 0) {
        dw_det_alert_set(x->d, x->dv, &z->handle[rule], rule, DW_L0, (int)z->side, (int)i,
                         (struct dw_measure){ z->dl_c, delta_c }, x->t_us);
        dw_rules_episode_touch(x->dv, z->side, (int)i, x->t_us);
    } else if (tr < 0) {
        dw_det_alert_clear(x->d, x->dv, &z->handle[rule], (int)z->side,
                           (struct dw_measure){ valid ? z->dl_c : 0, delta_c }, x->t_us);
    }
}

/* T1 / T2 per zone: focal (at most a fraction of that breast's zones). */
void dw_rules_warmth_step(struct minute_ctx *x)
{
    const struct dw_detect_config *c = x->c;
    struct dw_device *dv = x->dv;
    double h = x->hysteresis;
    unsigned t1_raw[2] = { 0, 0 };
    bool t1[DW_MAX_ZONES], t2[DW_MAX_ZONES];
    warmth_deltas(x, t1, t2, t1_raw);
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &dv->zone[i];
        unsigned per_side = 0;
        for (unsigned k = 0; k < x->n_zones; k++)
            per_side += dv->zone[k].side == z->side;
        bool focal = t1_raw[z->side] <= c->t1_max_zone_fraction * per_side;
        bool valid = !isnan(z->dl_c);
        bool hold1 = valid && z->dl_c >= h * c->t1_delta_c && z->da_c >= h * c->t1_delta_c;
        bool hold2 = valid && z->dl_c >= h * c->t2_delta_c && z->da_c >= h * c->t2_delta_c;
        warmth_rule(x, i, DW_RULE_T1, dv->learned && focal && t1[i], hold1 && focal,
                    c->t1_delta_c);
        warmth_rule(x, i, DW_RULE_T2, dv->learned && focal && t2[i], hold2 && focal,
                    c->t2_delta_c);
    }
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &dv->zone[i];
        for (enum dw_rule r = DW_RULE_T1; r <= DW_RULE_T2; r++)
            if (z->handle[r].active)
                dw_det_alert_set(x->d, dv, &z->handle[r], r, DW_L0, (int)z->side, (int)i,
                                 (struct dw_measure){ z->last_dl_c, r == DW_RULE_T1 ?
                                                      c->t1_delta_c : c->t2_delta_c }, x->t_us);
    }
}
