/* Findings built from the others: D1 (possible blocked duct), I1 (possible
 * inflammation), E1/E2 (engorgement, not relieved), H1 (the firmer side at
 * a feed start); the episodes they belong to and the escalation of
 * docs/detection.md. */
#include <math.h>
#include "detector_internal.h"

void dw_rules_episode_touch(struct dw_device *dv, unsigned side, int zone, uint64_t t)
{
    struct dw_breast *b = &dv->breast[side];
    if (!b->episode_open) {
        b->episode_open = true;
        b->episode_start_us = t;
        b->d1_first_us = b->i1_first_us = b->f1_first_us = b->warm_first_us = 0;
        if (zone >= 0) {
            struct dw_zone *z = &dv->zone[zone];
            z->episode_start_us[z->n_episodes % DW_DET_ZONE_EPISODES] = t;
            z->n_episodes++;
        }
    }
    b->episode_last_active_us = t;
}

/* >= l2_zone_episodes episodes started at this zone within the window. */
static bool zone_repeat(const struct dw_detector *d, const struct dw_device *dv, int zone,
                        uint64_t t)
{
    if (zone < 0)
        return false;
    const struct dw_zone *z = &dv->zone[zone];
    uint32_t n = 0;
    for (unsigned k = 0; k < DW_DET_ZONE_EPISODES && k < z->n_episodes; k++)
        if (t - z->episode_start_us[k] <= d->c.l2_zone_window_us)
            n++;
    return n >= d->c.l2_zone_episodes;
}

/* What the zones of one breast show this minute. */
struct breast_scan {
    int d1_zone, i1_zone, t2_zone;
    double d1_value, i1_value, t2_value;
    uint64_t d1_zones, i1_zones, t2_zones; /* every zone that qualifies (bit = zone) */
    bool any_t2, cooc;
    unsigned warm_zones;
};

static bool fr_recent(const struct minute_ctx *x, const struct dw_zone *z)
{
    return z->fr_last_us && x->t_us - z->fr_last_us <= x->c->d1_fr_lookback_us;
}

static void scan_zone(struct minute_ctx *x, unsigned i, struct breast_scan *sc)
{
    struct dw_device *dv = x->dv;
    struct dw_zone *z = &dv->zone[i];
    sc->any_t2 |= z->handle[DW_RULE_T2].active;
    sc->warm_zones += z->handle[DW_RULE_T1].active;
    if (z->handle[DW_RULE_T2].active)
        sc->t2_zones |= 1ULL << i;
    if (z->handle[DW_RULE_T2].active && z->last_dl_c >= sc->t2_value) {
        sc->t2_zone = (int)i;
        sc->t2_value = z->last_dl_c;
    }
    /* F1 here, and an F1-FR here or next door recently */
    bool f1 = z->handle[DW_RULE_F1].active, fr = fr_recent(x, z);
    for (unsigned k = 0; k < z->n_neighbours; k++)
        fr |= fr_recent(x, &dv->zone[z->neighbour[k]]);
    if (f1 && fr)
        sc->d1_zones |= 1ULL << i;
    if (f1 && fr && (sc->d1_zone < 0 || z->last_r > sc->d1_value)) {
        sc->d1_zone = (int)i;
        sc->d1_value = z->last_r;
    }
    if (!z->handle[DW_RULE_T1].active)
        return;
    /* T1 with F1 here or next door */
    bool f1n = f1;
    for (unsigned k = 0; k < z->n_neighbours; k++)
        f1n |= dv->zone[z->neighbour[k]].handle[DW_RULE_F1].active;
    if (f1n) {
        sc->cooc = true;
        sc->i1_zones |= 1ULL << i;
        if (sc->i1_zone < 0 || z->last_dl_c > sc->i1_value) {
            sc->i1_zone = (int)i;
            sc->i1_value = z->last_dl_c;
        }
    }
}

static void scan_breast(struct minute_ctx *x, int s, struct breast_scan *sc)
{
    *sc = (struct breast_scan){ .d1_zone = -1, .i1_zone = -1, .t2_zone = -1 };
    for (unsigned i = 0; i < x->n_zones; i++)
        if (x->dv->zone[i].side == (unsigned)s)
            scan_zone(x, i, sc);
}

/* Warmth with firmness: counted across feed starts (dw_rules_feed_start). */
static void cooccurrence(struct minute_ctx *x, struct dw_breast *b, bool cooc)
{
    if (cooc) {
        if (!b->cooc)
            b->cooc_feeds = 0;
        b->cooc = true;
        b->cooc_gone_min = 0;
    } else if (b->cooc && ++b->cooc_gone_min >= x->clear_min) {
        b->cooc = false;
    }
}

/* An active alert keeps the zone it names while that zone still qualifies
 * and its value is within a margin of the most extreme qualifying zone's
 * (the caller checks the value): two zones a few thousandths apart
 * otherwise take turns minute by minute, and every turn is an 'updated'
 * message and a hop of the outlined zone. At the raise: the most extreme. */
static bool names_qualifying(const struct dw_handle *h, uint64_t qualifying)
{
    return h->active && h->zone >= 0 && h->zone < DW_MAX_ZONES && (qualifying >> h->zone & 1);
}

static void duct_alert(struct minute_ctx *x, int s, const struct breast_scan *sc)
{
    const struct dw_detect_config *c = x->c;
    struct dw_breast *b = &x->dv->breast[s];
    uint64_t t = x->t_us;
    if (!b->d1.on) {
        if (b->d1_alert.active)
            dw_det_alert_clear(x->d, x->dv, &b->d1_alert, s,
                               (struct dw_measure){ sc->d1_value, c->f1_r }, t);
        return;
    }
    dw_rules_episode_touch(x->dv, (unsigned)s, sc->d1_zone, t);
    if (!b->d1_first_us)
        b->d1_first_us = t;
    int zone = sc->d1_zone;
    double value = sc->d1_value;
    if (names_qualifying(&b->d1_alert, sc->d1_zones) &&
        x->dv->zone[b->d1_alert.zone].last_r >= value - DW_DET_D1_ZONE_MARGIN_R) {
        zone = b->d1_alert.zone;
        value = x->dv->zone[zone].last_r;
    }
    if (zone < 0)
        zone = b->d1_alert.zone;
    int lvl = DW_L1;
    if (t - b->d1_first_us >= c->l2_d1_us || zone_repeat(x->d, x->dv, zone, t) ||
        (b->f1_first_us && t - b->f1_first_us >= c->l2_f1_us))
        lvl = DW_L2;
    if (x->system_fever)
        lvl = DW_L3;
    dw_det_alert_set(x->d, x->dv, &b->d1_alert, DW_RULE_D1, lvl, s, zone,
                     (struct dw_measure){ sc->d1_zone >= 0 ? value : 0, c->f1_r }, t);
}

static void inflammation_alert(struct minute_ctx *x, int s, const struct breast_scan *sc,
                               bool on)
{
    const struct dw_detect_config *c = x->c;
    struct dw_breast *b = &x->dv->breast[s];
    uint64_t t = x->t_us;
    if (!on) {
        if (b->i1_alert.active)
            dw_det_alert_clear(x->d, x->dv, &b->i1_alert, s,
                               (struct dw_measure){ sc->i1_value, c->t1_delta_c }, t);
        return;
    }
    dw_rules_episode_touch(x->dv, (unsigned)s, sc->i1_zone, t);
    int zone = sc->i1_zone;
    double value = sc->i1_value;
    if (names_qualifying(&b->i1_alert, sc->i1_zones) &&
        x->dv->zone[b->i1_alert.zone].last_dl_c >= value - DW_DET_I1_ZONE_MARGIN_C) {
        zone = b->i1_alert.zone;
        value = x->dv->zone[zone].last_dl_c;
    }
    if (zone < 0)
        zone = b->i1_alert.zone;
    int lvl = DW_L1;
    if (t - b->i1_first_us >= c->l2_i1_us || sc->warm_zones >= c->i1_spread_zones ||
        zone_repeat(x->d, x->dv, zone, t))
        lvl = DW_L2;
    if (x->system_fever)
        lvl = DW_L3;
    dw_det_alert_set(x->d, x->dv, &b->i1_alert, DW_RULE_I1, lvl, s, zone,
                     (struct dw_measure){ value,
                                          b->i1_t2.on ? c->t2_delta_c : c->t1_delta_c }, t);
}

/* F1 on this breast: escalates after l2_f1 ("F1 > 7 days"). */
static bool firmness_escalate(struct minute_ctx *x, int s)
{
    struct dw_device *dv = x->dv;
    struct dw_breast *b = &dv->breast[s];
    bool any_f1 = false;
    for (unsigned i = 0; i < x->n_zones; i++)
        any_f1 |= dv->zone[i].side == (unsigned)s && dv->zone[i].handle[DW_RULE_F1].active;
    if (any_f1 && b->episode_open && !b->f1_first_us)
        b->f1_first_us = x->t_us;
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &dv->zone[i];
        if (z->side != (unsigned)s || !z->handle[DW_RULE_F1].active)
            continue;
        int lvl = b->f1_first_us && x->t_us - b->f1_first_us >= x->c->l2_f1_us ? DW_L2 : DW_L0;
        dw_det_alert_set(x->d, dv, &z->handle[DW_RULE_F1], DW_RULE_F1, lvl, s, (int)i,
                         (struct dw_measure){ z->last_r, x->c->f1_r }, x->t_us);
    }
    return any_f1;
}

/* An episode closes after episode_close of nothing active on the breast. */
static void episode_close(struct minute_ctx *x, int s, bool any_f1)
{
    struct dw_device *dv = x->dv;
    struct dw_breast *b = &dv->breast[s];
    bool any = b->d1_alert.active || b->i1_alert.active || any_f1 || dv->e1_alert.active;
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &dv->zone[i];
        any |= z->side == (unsigned)s &&
               (z->handle[DW_RULE_T1].active || z->handle[DW_RULE_T2].active ||
                z->handle[DW_RULE_FR].active);
    }
    if (any && b->episode_open)
        b->episode_last_active_us = x->t_us;
    if (b->episode_open && !any && x->t_us - b->episode_last_active_us >= x->c->episode_close_us) {
        b->episode_open = false;
        b->d1_first_us = b->i1_first_us = b->f1_first_us = 0;
    }
}

static void duct_breast(struct minute_ctx *x, int s)
{
    const struct dw_detect_config *c = x->c;
    struct dw_breast *b = &x->dv->breast[s];
    uint32_t clear = x->clear_min, maxinv = x->max_invalid_min;
    bool valid = b->n_present > 0;
    struct breast_scan sc;
    scan_breast(x, s, &sc);
    cooccurrence(x, b, sc.cooc);
    bool d1 = sc.d1_zone >= 0 && !sc.any_t2 && !x->dv->g1_alert.active;
    int tr = dw_sustain_step(&b->d1, d1, d1, valid, dw_det_minutes(c->d1_sustain_us), clear,
                             maxinv);
    if (tr > 0 && !b->d1_first_us)
        b->d1_first_us = x->t_us;
    bool i1 = sc.cooc && b->cooc_feeds >= c->i1_feeds;
    dw_sustain_step(&b->i1, i1, sc.cooc, valid, dw_det_minutes(c->i1_sustain_us), clear, maxinv);
    dw_sustain_step(&b->i1_t2, sc.any_t2, sc.any_t2, valid, dw_det_minutes(c->i1_t2_sustain_us),
                    clear, maxinv);
    bool i1_on = b->i1.on || b->i1_t2.on;
    if (i1_on && !b->i1_first_us)
        b->i1_first_us = x->t_us;
    if (b->i1_t2.on)
        sc.i1_zones |= sc.t2_zones;
    if (b->i1_t2.on && (sc.i1_zone < 0 || sc.t2_value > sc.i1_value)) {
        sc.i1_zone = sc.t2_zone;
        sc.i1_value = sc.t2_value;
    }
    duct_alert(x, s, &sc);
    inflammation_alert(x, s, &sc, i1_on);
    episode_close(x, s, firmness_escalate(x, s));
}

void dw_rules_duct_step(struct minute_ctx *x)
{
    for (int s = 0; s < 2; s++)
        duct_breast(x, s);
}

/* Fuller than this wearer gets after the same time without a feed on
 * that side, or not relieved by the last feed (E2's idea, per breast). */
static bool beyond_usual(const struct minute_ctx *x, const struct dw_breast *b, double r)
{
    if (b->post_feed_us && x->t_us - b->post_feed_us <= DW_DET_E1_POST_FEED_US &&
        b->post_feed_r >= DW_DET_E1_POST_FEED_R)
        return true;
    double gap_h = b->feed_end_us ? (double)(x->t_us - b->feed_end_us) / 3.6e9 : -1;
    double usual = dw_baseline_fill_expected(b, gap_h);
    if (isnan(usual)) /* too few feeds seen: the fixed threshold alone */
        return true;
    return r >= usual + fmax(DW_DET_E1_MARGIN, DW_DET_E1_MAD_FACTOR * b->fill_sd);
}

/* E1: most zones of both breasts firm, the sides alike. */
static int engorgement_sustain(struct minute_ctx *x, double *value)
{
    const struct dw_detect_config *c = x->c;
    struct dw_device *dv = x->dv;
    double h = x->hysteresis;
    unsigned firm[2] = { 0, 0 }, n_r[2] = { 0, 0 };
    for (unsigned i = 0; i < x->n_zones; i++) {
        struct dw_zone *z = &dv->zone[i];
        if (!z->has_r)
            continue;
        n_r[z->side]++;
        firm[z->side] += z->r >= c->e1_r;
    }
    double ml = dv->breast[0].median_r, mr = dv->breast[1].median_r;
    bool ok = n_r[0] >= 2 && n_r[1] >= 2 && !isnan(ml) && !isnan(mr);
    bool both = ok && firm[0] >= c->e1_zone_fraction * n_r[0] &&
                firm[1] >= c->e1_zone_fraction * n_r[1];
    bool alike = ok && fabs(ml - mr) <= c->e1_side_diff * fmax(ml, mr);
    bool raise = dv->learned && both && alike && beyond_usual(x, &dv->breast[0], ml) &&
                 beyond_usual(x, &dv->breast[1], mr);
    bool hold = ok && ml >= h * c->e1_r + (1 - h) && mr >= h * c->e1_r + (1 - h);
    *value = ok ? fmin(ml, mr) : 0;
    return dw_sustain_step(&dv->e1, raise, hold, ok, dw_det_minutes(c->e1_sustain_us),
                           x->clear_min, x->max_invalid_min);
}

/* The relief check a feed end opened: has the median R fallen? */
static void engorgement_relief(struct minute_ctx *x)
{
    struct dw_device *dv = x->dv;
    double ml = dv->breast[0].median_r, mr = dv->breast[1].median_r;
    bool ok = !isnan(ml) && !isnan(mr);
    if (!dv->e1_check)
        return;
    double now_r = fmax(isnan(ml) ? 0 : ml, isnan(mr) ? 0 : mr);
    if (ok && now_r <= (1 - x->c->e1_fall) * dv->e1_pre_feed_r)
        dv->e1_relieved = true;
    if (x->t_us >= dv->e1_check_until_us) {
        dv->e1_check = false;
        dv->e1_unrelieved = dv->e1_relieved ? 0 : dv->e1_unrelieved + 1;
    }
}

void dw_rules_engorgement_step(struct minute_ctx *x)
{
    const struct dw_detect_config *c = x->c;
    struct dw_device *dv = x->dv;
    double value;
    int tr = engorgement_sustain(x, &value);
    struct dw_measure m = { value, c->e1_r };
    if (tr > 0) {
        dw_det_alert_set(x->d, dv, &dv->e1_alert, DW_RULE_E1, DW_L1, DW_SIDE_NONE, -1, m, x->t_us);
        dv->e1_unrelieved = 0;
        dw_rules_episode_touch(dv, 0, -1, x->t_us);
        dw_rules_episode_touch(dv, 1, -1, x->t_us);
    } else if (tr < 0) {
        dw_det_alert_clear(x->d, dv, &dv->e1_alert, DW_SIDE_NONE, m, x->t_us);
        dw_det_alert_clear(x->d, dv, &dv->e2_alert, DW_SIDE_NONE, m, x->t_us);
        dv->e1_check = false;
    }
    engorgement_relief(x);
    if (dv->e1_alert.active && (dv->e1_unrelieved >= c->e2_feeds ||
                                x->t_us - dv->e1_alert.since_us >= c->e2_duration_us))
        dw_det_alert_set(x->d, dv, &dv->e2_alert, DW_RULE_E2, x->system_fever ? DW_L3 : DW_L2,
                         DW_SIDE_NONE, -1, m, x->t_us);
    if (dv->e1_alert.active)
        dw_det_alert_set(x->d, dv, &dv->e1_alert, DW_RULE_E1, x->system_fever ? DW_L3 : DW_L1,
                         DW_SIDE_NONE, -1, m, x->t_us);
}

/* A pre-feed fullness beyond her usual at that gap is what E1 looks for:
 * it must not become her usual. (An engorgement that builds over a day
 * otherwise teaches the curve its own rise, feed by feed, and is never
 * beyond it: one of five simulated engorgements went unseen.) */
static bool fuller_than_usual(const struct dw_breast *b, uint64_t t, double r)
{
    double usual = dw_baseline_fill_expected(b, (double)(t - b->feed_end_us) / 3.6e9);
    return !isnan(usual) && r >= usual + fmax(DW_DET_E1_MARGIN, DW_DET_E1_MAD_FACTOR * b->fill_sd);
}

/* H1 (which breast is firmer), the E1 relief baseline, the co-occurrence
 * count of I1. */
void dw_rules_feed_start(struct dw_detector *d, struct dw_device *dv, int s0, int s1, uint64_t t)
{
    double l = dv->breast[0].median_r_last, r = dv->breast[1].median_r_last;
    if (dv->learned && !isnan(l) && !isnan(r) && l != r) {
        int firm = l > r ? DW_SIDE_LEFT : DW_SIDE_RIGHT;
        dw_det_alert_set(d, dv, &dv->h1_alert, DW_RULE_H1, DW_L0, firm, -1,
                         (struct dw_measure){ fmax(l, r), fmin(l, r) }, t);
    }
    if (dv->e1_alert.active) {
        dv->e1_pre_feed_r = fmax(isnan(l) ? 0 : l, isnan(r) ? 0 : r);
        dv->e1_relieved = false;
    }
    for (int s = s0; s <= s1; s++) {
        struct dw_breast *b = &dv->breast[s];
        /* her usual fullness: learnt while no engorgement is suspected and
         * the last feed relieved this breast */
        bool relieved = !b->post_feed_us || b->post_feed_r < DW_DET_E1_POST_FEED_R;
        if (b->feed_end_us && !b->in_feed && !isnan(b->median_r_last) && relieved &&
            !dv->e1_alert.active && !dv->e1.minutes_true &&
            !fuller_than_usual(b, t, b->median_r_last))
            dw_baseline_fill_add(b, (double)(t - b->feed_end_us) / 3.6e9, b->median_r_last,
                                 d->scratch);
        b->in_feed = b->feed_minute = true;
        b->feed_start_us = t;
    }
    dv->feeds++;
    for (int s = 0; s < 2; s++)
        if (dv->breast[s].cooc)
            dv->breast[s].cooc_feeds++;
}

/* Opens the F1-FR window and the E1 relief check; H1 is over. */
void dw_rules_feed_end(struct dw_detector *d, struct dw_device *dv, int s0, int s1, uint64_t t)
{
    const struct dw_detect_config *c = &d->c;
    for (int s = s0; s <= s1; s++) {
        struct dw_breast *b = &dv->breast[s];
        if (!b->in_feed)
            continue;
        b->in_feed = false;
        b->feed_end_us = t;
        if (t + c->feed_artefact_us > b->artefact_until_us)
            b->artefact_until_us = t + c->feed_artefact_us;
        b->fr_pending = true;
        b->fr_median_sum = 0;
        b->fr_median_n = 0;
        for (unsigned i = 0; i < dv->n_zones; i++)
            if (dv->zone[i].side == (unsigned)s) {
                dv->zone[i].fr_sum_p_kpa = dv->zone[i].fr_sum_r = 0;
                dv->zone[i].fr_n_r = dv->zone[i].fr_n_p = 0;
            }
    }
    if (dv->h1_alert.active)
        dw_det_alert_clear(d, dv, &dv->h1_alert, dv->h1_alert.side,
                           (struct dw_measure){ 0, 0 }, t);
    if (dv->e1_alert.active && !dv->breast[0].in_feed && !dv->breast[1].in_feed) {
        dv->e1_check = true;
        dv->e1_check_until_us = t + c->e1_fall_window_us;
    }
}
