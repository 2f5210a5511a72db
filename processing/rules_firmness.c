/* Pressure: P1 (the garment pressing), F1 (a zone firmer than its soft
 * baseline and its neighbours) and F1-FR (firmness a feed did not relieve,
 * which also feeds the soft baseline from zones under no suspicion). */
#include <math.h>
#include "detector_internal.h"

/* P1: >= kpa for minutes of any window; band zones: >= ratio x neighbours. */
static void pressing(struct minute_ctx *x, unsigned i)
{
    const struct dw_detect_config *c = x->c;
    struct dw_device *dv = x->dv;
    struct dw_zone *z = &dv->zone[i];
    uint32_t slot = (uint32_t)(x->minute % x->d->p1_window_min);
    uint8_t bit = z->has && z->contact && z->p_kpa >= c->p1_kpa;
    z->p1_count += bit;
    z->p1_count -= z->p1_bits[slot];
    z->p1_bits[slot] = bit;
    bool press_abs = z->p1_count >= dw_det_minutes(c->p1_minutes_us);
    bool nb_cond = false;
    if (z->band && z->has && z->contact) {
        unsigned n = 0;
        for (unsigned k = 0; k < z->n_neighbours; k++)
            if (dv->zone[z->neighbour[k]].has && dv->zone[z->neighbour[k]].contact)
                x->scratch[n++] = (float)dv->zone[z->neighbour[k]].p_kpa;
        double mp = dw_det_median(x->scratch, n);
        nb_cond = n && mp > 0 && z->p_kpa >= c->p1_neighbour_ratio * mp;
    }
    dw_sustain_step(&z->p1_neighbour, nb_cond, nb_cond, z->has && z->contact,
                    dw_det_minutes(c->p1_neighbour_sustain_us), x->clear_min, x->max_invalid_min);
    bool p1 = press_abs || z->p1_neighbour.on;
    struct dw_measure m = { z->p_kpa, c->p1_kpa };
    struct dw_handle *h = &z->handle[DW_RULE_P1];
    if (p1 && !h->active)
        dw_det_alert_set(x->d, dv, h, DW_RULE_P1, DW_L0, (int)z->side, (int)i, m, x->t_us);
    else if (!p1 && h->active)
        dw_det_alert_clear(x->d, dv, h, (int)z->side, m, x->t_us);
}

static void firm(struct minute_ctx *x, unsigned i)
{
    const struct dw_detect_config *c = x->c;
    struct dw_zone *z = &x->dv->zone[i];
    double h = x->hysteresis;
    /* At P1's harmful pressure the taxel measures the garment (a strap,
     * a tight band), not the breast: no firmness reading. A lump, even
     * under a band, presses far less (docs/simulator.md). */
    bool valid = z->has_q && z->p_kpa < c->p1_kpa;
    bool raise = valid && x->dv->learned && z->r >= c->f1_r && z->q >= c->f1_q;
    bool hold = valid && z->r >= h * c->f1_r + (1 - h) && z->q >= h * c->f1_q + (1 - h);
    int tr = dw_sustain_step(&z->sustain[DW_RULE_F1], raise, hold, valid,
                             dw_det_minutes(c->f1_sustain_us), x->clear_min, x->max_invalid_min);
    if (tr > 0) {
        dw_det_alert_set(x->d, x->dv, &z->handle[DW_RULE_F1], DW_RULE_F1, DW_L0, (int)z->side,
                         (int)i, (struct dw_measure){ z->r, c->f1_r }, x->t_us);
        dw_rules_episode_touch(x->dv, z->side, (int)i, x->t_us);
    } else if (tr < 0) {
        dw_det_alert_clear(x->d, x->dv, &z->handle[DW_RULE_F1], (int)z->side,
                           (struct dw_measure){ valid ? z->r : 0, c->f1_r }, x->t_us);
    }
}

void dw_rules_firmness_step(struct minute_ctx *x)
{
    for (unsigned i = 0; i < x->n_zones; i++) {
        pressing(x, i);
        firm(x, i);
    }
}

/* Inside the window after a feed on side s: sum R and P per zone. */
static void relief_collect(struct minute_ctx *x, int s)
{
    struct dw_breast *b = &x->dv->breast[s];
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &x->dv->zone[i];
        if (z->side != (unsigned)s || !z->p_valid)
            continue;
        z->fr_sum_p_kpa += z->p_kpa;
        z->fr_n_p++;
        if (z->has_r) {
            z->fr_sum_r += z->r;
            z->fr_n_r++;
        }
    }
    if (!isnan(b->median_r)) {
        b->fr_median_sum += b->median_r;
        b->fr_median_n++;
    }
}

/* The window closed: F1-FR where a zone stayed firm on a relieved breast;
 * the other zones teach the soft baseline. */
static void relief_verdict(struct minute_ctx *x, int s, unsigned i, double breast_median)
{
    const struct dw_detect_config *c = x->c;
    struct dw_zone *z = &x->dv->zone[i];
    double zr = z->fr_n_r >= DW_DET_FR_MIN_MINUTES ? z->fr_sum_r / z->fr_n_r : NAN;
    bool relieved = !isnan(breast_median) && breast_median <= c->fr_breast_median_max;
    bool pos = x->dv->learned && !isnan(zr) && zr >= c->fr_r && relieved;
    if (pos) {
        z->fr_last_us = x->t_us;
        dw_det_alert_set(x->d, x->dv, &z->handle[DW_RULE_FR], DW_RULE_FR, DW_L0, s, (int)i,
                         (struct dw_measure){ zr, c->fr_r }, x->t_us);
        dw_rules_episode_touch(x->dv, (unsigned)s, (int)i, x->t_us);
    } else if (z->handle[DW_RULE_FR].active && z->fr_n_r >= DW_DET_FR_MIN_MINUTES) {
        dw_det_alert_clear(x->d, x->dv, &z->handle[DW_RULE_FR], s,
                           (struct dw_measure){ isnan(zr) ? 0 : zr, c->fr_r }, x->t_us);
    }
    /* the soft baseline learns from zones that are not under suspicion */
    if (z->fr_n_p >= DW_DET_FR_MIN_MINUTES && !pos && !z->handle[DW_RULE_F1].active &&
        !z->sustain[DW_RULE_F1].minutes_true && !(z->has_r && z->r >= c->fr_r && relieved))
        dw_baseline_soft_push(z, z->fr_sum_p_kpa / z->fr_n_p, x->t_us);
    dw_baseline_soft_update(x->d, z, x->t_us, x->scratch);
    z->fr_sum_p_kpa = z->fr_sum_r = 0;
    z->fr_n_r = z->fr_n_p = 0;
}

/* F1-FR: the window after a feed on that side. */
void dw_rules_relief_step(struct minute_ctx *x)
{
    const struct dw_detect_config *c = x->c;
    for (int s = 0; s < 2; s++) {
        struct dw_breast *b = &x->dv->breast[s];
        if (!b->fr_pending)
            continue;
        uint64_t from = b->feed_end_us + c->fr_from_us, to = b->feed_end_us + c->fr_to_us;
        if (x->t0_us >= from && x->t_us <= to)
            relief_collect(x, s);
        if (x->t_us < to)
            continue;
        b->fr_pending = false;
        double breast_median = b->fr_median_n ? b->fr_median_sum / b->fr_median_n : NAN;
        if (!isnan(breast_median)) { /* E1: does the feed relieve this breast? */
            b->post_feed_r = breast_median;
            b->post_feed_us = x->t_us;
        }
        for (unsigned i = 0; i < x->n_zones; i++)
            if (x->dv->zone[i].side == (unsigned)s)
                relief_verdict(x, s, i, breast_median);
        b->fr_median_sum = 0;
        b->fr_median_n = 0;
    }
}
