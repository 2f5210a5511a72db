/* See model.h; the equations and where each number comes from are in
 * docs/simulator.md ("The model"). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "model.h"

#define US_S DW_MODEL_US_S
#define US_M (60ull * US_S)
#define US_H DW_MODEL_US_H
#define TICK_US US_S            /* the slow state advances once a second */
#define ROOM_REF_C 23.0
#define TENSION 0.4              /* fullness firming near capacity, fraction of P0 */

enum posture { P_UPRIGHT, P_SUPINE, P_LEFT, P_RIGHT };

struct feed {
    uint64_t start, end;
    int side;
    double warm;             /* how much this feed warms the breast, C */
};

struct window {
    uint64_t start, end;
    double value;
};

/* A stretch of lying on one side at night: the mattress presses the down
 * side's outer zones. */
struct lie {
    uint64_t start, end;
    int side;
    double press;            /* extra pressure at the most pressed zone, fraction */
};

enum sc_id { SC_HEALTHY, SC_BLOCKED, SC_MASTITIS, SC_ENGORGEMENT, SC_GARMENT_PRESSURE,
             SC_DETACHED, SC_STUCK, SC_ICE, SC_FEVER };

struct scenario {
    const char *name;
    const char *help;
    const char *rule;        /* the episode's rule id */
    const char *what;
    bool has_side, has_zone, band_zone;
    double dur_min_h, dur_max_h; /* default episode duration */
};

static const struct scenario scenarios[] = {
    [SC_HEALTHY] = { "healthy", "ordinary days: feeds every 2-3 h alternating sides, a daily shower "
                     "(garment off), sleep, walks, room changes; no episode",
                     NULL, NULL, false, false, false, 0, 0 },
    [SC_BLOCKED] = { "blocked-duct", "focal firmness in one zone that feeds do not relieve, mild "
                     "warmth after ~12 h, resolves after ~2 days (or persist=1)",
                     "D1", "blocked duct", true, true, false, 36, 60 },
    [SC_MASTITIS] = { "mastitis", "focal warmth (to ~+1.8 C) and firmness spreading to the "
                      "neighbours, then fever: a global skin change and thermometer readings "
                      ">= 38.5 C", "I1", "inflammation (mastitis)", true, true, false, 120, 120 },
    [SC_ENGORGEMENT] = { "engorgement", "both breasts firmer (edema and faster filling) and "
                         "~+0.7 C warmer, relieved by each feed, for 1-2 days",
                         "E1", "engorgement", false, false, false, 24, 48 },
    [SC_GARMENT_PRESSURE] = { "garment-pressure", "a band or strap zone pressed at 4.5-6 kPa for "
                              "hours, starting right after a feed (a twisted strap)",
                              "P1", "garment pressing", true, true, true, 3, 6 },
    [SC_DETACHED] = { "sensor-detached", "one zone loses skin contact: it reads near ambient "
                      "and ~0 kPa", "S1", "sensor detached", true, true, false, 4, 8 },
    [SC_STUCK] = { "sensor-stuck", "one zone's readings freeze at their last values",
                   "S3", "sensor stuck", true, true, false, 4, 8 },
    [SC_ICE] = { "ice-pack", "a cold pack on one zone after a feed (5-8 C of local cooling), "
                 "logged as an event only with logged=1", "S5", "cold pack, not logged",
                 true, true, false, 0.25, 0.33 },
    [SC_FEVER] = { "fever-only", "fever without local signs: chills then a global skin rise, "
                   "thermometer readings (G3 if >= 38.5 C, else G2)",
                   "G3", "fever", false, false, false, 24, 48 },
};
#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

struct param_def {
    int scenario;            /* -1 = every scenario */
    const char *key;
    double min, max;
    const char *help;
};

static const struct param_def param_defs[] = {
    { -1, "start-hour", 0, 24, "local time of day when the session starts (default 7-10)" },
    { -1, "room", 15, 30, "room temperature, C (default 21-24)" },
    { -1, "baseline", 32, 35.5, "the wearer's mean breast skin temperature, C (default 33.4-34.4)" },
    { SC_BLOCKED, "persist", 0, 1, "1: the blockage does not resolve in the session" },
    { SC_BLOCKED, "firmness", 0.1, 3, "extra pressure at the zone, fraction of its own (default 0.5-0.8)" },
    { SC_BLOCKED, "warmth", 0, 1.5, "local warmth from 12 h after onset, C (default 0.3)" },
    { SC_MASTITIS, "warmth", 0.3, 4, "local warmth at its peak, C (default 1.8)" },
    { SC_MASTITIS, "fever", 37.5, 41.5, "peak core temperature, C (default 38.7-39.6)" },
    { SC_ENGORGEMENT, "firmness", 0.05, 2, "edema: extra pressure, fraction (default 0.35)" },
    { SC_ENGORGEMENT, "warmth", 0, 2, "diffuse warmth, C (default 0.7)" },
    { SC_GARMENT_PRESSURE, "kpa", 2, 20, "pressure at the zone, kPa (default 4.5-6)" },
    { SC_DETACHED, "persist", 0, 1, "1: the sensor stays detached" },
    { SC_STUCK, "persist", 0, 1, "1: the sensor stays stuck" },
    { SC_ICE, "logged", 0, 1, "1: the ice pack is logged as an EVENT (default 0)" },
    { SC_ICE, "cooling", 1, 15, "cooling of the zone, C (default 5-8)" },
    { SC_FEVER, "fever", 37.5, 41.5, "peak core temperature, C (default 38.2-39.5)" },
};
#define N_PARAM_DEFS (sizeof(param_defs) / sizeof(param_defs[0]))

struct zone_model {
    double base;             /* skin temperature offset from the wearer's mean */
    double contact;          /* thermistor-to-skin offset (reads low) */
    double p0;               /* garment contact pressure, kPa */
    double fill_gain;        /* pressure rise per unit of fullness */
    double feed_warm;        /* share of the feed's warming */
    /* scenario weights */
    double lump, warm, extra_kpa, cool;
    double mattress;         /* share of the mattress's press when lying on this side */
    unsigned nb[DW_MAX_NEIGHBOURS], n_nb;
};

struct dw_model {
    struct dw_hello h;
    int sc;
    uint64_t duration_us;
    struct dw_prng noise, plan;
    /* the wearer */
    double t_base, start_hour, room0, circ_amp, circ_peak_h, cup_off[2], fill_tau_h;
    double side_off[2];
    struct zone_model z[DW_MAX_ZONES];
    /* the schedule */
    struct feed *feeds;
    size_t n_feeds;
    struct window *off, *showers, *walks, *readings;
    size_t n_off, n_showers, n_walks, n_readings;
    struct lie *lying;
    size_t n_lying, cap_lying;
    struct dw_model_event *ev;
    size_t n_ev, cap_ev;
    struct dw_model_span *spans;
    size_t n_spans, cap_spans;
    /* the scenario */
    int side, zone;
    uint64_t onset, end;     /* end = UINT64_MAX: persists */
    double firmness, warmth, kpa, cooling, fever_peak;
    uint64_t fever_on, fever_off;
    int logged;
    /* slow state (ODEs, advanced every TICK_US) */
    uint64_t tick;           /* index of slow[1] */
    double fill[2], warm_feed[2], contact, contact_p, amb_lag[2], room_lag, shower_warm,
           ice, detach;
    size_t feed_i[2];
    struct dw_model_slow slow[2];
    /* fast state */
    double breath_phase, gait_phase;
    uint64_t last_t, last_status;
    bool stuck_have;
    struct dw_sample stuck;
    double battery;
};

/* ---- helpers ------------------------------------------------------- */

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* 0 before t0, 1 after t0 + dur, smooth in between. */
static double ramp(uint64_t t, uint64_t t0, uint64_t dur)
{
    double x;
    if (t <= t0)
        return 0;
    if (!dur || t >= t0 + dur)
        return 1;
    x = (double)(t - t0) / (double)dur;
    return x * x * (3 - 2 * x);
}

/* Rises over rise after onset, falls over fall before end. */
static double envelope(uint64_t t, uint64_t onset, uint64_t end, uint64_t rise, uint64_t fall)
{
    double e = ramp(t, onset, rise);
    if (end != UINT64_MAX)
        e *= 1.0 - ramp(t, end > fall ? end - fall : 0, fall);
    return e;
}

static double hour_of_day(const struct dw_model *m, uint64_t t)
{
    return fmod(m->start_hour + (double)t / (double)US_H, 24.0);
}

static bool asleep_at(const struct dw_model *m, uint64_t t)
{
    double h = hour_of_day(m, t);
    return h >= 22.5 || h < 6.5;
}

static bool in_windows(const struct window *w, size_t n, uint64_t t, size_t *hint)
{
    size_t i = hint ? *hint : 0;
    while (i < n && w[i].end <= t)
        i++;
    if (hint)
        *hint = i;
    return i < n && w[i].start <= t;
}

static bool busy(const struct dw_model *m, uint64_t a, uint64_t b)
{
    for (size_t i = 0; i < m->n_feeds; i++)
        if (m->feeds[i].start < b + 10 * US_M && a < m->feeds[i].end + 10 * US_M)
            return true;
    for (size_t i = 0; i < m->n_off; i++)
        if (m->off[i].start < b + 10 * US_M && a < m->off[i].end + 10 * US_M)
            return true;
    return false;
}

static int add_event(struct dw_model *m, uint64_t t, unsigned kind, unsigned side, int32_t value,
                     const char *text)
{
    if (t >= m->duration_us)
        return 0;
    if (m->n_ev >= m->cap_ev)
        return -ENOBUFS;
    m->ev[m->n_ev++] = (struct dw_model_event){ t, (uint8_t)kind, (uint8_t)side, value, text };
    return 0;
}

static void add_span(struct dw_model *m, const char *type, const char *kind, const char *rule,
                     int side, int zone, uint64_t start, uint64_t end, double value, int logged)
{
    if (start >= m->duration_us || m->n_spans >= m->cap_spans)
        return;
    if (end > m->duration_us)
        end = m->duration_us;
    m->spans[m->n_spans++] = (struct dw_model_span){ type, kind, rule, side, zone, start, end,
                                                     value, logged };
}

static int cmp_event(const void *a, const void *b)
{
    const struct dw_model_event *x = a, *y = b;
    return x->t_us < y->t_us ? -1 : x->t_us > y->t_us;
}

static int cmp_span(const void *a, const void *b)
{
    const struct dw_model_span *x = a, *y = b;
    return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

static double param(const struct dw_model_config *cfg, const char *key, double dflt)
{
    for (unsigned i = 0; i < cfg->n_params; i++)
        if (!strcmp(cfg->param_key[i], key))
            return cfg->param_value[i];
    return dflt;
}

static int scenario_index(const char *name)
{
    for (unsigned i = 0; i < N_SCENARIOS; i++)
        if (!strcmp(scenarios[i].name, name))
            return (int)i;
    return -1;
}

bool dw_model_param_known(const char *scenario, const char *key)
{
    int sc = scenario_index(scenario);
    for (unsigned i = 0; i < N_PARAM_DEFS; i++)
        if ((param_defs[i].scenario < 0 || param_defs[i].scenario == sc) &&
            !strcmp(param_defs[i].key, key))
            return true;
    return false;
}

static const struct param_def *param_def(int sc, const char *key)
{
    for (unsigned i = 0; i < N_PARAM_DEFS; i++)
        if ((param_defs[i].scenario < 0 || param_defs[i].scenario == sc) &&
            !strcmp(param_defs[i].key, key))
            return &param_defs[i];
    return NULL;
}

void dw_model_list_scenarios(FILE *f)
{
    fprintf(f, "# scenario  (rule the episode should raise) description\n"
               "# common: --side left|right, --zone N, --onset D, --episode-duration D where\n"
               "# the scenario has them; --param KEY=VALUE below\n");
    for (unsigned i = 0; i < N_SCENARIOS; i++) {
        const struct scenario *s = &scenarios[i];
        fprintf(f, "%-17s (%s) %s\n", s->name, s->rule ? s->rule : "no episode", s->help);
        fprintf(f, "#   options:%s%s%s%s\n", s->has_side ? " --side" : "",
                s->has_zone ? (s->band_zone ? " --zone (band zones: 1 5 7 9 13 15)" : " --zone") : "",
                s->rule ? " --onset" : "",
                s->rule ? (i == SC_ICE ? " --episode-duration (time the pack is on)"
                                       : " --episode-duration") : "");
        for (unsigned k = 0; k < N_PARAM_DEFS; k++)
            if (param_defs[k].scenario == (int)i)
                fprintf(f, "#   --param %s=%g..%g  %s\n", param_defs[k].key, param_defs[k].min,
                        param_defs[k].max, param_defs[k].help);
    }
    fprintf(f, "# every scenario:\n");
    for (unsigned k = 0; k < N_PARAM_DEFS; k++)
        if (param_defs[k].scenario < 0)
            fprintf(f, "#   --param %s=%g..%g  %s\n", param_defs[k].key, param_defs[k].min,
                    param_defs[k].max, param_defs[k].help);
}

/* ---- the wearer ----------------------------------------------------- */

/* Lying on one side, the mattress presses that breast's outer (lateral)
 * zones, the lower ones and the band most. */
static double mattress_share(const struct dw_zone_desc *d)
{
    bool outer = d->ring == DW_RING_OUTER;
    switch (d->quadrant) {
    case 3: return outer ? 1.0 : 0.6;   /* lower-outer */
    case 0: return outer ? 0.7 : 0.3;   /* upper-outer */
    case 2: return outer ? 0.25 : 0.0;  /* lower-inner: the band only */
    default: return 0.0;
    }
}

static void make_wearer(struct dw_model *m, const struct dw_model_config *cfg)
{
    struct dw_prng *r = &m->plan;
    double asym = dw_prng_uniform(r, -0.3, 0.3), areola = dw_prng_uniform(r, 0.2, 0.5);
    double shared[DW_MAX_ZONES / 2];
    /* Quadrant offsets: the axillary tail (upper-outer) and the
     * inframammary fold (lower) run warmer than the upper-inner skin. */
    static const double quadrant_off[4] = { 0.15, -0.10, 0.05, 0.10 };

    m->t_base = param(cfg, "baseline", dw_prng_uniform(r, 33.4, 34.4));
    m->start_hour = param(cfg, "start-hour", dw_prng_uniform(r, 7.0, 10.0));
    m->room0 = param(cfg, "room", dw_prng_uniform(r, 21.0, 24.0));
    m->circ_amp = dw_prng_uniform(r, 0.3, 0.8);
    m->circ_peak_h = dw_prng_uniform(r, 2.0, 5.0);
    m->fill_tau_h = dw_prng_uniform(r, 3.5, 5.0);
    m->side_off[0] = asym / 2;
    m->side_off[1] = -asym / 2;
    for (int i = 0; i < 2; i++)
        m->cup_off[i] = dw_prng_uniform(r, -0.3, 0.3);
    for (unsigned z = 0; z < DW_MAX_ZONES / 2; z++)
        shared[z] = 0.15 * dw_prng_noise(r);
    for (unsigned z = 0; z < m->h.n_zones; z++) {
        struct zone_model *zm = &m->z[z];
        const struct dw_zone_desc *d = &m->h.zone[z];
        bool inner = d->ring == DW_RING_INNER;
        /* Mirror zones share most of their offset: healthy asymmetry is
         * small and stable (detection.md: <= 0.5 C). */
        zm->base = quadrant_off[d->quadrant] + (inner ? areola : 0) +
                   shared[(d->quadrant * 2 + d->ring) % (DW_MAX_ZONES / 2)] +
                   0.06 * dw_prng_noise(r);
        zm->contact = -dw_prng_uniform(r, 0.05, 0.3);
        /* The band and straps hold the garment up: firmer contact there,
         * well below the 4 kPa called harmful. */
        zm->p0 = (d->flags & DW_ZF_BAND) ? dw_prng_uniform(r, 1.2, 2.0)
                                         : dw_prng_uniform(r, 0.7, 1.3);
        zm->fill_gain = (inner ? 0.35 : 0.25) * dw_prng_uniform(r, 0.8, 1.2);
        zm->feed_warm = inner ? 1.0 : 0.6;
        zm->mattress = mattress_share(d);
        zm->n_nb = dw_layout_neighbours(&m->h, z, zm->nb);
    }
}

/* ---- the schedule --------------------------------------------------- */

/* Start to start: 3.5-5 h when the next feed would fall in the night
 * (the baby sleeps longer), uneven by day: 1.5-3.5 h, and a cluster feed
 * of 1-1.5 h one time in six. */
static uint64_t feed_gap(struct dw_model *m, uint64_t t)
{
    struct dw_prng *r = &m->plan;
    double h;

    if (asleep_at(m, t) || asleep_at(m, t + (uint64_t)(2.5 * (double)US_H)))
        h = dw_prng_uniform(r, 3.5, 5.0);
    else if (dw_prng_unit(r) < 1.0 / 6)
        h = dw_prng_uniform(r, 1.0, 1.5);
    else
        h = dw_prng_uniform(r, 1.5, 3.5);
    return (uint64_t)(h * (double)US_H);
}

/* Stretches of lying on one side in [a, b), at most *left of them, each
 * 1-2.5 h, 15 min clear of what comes next. */
static void place_lying(struct dw_model *m, uint64_t a, uint64_t b, unsigned *left)
{
    struct dw_prng *r = &m->plan;

    if (b > m->duration_us)
        b = m->duration_us;
    while (*left && b > a && b - a >= 75 * US_M && m->n_lying < m->cap_lying) {
        uint64_t room = b - a - 15 * US_M;
        uint64_t len = (uint64_t)(dw_prng_uniform(r, 1.0, 2.5) * (double)US_H), start;
        if (len > room)
            len = room;
        start = a + (uint64_t)(dw_prng_unit(r) * fmin((double)(room - len), 45.0 * (double)US_M));
        m->lying[m->n_lying++] = (struct lie){ start, start + len, (int)(dw_prng_next(r) & 1),
                                               dw_prng_uniform(r, 0.4, 0.9) };
        a = start + len + 15 * US_M;
        (*left)--;
    }
}

/* One to three stretches of lying on one side each night (22:30-06:30),
 * between the night feeds; the rest of the night on the back. */
static int plan_lying(struct dw_model *m)
{
    m->cap_lying = 3 * (m->duration_us / (24 * US_H) + 2);
    m->lying = calloc(m->cap_lying, sizeof(*m->lying));
    if (!m->lying)
        return -ENOMEM;
    for (int d = 0; ; d++) {
        double s_h = 22.5 - m->start_hour + 24.0 * d;
        uint64_t a, e;
        unsigned left = 1 + (unsigned)(dw_prng_next(&m->plan) % 3);
        if (s_h < -8.0)
            continue;
        a = s_h > 0 ? (uint64_t)(s_h * (double)US_H) : 0;
        e = (uint64_t)((s_h + 8.0) * (double)US_H);
        if (a >= m->duration_us)
            break;
        for (size_t i = 0; i < m->n_feeds; i++) {
            const struct feed *f = &m->feeds[i];
            if (f->end + 10 * US_M <= a || f->start >= e)
                continue;
            if (f->start > a + 10 * US_M)
                place_lying(m, a, f->start - 10 * US_M, &left);
            a = f->end + 10 * US_M;
        }
        place_lying(m, a, e, &left);
    }
    return 0;
}

static const struct lie *lying_at(const struct dw_model *m, uint64_t t)
{
    for (size_t i = 0; i < m->n_lying; i++)
        if (m->lying[i].start <= t && t < m->lying[i].end)
            return &m->lying[i];
    return NULL;
}

static int make_schedule(struct dw_model *m)
{
    struct dw_prng *r = &m->plan;
    uint64_t t = (uint64_t)(dw_prng_uniform(r, 0.5, 1.5) * (double)US_H);
    int side = (int)(dw_prng_next(r) & 1);
    size_t cap = m->duration_us / (2 * US_H) + 4;
    double day0;

    m->feeds = calloc(2 * cap, sizeof(*m->feeds));
    m->off = calloc(cap, sizeof(*m->off));
    m->showers = calloc(cap, sizeof(*m->showers));
    m->walks = calloc(cap, sizeof(*m->walks));
    m->readings = calloc(cap * 2 + 8, sizeof(*m->readings));
    if (!m->feeds || !m->off || !m->showers || !m->walks || !m->readings)
        return -ENOMEM;
    /* Feeds of 10-25 min, irregular (feed_gap); mostly alternating sides,
     * now and then the same side twice. */
    while (t < m->duration_us && m->n_feeds < 2 * cap) {
        uint64_t len = (uint64_t)(dw_prng_uniform(r, 10, 25) * (double)US_M);
        m->feeds[m->n_feeds++] = (struct feed){ t, t + len, side, dw_prng_uniform(r, 1.0, 1.8) };
        if (dw_prng_unit(r) >= 0.15)
            side ^= 1;
        t += feed_gap(m, t);
    }
    /* A shower every morning at 7-9 h: garment off a few minutes before,
     * back on 5-15 min after; moved after a feed that is in the way. */
    day0 = -m->start_hour;
    for (int d = 0; ; d++) {
        double at_h = day0 + 24.0 * d + dw_prng_uniform(r, 7.0, 9.0);
        uint64_t s, len, off, on;
        if (at_h < 0.25)
            continue;
        s = (uint64_t)(at_h * (double)US_H);
        if (s >= m->duration_us)
            break;
        len = (uint64_t)(dw_prng_uniform(r, 8, 15) * (double)US_M);
        for (int tries = 0; tries < 20; tries++) {
            off = s - (uint64_t)(dw_prng_uniform(r, 2, 5) * (double)US_M);
            on = s + len + (uint64_t)(dw_prng_uniform(r, 5, 15) * (double)US_M);
            if (!busy(m, off, on))
                break;
            s += 20 * US_M;
        }
        if (on >= m->duration_us)
            break;
        m->showers[m->n_showers++] = (struct window){ s, s + len, 0 };
        m->off[m->n_off++] = (struct window){ off, on, 0 };
    }
    /* Walks by day, a third of them outdoors (ambient 5-18 C). */
    for (t = (uint64_t)(dw_prng_uniform(r, 1, 2) * (double)US_H); t < m->duration_us;
         t += (uint64_t)(dw_prng_uniform(r, 1.5, 3.0) * (double)US_H)) {
        uint64_t len = (uint64_t)(dw_prng_uniform(r, 10, 40) * (double)US_M);
        double outdoor = dw_prng_unit(r) < 0.35 ? dw_prng_uniform(r, 5, 18) : NAN;
        if (asleep_at(m, t) || asleep_at(m, t + len) || busy(m, t, t + len) ||
            t + len >= m->duration_us || m->n_walks >= cap)
            continue;
        m->walks[m->n_walks++] = (struct window){ t, t + len, outdoor };
    }
    return 0;
}

static double core_temp(const struct dw_model *m, uint64_t t)
{
    if (!m->fever_on || t < m->fever_on)
        return 37.0;
    return 37.0 + (m->fever_peak - 37.0) * ramp(t, m->fever_on, 90 * US_M) *
                      (1.0 - ramp(t, m->fever_off > 3 * US_H ? m->fever_off - 3 * US_H : 0,
                                  3 * US_H));
}

/* Thermometer readings: the first 0.5-2 h after the fever starts (chills
 * wake the wearer), then every 4-6 h while awake and febrile. */
static void plan_readings(struct dw_model *m)
{
    uint64_t t;
    if (!m->fever_on)
        return;
    for (t = m->fever_on + (uint64_t)(dw_prng_uniform(&m->plan, 0.5, 2) * (double)US_H);
         t < m->fever_off && t < m->duration_us;
         t += (uint64_t)(dw_prng_uniform(&m->plan, 4, 6) * (double)US_H)) {
        double v;
        if (m->n_readings && asleep_at(m, t))
            continue;
        v = round((core_temp(m, t) + 0.08 * dw_prng_noise(&m->plan)) * 10.0) / 10.0;
        m->readings[m->n_readings++] = (struct window){ t, t, v };
    }
}

/* ---- the scenario --------------------------------------------------- */

static int pick_zone(struct dw_model *m, bool band)
{
    unsigned cand[DW_MAX_ZONES], n = 0;
    for (unsigned z = 0; z < m->h.n_zones; z++)
        if ((int)m->h.zone[z].side == m->side && (!band || (m->h.zone[z].flags & DW_ZF_BAND)))
            cand[n++] = z;
    return n ? (int)cand[dw_prng_next(&m->plan) % n] : -1;
}

/* The first feed on side that ends at or after t (any side if side < 0). */
static const struct feed *feed_after(const struct dw_model *m, uint64_t t, int side)
{
    for (size_t i = 0; i < m->n_feeds; i++)
        if (m->feeds[i].end >= t && (side < 0 || m->feeds[i].side == side))
            return &m->feeds[i];
    return NULL;
}

/* The anomaly's side and zone, from the options or the seed. */
static int place_anomaly(struct dw_model *m, const struct dw_model_config *cfg, char *err,
                         size_t errlen)
{
    const struct scenario *s = &scenarios[m->sc];

    m->side = cfg->side >= 0 ? cfg->side : (int)(dw_prng_next(&m->plan) & 1);
    if (!s->has_side)
        m->side = s->rule && m->sc == SC_ENGORGEMENT ? DW_MODEL_SIDE_BOTH : DW_SIDE_NONE;
    m->zone = -1;
    if (!s->has_zone)
        return 0;
    if (cfg->zone < 0) {
        m->zone = pick_zone(m, s->band_zone);
        return 0;
    }
    if (cfg->zone >= m->h.n_zones) {
        snprintf(err, errlen, "--zone %d: the layout has zones 0..%u", cfg->zone,
                 m->h.n_zones - 1u);
        return -EINVAL;
    }
    if (cfg->side >= 0 && m->h.zone[cfg->zone].side != cfg->side) {
        snprintf(err, errlen, "--zone %d is not on the %s side", cfg->zone,
                 dw_side_name((unsigned)cfg->side));
        return -EINVAL;
    }
    if (s->band_zone && !(m->h.zone[cfg->zone].flags & DW_ZF_BAND)) {
        snprintf(err, errlen, "--zone %d is not a band or strap zone (%s needs one)",
                 cfg->zone, s->name);
        return -EINVAL;
    }
    m->zone = cfg->zone;
    m->side = m->h.zone[cfg->zone].side;
    return 0;
}

/* When the episode starts and ends. */
static int plan_episode(struct dw_model *m, const struct dw_model_config *cfg, char *err,
                        size_t errlen)
{
    const struct scenario *s = &scenarios[m->sc];
    struct dw_prng *r = &m->plan;
    uint64_t d = m->duration_us, episode;

    /* Default onset: after the detector's first day of learning when the
     * session is long enough, else in its middle. */
    if (cfg->onset_us >= 0)
        m->onset = (uint64_t)cfg->onset_us;
    else if (d >= 40 * US_H)
        m->onset = (uint64_t)(dw_prng_uniform(r, 26, fmin(32, (double)(d - 12 * US_H) / (double)US_H)) *
                              (double)US_H);
    else
        m->onset = (uint64_t)(dw_prng_uniform(r, 0.35, 0.55) * (double)d);
    if (m->onset >= d) {
        snprintf(err, errlen, "--onset is not before the end of the session (--duration)");
        return -EINVAL;
    }
    /* A twisted strap or a cold pack comes right after a feed. */
    if (m->sc == SC_GARMENT_PRESSURE || m->sc == SC_ICE) {
        const struct feed *f = feed_after(m, m->onset, m->side);
        if (cfg->onset_us < 0 && f && f->end + 10 * US_M < d)
            m->onset = f->end + (uint64_t)(dw_prng_uniform(r, 1, 5) * (double)US_M);
    }
    episode = cfg->episode_us > 0 ? (uint64_t)cfg->episode_us
                                  : (uint64_t)(dw_prng_uniform(r, s->dur_min_h, s->dur_max_h) *
                                               (double)US_H);
    m->end = m->onset + episode;
    if (param(cfg, "persist", 0) >= 0.5)
        m->end = UINT64_MAX;
    return 0;
}

/* How strong the anomaly is. */
static void scenario_magnitudes(struct dw_model *m, const struct dw_model_config *cfg)
{
    struct dw_prng *r = &m->plan;

    switch (m->sc) {
    case SC_BLOCKED:
        m->firmness = param(cfg, "firmness", dw_prng_uniform(r, 0.5, 0.8));
        m->warmth = param(cfg, "warmth", 0.3);
        break;
    case SC_MASTITIS:
        m->warmth = param(cfg, "warmth", 1.8);
        m->firmness = 0.6;
        m->fever_peak = param(cfg, "fever", dw_prng_uniform(r, 38.7, 39.6));
        m->fever_on = m->onset + (uint64_t)(dw_prng_uniform(r, 6, 12) * (double)US_H);
        m->fever_off = m->end;
        break;
    case SC_ENGORGEMENT:
        m->firmness = param(cfg, "firmness", 0.35);
        m->warmth = param(cfg, "warmth", 0.7);
        break;
    case SC_GARMENT_PRESSURE:
        m->kpa = param(cfg, "kpa", dw_prng_uniform(r, 4.5, 6.0));
        break;
    case SC_ICE:
        m->cooling = param(cfg, "cooling", dw_prng_uniform(r, 5, 8));
        m->logged = param(cfg, "logged", 0) >= 0.5;
        break;
    case SC_FEVER:
        m->fever_peak = param(cfg, "fever", dw_prng_uniform(r, 38.2, 39.5));
        m->fever_on = m->onset;
        m->fever_off = m->end;
        break;
    default:
        break;
    }
}

/* Where the anomaly acts: the zone, then its neighbours. */
static void weight_zones(struct dw_model *m)
{
    struct zone_model *zm;

    if (m->zone < 0)
        return;
    zm = &m->z[m->zone];
    zm->lump = zm->warm = zm->extra_kpa = zm->cool = 1.0;
    for (unsigned k = 0; k < zm->n_nb; k++) {
        struct zone_model *nb = &m->z[zm->nb[k]];
        nb->lump = m->sc == SC_MASTITIS ? 0.5 : 0.1;
        nb->warm = m->sc == SC_MASTITIS ? 0.5 : 0.3;
        nb->extra_kpa = 0.25;
        nb->cool = 0.35;
    }
}

static int setup_scenario(struct dw_model *m, const struct dw_model_config *cfg, char *err,
                          size_t errlen)
{
    if (place_anomaly(m, cfg, err, errlen) < 0)
        return -EINVAL;
    if (!scenarios[m->sc].rule)
        return 0;
    if (plan_episode(m, cfg, err, errlen) < 0)
        return -EINVAL;
    scenario_magnitudes(m, cfg);
    weight_zones(m);
    return 0;
}

static int make_labels(struct dw_model *m)
{
    const struct scenario *s = &scenarios[m->sc];
    double max_reading = 0;
    int rc = 0;

    m->cap_ev = 2 * m->n_feeds + 2 * m->n_off + m->n_showers + m->n_readings + 4;
    m->cap_spans = m->n_feeds + m->n_off + m->n_showers + m->n_walks + m->n_readings +
                   m->n_lying + 4;
    m->ev = calloc(m->cap_ev, sizeof(*m->ev));
    m->spans = calloc(m->cap_spans, sizeof(*m->spans));
    if (!m->ev || !m->spans)
        return -ENOMEM;
    for (size_t i = 0; i < m->n_feeds; i++) {
        rc |= add_event(m, m->feeds[i].start, DW_EV_FEED_START, (unsigned)m->feeds[i].side, 0, NULL);
        rc |= add_event(m, m->feeds[i].end, DW_EV_FEED_END, (unsigned)m->feeds[i].side, 0, NULL);
        add_span(m, "artefact", "feed", NULL, m->feeds[i].side, -1, m->feeds[i].start,
                 m->feeds[i].end, NAN, -1);
    }
    rc |= add_event(m, 0, DW_EV_GARMENT_ON, DW_SIDE_NONE, 0, NULL);
    for (size_t i = 0; i < m->n_off; i++) {
        rc |= add_event(m, m->off[i].start, DW_EV_GARMENT_OFF, DW_SIDE_NONE, 0, NULL);
        rc |= add_event(m, m->off[i].end, DW_EV_GARMENT_ON, DW_SIDE_NONE, 0, NULL);
        add_span(m, "artefact", "garment-off", NULL, DW_SIDE_NONE, -1, m->off[i].start,
                 m->off[i].end, NAN, -1);
    }
    for (size_t i = 0; i < m->n_showers; i++) {
        rc |= add_event(m, m->showers[i].start, DW_EV_SHOWER, DW_SIDE_NONE, 0, NULL);
        add_span(m, "artefact", "shower", NULL, DW_SIDE_NONE, -1, m->showers[i].start,
                 m->showers[i].end, NAN, -1);
    }
    for (size_t i = 0; i < m->n_walks; i++)
        add_span(m, "artefact", isnan(m->walks[i].value) ? "walk" : "walk-outdoors", NULL,
                 DW_SIDE_NONE, -1, m->walks[i].start, m->walks[i].end, m->walks[i].value, -1);
    for (size_t i = 0; i < m->n_lying; i++)
        add_span(m, "artefact", "lying", NULL, m->lying[i].side, -1, m->lying[i].start,
                 m->lying[i].end, NAN, -1);
    for (size_t i = 0; i < m->n_readings; i++) {
        rc |= add_event(m, m->readings[i].start, DW_EV_THERMOMETER, DW_SIDE_NONE,
                        (int32_t)lround(m->readings[i].value * 1000.0), "oral");
        add_span(m, "artefact", "thermometer", NULL, DW_SIDE_NONE, -1, m->readings[i].start,
                 m->readings[i].start, m->readings[i].value, -1);
        max_reading = fmax(max_reading, m->readings[i].value);
    }
    if (rc)
        return rc; /* cannot happen: the tables were sized for the schedule */
    if (s->rule && m->sc == SC_ICE) {
        uint64_t off = m->end;
        if (m->logged)
            add_event(m, m->onset, DW_EV_ICE_PACK, (unsigned)m->side, 0, NULL);
        add_span(m, "artefact", "ice-pack", NULL, m->side, m->zone, m->onset, off, NAN, m->logged);
        if (!m->logged)
            add_span(m, "episode", s->what, s->rule, m->side, m->zone, m->onset,
                     off + 45 * US_M, NAN, -1);
    } else if (!s->rule) {
        /* healthy: artefacts only */
    } else if (m->sc == SC_FEVER) {
        if (max_reading >= 38.0)
            add_span(m, "episode", max_reading >= 38.5 ? "high fever" : "fever",
                     max_reading >= 38.5 ? "G3" : "G2", DW_SIDE_NONE, -1, m->fever_on,
                     m->fever_off, max_reading, -1);
    } else {
        add_span(m, "episode", s->what, s->rule, m->side, m->zone, m->onset, m->end, NAN, -1);
    }
    if (m->sc == SC_MASTITIS && max_reading >= 38.0)
        add_span(m, "episode", max_reading >= 38.5 ? "high fever" : "fever",
                 max_reading >= 38.5 ? "G3" : "G2", DW_SIDE_NONE, -1, m->fever_on, m->fever_off,
                 max_reading, -1);
    qsort(m->ev, m->n_ev, sizeof(*m->ev), cmp_event);
    qsort(m->spans, m->n_spans, sizeof(*m->spans), cmp_span);
    return 0;
}

/* ---- the slow state ------------------------------------------------- */

static int feeding_side(struct dw_model *m, uint64_t t, int side)
{
    size_t *i = &m->feed_i[side];
    while (*i < m->n_feeds && (m->feeds[*i].side != side || m->feeds[*i].end <= t))
        (*i)++;
    return *i < m->n_feeds && m->feeds[*i].start <= t;
}

/* Filling between feeds, emptying during a feed on that side; a feed
 * warms that breast (+1.0-1.8 C, Kimura 2007), fading after. Returns
 * whether a feed is on. */
static bool step_fill(struct dw_model *m, uint64_t t, double dt)
{
    bool feeding = false;

    for (int s = 0; s < 2; s++) {
        bool f = feeding_side(m, t, s);
        double fill_tau = m->fill_tau_h * 3600.0;
        if (m->sc == SC_ENGORGEMENT)
            fill_tau /= 1.0 + 0.5 * envelope(t, m->onset, m->end, 2 * US_H, 6 * US_H);
        feeding |= f;
        if (f) {
            m->fill[s] += dt * (0.1 - m->fill[s]) / 300.0;
            m->warm_feed[s] += dt * (m->feeds[m->feed_i[s]].warm - m->warm_feed[s]) / 240.0;
        } else {
            m->fill[s] += dt * (1.0 - m->fill[s]) / fill_tau;
            m->warm_feed[s] -= dt * m->warm_feed[s] / 1800.0;
        }
    }
    return feeding;
}

/* Asleep: on one side in a lying stretch, else on the back. */
static enum posture posture_at(const struct lie *lie, bool asleep, bool feeding)
{
    if (feeding || !asleep)
        return P_UPRIGHT;
    if (lie)
        return lie->side == DW_SIDE_LEFT ? P_LEFT : P_RIGHT;
    return P_SUPINE;
}

/* Garment contact, room, shower, pack and detachment states. */
static void step_states(struct dw_model *m, uint64_t t, double dt, double room)
{
    bool on = !in_windows(m->off, m->n_off, t, NULL);
    bool shower = in_windows(m->showers, m->n_showers, t, NULL);

    m->contact += dt * ((on ? 1.0 : 0.0) - m->contact) / (on ? 180.0 : 60.0);
    m->contact_p += dt * ((on ? 1.0 : 0.0) - m->contact_p) / 5.0;
    m->room_lag += dt * (room - m->room_lag) / 300.0;
    m->shower_warm += shower ? dt * (0.8 - m->shower_warm) / 300.0 : -dt * m->shower_warm / 1200.0;
    if (m->sc == SC_ICE) {
        bool pack = t >= m->onset && t < m->end;
        m->ice += dt * ((pack ? m->cooling : 0.0) - m->ice) / (pack ? 150.0 : 720.0);
    }
    if (m->sc == SC_DETACHED)
        m->detach = envelope(t, m->onset, m->end, US_M, US_M);
}

/* Skin cools in the chill phase while the core rises, then runs warm with
 * the fever (detection.md: skin cannot measure fever). */
static double fever_skin_at(const struct dw_model *m, uint64_t t)
{
    double chill;

    if (!m->fever_on)
        return 0;
    chill = t >= m->fever_on && t < m->fever_on + 90 * US_M
                ? sin(M_PI * (double)(t - m->fever_on) / (double)(90 * US_M)) : 0;
    return 0.45 * (core_temp(m, t) - 37.0) - 0.9 * chill;
}

/* What one instant shares across the zones. */
struct slow_ctx {
    uint64_t t;
    enum posture posture;
    const struct lie *lie;   /* while lying on one side */
    double circ, fever_skin, env, eng;
};

/* The scenario's local change at zone z: skin warmth (added to *skin),
 * lump (fraction of P0) and extra pressure (kPa). */
static void zone_anomaly(const struct dw_model *m, unsigned z, const struct slow_ctx *c,
                         double *skin, double *lump, double *extra)
{
    const struct zone_model *zm = &m->z[z];
    uint64_t t = c->t;

    switch (m->sc) {
    case SC_BLOCKED:
        *lump = m->firmness * zm->lump * c->env;
        *skin += m->warmth * zm->warm * ramp(t, m->onset + 12 * US_H, 8 * US_H) * c->env;
        break;
    case SC_MASTITIS:
        *lump = m->firmness * zm->lump *
                (zm->lump >= 1.0 ? c->env : c->env * ramp(t, m->onset + 4 * US_H, 8 * US_H));
        *skin += m->warmth * zm->warm *
                 (zm->warm >= 1.0 ? ramp(t, m->onset + US_H, 10 * US_H)
                                  : ramp(t, m->onset + 4 * US_H, 12 * US_H)) *
                 (m->end == UINT64_MAX ? 1.0 : 1.0 - ramp(t, m->end - 12 * US_H, 12 * US_H));
        break;
    case SC_ENGORGEMENT:
        *lump = m->firmness * c->eng * (m->h.zone[z].ring == DW_RING_INNER ? 1.0 : 0.8);
        *skin += m->warmth * c->eng;
        break;
    case SC_GARMENT_PRESSURE:
        *extra = zm->extra_kpa * envelope(t, m->onset, m->end, 2 * US_M, 2 * US_M) *
                 (zm->extra_kpa >= 1.0 ? fmax(0, m->kpa - zm->p0) : 0.8);
        break;
    case SC_ICE:
        *skin -= zm->cool * m->ice;
        *extra = t >= m->onset && t < m->end ? 0.5 * zm->cool : 0;
        break;
    default:
        break;
    }
}

/* Zone z's noise-free reading; returns its skin temperature. */
static double zone_reading(const struct dw_model *m, unsigned z, const struct slow_ctx *c,
                           struct dw_model_slow *o)
{
    const struct zone_model *zm = &m->z[z];
    int s = m->h.zone[z].side;
    double skin = m->t_base + m->side_off[s] + zm->base + c->circ +
                  0.08 * (m->room_lag - ROOM_REF_C) + zm->feed_warm * m->warm_feed[s] +
                  m->shower_warm + c->fever_skin;
    double lump = 0, extra = 0, p, air, tr;

    zone_anomaly(m, z, c, &skin, &lump, &extra);
    if (c->lie && c->posture != P_UPRIGHT && c->lie->side == s && zm->mattress > 0) {
        /* The mattress presses (rolling over takes a minute) and keeps a
         * little warmth in (at most +0.15 C, over 20 min). */
        lump += c->lie->press * zm->mattress *
                envelope(c->t, c->lie->start, c->lie->end, US_M, US_M);
        skin += 0.15 * zm->mattress * envelope(c->t, c->lie->start, c->lie->end, 20 * US_M,
                                               2 * US_M);
    }
    /* Off the skin a thermistor reads the air it hangs in: the room
     * when the garment is off, the air in the cup when detached. */
    tr = m->room_lag + (skin + zm->contact - m->room_lag) * m->contact;
    /* A detached thermistor hangs against the cup's fabric. */
    air = m->amb_lag[s] + 0.08 * (skin - m->amb_lag[s]);
    if (m->sc == SC_DETACHED && (int)z == m->zone)
        tr += (air - tr) * m->detach;
    /* Near capacity the breast firms faster (tension): after a long night
     * gap most zones are 1.3-1.5x their post-feed pressure, ordinary
     * fullness, not engorgement. */
    p = zm->p0 * (1.0 + zm->fill_gain * m->fill[s] * (1.0 + 1.5 * c->eng) +
                  TENSION * pow(m->fill[s], 4) + lump) + extra;
    p *= m->contact_p;
    if (m->sc == SC_DETACHED && (int)z == m->zone)
        p += (0.02 - p) * m->detach;
    o->temp[z] = tr;
    o->pres[z] = p;
    return skin;
}

/* Gravity by posture, breathing, gait and motion noise. */
static void motion(struct dw_model_slow *o, enum posture posture, bool asleep, bool feeding,
                   bool walking)
{
    /* Accelerometer: x lateral, y up the body, z out of the chest. */
    switch (posture) {
    case P_SUPINE: o->grav[0] = 0.02; o->grav[1] = 0.15; o->grav[2] = 0.99; break;
    case P_LEFT: o->grav[0] = -0.97; o->grav[1] = 0.12; o->grav[2] = 0.2; break;
    case P_RIGHT: o->grav[0] = 0.97; o->grav[1] = 0.12; o->grav[2] = 0.2; break;
    default: o->grav[0] = 0.03; o->grav[1] = 0.98; o->grav[2] = feeding ? 0.25 : 0.12; break;
    }
    o->breath_hz = asleep && !feeding ? 0.21 : 0.26;
    o->breath_g = asleep && !feeding ? 0.004 : 0.006;
    o->gait_g = walking ? 0.25 : 0;
    o->motion_g = walking ? 0.04 : asleep ? 0.001 : feeding ? 0.02 : 0.012;
    o->pres_jitter = walking ? 0.06 : feeding ? 0.03 : asleep ? 0.005 : 0.012;
}

/* Advances the ODE states by one tick to time t and writes the noise-free
 * readings at t. */
static void slow_step(struct dw_model *m, uint64_t t, struct dw_model_slow *o)
{
    const double dt = (double)TICK_US / (double)US_S;
    bool asleep = asleep_at(m, t), feeding;
    size_t wi = 0;
    bool walking = in_windows(m->walks, m->n_walks, t, &wi);
    double room = m->room0 + 0.8 * cos(2 * M_PI * (hour_of_day(m, t) - 16.0) / 24.0);
    double skin_mean[2] = { 0, 0 };
    unsigned n_side[2] = { 0, 0 };
    struct slow_ctx c = { .t = t };

    c.circ = m->circ_amp * cos(2 * M_PI * (hour_of_day(m, t) - m->circ_peak_h) / 24.0);
    if (walking && !isnan(m->walks[wi].value))
        room = m->walks[wi].value;
    feeding = step_fill(m, t, dt);
    c.lie = lying_at(m, t);
    c.posture = posture_at(c.lie, asleep, feeding);
    step_states(m, t, dt, room);
    c.fever_skin = fever_skin_at(m, t);
    if (m->sc == SC_BLOCKED || m->sc == SC_MASTITIS)
        c.env = envelope(t, m->onset, m->end, m->sc == SC_BLOCKED ? 2 * US_H : 3 * US_H, 4 * US_H);
    if (m->sc == SC_ENGORGEMENT)
        c.eng = envelope(t, m->onset, m->end, 2 * US_H, 6 * US_H);
    for (unsigned z = 0; z < m->h.n_zones; z++) {
        int s = m->h.zone[z].side;
        skin_mean[s] += zone_reading(m, z, &c, o);
        n_side[s]++;
    }
    /* The cup's outer-fabric thermistor: room air warmed by the body. */
    for (int s = 0; s < 2; s++) {
        double target = m->room_lag + m->cup_off[s] +
                        0.3 * (skin_mean[s] / (n_side[s] ? n_side[s] : 1) - m->room_lag) *
                            m->contact_p;
        m->amb_lag[s] += dt * (target - m->amb_lag[s]) / 180.0;
        o->amb[s] = m->amb_lag[s];
    }
    motion(o, c.posture, asleep, feeding, walking);
}

/* ---- public --------------------------------------------------------- */

struct dw_model *dw_model_new(const struct dw_model_config *cfg, const struct dw_hello *layout,
                              char *err, size_t errlen)
{
    struct dw_model *m;
    int sc = scenario_index(cfg->scenario);

    if (sc < 0) {
        snprintf(err, errlen, "unknown scenario '%s' (see --list-scenarios)", cfg->scenario);
        errno = EINVAL;
        return NULL;
    }
    if (!scenarios[sc].has_side && cfg->side >= 0) {
        snprintf(err, errlen, "--side does not apply to %s", cfg->scenario);
        errno = EINVAL;
        return NULL;
    }
    if (!scenarios[sc].has_zone && cfg->zone >= 0) {
        snprintf(err, errlen, "--zone does not apply to %s", cfg->scenario);
        errno = EINVAL;
        return NULL;
    }
    if (!scenarios[sc].rule && (cfg->onset_us >= 0 || cfg->episode_us >= 0)) {
        snprintf(err, errlen, "%s has no episode: --onset and --episode-duration do not apply",
                 cfg->scenario);
        errno = EINVAL;
        return NULL;
    }
    for (unsigned i = 0; i < cfg->n_params; i++) {
        const struct param_def *pd = param_def(sc, cfg->param_key[i]);
        if (!pd) {
            snprintf(err, errlen, "--param %s: not a parameter of %s (see --list-scenarios)",
                     cfg->param_key[i], cfg->scenario);
            errno = EINVAL;
            return NULL;
        }
        if (!(cfg->param_value[i] >= pd->min && cfg->param_value[i] <= pd->max)) {
            snprintf(err, errlen, "--param %s=%g: out of range %g..%g", pd->key,
                     cfg->param_value[i], pd->min, pd->max);
            errno = EINVAL;
            return NULL;
        }
    }
    m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->h = *layout;
    m->sc = sc;
    m->duration_us = cfg->duration_us;
    dw_prng_seed(&m->plan, cfg->seed, 1);
    dw_prng_seed(&m->noise, cfg->seed, 2);
    make_wearer(m, cfg);
    if (make_schedule(m) < 0 || plan_lying(m) < 0)
        goto fail;
    if (setup_scenario(m, cfg, err, errlen) < 0) {
        dw_model_free(m);
        errno = EINVAL;
        return NULL;
    }
    plan_readings(m);
    if (make_labels(m) < 0)
        goto fail;
    /* Start: garment just put on, sensors at room temperature, breasts half
     * full (the first feed is within 1.5 h). */
    m->fill[0] = m->fill[1] = 0.5;
    m->room_lag = m->room0;
    m->amb_lag[0] = m->amb_lag[1] = m->room0;
    m->battery = 100.0;
    slow_step(m, 0, &m->slow[0]);
    slow_step(m, TICK_US, &m->slow[1]);
    m->tick = 1;
    return m;
fail:
    dw_model_free(m);
    errno = ENOMEM;
    return NULL;
}

void dw_model_free(struct dw_model *m)
{
    if (!m)
        return;
    free(m->feeds);
    free(m->off);
    free(m->showers);
    free(m->walks);
    free(m->readings);
    free(m->lying);
    free(m->ev);
    free(m->spans);
    free(m);
}

static int16_t to_i16(double v, double scale, uint8_t *status, uint8_t rail)
{
    double raw = round(v / scale);
    if (raw > 32767 || raw < -32768) {
        *status |= rail;
        return raw > 0 ? 32767 : -32768;
    }
    return (int16_t)raw;
}

void dw_model_sample(struct dw_model *m, uint64_t t_us, struct dw_sample *s)
{
    double ts = m->h.temp_scale * 1e-6, ps = m->h.pressure_scale * 1e-6,
           as = m->h.accel_scale * 1e-6, frac, dt;
    const struct dw_model_slow *a, *b;

    /* slow[0] is at the tick at or before t_us, slow[1] at the next. */
    while (t_us >= m->tick * TICK_US) {
        m->slow[0] = m->slow[1];
        m->tick++;
        slow_step(m, m->tick * TICK_US, &m->slow[1]);
    }
    a = &m->slow[0];
    b = &m->slow[1];
    frac = (double)(t_us - (m->tick - 1) * TICK_US) / (double)TICK_US;
    frac = clampd(frac, 0, 1);
    dt = (double)(t_us - m->last_t) / (double)US_S;
    m->last_t = t_us;
    m->breath_phase = fmod(m->breath_phase + 2 * M_PI * a->breath_hz * dt, 2 * M_PI);
    m->gait_phase = fmod(m->gait_phase + 2 * M_PI * 1.85 * dt, 2 * M_PI);

    memset(s, 0, sizeof(*s));
    s->n_zones = m->h.n_zones;
    {
        double br = sin(m->breath_phase), gait = sin(m->gait_phase);
        for (unsigned z = 0; z < m->h.n_zones; z++) {
            double tv = a->temp[z] + (b->temp[z] - a->temp[z]) * frac + 0.015 * dw_prng_noise(&m->noise);
            double pv = a->pres[z] + (b->pres[z] - a->pres[z]) * frac;
            double praw;
            /* Breathing and gait press the taxels rhythmically. */
            pv *= 1.0 + 0.012 * br + (a->gait_g > 0 ? 0.05 * gait : 0) +
                  a->pres_jitter * dw_prng_noise(&m->noise);
            pv += 0.006 * dw_prng_noise(&m->noise);
            s->temp[z] = to_i16(tv, ts, &s->status[z], DW_ZS_TEMP_RAIL);
            praw = round(pv / ps);
            if (praw < 0)
                praw = 0;
            if (praw >= 65535) {
                praw = 65535;
                s->status[z] |= DW_ZS_PRES_SAT;
            }
            s->pressure[z] = (uint16_t)praw;
        }
        for (int i = 0; i < 2; i++)
            s->ambient[i] = to_i16(a->amb[i] + (b->amb[i] - a->amb[i]) * frac +
                                   0.02 * dw_prng_noise(&m->noise), ts, &(uint8_t){ 0 }, 0);
        for (int k = 0; k < 3; k++) {
            double g = a->grav[k] + (b->grav[k] - a->grav[k]) * frac;
            if (k == 2)
                g += a->breath_g * br + 0.1 * a->gait_g * gait;
            if (k == 1)
                g += a->gait_g * sin(2 * m->gait_phase);
            if (k == 0)
                g += 0.3 * a->gait_g * gait;
            g += (a->motion_g + 0.003) * dw_prng_noise(&m->noise);
            s->accel[k] = to_i16(g, as, &(uint8_t){ 0 }, 0);
        }
    }
    if (m->sc == SC_STUCK && m->zone >= 0) {
        bool stuck = t_us >= m->onset && t_us < m->end;
        if (stuck && !m->stuck_have) {
            m->stuck = *s;
            m->stuck_have = true;
        }
        if (stuck) {
            s->temp[m->zone] = m->stuck.temp[m->zone];
            s->pressure[m->zone] = m->stuck.pressure[m->zone];
        }
    }
}

void dw_model_status(struct dw_model *m, uint64_t t_us, struct dw_status *st)
{
    bool on = !in_windows(m->off, m->n_off, t_us, NULL);
    double mcu = 0.5 * (m->slow[1].amb[0] + m->slow[1].amb[1]) + 2.0;
    double dt_h = (double)(t_us - m->last_status) / (double)US_H;
    /* Runs ~60 h on a charge (1.6 %/h); charges at 90 %/h while the
     * garment is off (it goes on the charger for the shower). */
    m->last_status = t_us;
    m->battery = clampd(m->battery + (on ? -1.6 : 90.0) * dt_h, 0, 100);
    memset(st, 0, sizeof(*st));
    st->battery_pct = (uint8_t)lround(m->battery);
    st->battery_mv = (uint16_t)lround(3500.0 + 6.9 * m->battery);
    st->flags = (uint8_t)((on ? 0 : 1) | (m->battery < 15 ? 2 : 0));
    st->mcu_temp_cc = (int16_t)lround(mcu * 100.0);
}

const struct dw_model_event *dw_model_events(const struct dw_model *m, size_t *n)
{
    *n = m->n_ev;
    return m->ev;
}

const struct dw_model_span *dw_model_spans(const struct dw_model *m, size_t *n)
{
    *n = m->n_spans;
    return m->spans;
}
