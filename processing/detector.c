/* Detector core: per-device state, one-minute epochs on the device time
 * line, validity gating, robust baselines, and the rules of
 * docs/detection.md. Nothing here reads a clock. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "detector.h"
#include "devindex.h"
#include "layout.h"
#include "robust.h"

#define MIN_US 60000000ULL
#define MAX_Z DW_MAX_ZONES
#define HIST_MIN 16       /* minutes of T history for S5 */
#define AMB_HIST 64       /* minutes of ambient history */
#define SOFT_CAP 64       /* post-feed soft pressure values per zone */
#define ZONE_EP_CAP 8
#define FR_MIN_MINUTES 5  /* minutes of data an F1-FR window needs */

enum { R_T1, R_T2, R_F1, R_FR, R_P1, R_S1, R_S3, R_S4, R_S5, N_ZRULES };

struct sus {
    bool on;
    uint32_t t_true, t_false, t_invalid;
};

struct handle {
    bool active;
    uint64_t id;
    int level, zone;
    const char *rule;
    uint64_t since_us;
    bool noted; /* the 7-day note went out */
};

struct acc_zone {
    double sum_t, sum_p;
    uint32_t n;
    int16_t tmin, tmax;
    uint16_t pmin, pmax;
    bool oor;
};

struct zone {
    unsigned nb[DW_MAX_NEIGHBOURS], n_nb, mirror, side;
    bool band;
    /* this minute */
    double t, p, l, a, r, q, dl, da, dg;
    double last_dl, last_r; /* last valid, for alert values */
    bool has, contact, detached, tvalid, pvalid, oor, stuck;
    bool has_l, has_a, has_r, has_q;
    /* gating */
    uint64_t settle_until_us, suppress_until_us;
    bool had_contact;
    /* stuck runs */
    int16_t st_lo, st_hi;
    uint16_t sp_lo, sp_hi;
    uint32_t st_run, sp_run;
    /* history */
    float t_hist[HIST_MIN];
    struct dw_window base_l, base_a;
    float hour_t[2][72]; /* same-clock-hour history: [sum|n] per hour slot */
    double hour_sum;
    uint32_t hour_n;
    float soft_p[SOFT_CAP];
    uint64_t soft_t[SOFT_CAP];
    uint32_t soft_n, soft_head;
    double soft_median;
    uint8_t *p1_bits;
    uint32_t p1_count;
    /* F1-FR window */
    double fr_sum_r, fr_sum_p;
    uint32_t fr_n, fr_np;
    uint64_t fr_last_us;
    /* rules */
    struct sus s[N_ZRULES];
    struct sus p1n;
    struct handle h[N_ZRULES];
    uint64_t ep_start[ZONE_EP_CAP];
    uint32_t ep_n;
};

struct side {
    bool in_feed, feed_minute;
    uint64_t feed_start_us, feed_end_us, art_until_us;
    uint64_t pack_until_us; /* a logged ice or heat pack: S5 knows the source */
    bool fr_pending;
    double fr_med_sum;
    uint32_t fr_med_n;
    double med_r;       /* this minute, NAN if none */
    double med_r_last;  /* last valid */
    uint32_t n_tvalid, n_present;
    /* D1 / I1 */
    struct sus d1, i1, i1t2;
    uint32_t cooc_feeds;
    bool cooc;
    uint32_t cooc_gone;
    struct handle hd1, hi1;
    /* episode */
    bool ep_open;
    uint64_t ep_start_us, ep_last_active_us, d1_first_us, i1_first_us, f1_first_us, warm_first_us;
};

struct device {
    char id[DW_ID_LEN + 1];
    bool have_hello;
    struct dw_hello hello;
    unsigned nz;
    struct zone z[MAX_Z];
    struct side sd[2];
    struct acc_zone acc[MAX_Z];
    double acc_amb[2], acc_am, acc_am2;
    uint32_t acc_n;
    bool started;
    uint64_t cur_min, last_t, t_offset;
    double amb[2];
    bool has_amb;
    float amb_hist[AMB_HIST];
    float amb_hour[2][72];
    double amb_hour_sum;
    uint32_t amb_hour_n;
    uint64_t motion_until_us, amb_art_until_us, shower_until_us;
    bool garment_off_logged;
    uint64_t wear_minutes, feeds;
    bool learned;
    uint64_t next_baseline_min;
    float *scratch;
    struct sus g1, s2, e1;
    struct handle hg1, hg2, hs2, he1, he2, hh1;
    uint64_t fever_first_us, fever_last_us;
    double fever_c;
    /* E1 relief tracking */
    bool e1_check;
    uint64_t e1_check_until_us;
    double e1_pre;
    bool e1_relieved;
    uint32_t e1_unrelieved;
    uint64_t next_alert_id;
    struct dw_detector_stats st;
};

struct dw_detector {
    struct dw_detect_config c;
    dw_alert_fn fn;
    void *user;
    struct device **dev; /* grows: a process serves any number of devices */
    unsigned n_dev, cap_dev;
    struct dw_devindex index; /* id -> dev[] position */
    uint32_t win_min, p1_win_min;
};


const char *dw_alert_level_name(int level)
{
    static const char *const n[] = { "L0", "L1", "L2", "L3" };
    return level >= 0 && level <= 3 ? n[level] : "L?";
}

const char *dw_alert_state_name(int state)
{
    static const char *const n[] = { "raised", "updated", "cleared" };
    return state >= 0 && state <= 2 ? n[state] : "?";
}

static uint32_t minutes(uint64_t us)
{
    uint64_t m = (us + MIN_US - 1) / MIN_US;
    return m ? (uint32_t)m : 1;
}

/* ---- sustained conditions with hysteresis ------------------------------ */

/* raise: the raise condition this minute; hold: the (lower) hold
 * condition; valid: whether the minute had usable data. Invalid minutes
 * freeze the state (feeds and showers would otherwise make alerts flap),
 * but a very long gap resets it. Returns +1 raised, -1 cleared, 0. */
static int sus_step(struct sus *s, bool raise, bool hold, bool valid,
                    uint32_t need, uint32_t clear, uint32_t max_invalid)
{
    if (!valid) {
        if (++s->t_invalid >= max_invalid) {
            bool was = s->on;
            memset(s, 0, sizeof(*s));
            return was ? -1 : 0;
        }
        return 0;
    }
    s->t_invalid = 0;
    if (!s->on) {
        if (raise)
            s->t_true++;
        else
            s->t_true = s->t_true > 2 ? s->t_true - 2 : 0;
        if (s->t_true >= need) {
            s->on = true;
            s->t_false = 0;
            return 1;
        }
        return 0;
    }
    if (hold || raise) {
        s->t_false = 0;
        return 0;
    }
    if (++s->t_false >= clear) {
        s->on = false;
        s->t_true = 0;
        s->t_false = 0;
        return -1;
    }
    return 0;
}

/* ---- messages ---------------------------------------------------------- */

static const char *advice(int level)
{
    switch (level) {
    case DW_L1:
        return "Self-care: keep feeding on demand (no extra feeds or pumping), use a cold pack "
               "between feeds, and wear a supportive bra that is not tight. Contact care if you "
               "get a fever or it is no better in 24-48 hours.";
    case DW_L2:
        return "Please contact your breastfeeding clinic, midwife or GP within 24 hours.";
    case DW_L3:
        return "This likely needs a medical assessment today: contact your GP, midwife or "
               "urgent care now.";
    default:
        return "Noticed only; nothing to do now.";
    }
}

static void describe(char *buf, size_t cap, const char *rule, int level, const char *where,
                     bool note)
{
    const char *what;
    if (!strcmp(rule, "T1")) what = "Possible localized warmth";
    else if (!strcmp(rule, "T2")) what = "Possible marked localized warmth";
    else if (!strcmp(rule, "F1")) what = "Possible localized firmness";
    else if (!strcmp(rule, "F1-FR")) what = "Possible firmness that a feed did not relieve";
    else if (!strcmp(rule, "D1")) what = "Possible blocked milk duct";
    else if (!strcmp(rule, "I1")) what = "Possible inflammation (early mastitis)";
    else if (!strcmp(rule, "G1")) what = "Possible fever: the whole breast area is warmer than usual. "
                                         "Please measure your temperature with a thermometer and log it";
    else if (!strcmp(rule, "G2")) what = "Fever logged (38.0 C or more)";
    else if (!strcmp(rule, "G3")) what = "High fever logged (38.5 C or more)";
    else if (!strcmp(rule, "E1")) what = "Possible engorgement: both breasts are firmer than usual";
    else if (!strcmp(rule, "E2")) what = "Possible engorgement that feeds are not relieving";
    else if (!strcmp(rule, "H1")) what = "Information: this breast feels firmer; you may start the feed on it";
    else if (!strcmp(rule, "P1")) what = "The bra may be pressing here";
    else if (!strcmp(rule, "S1")) what = "A sensor seems detached; please adjust the garment";
    else if (!strcmp(rule, "S2")) what = "The garment seems to be off";
    else if (!strcmp(rule, "S3")) what = "A sensor seems stuck (its reading does not change)";
    else if (!strcmp(rule, "S4")) what = "A sensor reads out of range";
    else if (!strcmp(rule, "S5")) what = "A heat or cold source seems to be on the skin here; readings "
                                         "of this spot are paused for an hour. Did you use an ice or "
                                         "heat pack? Please log it";
    else what = "Possible finding";
    bool sensor = rule[0] == 'S' || !strcmp(rule, "H1") || !strcmp(rule, "P1");
    snprintf(buf, cap, "%s%s%s. %s%s", what, where[0] ? " at " : "", where,
             sensor && level == DW_L0 ? "" : advice(level),
             note ? " This has lasted more than 7 days: other conditions can look like mastitis "
                    "and need an assessment." : "");
}

/* ---- alert emission ---------------------------------------------------- */

static void zone_where(struct device *dv, int side, int zone, char *buf, size_t cap)
{
    if (zone >= 0 && (unsigned)zone < dv->nz)
        dw_zone_name(&dv->hello, (unsigned)zone, buf, cap);
    else if (side == DW_SIDE_LEFT || side == DW_SIDE_RIGHT)
        snprintf(buf, cap, "the %s breast", dw_side_name((unsigned)side));
    else
        buf[0] = 0;
}

static bool episode_note(struct dw_detector *d, struct device *dv, int side, uint64_t t)
{
    if (side != DW_SIDE_LEFT && side != DW_SIDE_RIGHT)
        return false;
    struct side *s = &dv->sd[side];
    return s->ep_open && t - s->ep_start_us >= d->c.note_after_us;
}

/* One-sided warmth or firmness: the rules that carry the 7-day note. */
static bool note_rule(const char *rule)
{
    return rule[0] == 'T' || rule[0] == 'F' || rule[0] == 'D' || rule[0] == 'I';
}

static void emit(struct dw_detector *d, struct device *dv, struct handle *h, const char *rule,
                 int state, int level, int side, int zone, double value, double thr, uint64_t t)
{
    char where[64], msg[768];
    struct dw_alert a;
    memset(&a, 0, sizeof(a));
    a.device = dv->id;
    a.id = h->id;
    a.rule = rule;
    a.level = level;
    a.state = state;
    a.side = side;
    a.zone = zone;
    if (zone >= 0 && (unsigned)zone < dv->nz)
        dw_zone_name(&dv->hello, (unsigned)zone, a.zone_name, sizeof(a.zone_name));
    a.value = value;
    a.threshold = thr;
    a.t_device_us = t;
    a.clinical = rule[0] != 'S' && rule[0] != 'H' && rule[0] != 'P';
    zone_where(dv, side, zone, where, sizeof(where));
    bool note = note_rule(rule) && episode_note(d, dv, side, t);
    if (state == DW_ALERT_CLEARED) {
        snprintf(msg, sizeof(msg), "No longer seen: %s%s%s.", rule, where[0] ? " at " : "", where);
    } else {
        describe(msg, sizeof(msg), rule, level, where, note);
    }
    a.message = msg;
    dv->st.alerts++;
    d->fn(&a, d->user);
}

/* Raises or updates (on a level or zone change) the alert of handle h. */
static void alert_set(struct dw_detector *d, struct device *dv, struct handle *h, const char *rule,
                      int level, int side, int zone, double value, double thr, uint64_t t)
{
    bool note = note_rule(rule) && episode_note(d, dv, side, t);
    if (!h->active) {
        h->active = true;
        h->id = ++dv->next_alert_id;
        h->level = level;
        h->zone = zone;
        h->rule = rule;
        h->since_us = t;
        h->noted = note;
        emit(d, dv, h, rule, DW_ALERT_RAISED, level, side, zone, value, thr, t);
        return;
    }
    if (h->level != level || h->zone != zone || strcmp(h->rule, rule) || (note && !h->noted)) {
        h->noted |= note;
        h->level = level;
        h->zone = zone;
        h->rule = rule;
        emit(d, dv, h, rule, DW_ALERT_UPDATED, level, side, zone, value, thr, t);
    }
}

static void alert_clear(struct dw_detector *d, struct device *dv, struct handle *h, int side,
                        double value, double thr, uint64_t t)
{
    if (!h->active)
        return;
    emit(d, dv, h, h->rule, DW_ALERT_CLEARED, h->level, side, h->zone, value, thr, t);
    h->active = false;
}

/* ---- devices ----------------------------------------------------------- */

static void device_free(struct device *dv)
{
    for (unsigned i = 0; i < MAX_Z; i++) {
        dw_ring_free(&dv->z[i].base_l);
        dw_ring_free(&dv->z[i].base_a);
        free(dv->z[i].p1_bits);
    }
    free(dv->scratch);
    free(dv);
}

static const char *device_name(const void *ctx, unsigned pos)
{
    const struct dw_detector *d = ctx;
    return d->dev[pos]->id;
}

static struct device *device_find(const struct dw_detector *d, const char *id)
{
    long i = dw_devindex_find(&d->index, id, device_name, d);
    return i < 0 ? NULL : d->dev[i];
}

static struct device *device_get(struct dw_detector *d, const char *id, bool create)
{
    struct device *found = device_find(d, id);
    if (found)
        return found;
    if (!create)
        return NULL;
    if (d->n_dev == d->cap_dev) {
        unsigned nc = d->cap_dev ? 2 * d->cap_dev : 64;
        struct device **nd = nc > d->cap_dev ? realloc(d->dev, nc * sizeof(*nd)) : NULL;
        if (!nd) {
            errno = ENOMEM;
            return NULL;
        }
        d->dev = nd;
        d->cap_dev = nc;
    }
    struct device *dv = calloc(1, sizeof(*dv));
    if (!dv)
        return NULL;
    snprintf(dv->id, sizeof(dv->id), "%s", id);
    dv->scratch = malloc(sizeof(float) * (d->win_min > SOFT_CAP ? d->win_min : SOFT_CAP));
    if (!dv->scratch)
        goto fail;
    for (unsigned i = 0; i < MAX_Z; i++) {
        struct zone *z = &dv->z[i];
        if (dw_ring_init(&z->base_l, d->win_min) < 0 || dw_ring_init(&z->base_a, d->win_min) < 0)
            goto fail;
        z->p1_bits = calloc(d->p1_win_min, 1);
        if (!z->p1_bits)
            goto fail;
        for (unsigned k = 0; k < HIST_MIN; k++)
            z->t_hist[k] = NAN;
        for (unsigned k = 0; k < 72; k++)
            z->hour_t[0][k] = z->hour_t[1][k] = NAN;
        z->soft_median = NAN;
    }
    for (unsigned k = 0; k < AMB_HIST; k++)
        dv->amb_hist[k] = NAN;
    for (unsigned k = 0; k < 72; k++)
        dv->amb_hour[0][k] = dv->amb_hour[1][k] = NAN;
    dv->sd[0].med_r_last = dv->sd[1].med_r_last = NAN;
    d->dev[d->n_dev] = dv;
    if (dw_devindex_add(&d->index, dv->id, d->n_dev, device_name, d) < 0)
        goto fail;
    d->n_dev++;
    return dv;
fail:
    device_free(dv);
    errno = ENOMEM;
    return NULL;
}

struct dw_detector *dw_detector_new(const struct dw_detect_config *cfg, dw_alert_fn fn, void *user)
{
    if (!cfg || !fn) {
        errno = EINVAL;
        return NULL;
    }
    struct dw_detector *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->c = *cfg;
    d->fn = fn;
    d->user = user;
    d->win_min = minutes(cfg->baseline_window_us);
    d->p1_win_min = minutes(cfg->p1_window_us);
    return d;
}

void dw_detector_free(struct dw_detector *d)
{
    if (!d)
        return;
    for (unsigned i = 0; i < d->n_dev; i++)
        device_free(d->dev[i]);
    free(d->dev);
    dw_devindex_free(&d->index);
    free(d);
}

int dw_detector_stats(const struct dw_detector *d, const char *device, struct dw_detector_stats *st)
{
    const struct device *dv = device_find(d, device);
    if (!dv)
        return -ENOENT;
    *st = dv->st;
    return 0;
}

int dw_detector_zone(const struct dw_detector *d, const char *device, unsigned zone,
                     struct dw_detector_zone *out)
{
    const struct device *dv = device_find(d, device);
    const struct zone *z;
    if (!dv || zone >= dv->nz)
        return -ENOENT;
    z = &dv->z[zone];
    /* before the first minute closes nothing has been computed */
    out->dl = dv->st.minutes ? z->dl : NAN;
    out->da = dv->st.minutes ? z->da : NAN;
    out->r = dv->st.minutes && z->has_r ? z->r : NAN;
    out->q = dv->st.minutes && z->has_q ? z->q : NAN;
    return 0;
}

int dw_detector_hello(struct dw_detector *d, const char *device, const struct dw_hello *h)
{
    struct device *dv = device_get(d, device, true);
    if (!dv)
        return -ENOMEM;
    if (h->n_zones == 0 || h->n_zones > MAX_Z)
        return -EINVAL;
    bool same = dv->have_hello && dv->nz == h->n_zones &&
                !memcmp(dv->hello.zone, h->zone, sizeof(h->zone[0]) * h->n_zones);
    dv->hello = *h;
    if (same)
        return 0;
    /* A new layout: baselines of the old one mean nothing. */
    dv->have_hello = true;
    dv->nz = h->n_zones;
    for (unsigned i = 0; i < dv->nz; i++) {
        struct zone *z = &dv->z[i];
        z->n_nb = dw_layout_neighbours(&dv->hello, i, z->nb);
        z->mirror = h->zone[i].mirror < dv->nz ? h->zone[i].mirror : i;
        z->side = h->zone[i].side < 2 ? h->zone[i].side : 0;
        z->band = h->zone[i].flags & DW_ZF_BAND;
        dw_ring_clear(&z->base_l);
        dw_ring_clear(&z->base_a);
        z->soft_n = z->soft_head = 0;
        z->soft_median = NAN;
    }
    return 0;
}

/* ---- per-minute processing --------------------------------------------- */

static double median_of(float *buf, unsigned n)
{
    return n ? dw_median(buf, n) : NAN;
}

static bool learned(struct dw_detector *d, struct device *dv)
{
    return dv->wear_minutes * MIN_US >= d->c.learning_wear_us && dv->feeds >= d->c.learning_feeds;
}

static void soft_update(struct dw_detector *d, struct zone *z, uint64_t now, float *scratch)
{
    unsigned n = 0;
    for (unsigned k = 0; k < z->soft_n; k++)
        if (now - z->soft_t[k] <= d->c.baseline_window_us)
            scratch[n++] = z->soft_p[k];
    /* With no fresh clean value (a lump that lasts beyond the window), keep
     * the last baseline: a stale baseline beats none. */
    if (n)
        z->soft_median = median_of(scratch, n);
}

static void soft_push(struct zone *z, double p, uint64_t t)
{
    z->soft_p[z->soft_head] = (float)p;
    z->soft_t[z->soft_head] = t;
    z->soft_head = (z->soft_head + 1) % SOFT_CAP;
    if (z->soft_n < SOFT_CAP)
        z->soft_n++;
}

static bool zone_in_alert(const struct zone *z)
{
    return z->h[R_T1].active || z->h[R_T2].active || z->h[R_F1].active || z->h[R_FR].active ||
           z->s[R_T1].t_true > 0 || z->s[R_F1].t_true > 0;
}

static int side_of(int s) { return s == DW_SIDE_LEFT || s == DW_SIDE_RIGHT ? s : -1; }

static void episode_touch(struct dw_detector *d, struct device *dv, unsigned side, int zone, uint64_t t)
{
    struct side *s = &dv->sd[side];
    if (!s->ep_open) {
        s->ep_open = true;
        s->ep_start_us = t;
        s->d1_first_us = s->i1_first_us = s->f1_first_us = s->warm_first_us = 0;
        if (zone >= 0) {
            struct zone *z = &dv->z[zone];
            z->ep_start[z->ep_n % ZONE_EP_CAP] = t;
            z->ep_n++;
        }
    }
    s->ep_last_active_us = t;
    (void)d;
}

static bool zone_repeat(struct dw_detector *d, struct device *dv, int zone, uint64_t t)
{
    if (zone < 0)
        return false;
    struct zone *z = &dv->z[zone];
    uint32_t n = 0;
    for (unsigned k = 0; k < ZONE_EP_CAP && k < z->ep_n; k++)
        if (t - z->ep_start[k] <= d->c.l2_zone_window_us)
            n++;
    return n >= d->c.l2_zone_episodes;
}

static bool fever_active(struct device *dv) { return dv->hg2.active; }

static void close_minute(struct dw_detector *d, struct device *dv, uint64_t m)
{
    const struct dw_detect_config *c = &d->c;
    uint64_t t0 = m * MIN_US, t = t0 + MIN_US; /* decisions stamped at minute end */
    unsigned nz = dv->nz;
    uint32_t clear = minutes(c->clear_after_us), maxinv = minutes(c->episode_close_us);
    float *buf = dv->scratch;
    double h = c->hysteresis;

    dv->st.minutes++;
    /* -- minute means -- */
    bool have = dv->acc_n > 0;
    if (have) {
        for (int s = 0; s < 2; s++)
            dv->amb[s] = dv->acc_amb[s] / dv->acc_n;
        double mean = dv->acc_am / dv->acc_n;
        double var = dv->acc_am2 / dv->acc_n - mean * mean;
        if (var > c->motion_high_g * c->motion_high_g)
            dv->motion_until_us = t + c->motion_artefact_us;
    }
    double amb_mean = have ? 0.5 * (dv->amb[0] + dv->amb[1]) : NAN;
    /* ambient change artefact */
    unsigned aw = minutes(c->ambient_change_window_us);
    if (aw >= AMB_HIST)
        aw = AMB_HIST - 1;
    if (have) {
        for (unsigned k = 1; k <= aw; k++) {
            float old = dv->amb_hist[(m + AMB_HIST - k) % AMB_HIST];
            if (!isnan(old) && fabs(amb_mean - old) > c->ambient_change_c)
                dv->amb_art_until_us = t + c->ambient_artefact_us;
        }
    }
    dv->amb_hist[m % AMB_HIST] = (float)amb_mean;

    unsigned n_present = 0, n_detached = 0;
    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        struct acc_zone *a = &dv->acc[i];
        z->has = a->n > 0;
        z->oor = a->oor;
        if (!z->has) {
            z->contact = z->detached = false;
            continue;
        }
        z->t = a->sum_t / a->n;
        z->p = a->sum_p / a->n;
        double amb = dv->amb[z->side];
        z->contact = z->p >= c->contact_kpa && z->t - amb >= c->skin_minus_ambient_c &&
                     z->t >= c->temp_min_c;
        z->detached = !z->contact;
        n_present++;
        n_detached += z->detached;
        if (!z->contact) {
            z->had_contact = false;
        } else if (!z->had_contact) {
            z->had_contact = true;
            uint64_t until = t0 + c->settle_us;
            if (until > z->settle_until_us)
                z->settle_until_us = until;
        }
        /* stuck: the band of raw values since the run started */
        if (z->st_run && a->tmin >= z->st_hi - (int)c->s3_lsb && a->tmax <= z->st_lo + (int)c->s3_lsb) {
            if (a->tmin < z->st_lo) z->st_lo = a->tmin;
            if (a->tmax > z->st_hi) z->st_hi = a->tmax;
            z->st_run++;
        } else if (a->tmax - a->tmin <= (int)c->s3_lsb) {
            z->st_lo = a->tmin;
            z->st_hi = a->tmax;
            z->st_run = 1;
        } else {
            z->st_run = 0;
        }
        if (z->sp_run && a->pmin + c->s3_lsb >= z->sp_hi && a->pmax <= z->sp_lo + c->s3_lsb) {
            if (a->pmin < z->sp_lo) z->sp_lo = a->pmin;
            if (a->pmax > z->sp_hi) z->sp_hi = a->pmax;
            z->sp_run++;
        } else if ((unsigned)(a->pmax - a->pmin) <= c->s3_lsb) {
            z->sp_lo = a->pmin;
            z->sp_hi = a->pmax;
            z->sp_run = 1;
        } else {
            z->sp_run = 0;
        }
    }

    /* a feed whose end was never logged ends by itself */
    for (int s = 0; s < 2; s++) {
        struct side *sd = &dv->sd[s];
        if (sd->in_feed && t - sd->feed_start_us >= c->feed_max_us) {
            sd->in_feed = false;
            sd->feed_end_us = t;
            if (t + c->feed_artefact_us > sd->art_until_us)
                sd->art_until_us = t + c->feed_artefact_us;
        }
    }

    /* -- S2 garment off -- */
    bool feeding = dv->sd[0].in_feed || dv->sd[1].in_feed || dv->sd[0].feed_minute ||
                   dv->sd[1].feed_minute;
    bool shower = t0 < dv->shower_until_us;
    bool excuse = feeding || shower || dv->garment_off_logged;
    bool off_cond = nz && (!have || n_detached >= c->s2_fraction * nz);
    int tr = sus_step(&dv->s2, off_cond && !excuse, off_cond, true, minutes(c->s2_sustain_us),
                      minutes(c->s2_sustain_us), UINT32_MAX);
    if (tr > 0)
        alert_set(d, dv, &dv->hs2, "S2", DW_L0, DW_SIDE_NONE, -1, (double)n_detached / (nz ? nz : 1),
                  c->s2_fraction, t);
    else if (tr < 0 || (dv->hs2.active && !off_cond)) {
        if (dv->s2.on) memset(&dv->s2, 0, sizeof(dv->s2));
        alert_clear(d, dv, &dv->hs2, DW_SIDE_NONE, (double)n_detached / (nz ? nz : 1), c->s2_fraction, t);
        for (unsigned i = 0; i < nz; i++) /* re-arm the settling */
            dv->z[i].settle_until_us = t + c->settle_us;
    }
    bool garment_on = have && n_present && (double)(n_present - n_detached) >= c->s1_valid_fraction * nz;

    /* -- per-zone faults: S1, S3, S4, S5 -- */
    unsigned sw5 = minutes(c->s5_window_us);
    if (sw5 >= HIST_MIN)
        sw5 = HIST_MIN - 1;
    /* S5 looks for a local source: the largest change against the last
     * minutes, per zone, and how many zones in contact share it (a garment
     * taken off or a cold room moves most zones at once; a pack moves a few). */
    double s5_change[DW_MAX_ZONES];
    unsigned n_contact = 0, n_rise = 0, n_fall = 0;
    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        s5_change[i] = 0;
        if (!z->has || !z->contact)
            continue;
        n_contact++;
        for (unsigned k = 1; k <= sw5; k++) {
            float old = z->t_hist[(m + HIST_MIN - k) % HIST_MIN];
            if (!isnan(old) && fabs(z->t - old) > fabs(s5_change[i]))
                s5_change[i] = z->t - old;
        }
        if (s5_change[i] >= c->s5_change_c)
            n_rise++;
        else if (s5_change[i] <= -c->s5_change_c)
            n_fall++;
    }
    double s5_global = c->s5_global_fraction * n_contact;
    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        struct side *sd = &dv->sd[z->side];
        bool side_excuse = sd->in_feed || sd->feed_minute || shower || dv->garment_off_logged;
        /* S1 */
        tr = sus_step(&z->s[R_S1], z->has && z->detached && garment_on && !side_excuse,
                      z->has && z->detached, z->has, minutes(c->s1_sustain_us),
                      minutes(c->s1_sustain_us), maxinv);
        if (tr > 0)
            alert_set(d, dv, &z->h[R_S1], "S1", DW_L0, (int)z->side, (int)i, z->t, c->temp_min_c, t);
        else if (tr < 0)
            alert_clear(d, dv, &z->h[R_S1], (int)z->side, (int)i, z->t, t);
        /* S3: unchanged while a neighbour varies */
        uint32_t need3 = minutes(c->s3_sustain_us);
        bool nb_vary_t = false, nb_vary_p = false;
        for (unsigned k = 0; k < z->n_nb; k++) {
            struct zone *o = &dv->z[z->nb[k]];
            nb_vary_t |= o->has && o->st_run < z->st_run;
            nb_vary_p |= o->has && o->sp_run < z->sp_run;
        }
        bool stuck = z->has && z->contact &&
                     ((z->st_run >= need3 && nb_vary_t) || (z->sp_run >= need3 && nb_vary_p));
        z->stuck = stuck;
        tr = sus_step(&z->s[R_S3], stuck, stuck, z->has, 1, 1, maxinv);
        if (tr > 0)
            alert_set(d, dv, &z->h[R_S3], "S3", DW_L0, (int)z->side, (int)i,
                      (double)(z->st_run > z->sp_run ? z->st_run : z->sp_run), need3, t);
        else if (tr < 0)
            alert_clear(d, dv, &z->h[R_S3], (int)z->side, 0, need3, t);
        /* S4: instant */
        tr = sus_step(&z->s[R_S4], z->oor, z->oor, true, 1, minutes(c->s1_sustain_us), UINT32_MAX);
        if (tr > 0)
            alert_set(d, dv, &z->h[R_S4], "S4", DW_L0, (int)z->side, (int)i, z->t,
                      z->t < c->s4_temp_min_c ? c->s4_temp_min_c : c->s4_temp_max_c, t);
        else if (tr < 0)
            alert_clear(d, dv, &z->h[R_S4], (int)z->side, z->t, c->s4_temp_max_c, t);
        /* S5: heat/cold source with nothing logged */
        double change = s5_change[i];
        /* A feed warms the breast for a while after it (detection.md), so
         * its window explains a rise, not a fall of several degrees. */
        bool logged = t0 < sd->pack_until_us || sd->in_feed || sd->feed_minute || shower ||
                      dv->garment_off_logged || (t0 < sd->art_until_us && change > 0);
        bool global = (change > 0 ? n_rise : n_fall) >= s5_global && n_contact > 0;
        bool hot = z->has && z->t >= c->s5_temp_min_c && z->t <= c->s5_temp_max_c;
        /* skin warming up under a garment just put on is not a heat source */
        bool settling = t0 < z->settle_until_us;
        if (!logged && (hot || (fabs(change) >= c->s5_change_c && !settling && !global))) {
            z->suppress_until_us = t + c->s5_suppress_us;
            alert_set(d, dv, &z->h[R_S5], "S5", DW_L0, (int)z->side, (int)i, hot ? z->t : change,
                      hot ? c->s5_temp_min_c : c->s5_change_c, t);
        } else if (z->h[R_S5].active && t >= z->suppress_until_us) {
            alert_clear(d, dv, &z->h[R_S5], (int)z->side, change, c->s5_change_c, t);
        }
        z->t_hist[m % HIST_MIN] = z->has && z->contact ? (float)z->t : NAN;
    }

    /* -- validity -- */
    bool dev_art = t0 < dv->motion_until_us || t0 < dv->amb_art_until_us || shower ||
                   dv->hs2.active || dv->garment_off_logged;
    for (int s = 0; s < 2; s++)
        dv->sd[s].n_tvalid = dv->sd[s].n_present = 0;
    unsigned n_tvalid = 0;
    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        struct side *sd = &dv->sd[z->side];
        bool base = z->has && z->contact && !z->oor && !z->stuck && t0 >= z->settle_until_us &&
                    !dev_art && z->t <= c->temp_max_c;
        z->tvalid = base && t0 >= z->suppress_until_us && !sd->in_feed && !sd->feed_minute &&
                    t0 >= sd->art_until_us;
        z->pvalid = base && !sd->in_feed && !sd->feed_minute;
        sd->n_present += z->has;
        sd->n_tvalid += z->tvalid;
        n_tvalid += z->tvalid;
    }
    if (n_tvalid * 2 >= nz && nz)
        dv->wear_minutes++;
    dv->learned = learned(d, dv);

    /* -- contrasts: L, A, R, Q -- */
    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        unsigned n = 0;
        z->has_l = z->has_a = z->has_r = z->has_q = false;
        if (z->tvalid) {
            for (unsigned k = 0; k < z->n_nb; k++)
                if (dv->z[z->nb[k]].tvalid)
                    buf[n++] = (float)dv->z[z->nb[k]].t;
            if (n >= 2) {
                z->l = z->t - median_of(buf, n);
                z->has_l = true;
            }
            struct zone *mz = &dv->z[z->mirror];
            if (z->mirror != i && mz->tvalid) {
                z->a = z->t - mz->t;
                z->has_a = true;
            }
        }
        if (z->pvalid && z->soft_median > 0) {
            z->r = z->p / z->soft_median;
            z->has_r = true;
            z->last_r = z->r;
        }
    }
    for (int s = 0; s < 2; s++) {
        unsigned n = 0;
        for (unsigned i = 0; i < nz; i++)
            if (dv->z[i].side == (unsigned)s && dv->z[i].has_r)
                buf[n++] = (float)dv->z[i].r;
        dv->sd[s].med_r = n * 2 >= (unsigned)dv->sd[s].n_present && n ? median_of(buf, n) : NAN;
        if (!isnan(dv->sd[s].med_r))
            dv->sd[s].med_r_last = dv->sd[s].med_r;
    }
    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        unsigned n = 0;
        if (!z->has_r)
            continue;
        for (unsigned k = 0; k < z->n_nb; k++)
            if (dv->z[z->nb[k]].has_r)
                buf[n++] = (float)dv->z[z->nb[k]].r;
        if (n >= 2) {
            double mr = median_of(buf, n);
            if (mr > 0) {
                z->q = z->r / mr;
                z->has_q = true;
            }
        }
    }

    /* -- same-clock-hour deltas for G1 -- */
    uint64_t hour = t0 / (60 * MIN_US);
    unsigned g_valid[2] = { 0, 0 }, g_warm[2] = { 0, 0 };
    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        z->dg = NAN;
        if (!z->tvalid)
            continue;
        unsigned n = 0;
        for (unsigned day = 1; day <= 3; day++) {
            if (hour < 24 * day)
                break;
            uint64_t hh = hour - 24 * day;
            float sum = z->hour_t[0][hh % 72], cnt = z->hour_t[1][hh % 72];
            if (!isnan(sum) && cnt >= 20)
                buf[n++] = sum / cnt;
        }
        if (n) {
            z->dg = z->t - median_of(buf, n);
            g_valid[z->side]++;
            g_warm[z->side] += z->dg >= c->g1_delta_c;
        }
    }
    double amb_base = NAN;
    {
        unsigned n = 0;
        for (unsigned day = 1; day <= 3; day++) {
            if (hour < 24 * day)
                break;
            uint64_t hh = hour - 24 * day;
            float sum = dv->amb_hour[0][hh % 72], cnt = dv->amb_hour[1][hh % 72];
            if (!isnan(sum) && cnt >= 20)
                buf[n++] = sum / cnt;
        }
        amb_base = n ? median_of(buf, n) : NAN;
    }
    bool amb_cause = !isnan(amb_base) && have && amb_mean - amb_base >= c->g1_ambient_c;
    bool g_ok = g_valid[0] >= 2 && g_valid[1] >= 2;
    bool g_cond = g_ok && g_warm[0] >= c->g1_zone_fraction * g_valid[0] &&
                  g_warm[1] >= c->g1_zone_fraction * g_valid[1] && !amb_cause;
    bool g_hold = g_ok && g_warm[0] + g_warm[1] > 0 && !amb_cause &&
                  (double)(g_warm[0] + g_warm[1]) >= h * c->g1_zone_fraction * (g_valid[0] + g_valid[1]);
    tr = sus_step(&dv->g1, g_cond && dv->learned, g_hold, g_ok || !have ? g_ok : false,
                  minutes(c->g1_sustain_us), clear, maxinv);
    double g_frac = g_ok ? (double)(g_warm[0] + g_warm[1]) / (g_valid[0] + g_valid[1]) : 0;
    if (tr > 0)
        alert_set(d, dv, &dv->hg1, "G1", fever_active(dv) ? DW_L3 : DW_L1, DW_SIDE_NONE, -1,
                  g_frac, c->g1_zone_fraction, t);
    else if (tr < 0)
        alert_clear(d, dv, &dv->hg1, DW_SIDE_NONE, g_frac, c->g1_zone_fraction, t);

    /* -- fever expiry -- */
    if (dv->hg2.active && t - dv->fever_last_us >= c->g2_expire_us)
        alert_clear(d, dv, &dv->hg2, DW_SIDE_NONE, dv->fever_c, c->g2_fever_c, t);
    bool fever = dv->hg2.active;
    bool fever_long = fever && dv->fever_last_us - dv->fever_first_us >= c->l3_fever_us;
    if (fever) {
        int lvl = dv->fever_c >= c->g3_high_fever_c || fever_long ? DW_L3 : DW_L2;
        alert_set(d, dv, &dv->hg2, dv->fever_c >= c->g3_high_fever_c ? "G3" : "G2", lvl,
                  DW_SIDE_NONE, -1, dv->fever_c, dv->fever_c >= c->g3_high_fever_c ?
                  c->g3_high_fever_c : c->g2_fever_c, t);
    }
    bool sys_fever = dv->hg1.active || fever;

    /* -- T1 / T2 per zone -- */
    unsigned t1_raw[2] = { 0, 0 };
    bool t1c[MAX_Z], t2c[MAX_Z];
    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        t1c[i] = t2c[i] = false;
        z->dl = z->da = NAN;
        if (!(z->has_l && z->has_a && z->base_l.have && z->base_a.have))
            continue;
        z->dl = z->l - z->base_l.median;
        z->da = z->a - z->base_a.median;
        z->last_dl = z->dl;
        double thl = fmax(c->t1_delta_c, c->t1_mad_factor * z->base_l.mad);
        double tha = fmax(c->t1_delta_c, c->t1_mad_factor * z->base_a.mad);
        t1c[i] = z->dl >= thl && z->da >= tha;
        t2c[i] = z->dl >= c->t2_delta_c && z->da >= c->t2_delta_c;
        t1_raw[z->side] += t1c[i];
    }
    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        unsigned per_side = 0;
        for (unsigned k = 0; k < nz; k++)
            per_side += dv->z[k].side == z->side;
        bool focal = t1_raw[z->side] <= c->t1_max_zone_fraction * per_side;
        bool valid = !isnan(z->dl);
        bool hold1 = valid && z->dl >= h * c->t1_delta_c && z->da >= h * c->t1_delta_c;
        bool hold2 = valid && z->dl >= h * c->t2_delta_c && z->da >= h * c->t2_delta_c;
        bool ok = dv->learned;
        tr = sus_step(&z->s[R_T1], ok && focal && t1c[i], hold1 && focal, valid,
                      minutes(c->t1_sustain_us), clear, maxinv);
        if (tr > 0) {
            alert_set(d, dv, &z->h[R_T1], "T1", DW_L0, (int)z->side, (int)i, z->dl, c->t1_delta_c, t);
            episode_touch(d, dv, z->side, (int)i, t);
        } else if (tr < 0)
            alert_clear(d, dv, &z->h[R_T1], (int)z->side, valid ? z->dl : 0, c->t1_delta_c, t);
        tr = sus_step(&z->s[R_T2], ok && focal && t2c[i], hold2 && focal, valid,
                      minutes(c->t2_sustain_us), clear, maxinv);
        if (tr > 0) {
            alert_set(d, dv, &z->h[R_T2], "T2", DW_L0, (int)z->side, (int)i, z->dl, c->t2_delta_c, t);
            episode_touch(d, dv, z->side, (int)i, t);
        } else if (tr < 0)
            alert_clear(d, dv, &z->h[R_T2], (int)z->side, valid ? z->dl : 0, c->t2_delta_c, t);
    }

    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        if (z->h[R_T1].active)
            alert_set(d, dv, &z->h[R_T1], "T1", DW_L0, (int)z->side, (int)i, z->last_dl, c->t1_delta_c, t);
        if (z->h[R_T2].active)
            alert_set(d, dv, &z->h[R_T2], "T2", DW_L0, (int)z->side, (int)i, z->last_dl, c->t2_delta_c, t);
    }

    /* -- P1, then F1 per zone -- */
    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        /* P1: >= kpa for minutes of any window; band zones: >= ratio x neighbours */
        uint32_t slot = (uint32_t)(m % d->p1_win_min);
        uint8_t bit = z->has && z->contact && z->p >= c->p1_kpa;
        z->p1_count += bit;
        z->p1_count -= z->p1_bits[slot];
        z->p1_bits[slot] = bit;
        bool press_abs = z->p1_count >= minutes(c->p1_minutes_us);
        bool nb_cond = false;
        if (z->band && z->has && z->contact) {
            unsigned n = 0;
            for (unsigned k = 0; k < z->n_nb; k++)
                if (dv->z[z->nb[k]].has && dv->z[z->nb[k]].contact)
                    buf[n++] = (float)dv->z[z->nb[k]].p;
            double mp = median_of(buf, n);
            nb_cond = n && mp > 0 && z->p >= c->p1_neighbour_ratio * mp;
        }
        int trn = sus_step(&z->p1n, nb_cond, nb_cond, z->has && z->contact,
                           minutes(c->p1_neighbour_sustain_us), clear, maxinv);
        (void)trn;
        bool p1 = press_abs || z->p1n.on;
        if (p1 && !z->h[R_P1].active)
            alert_set(d, dv, &z->h[R_P1], "P1", DW_L0, (int)z->side, (int)i, z->p, c->p1_kpa, t);
        else if (!p1 && z->h[R_P1].active)
            alert_clear(d, dv, &z->h[R_P1], (int)z->side, z->p, c->p1_kpa, t);

        /* At P1's harmful pressure the taxel measures the garment (a strap,
         * a tight band), not the breast: no firmness reading. A lump, even
         * under a band, presses far less (docs/simulator.md). */
        bool valid = z->has_q && z->p < c->p1_kpa;
        bool raise = valid && dv->learned && z->r >= c->f1_r && z->q >= c->f1_q;
        bool hold = valid && z->r >= h * c->f1_r + (1 - h) && z->q >= h * c->f1_q + (1 - h);
        tr = sus_step(&z->s[R_F1], raise, hold, valid, minutes(c->f1_sustain_us), clear, maxinv);
        if (tr > 0) {
            int lvl = DW_L0;
            alert_set(d, dv, &z->h[R_F1], "F1", lvl, (int)z->side, (int)i, z->r, c->f1_r, t);
            episode_touch(d, dv, z->side, (int)i, t);
        } else if (tr < 0)
            alert_clear(d, dv, &z->h[R_F1], (int)z->side, valid ? z->r : 0, c->f1_r, t);
    }

    /* -- F1-FR: the window after a feed on that side -- */
    for (int s = 0; s < 2; s++) {
        struct side *sd = &dv->sd[s];
        if (!sd->fr_pending)
            continue;
        uint64_t from = sd->feed_end_us + c->fr_from_us, to = sd->feed_end_us + c->fr_to_us;
        if (t0 >= from && t <= to) {
            for (unsigned i = 0; i < nz; i++) {
                struct zone *z = &dv->z[i];
                if (z->side != (unsigned)s || !z->pvalid)
                    continue;
                z->fr_sum_p += z->p;
                z->fr_np++;
                if (z->has_r) {
                    z->fr_sum_r += z->r;
                    z->fr_n++;
                }
            }
            if (!isnan(sd->med_r)) {
                sd->fr_med_sum += sd->med_r;
                sd->fr_med_n++;
            }
        }
        if (t < to)
            continue;
        sd->fr_pending = false;
        double bmed = sd->fr_med_n ? sd->fr_med_sum / sd->fr_med_n : NAN;
        for (unsigned i = 0; i < nz; i++) {
            struct zone *z = &dv->z[i];
            if (z->side != (unsigned)s)
                continue;
            double zr = z->fr_n >= FR_MIN_MINUTES ? z->fr_sum_r / z->fr_n : NAN;
            bool pos = dv->learned && !isnan(zr) && !isnan(bmed) && zr >= c->fr_r &&
                       bmed <= c->fr_breast_median_max;
            if (pos) {
                z->fr_last_us = t;
                alert_set(d, dv, &z->h[R_FR], "F1-FR", DW_L0, s, (int)i, zr, c->fr_r, t);
                episode_touch(d, dv, (unsigned)s, (int)i, t);
            } else if (z->h[R_FR].active && z->fr_n >= FR_MIN_MINUTES) {
                alert_clear(d, dv, &z->h[R_FR], s, isnan(zr) ? 0 : zr, c->fr_r, t);
            }
            /* the soft baseline learns from zones that are not under suspicion */
            if (z->fr_np >= FR_MIN_MINUTES && !pos && !z->h[R_F1].active && !z->s[R_F1].t_true &&
                !(z->has_r && z->r >= c->fr_r && !isnan(bmed) && bmed <= c->fr_breast_median_max)) {
                soft_push(z, z->fr_sum_p / z->fr_np, t);
            }
            soft_update(d, z, t, buf);
            z->fr_sum_p = z->fr_sum_r = 0;
            z->fr_n = z->fr_np = 0;
        }
        sd->fr_med_sum = 0;
        sd->fr_med_n = 0;
    }

    /* -- D1 and I1 per side -- */
    for (int s = 0; s < 2; s++) {
        struct side *sd = &dv->sd[s];
        bool side_valid = sd->n_present > 0;
        int d1_zone = -1, i1_zone = -1, t2_zone = -1;
        double d1_val = 0, i1_val = 0, t2_val = 0;
        bool any_t2 = false, cooc = false;
        unsigned warm_zones = 0;
        for (unsigned i = 0; i < nz; i++) {
            struct zone *z = &dv->z[i];
            if (z->side != (unsigned)s)
                continue;
            any_t2 |= z->h[R_T2].active;
            warm_zones += z->h[R_T1].active;
            if (z->h[R_T2].active && z->last_dl >= t2_val) {
                t2_zone = (int)i;
                t2_val = z->last_dl;
            }
            /* F1 here or next door, and an F1-FR here or next door recently */
            bool f1 = z->h[R_F1].active, fr = z->fr_last_us && t - z->fr_last_us <= c->d1_fr_lookback_us;
            bool t1n = z->h[R_T1].active;
            for (unsigned k = 0; k < z->n_nb; k++) {
                struct zone *o = &dv->z[z->nb[k]];
                fr |= o->fr_last_us && t - o->fr_last_us <= c->d1_fr_lookback_us;
            }
            if (f1 && fr) {
                double v = z->last_r;
                if (d1_zone < 0 || v > d1_val) {
                    d1_zone = (int)i;
                    d1_val = v;
                }
            }
            if (t1n) {
                bool f1n = f1;
                for (unsigned k = 0; k < z->n_nb; k++)
                    f1n |= dv->z[z->nb[k]].h[R_F1].active;
                if (f1n) {
                    cooc = true;
                    double v = z->last_dl;
                    if (i1_zone < 0 || v > i1_val) {
                        i1_zone = (int)i;
                        i1_val = v;
                    }
                }
            }
        }
        /* co-occurrence across feeds */
        if (cooc) {
            if (!sd->cooc)
                sd->cooc_feeds = 0;
            sd->cooc = true;
            sd->cooc_gone = 0;
        } else if (sd->cooc && ++sd->cooc_gone >= clear) {
            sd->cooc = false;
        }
        bool d1c = d1_zone >= 0 && !any_t2 && !dv->hg1.active;
        tr = sus_step(&sd->d1, d1c, d1c, side_valid, minutes(c->d1_sustain_us), clear, maxinv);
        if (tr > 0 && !sd->d1_first_us)
            sd->d1_first_us = t;
        bool i1a = cooc && sd->cooc_feeds >= c->i1_feeds;
        int tra = sus_step(&sd->i1, i1a, cooc, side_valid, minutes(c->i1_sustain_us), clear, maxinv);
        int trb = sus_step(&sd->i1t2, any_t2, any_t2, side_valid, minutes(c->i1_t2_sustain_us), clear, maxinv);
        (void)tra;
        (void)trb;
        bool i1_on = sd->i1.on || sd->i1t2.on;
        if (i1_on && !sd->i1_first_us)
            sd->i1_first_us = t;
        if (sd->i1t2.on && (i1_zone < 0 || t2_val > i1_val)) {
            i1_zone = t2_zone;
            i1_val = t2_val;
        }
        /* D1 alert and its level */
        if (sd->d1.on) {
            episode_touch(d, dv, (unsigned)s, d1_zone, t);
            if (!sd->d1_first_us)
                sd->d1_first_us = t;
            int zone = d1_zone >= 0 ? d1_zone : sd->hd1.zone;
            int lvl = DW_L1;
            if (t - sd->d1_first_us >= c->l2_d1_us || zone_repeat(d, dv, zone, t) ||
                (sd->f1_first_us && t - sd->f1_first_us >= c->l2_f1_us))
                lvl = DW_L2;
            if (sys_fever)
                lvl = DW_L3;
            alert_set(d, dv, &sd->hd1, "D1", lvl, s, zone, d1_zone >= 0 ? d1_val : 0, c->f1_r, t);
        } else if (sd->hd1.active) {
            alert_clear(d, dv, &sd->hd1, s, d1_val, c->f1_r, t);
        }
        if (i1_on) {
            episode_touch(d, dv, (unsigned)s, i1_zone, t);
            int zone = i1_zone >= 0 ? i1_zone : sd->hi1.zone;
            int lvl = DW_L1;
            if (t - sd->i1_first_us >= c->l2_i1_us || warm_zones >= c->i1_spread_zones ||
                zone_repeat(d, dv, zone, t))
                lvl = DW_L2;
            if (sys_fever)
                lvl = DW_L3;
            alert_set(d, dv, &sd->hi1, "I1", lvl, s, zone, i1_val, sd->i1t2.on ? c->t2_delta_c : c->t1_delta_c, t);
        } else if (sd->hi1.active) {
            alert_clear(d, dv, &sd->hi1, s, i1_val, c->t1_delta_c, t);
        }
        /* F1 anywhere on the side: track for "F1 > 7 days" */
        bool any_f1 = false;
        for (unsigned i = 0; i < nz; i++)
            any_f1 |= dv->z[i].side == (unsigned)s && dv->z[i].h[R_F1].active;
        if (any_f1 && sd->ep_open && !sd->f1_first_us)
            sd->f1_first_us = t;
        for (unsigned i = 0; i < nz; i++) {
            struct zone *z = &dv->z[i];
            if (z->side != (unsigned)s || !z->h[R_F1].active)
                continue;
            int lvl = sd->f1_first_us && t - sd->f1_first_us >= c->l2_f1_us ? DW_L2 : DW_L0;
            alert_set(d, dv, &z->h[R_F1], "F1", lvl, s, (int)i, z->last_r, c->f1_r, t);
        }
        /* episode close after 12 h clear */
        bool any = sd->hd1.active || sd->hi1.active || any_f1 || dv->he1.active;
        for (unsigned i = 0; i < nz; i++) {
            struct zone *z = &dv->z[i];
            any |= z->side == (unsigned)s && (z->h[R_T1].active || z->h[R_T2].active || z->h[R_FR].active);
        }
        if (any && sd->ep_open)
            sd->ep_last_active_us = t;
        if (sd->ep_open && !any && t - sd->ep_last_active_us >= c->episode_close_us) {
            sd->ep_open = false;
            sd->d1_first_us = sd->i1_first_us = sd->f1_first_us = 0;
        }
    }

    /* -- E1 / E2 -- */
    {
        unsigned firm[2] = { 0, 0 }, nr[2] = { 0, 0 };
        for (unsigned i = 0; i < nz; i++) {
            struct zone *z = &dv->z[i];
            if (!z->has_r)
                continue;
            nr[z->side]++;
            firm[z->side] += z->r >= c->e1_r;
        }
        double ml = dv->sd[0].med_r, mr = dv->sd[1].med_r;
        bool ok = nr[0] >= 2 && nr[1] >= 2 && !isnan(ml) && !isnan(mr);
        bool both = ok && firm[0] >= c->e1_zone_fraction * nr[0] && firm[1] >= c->e1_zone_fraction * nr[1];
        bool close_sides = ok && fabs(ml - mr) <= c->e1_side_diff * fmax(ml, mr);
        bool raise = dv->learned && both && close_sides;
        bool hold = ok && ml >= h * c->e1_r + (1 - h) && mr >= h * c->e1_r + (1 - h);
        tr = sus_step(&dv->e1, raise, hold, ok, minutes(c->e1_sustain_us), clear, maxinv);
        double val = ok ? fmin(ml, mr) : 0;
        if (tr > 0) {
            alert_set(d, dv, &dv->he1, "E1", DW_L1, DW_SIDE_NONE, -1, val, c->e1_r, t);
            dv->e1_unrelieved = 0;
            episode_touch(d, dv, 0, -1, t);
            episode_touch(d, dv, 1, -1, t);
        } else if (tr < 0) {
            alert_clear(d, dv, &dv->he1, DW_SIDE_NONE, val, c->e1_r, t);
            alert_clear(d, dv, &dv->he2, DW_SIDE_NONE, val, c->e1_r, t);
            dv->e1_check = false;
        }
        if (dv->e1_check) {
            double now_r = fmax(isnan(ml) ? 0 : ml, isnan(mr) ? 0 : mr);
            if (ok && now_r <= (1 - c->e1_fall) * dv->e1_pre)
                dv->e1_relieved = true;
            if (t >= dv->e1_check_until_us) {
                dv->e1_check = false;
                dv->e1_unrelieved = dv->e1_relieved ? 0 : dv->e1_unrelieved + 1;
            }
        }
        if (dv->he1.active && (dv->e1_unrelieved >= c->e2_feeds ||
                               t - dv->he1.since_us >= c->e2_duration_us))
            alert_set(d, dv, &dv->he2, "E2", sys_fever ? DW_L3 : DW_L2, DW_SIDE_NONE, -1, val, c->e1_r, t);
        if (dv->he1.active)
            alert_set(d, dv, &dv->he1, "E1", sys_fever ? DW_L3 : DW_L1, DW_SIDE_NONE, -1, val, c->e1_r, t);
    }
    if (dv->hg1.active)
        alert_set(d, dv, &dv->hg1, "G1", dv->sd[0].hd1.active || dv->sd[1].hd1.active ||
                  dv->sd[0].hi1.active || dv->sd[1].hi1.active || fever ? DW_L3 : DW_L1,
                  DW_SIDE_NONE, -1, g_frac, c->g1_zone_fraction, t);

    /* -- baselines: from valid, non-alert data only -- */
    for (unsigned i = 0; i < nz; i++) {
        struct zone *z = &dv->z[i];
        bool clean = !zone_in_alert(z) && !dv->sd[z->side].hd1.active && !dv->sd[z->side].hi1.active;
        dw_ring_push(&z->base_l, z->has_l && clean ? (float)z->l : NAN);
        dw_ring_push(&z->base_a, z->has_a && clean ? (float)z->a : NAN);
        if (z->tvalid && !sys_fever && !dv->g1.t_true) {
            z->hour_sum += z->t;
            z->hour_n++;
        }
    }
    if (have && !isnan(amb_mean)) {
        dv->amb_hour_sum += amb_mean;
        dv->amb_hour_n++;
    }
    if ((m + 1) % 60 == 0) { /* hour boundary: store the hour's sums */
        for (unsigned i = 0; i < nz; i++) {
            struct zone *z = &dv->z[i];
            z->hour_t[0][hour % 72] = z->hour_n ? (float)z->hour_sum : NAN;
            z->hour_t[1][hour % 72] = (float)z->hour_n;
            z->hour_sum = 0;
            z->hour_n = 0;
        }
        dv->amb_hour[0][hour % 72] = dv->amb_hour_n ? (float)dv->amb_hour_sum : NAN;
        dv->amb_hour[1][hour % 72] = (float)dv->amb_hour_n;
        dv->amb_hour_sum = 0;
        dv->amb_hour_n = 0;
    }
    if (m + 1 >= dv->next_baseline_min) {
        uint32_t min_n = minutes(c->baseline_min_us);
        /* as above: too little clean data keeps the last baseline */
        for (unsigned i = 0; i < nz; i++) {
            if (dv->z[i].base_l.n_valid >= min_n)
                dw_ring_update(&dv->z[i].base_l, min_n, buf);
            if (dv->z[i].base_a.n_valid >= min_n)
                dw_ring_update(&dv->z[i].base_a, min_n, buf);
        }
        dv->next_baseline_min = m + 1 + minutes(c->baseline_update_us);
    }

    /* reset the accumulators */
    memset(dv->acc, 0, sizeof(dv->acc));
    dv->acc_amb[0] = dv->acc_amb[1] = dv->acc_am = dv->acc_am2 = 0;
    dv->acc_n = 0;
    for (int s = 0; s < 2; s++)
        dv->sd[s].feed_minute = dv->sd[s].in_feed;
}

/* Brings the device's minute clock up to the minute holding t. */
static void advance(struct dw_detector *d, struct device *dv, uint64_t t)
{
    uint64_t m = t / MIN_US;
    if (!dv->started) {
        dv->started = true;
        dv->cur_min = m;
        dv->next_baseline_min = m + minutes(d->c.baseline_update_us);
        return;
    }
    if (m <= dv->cur_min)
        return;
    /* A very long gap: skip to its last month instead of looping forever. */
    if (m - dv->cur_min > 31 * 24 * 60) {
        close_minute(d, dv, dv->cur_min);
        dv->cur_min = m - 31 * 24 * 60;
    }
    while (dv->cur_min < m) {
        close_minute(d, dv, dv->cur_min);
        dv->cur_min++;
    }
}

/* Device time on one continuous line: a garment reboot restarts its clock,
 * so later times are shifted to follow on. Returns false to drop. */
static bool timeline(struct device *dv, uint64_t *t)
{
    uint64_t eff = *t + dv->t_offset;
    if (dv->st.samples + dv->st.events > 0 && eff < dv->last_t) {
        if (dv->last_t - eff < MIN_US) {
            dv->st.out_of_order++;
            return false;
        }
        dv->t_offset = dv->last_t + MIN_US - *t;
        eff = *t + dv->t_offset;
    }
    dv->last_t = eff;
    *t = eff;
    return true;
}

int dw_detector_sample(struct dw_detector *d, const char *device, uint64_t t_us,
                       const struct dw_sample *s)
{
    struct device *dv = device_get(d, device, true);
    if (!dv)
        return -ENOMEM;
    if (!dv->have_hello) {
        dv->st.ignored_before_hello++;
        return 0;
    }
    if (s->n_zones != dv->nz)
        return -EINVAL;
    if (!timeline(dv, &t_us))
        return 0;
    dv->st.samples++;
    advance(d, dv, t_us);
    const struct dw_hello *h = &dv->hello;
    double ts = h->temp_scale * 1e-6, ps = h->pressure_scale * 1e-6, as = h->accel_scale * 1e-6;
    for (unsigned i = 0; i < dv->nz; i++) {
        struct acc_zone *a = &dv->acc[i];
        double tc = s->temp[i] * ts, pk = s->pressure[i] * ps;
        if (a->n == 0) {
            a->tmin = a->tmax = s->temp[i];
            a->pmin = a->pmax = s->pressure[i];
        }
        if (s->temp[i] < a->tmin) a->tmin = s->temp[i];
        if (s->temp[i] > a->tmax) a->tmax = s->temp[i];
        if (s->pressure[i] < a->pmin) a->pmin = s->pressure[i];
        if (s->pressure[i] > a->pmax) a->pmax = s->pressure[i];
        a->sum_t += tc;
        a->sum_p += pk;
        a->n++;
        if (tc < d->c.s4_temp_min_c || tc > d->c.s4_temp_max_c || (s->status[i] & 0x0f))
            a->oor = true;
    }
    for (unsigned k = 0; k < 2; k++)
        dv->acc_amb[k] += s->ambient[k < h->n_ambient ? k : 0] * ts;
    double ax = s->accel[0] * as, ay = s->accel[1] * as, az = s->accel[2] * as;
    double mag = sqrt(ax * ax + ay * ay + az * az);
    dv->acc_am += mag;
    dv->acc_am2 += mag * mag;
    dv->acc_n++;
    return 0;
}

static void feed_start(struct device *dv, unsigned s, uint64_t t)
{
    struct side *sd = &dv->sd[s];
    sd->in_feed = sd->feed_minute = true;
    sd->feed_start_us = t;
}

int dw_detector_event(struct dw_detector *d, const char *device, uint64_t t_us,
                      int kind, int side, bool has_value, double value)
{
    const struct dw_detect_config *c = &d->c;
    struct device *dv = device_get(d, device, true);
    if (!dv)
        return -ENOMEM;
    if (!timeline(dv, &t_us))
        return 0;
    dv->st.events++;
    if (dv->have_hello)
        advance(d, dv, t_us);
    int s0 = side_of(side) >= 0 ? side : 0, s1 = side_of(side) >= 0 ? side : 1;
    switch (kind) {
    case DW_EV_FEED_START:
    case DW_EV_PUMP_START: {
        /* H1: which breast is firmer at a feed start (information) */
        double l = dv->sd[0].med_r_last, r = dv->sd[1].med_r_last;
        if (dv->learned && !isnan(l) && !isnan(r) && l != r) {
            int firm = l > r ? DW_SIDE_LEFT : DW_SIDE_RIGHT;
            alert_set(d, dv, &dv->hh1, "H1", DW_L0, firm, -1, fmax(l, r), fmin(l, r), t_us);
        }
        /* E1 relief check: the median R before the feed */
        if (dv->he1.active) {
            dv->e1_pre = fmax(isnan(l) ? 0 : l, isnan(r) ? 0 : r);
            dv->e1_relieved = false;
        }
        for (int s = s0; s <= s1; s++)
            feed_start(dv, (unsigned)s, t_us);
        dv->feeds++;
        for (int s = 0; s < 2; s++)
            if (dv->sd[s].cooc)
                dv->sd[s].cooc_feeds++;
        break;
    }
    case DW_EV_FEED_END:
    case DW_EV_PUMP_END:
        for (int s = s0; s <= s1; s++) {
            struct side *sd = &dv->sd[s];
            if (!sd->in_feed)
                continue;
            sd->in_feed = false;
            sd->feed_end_us = t_us;
            if (t_us + c->feed_artefact_us > sd->art_until_us)
                sd->art_until_us = t_us + c->feed_artefact_us;
            sd->fr_pending = true;
            sd->fr_med_sum = 0;
            sd->fr_med_n = 0;
            for (unsigned i = 0; i < dv->nz; i++)
                if (dv->z[i].side == (unsigned)s) {
                    dv->z[i].fr_sum_p = dv->z[i].fr_sum_r = 0;
                    dv->z[i].fr_n = dv->z[i].fr_np = 0;
                }
        }
        if (dv->hh1.active)
            alert_clear(d, dv, &dv->hh1, dv->sd[0].med_r_last > dv->sd[1].med_r_last ? 0 : 1,
                        0, 0, t_us);
        if (dv->he1.active && !dv->sd[0].in_feed && !dv->sd[1].in_feed) {
            dv->e1_check = true;
            dv->e1_check_until_us = t_us + c->e1_fall_window_us;
        }
        break;
    case DW_EV_THERMOMETER:
        if (!has_value)
            break;
        if (value >= c->g2_fever_c) {
            if (!dv->hg2.active)
                dv->fever_first_us = t_us;
            dv->fever_last_us = t_us;
            dv->fever_c = value;
            int lvl = value >= c->g3_high_fever_c ? DW_L3 : DW_L2;
            alert_set(d, dv, &dv->hg2, value >= c->g3_high_fever_c ? "G3" : "G2", lvl,
                      DW_SIDE_NONE, -1, value, value >= c->g3_high_fever_c ? c->g3_high_fever_c
                      : c->g2_fever_c, t_us);
        } else if (dv->hg2.active) {
            alert_clear(d, dv, &dv->hg2, DW_SIDE_NONE, value, c->g2_fever_c, t_us);
        }
        break;
    case DW_EV_ICE_PACK:
    case DW_EV_HEAT_PACK:
        for (int s = s0; s <= s1; s++) {
            if (t_us + c->pack_artefact_us > dv->sd[s].art_until_us)
                dv->sd[s].art_until_us = t_us + c->pack_artefact_us;
            if (t_us + c->pack_artefact_us > dv->sd[s].pack_until_us)
                dv->sd[s].pack_until_us = t_us + c->pack_artefact_us;
        }
        break;
    case DW_EV_SHOWER:
        if (t_us + c->shower_artefact_us > dv->shower_until_us)
            dv->shower_until_us = t_us + c->shower_artefact_us;
        break;
    case DW_EV_GARMENT_OFF:
        dv->garment_off_logged = true;
        break;
    case DW_EV_GARMENT_ON:
        dv->garment_off_logged = false;
        for (unsigned i = 0; i < dv->nz; i++)
            dv->z[i].settle_until_us = t_us + c->settle_us;
        break;
    default:
        break;
    }
    return 0;
}
