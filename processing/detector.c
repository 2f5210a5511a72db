/* Detector core: the public API, the device table, the minute scheduler
 * and the events. The rules of docs/detection.md live in rules_*.c; the
 * state they share is in detector_internal.h. Nothing here reads a clock. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "detector_internal.h"
#include "layout.h"

uint32_t dw_det_minutes(uint64_t us)
{
    uint64_t m = (us + DW_DET_MINUTE_US - 1) / DW_DET_MINUTE_US;
    return m ? (uint32_t)m : 1;
}

double dw_det_median(float *buf, unsigned n)
{
    return n ? dw_median(buf, n) : NAN;
}

int dw_det_side_of(int s)
{
    return s == DW_SIDE_LEFT || s == DW_SIDE_RIGHT ? s : -1;
}

/* raise: the raise condition this minute; hold: the (lower) hold
 * condition; valid: whether the minute had usable data. Invalid minutes
 * freeze the state (feeds and showers would otherwise make alerts flap),
 * but a very long gap resets it. Returns +1 raised, -1 cleared, 0. */
int dw_sustain_step(struct dw_sustain *s, bool raise, bool hold, bool valid,
                    uint32_t need, uint32_t clear, uint32_t max_invalid)
{
    if (!valid) {
        if (++s->minutes_invalid >= max_invalid) {
            bool was = s->on;
            memset(s, 0, sizeof(*s));
            return was ? -1 : 0;
        }
        return 0;
    }
    s->minutes_invalid = 0;
    if (!s->on) {
        if (raise)
            s->minutes_true++;
        else
            s->minutes_true = s->minutes_true > 2 ? s->minutes_true - 2 : 0;
        if (s->minutes_true >= need) {
            s->on = true;
            s->minutes_false = 0;
            return 1;
        }
        return 0;
    }
    if (hold || raise) {
        s->minutes_false = 0;
        return 0;
    }
    if (++s->minutes_false >= clear) {
        s->on = false;
        s->minutes_true = 0;
        s->minutes_false = 0;
        return -1;
    }
    return 0;
}

/* ---- devices ----------------------------------------------------------- */

static void device_free(struct dw_device *dv)
{
    for (unsigned i = 0; i < dv->zone_cap; i++) {
        dw_ring_free(&dv->zone[i].base_l);
        dw_ring_free(&dv->zone[i].base_a);
        free(dv->zone[i].p1_bits);
    }
    free(dv->zone);
    free(dv);
}

static void device_free_entry(void *dv)
{
    device_free(dv);
}

static struct dw_device *device_find(const struct dw_detector *d, const char *id)
{
    return dw_devtab_find(&d->devs, id);
}

static int zone_init(struct dw_detector *d, struct dw_zone *z)
{
    memset(z, 0, sizeof(*z));
    /* L and A are temperature differences: 0.01 degrees C */
    if (dw_ring_init(&z->base_l, d->baseline_window_min, DW_FIXED16_CENTI) < 0 ||
        dw_ring_init(&z->base_a, d->baseline_window_min, DW_FIXED16_CENTI) < 0)
        return -ENOMEM;
    z->p1_bits = calloc(d->p1_window_min, 1);
    if (!z->p1_bits)
        return -ENOMEM;
    for (unsigned k = 0; k < DW_DET_T_HISTORY_MIN; k++)
        z->t_history[k] = NAN;
    for (unsigned k = 0; k < DW_DET_CLOCK_HOURS; k++)
        z->hour_t[0][k] = z->hour_t[1][k] = NAN;
    z->soft_median_kpa = NAN;
    return 0;
}

/* Room for n zones: the ones added start as a device's zones start. */
static int zones_reserve(struct dw_detector *d, struct dw_device *dv, unsigned n)
{
    if (n <= dv->zone_cap)
        return 0;
    struct dw_zone *nz = realloc(dv->zone, n * sizeof(*nz));
    if (!nz)
        return -ENOMEM;
    dv->zone = nz;
    while (dv->zone_cap < n) {
        /* counted before its init: device_free frees what it got */
        int rc = zone_init(d, &dv->zone[dv->zone_cap++]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static struct dw_device *device_new(const char *id)
{
    struct dw_device *dv = calloc(1, sizeof(*dv));
    if (!dv)
        return NULL;
    snprintf(dv->id, sizeof(dv->id), "%s", id);
    for (unsigned k = 0; k < DW_DET_AMB_HISTORY_MIN; k++)
        dv->ambient_history[k] = NAN;
    for (unsigned k = 0; k < DW_DET_CLOCK_HOURS; k++)
        dv->ambient_hour[0][k] = dv->ambient_hour[1][k] = NAN;
    dv->breast[0].median_r_last = dv->breast[1].median_r_last = NAN;
    return dv;
}

/* The device of the last sample first: a replay, or a garment's burst,
 * names the same device again and again, and the hash lookup (hash,
 * probe, strcmp through a callback) was 8 % of a week's replay
 * (docs/performance.md 3.4); a miss costs one strcmp more. */
static struct dw_device *device_get(struct dw_detector *d, const char *id)
{
    if (d->last && !strcmp(d->last->id, id))
        return d->last;
    struct dw_device *found = device_find(d, id);
    if (found)
        return d->last = found;
    size_t n = strnlen(id, DW_ID_LEN + 1);
    if (n == 0 || n > DW_ID_LEN) { /* not a device id: never cut into another's */
        errno = EINVAL;
        return NULL;
    }
    struct dw_device *dv = device_new(id);
    if (!dv)
        return NULL;
    int rc = dw_devtab_add(&d->devs, dv);
    if (rc < 0) {
        device_free(dv);
        errno = -rc;
        return NULL;
    }
    return d->last = dv;
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
    dw_devtab_init(&d->devs, sizeof(struct dw_device), offsetof(struct dw_device, id));
    d->fn = fn;
    d->user = user;
    d->baseline_window_min = dw_det_minutes(cfg->baseline_window_us);
    d->p1_window_min = dw_det_minutes(cfg->p1_window_us);
    uint32_t n = d->baseline_window_min > DW_DET_SOFT_CAP ? d->baseline_window_min
                                                          : DW_DET_SOFT_CAP;
    d->scratch = malloc(sizeof(float) * n);
    if (!d->scratch) {
        free(d);
        return NULL;
    }
    return d;
}

void dw_detector_free(struct dw_detector *d)
{
    if (!d)
        return;
    dw_devtab_free(&d->devs, device_free_entry);
    free(d->scratch);
    free(d);
}

int dw_detector_stats(const struct dw_detector *d, const char *device, struct dw_detector_stats *st)
{
    const struct dw_device *dv = device_find(d, device);
    if (!dv)
        return -ENOENT;
    *st = dv->stats;
    return 0;
}

int dw_detector_zone(const struct dw_detector *d, const char *device, unsigned zone,
                     struct dw_detector_zone *out)
{
    const struct dw_device *dv = device_find(d, device);
    const struct dw_zone *z;
    if (!dv || zone >= dv->n_zones)
        return -ENOENT;
    z = &dv->zone[zone];
    /* before the first minute closes nothing has been computed */
    out->dl = dv->stats.minutes ? z->dl_c : NAN;
    out->da = dv->stats.minutes ? z->da_c : NAN;
    out->r = dv->stats.minutes && z->has_r ? z->r : NAN;
    out->q = dv->stats.minutes && z->has_q ? z->q : NAN;
    return 0;
}

int dw_detector_hello(struct dw_detector *d, const char *device, const struct dw_hello *h)
{
    struct dw_device *dv = device_get(d, device);
    if (!dv)
        return -errno;
    if (h->n_zones == 0 || h->n_zones > DW_MAX_ZONES)
        return -EINVAL;
    bool same = dv->have_hello && dv->n_zones == h->n_zones &&
                !memcmp(dv->hello.zone, h->zone, sizeof(h->zone[0]) * h->n_zones);
    if (!same && zones_reserve(d, dv, h->n_zones) < 0)
        return -ENOMEM;
    dv->hello = *h;
    if (same)
        return 0;
    /* A new layout: baselines of the old one mean nothing. */
    dv->have_hello = true;
    dv->n_zones = h->n_zones;
    for (unsigned i = 0; i < dv->n_zones; i++) {
        struct dw_zone *z = &dv->zone[i];
        z->n_neighbours = dw_layout_neighbours(&dv->hello, i, z->neighbour);
        z->mirror = h->zone[i].mirror < dv->n_zones ? h->zone[i].mirror : i;
        z->side = h->zone[i].side < 2 ? h->zone[i].side : 0;
        z->band = h->zone[i].flags & DW_ZF_BAND;
        z->lateral = z->band || h->zone[i].quadrant == DW_Q_UPPER_OUTER ||
                     h->zone[i].quadrant == DW_Q_LOWER_OUTER;
        dw_ring_clear(&z->base_l);
        dw_ring_clear(&z->base_a);
        z->soft_n = z->soft_head = 0;
        z->soft_median_kpa = NAN;
    }
    return 0;
}

/* ---- the minute scheduler ---------------------------------------------- */

/* Closes minute m: its means, the sensor rules (their S3 and S2 feed the
 * validity), validity and contrasts, then the rule families in the order
 * their inputs need, and last the baselines (from this minute's verdicts). */
static void close_minute(struct dw_detector *d, struct dw_device *dv, uint64_t m)
{
    const struct dw_detect_config *c = &d->c;
    struct minute_ctx x = {
        .d = d, .dv = dv, .c = c, .minute = m,
        .t0_us = m * DW_DET_MINUTE_US, .t_us = (m + 1) * DW_DET_MINUTE_US,
        .hour = m * DW_DET_MINUTE_US / (60 * DW_DET_MINUTE_US),
        .n_zones = dv->n_zones,
        .clear_min = dw_det_minutes(c->clear_after_us),
        .max_invalid_min = dw_det_minutes(c->episode_close_us),
        .hysteresis = c->hysteresis, .scratch = d->scratch,
    };
    dv->stats.minutes++;
    dw_minute_means(&x);
    dw_minute_feed_timeouts(&x);
    dw_rules_sensor_step(&x);
    dw_minute_validity(&x);
    dw_minute_contrasts(&x);
    dw_rules_fever_step(&x);
    dw_rules_warmth_step(&x);
    dw_rules_firmness_step(&x);
    dw_rules_relief_step(&x);
    dw_rules_duct_step(&x);
    dw_rules_engorgement_step(&x);
    dw_rules_g1_escalate(&x);
    dw_baseline_step(&x);
    dw_minute_reset(dv);
}

/* The longest gap whose minutes are closed one by one (a month); of a
 * longer one only its last month is. */
#define LONG_GAP_MINUTES (31 * 24 * 60)

/* Brings the device's minute clock up to the minute holding t. */
static void advance(struct dw_detector *d, struct dw_device *dv, uint64_t t)
{
    uint64_t m = t / DW_DET_MINUTE_US;
    if (!dv->started) {
        dv->started = true;
        dv->minute = m;
        dv->next_baseline_minute = m + dw_det_minutes(d->c.baseline_update_us);
        return;
    }
    if (m <= dv->minute)
        return;
    /* A very long gap: skip to its last month instead of looping forever. */
    if (m - dv->minute > LONG_GAP_MINUTES) {
        close_minute(d, dv, dv->minute);
        dv->minute = m - LONG_GAP_MINUTES;
    }
    while (dv->minute < m) {
        close_minute(d, dv, dv->minute);
        dv->minute++;
    }
}

/* Device time on one continuous line: a garment reboot restarts its clock,
 * so later times are shifted to follow on. Returns false to drop. */
static bool timeline(struct dw_device *dv, uint64_t *t)
{
    uint64_t eff = *t + dv->t_offset_us;
    if (dv->stats.samples + dv->stats.events > 0 && eff < dv->last_t_us) {
        if (dv->last_t_us - eff < DW_DET_MINUTE_US) {
            dv->stats.out_of_order++;
            return false;
        }
        dv->t_offset_us = dv->last_t_us + DW_DET_MINUTE_US - *t;
        eff = *t + dv->t_offset_us;
    }
    dv->last_t_us = eff;
    *t = eff;
    return true;
}

static void accumulate(struct dw_detector *d, struct dw_device *dv, const struct dw_sample *s)
{
    const struct dw_hello *h = &dv->hello;
    double ts = h->temp_scale * 1e-6, ps = h->pressure_scale * 1e-6, as = h->accel_scale * 1e-6;
    for (unsigned i = 0; i < dv->n_zones; i++) {
        struct dw_zone_acc *a = &dv->acc[i];
        double t_c = s->temp[i] * ts, p_kpa = s->pressure[i] * ps;
        if (a->n == 0) {
            a->t_raw_min = a->t_raw_max = s->temp[i];
            a->p_raw_min = a->p_raw_max = s->pressure[i];
        }
        if (s->temp[i] < a->t_raw_min) a->t_raw_min = s->temp[i];
        if (s->temp[i] > a->t_raw_max) a->t_raw_max = s->temp[i];
        if (s->pressure[i] < a->p_raw_min) a->p_raw_min = s->pressure[i];
        if (s->pressure[i] > a->p_raw_max) a->p_raw_max = s->pressure[i];
        a->sum_t_c += t_c;
        a->sum_p_kpa += p_kpa;
        a->n++;
        if (t_c > d->c.s4_temp_max_c || (s->status[i] & 0x0f))
            a->out_of_range = true;
        if (t_c < d->c.s4_temp_min_c) {
            a->too_cold = true;
            a->n_cold_pressed += p_kpa >= d->c.contact_kpa;
        }
    }
    for (unsigned k = 0; k < 2; k++)
        dv->acc_ambient_c[k] += s->ambient[k < h->n_ambient ? k : 0] * ts;
    double ax = s->accel[0] * as, ay = s->accel[1] * as, az = s->accel[2] * as;
    double mag = sqrt(ax * ax + ay * ay + az * az);
    dv->acc_gravity_g[0] += ax;
    dv->acc_gravity_g[1] += ay;
    dv->acc_gravity_g[2] += az;
    dv->acc_accel_g += mag;
    dv->acc_accel_g2 += mag * mag;
    dv->acc_n++;
}

int dw_detector_sample(struct dw_detector *d, const char *device, uint64_t t_us,
                       const struct dw_sample *s)
{
    struct dw_device *dv = device_get(d, device);
    if (!dv)
        return -errno;
    if (!dv->have_hello) {
        dv->stats.ignored_before_hello++;
        return 0;
    }
    if (s->n_zones != dv->n_zones)
        return -EINVAL;
    if (!timeline(dv, &t_us))
        return 0;
    dv->stats.samples++;
    advance(d, dv, t_us);
    accumulate(d, dv, s);
    return 0;
}

static void until(uint64_t *deadline, uint64_t t)
{
    if (t > *deadline)
        *deadline = t;
}

static void pack(struct dw_detector *d, struct dw_device *dv, int s0, int s1, uint64_t t_us)
{
    for (int s = s0; s <= s1; s++) {
        until(&dv->breast[s].artefact_until_us, t_us + d->c.pack_artefact_us);
        until(&dv->breast[s].pack_until_us, t_us + d->c.pack_artefact_us);
    }
}

int dw_detector_event(struct dw_detector *d, const char *device, uint64_t t_us,
                      int kind, int side, bool has_value, double value)
{
    struct dw_device *dv = device_get(d, device);
    if (!dv)
        return -errno;
    if (!timeline(dv, &t_us))
        return 0;
    dv->stats.events++;
    if (dv->have_hello)
        advance(d, dv, t_us);
    int s0 = dw_det_side_of(side) >= 0 ? side : 0, s1 = dw_det_side_of(side) >= 0 ? side : 1;
    switch (kind) {
    case DW_EV_FEED_START:
    case DW_EV_PUMP_START:
        dw_rules_feed_start(d, dv, s0, s1, t_us);
        break;
    case DW_EV_FEED_END:
    case DW_EV_PUMP_END:
        dw_rules_feed_end(d, dv, s0, s1, t_us);
        break;
    case DW_EV_THERMOMETER:
        dw_rules_thermometer(d, dv, t_us, has_value, value);
        break;
    case DW_EV_ICE_PACK:
    case DW_EV_HEAT_PACK:
        pack(d, dv, s0, s1, t_us);
        break;
    case DW_EV_SHOWER:
        until(&dv->shower_until_us, t_us + d->c.shower_artefact_us);
        break;
    case DW_EV_GARMENT_OFF:
        dv->garment_off_logged = true;
        break;
    case DW_EV_GARMENT_ON:
        dv->garment_off_logged = false;
        for (unsigned i = 0; i < dv->n_zones; i++)
            dv->zone[i].settle_until_us = t_us + d->c.settle_us;
        break;
    default:
        break;
    }
    return 0;
}
