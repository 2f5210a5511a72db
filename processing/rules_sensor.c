/* S1..S5: the garment and its sensors, not the breast. These alerts are
 * never clinical; a zone they flag does not count for the clinical rules. */
#include <math.h>
#include <string.h>
#include "detector_internal.h"

/* A logged garment-off ends at the logged garment-on, or once the zones
 * have read skin for as long as S2 needs to say the garment is off: a
 * garment-on lost on the link (5 % of minutes lost is a scored variant) or
 * never tapped must not excuse every sensor and firmness rule for days. */
static void worn_again(struct minute_ctx *x)
{
    struct dw_device *dv = x->dv;
    unsigned nz = x->n_zones;
    bool worn = nz && x->have && x->n_detached < (1.0 - x->c->s2_fraction) * nz;

    if (!dv->garment_off_logged || !worn) {
        dv->worn_minutes = 0;
        return;
    }
    if (++dv->worn_minutes < dw_det_minutes(x->c->s2_sustain_us))
        return;
    dv->garment_off_logged = false;
    dv->worn_minutes = 0;
    for (unsigned i = 0; i < nz; i++) /* as at a logged garment-on */
        dv->zone[i].settle_until_us = x->t_us + x->c->settle_us;
}

/* S2: most zones detached (the garment is off); when it comes back, the
 * skin needs to settle again. */
static void garment_off(struct minute_ctx *x)
{
    const struct dw_detect_config *c = x->c;
    struct dw_device *dv = x->dv;
    unsigned nz = x->n_zones;
    bool feeding = dv->breast[0].in_feed || dv->breast[1].in_feed ||
                   dv->breast[0].feed_minute || dv->breast[1].feed_minute;
    bool excuse = feeding || x->shower || dv->garment_off_logged;
    bool off = nz && (!x->have || x->n_detached >= c->s2_fraction * nz);
    struct dw_measure m = { (double)x->n_detached / (nz ? nz : 1), c->s2_fraction };
    int tr = dw_sustain_step(&dv->s2, off && !excuse, off, true,
                             dw_det_minutes(c->s2_sustain_us), dw_det_minutes(c->s2_sustain_us),
                             UINT32_MAX);
    if (tr > 0) {
        dw_det_alert_set(x->d, dv, &dv->s2_alert, DW_RULE_S2, DW_L0, DW_SIDE_NONE, -1, m, x->t_us);
    } else if (tr < 0 || (dv->s2_alert.active && !off)) {
        if (dv->s2.on)
            memset(&dv->s2, 0, sizeof(dv->s2));
        dw_det_alert_clear(x->d, dv, &dv->s2_alert, DW_SIDE_NONE, m, x->t_us);
        for (unsigned i = 0; i < nz; i++) /* re-arm the settling */
            dv->zone[i].settle_until_us = x->t_us + c->settle_us;
    }
}

/* S5 looks for a local source: the largest change against the last
 * minutes, per zone, and how many zones in contact share it (a garment
 * taken off or a cold room moves most zones at once; a pack moves a few). */
struct s5_scan {
    double change_c[DW_MAX_ZONES];
    unsigned n_contact, n_rise, n_fall;
};

static void s5_scan(struct minute_ctx *x, struct s5_scan *sc)
{
    const struct dw_detect_config *c = x->c;
    unsigned window = dw_det_minutes(c->s5_window_us);
    if (window >= DW_DET_T_HISTORY_MIN)
        window = DW_DET_T_HISTORY_MIN - 1;
    sc->n_contact = sc->n_rise = sc->n_fall = 0;
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &x->dv->zone[i];
        sc->change_c[i] = 0;
        if (!z->has || !z->contact)
            continue;
        sc->n_contact++;
        for (unsigned k = 1; k <= window; k++) {
            float old = z->t_history[(x->minute + DW_DET_T_HISTORY_MIN - k) %
                                     DW_DET_T_HISTORY_MIN];
            if (!isnan(old) && fabs(z->t_c - old) > fabs(sc->change_c[i]))
                sc->change_c[i] = z->t_c - old;
        }
        if (sc->change_c[i] >= c->s5_change_c)
            sc->n_rise++;
        else if (sc->change_c[i] <= -c->s5_change_c)
            sc->n_fall++;
    }
}

/* S1: detached while the garment is on. */
static void zone_detached(struct minute_ctx *x, unsigned i, bool excuse, bool garment_on)
{
    const struct dw_detect_config *c = x->c;
    struct dw_zone *z = &x->dv->zone[i];
    int side = (int)z->side;
    int tr = dw_sustain_step(&z->sustain[DW_RULE_S1], z->has && z->detached && garment_on && !excuse,
                             z->has && z->detached, z->has, dw_det_minutes(c->s1_sustain_us),
                             dw_det_minutes(c->s1_sustain_us), x->max_invalid_min);
    if (tr > 0)
        dw_det_alert_set(x->d, x->dv, &z->handle[DW_RULE_S1], DW_RULE_S1, DW_L0, side, (int)i,
                         (struct dw_measure){ z->t_c, c->temp_min_c }, x->t_us);
    else if (tr < 0)
        dw_det_alert_clear(x->d, x->dv, &z->handle[DW_RULE_S1], side,
                           (struct dw_measure){ z->t_c, c->temp_min_c }, x->t_us);
}

/* S4: instant. */
static void zone_range(struct minute_ctx *x, unsigned i)
{
    const struct dw_detect_config *c = x->c;
    struct dw_zone *z = &x->dv->zone[i];
    int side = (int)z->side;
    int tr = dw_sustain_step(&z->sustain[DW_RULE_S4], z->out_of_range, z->out_of_range, true, 1,
                         dw_det_minutes(c->s1_sustain_us), UINT32_MAX);
    if (tr > 0)
        dw_det_alert_set(x->d, x->dv, &z->handle[DW_RULE_S4], DW_RULE_S4, DW_L0, side, (int)i,
                         (struct dw_measure){ z->t_c, z->t_c < c->s4_temp_min_c ?
                                              c->s4_temp_min_c : c->s4_temp_max_c }, x->t_us);
    else if (tr < 0)
        dw_det_alert_clear(x->d, x->dv, &z->handle[DW_RULE_S4], side,
                           (struct dw_measure){ z->t_c, c->s4_temp_max_c }, x->t_us);
}

/* S3: unchanged while a neighbour varies. */
static void zone_stuck(struct minute_ctx *x, unsigned i)
{
    struct dw_zone *z = &x->dv->zone[i];
    uint32_t need = dw_det_minutes(x->c->s3_sustain_us);
    bool vary_t = false, vary_p = false;
    for (unsigned k = 0; k < z->n_neighbours; k++) {
        struct dw_zone *o = &x->dv->zone[z->neighbour[k]];
        vary_t |= o->has && o->t_run_min < z->t_run_min;
        vary_p |= o->has && o->p_run_min < z->p_run_min;
    }
    z->stuck = z->has && z->contact &&
               ((z->t_run_min >= need && vary_t) || (z->p_run_min >= need && vary_p));
    int tr = dw_sustain_step(&z->sustain[DW_RULE_S3], z->stuck, z->stuck, z->has, 1, 1,
                             x->max_invalid_min);
    uint32_t run = z->t_run_min > z->p_run_min ? z->t_run_min : z->p_run_min;
    if (tr > 0)
        dw_det_alert_set(x->d, x->dv, &z->handle[DW_RULE_S3], DW_RULE_S3, DW_L0, (int)z->side,
                         (int)i, (struct dw_measure){ (double)run, need }, x->t_us);
    else if (tr < 0)
        dw_det_alert_clear(x->d, x->dv, &z->handle[DW_RULE_S3], (int)z->side,
                           (struct dw_measure){ 0, need }, x->t_us);
}

/* S5: a heat or cold source with nothing logged. */
static void zone_source(struct minute_ctx *x, unsigned i, const struct s5_scan *sc)
{
    const struct dw_detect_config *c = x->c;
    struct dw_device *dv = x->dv;
    struct dw_zone *z = &dv->zone[i];
    struct dw_breast *b = &dv->breast[z->side];
    double change = sc->change_c[i];
    /* A feed warms the breast for a while after it (detection.md), so
     * its window explains a rise, not a fall of several degrees. */
    bool logged = x->t0_us < b->pack_until_us || b->in_feed || b->feed_minute || x->shower ||
                  dv->garment_off_logged || (x->t0_us < b->artefact_until_us && change > 0);
    bool global = (change > 0 ? sc->n_rise : sc->n_fall) >= c->s5_global_fraction * sc->n_contact &&
                  sc->n_contact > 0;
    bool hot = z->has && z->t_c >= c->s5_temp_min_c && z->t_c <= c->s5_temp_max_c;
    /* skin warming up under a garment just put on is not a heat source */
    bool settling = x->t0_us < z->settle_until_us;
    if (!logged && (hot || (fabs(change) >= c->s5_change_c && !settling && !global))) {
        z->suppress_until_us = x->t_us + c->s5_suppress_us;
        dw_det_alert_set(x->d, dv, &z->handle[DW_RULE_S5], DW_RULE_S5, DW_L0, (int)z->side,
                         (int)i, hot ? (struct dw_measure){ z->t_c, c->s5_temp_min_c }
                                     : (struct dw_measure){ change, c->s5_change_c }, x->t_us);
    } else if (z->handle[DW_RULE_S5].active && x->t_us >= z->suppress_until_us) {
        dw_det_alert_clear(x->d, dv, &z->handle[DW_RULE_S5], (int)z->side,
                           (struct dw_measure){ change, c->s5_change_c }, x->t_us);
    }
    z->t_history[x->minute % DW_DET_T_HISTORY_MIN] = z->has && z->contact ? (float)z->t_c : NAN;
}

void dw_rules_sensor_step(struct minute_ctx *x)
{
    struct dw_device *dv = x->dv;
    struct s5_scan sc;
    worn_again(x);
    garment_off(x);
    bool garment_on = x->have && x->n_present &&
                      (double)(x->n_present - x->n_detached) >= x->c->s1_valid_fraction * x->n_zones;
    s5_scan(x, &sc);
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &dv->zone[i];
        struct dw_breast *b = &dv->breast[z->side];
        bool excuse = b->in_feed || b->feed_minute || x->shower || dv->garment_off_logged;
        zone_detached(x, i, excuse, garment_on);
        zone_stuck(x, i);
        zone_range(x, i);
        zone_source(x, i, &sc);
    }
}
