#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "config.h"
#include "duration.h"
#include "parse_num.h"

enum ktype { K_DBL, K_DUR, K_INT };

struct key {
    const char *section, *name;
    enum ktype type;
    size_t off;
    double def, min, max; /* durations: in seconds */
    const char *help;
};

#define D(s, n, f, d, lo, hi, h) { s, n, K_DBL, offsetof(struct dw_detect_config, f), d, lo, hi, h }
#define T(s, n, f, d, lo, hi, h) { s, n, K_DUR, offsetof(struct dw_detect_config, f), d, lo, hi, h }
#define I(s, n, f, d, lo, hi, h) { s, n, K_INT, offsetof(struct dw_detect_config, f), d, lo, hi, h }
#define MIN 60.0
#define HOUR 3600.0
#define DAY 86400.0

static const struct key keys[] = {
    D("gating", "contact_kpa", contact_kpa, 0.2, 0, 50, "contact: pressure at least this"),
    D("gating", "skin_minus_ambient_c", skin_minus_ambient_c, 2.0, 0, 20, "skin, not air: T - T_ambient at least this"),
    D("gating", "temp_min_c", temp_min_c, 30, 0, 45, "plausible skin temperature, low end"),
    D("gating", "temp_max_c", temp_max_c, 40, 0, 45, "plausible skin temperature, high end"),
    T("gating", "settle", settle_us, 15 * MIN, 0, DAY, "settling after the garment goes on or contact comes back"),
    T("gating", "feed_artefact", feed_artefact_us, 30 * MIN, 0, DAY, "after a feed or pumping ends"),
    T("gating", "feed_max", feed_max_us, 2 * HOUR, 10 * MIN, DAY, "a feed with no logged end ends by itself after this"),
    T("gating", "shower_artefact", shower_artefact_us, 60 * MIN, 0, DAY, "after a shower"),
    T("gating", "pack_artefact", pack_artefact_us, 60 * MIN, 0, DAY, "after a logged ice or heat pack"),
    T("gating", "motion_artefact", motion_artefact_us, 30 * MIN, 0, DAY, "after high motion"),
    D("gating", "motion_high_g", motion_high_g, 0.15, 0, 16, "high motion: std of |accel| over a minute, g"),
    D("gating", "ambient_change_c", ambient_change_c, 3.0, 0, 50, "ambient change that makes an artefact"),
    T("gating", "ambient_change_window", ambient_change_window_us, 15 * MIN, MIN, DAY, "... within this time"),
    T("gating", "ambient_artefact", ambient_artefact_us, 30 * MIN, 0, DAY, "artefact window after an ambient change"),

    T("baseline", "window", baseline_window_us, 72 * HOUR, HOUR, 30 * DAY, "rolling robust baseline window"),
    T("baseline", "update", baseline_update_us, HOUR, MIN, DAY, "how often the baselines are recomputed"),
    T("baseline", "min_data", baseline_min_us, 6 * HOUR, MIN, 30 * DAY, "valid data a zone needs before it has a baseline"),

    T("learning", "valid_wear", learning_wear_us, 24 * HOUR, 0, 30 * DAY, "no clinical alerts before this much valid wear"),
    I("learning", "feeds", learning_feeds, 3, 0, 1000, "... and this many feeds"),

    D("alerts", "hysteresis", hysteresis, 0.8, 0.1, 1.0, "an alert holds while its value stays above this fraction of the threshold"),
    T("alerts", "clear_after", clear_after_us, 30 * MIN, MIN, DAY, "an alert clears after its condition is gone this long"),
    T("alerts", "episode_close", episode_close_us, 12 * HOUR, MIN, 30 * DAY, "an episode closes after this long clear"),
    T("alerts", "l2_d1", l2_d1_us, 48 * HOUR, 0, 30 * DAY, "D1 this long -> L2"),
    T("alerts", "l2_i1", l2_i1_us, 24 * HOUR, 0, 30 * DAY, "I1 this long -> L2"),
    I("alerts", "i1_spread_zones", i1_spread_zones, 3, 1, 64, "I1 in this many zones of a side = spreading -> L2"),
    T("alerts", "l2_f1", l2_f1_us, 7 * DAY, 0, 60 * DAY, "F1 this long -> L2"),
    I("alerts", "l2_zone_episodes", l2_zone_episodes, 3, 1, 1000, "this many episodes in one zone ..."),
    T("alerts", "l2_zone_window", l2_zone_window_us, 30 * DAY, DAY, 365 * DAY, "... within this time -> L2"),
    T("alerts", "l3_fever", l3_fever_us, 24 * HOUR, 0, 30 * DAY, "fever (thermometer) lasting this long -> L3"),
    T("alerts", "note_after", note_after_us, 7 * DAY, 0, 60 * DAY, "one-sided warmth or firmness this long adds the assessment note"),

    D("T1", "delta_c", t1_delta_c, 0.5, 0, 10, "dL and dA at least this"),
    D("T1", "mad_factor", t1_mad_factor, 3.0, 0, 100, "... and at least this many MADs of their baseline"),
    D("T1", "max_zone_fraction", t1_max_zone_fraction, 0.5, 0, 1, "at most this fraction of that breast's zones"),
    T("T1", "sustain", t1_sustain_us, 30 * MIN, MIN, DAY, "sustained"),
    D("T2", "delta_c", t2_delta_c, 1.0, 0, 10, "dL and dA at least this"),
    T("T2", "sustain", t2_sustain_us, 30 * MIN, MIN, DAY, "sustained"),

    D("F1", "r", f1_r, 1.30, 1, 10, "R = P / post-feed soft baseline at least this"),
    D("F1", "q", f1_q, 1.20, 1, 10, "Q = R / median R of neighbours at least this"),
    T("F1", "sustain", f1_sustain_us, 60 * MIN, MIN, DAY, "sustained (motion-gated minutes)"),
    T("F1-FR", "from", fr_from_us, 30 * MIN, 0, DAY, "window after a feed on that side, start"),
    T("F1-FR", "to", fr_to_us, 60 * MIN, MIN, DAY, "window after a feed on that side, end"),
    D("F1-FR", "r", fr_r, 1.20, 1, 10, "zone R at least this"),
    D("F1-FR", "breast_median_max", fr_breast_median_max, 1.10, 0, 10, "while that breast's median R is at most this"),

    T("D1", "sustain", d1_sustain_us, 2 * HOUR, MIN, 7 * DAY, "sustained"),
    T("D1", "fr_lookback", d1_fr_lookback_us, 24 * HOUR, HOUR, 7 * DAY, "an F1-FR this recent counts"),

    I("I1", "feeds", i1_feeds, 1, 0, 100, "T1 and F1 together across this many feeds"),
    T("I1", "sustain", i1_sustain_us, 2 * HOUR, MIN, 7 * DAY, "sustained (T1 + F1)"),
    T("I1", "sustain_t2", i1_t2_sustain_us, 2 * HOUR, MIN, 7 * DAY, "sustained (T2)"),

    D("G1", "delta_c", g1_delta_c, 1.0, 0, 10, "dG (zone T minus its same-clock-hour median) at least this"),
    D("G1", "zone_fraction", g1_zone_fraction, 0.75, 0, 1, "in at least this fraction of valid zones on both breasts"),
    D("G1", "ambient_c", g1_ambient_c, 2.0, 0, 20, "ambient cause: ambient up at least this against its same-hour median"),
    T("G1", "sustain", g1_sustain_us, 60 * MIN, MIN, DAY, "sustained"),
    D("G2", "fever_c", g2_fever_c, 38.0, 35, 45, "thermometer reading: fever"),
    D("G2", "high_fever_c", g3_high_fever_c, 38.5, 35, 45, "thermometer reading: high fever (G3)"),
    T("G2", "expire", g2_expire_us, 12 * HOUR, HOUR, 7 * DAY, "a fever reading counts this long without a new reading"),

    D("E1", "r", e1_r, 1.30, 1, 10, "zone R at least this"),
    D("E1", "zone_fraction", e1_zone_fraction, 0.60, 0, 1, "in at least this fraction of the zones of each breast"),
    D("E1", "side_diff", e1_side_diff, 0.15, 0, 10, "the two breasts' median R within this fraction"),
    D("E1", "fall", e1_fall, 0.20, 0, 1, "a feed relieves it: median R falls at least this fraction"),
    T("E1", "fall_window", e1_fall_window_us, 60 * MIN, MIN, DAY, "... within this time after the feed"),
    T("E1", "sustain", e1_sustain_us, 60 * MIN, MIN, DAY, "sustained"),
    I("E2", "feeds", e2_feeds, 2, 1, 100, "E1 not relieved across this many consecutive feeds"),
    T("E2", "duration", e2_duration_us, 24 * HOUR, HOUR, 30 * DAY, "or E1 lasting this long"),

    D("P1", "kpa", p1_kpa, 4.0, 0, 100, "garment pressure at least this"),
    T("P1", "minutes", p1_minutes_us, 120 * MIN, MIN, DAY, "for at least this long ..."),
    T("P1", "window", p1_window_us, 180 * MIN, MIN, DAY, "... of any window this long"),
    D("P1", "neighbour_ratio", p1_neighbour_ratio, 2.0, 1, 100, "band/strap zones: at least this times the neighbours' median"),
    T("P1", "neighbour_sustain", p1_neighbour_sustain_us, 60 * MIN, MIN, DAY, "... sustained"),

    D("S1", "valid_fraction", s1_valid_fraction, 0.5, 0, 1, "a zone is detached while at least this fraction of zones is valid"),
    T("S1", "sustain", s1_sustain_us, 5 * MIN, MIN, DAY, "sustained"),
    D("S2", "fraction", s2_fraction, 0.75, 0, 1, "garment off: at least this fraction of zones detached"),
    T("S2", "sustain", s2_sustain_us, 5 * MIN, MIN, DAY, "sustained"),
    I("S3", "lsb", s3_lsb, 1, 0, 1000, "stuck: reading unchanged within this many LSB"),
    T("S3", "sustain", s3_sustain_us, 30 * MIN, MIN, DAY, "while neighbours vary, sustained"),
    D("S4", "temp_min_c", s4_temp_min_c, 20, -50, 100, "out of range below"),
    D("S4", "temp_max_c", s4_temp_max_c, 42, -50, 100, "out of range above"),
    D("S5", "temp_min_c", s5_temp_min_c, 40, -50, 100, "heat source: temperature from"),
    D("S5", "temp_max_c", s5_temp_max_c, 42, -50, 100, "heat source: temperature to"),
    D("S5", "change_c", s5_change_c, 2.0, 0, 50, "or a local change at least this ..."),
    T("S5", "window", s5_window_us, 5 * MIN, MIN, DAY, "... within this time, with nothing logged"),
    T("S5", "suppress", s5_suppress_us, 60 * MIN, MIN, DAY, "the zone is suppressed this long"),
    D("S5", "global_fraction", s5_global_fraction, 0.75, 0, 1,
      "a change this share of the zones in contact make together is not local"),
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

void dw_detect_config_default(struct dw_detect_config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < N_KEYS; i++) {
        char *p = (char *)c + keys[i].off;
        switch (keys[i].type) {
        case K_DBL: *(double *)p = keys[i].def; break;
        case K_DUR: *(uint64_t *)p = (uint64_t)(keys[i].def * 1e6); break;
        case K_INT: *(uint64_t *)p = (uint64_t)keys[i].def; break;
        }
    }
}

static void format_value(const struct dw_detect_config *c, const struct key *k,
                         char *buf, size_t cap)
{
    const char *p = (const char *)c + k->off;
    if (k->type == K_DBL) {
        snprintf(buf, cap, "%.10g", *(const double *)p);
    } else if (k->type == K_INT) {
        snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)p);
    } else {
        uint64_t us = *(const uint64_t *)p;
        if (us % 1000000)
            snprintf(buf, cap, "%llums", (unsigned long long)(us / 1000));
        else if (us == 0)
            snprintf(buf, cap, "0s");
        else if (us % 86400000000ULL == 0)
            snprintf(buf, cap, "%llud", (unsigned long long)(us / 86400000000ULL));
        else if (us % 3600000000ULL == 0)
            snprintf(buf, cap, "%lluh", (unsigned long long)(us / 3600000000ULL));
        else if (us % 60000000ULL == 0)
            snprintf(buf, cap, "%llum", (unsigned long long)(us / 60000000ULL));
        else
            snprintf(buf, cap, "%llus", (unsigned long long)(us / 1000000));
    }
}

struct load_ctx {
    struct dw_detect_config *c;
    char reason[160];
};

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *lc = user;
    const struct key *k = NULL;
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name))
            k = &keys[i];
    if (lc->reason[0])
        return 0;
    if (!k) {
        snprintf(lc->reason, sizeof(lc->reason), "unknown key '%s' in section [%s]", name, section);
        return 0;
    }
    char *p = (char *)lc->c + k->off;
    if (k->type == K_DBL) {
        double v;
        if (dw_parse_double(value, k->min, k->max, &v) < 0) {
            snprintf(lc->reason, sizeof(lc->reason), "[%s] %s: '%s' is not a number in [%g, %g]",
                     section, name, value, k->min, k->max);
            return 0;
        }
        *(double *)p = v;
    } else if (k->type == K_INT) {
        uint64_t v;
        if (dw_parse_u64(value, (uint64_t)k->min, (uint64_t)k->max, &v) < 0) {
            snprintf(lc->reason, sizeof(lc->reason), "[%s] %s: '%s' is not a whole number in [%g, %g]",
                     section, name, value, k->min, k->max);
            return 0;
        }
        *(uint64_t *)p = v;
    } else {
        uint64_t v;
        if (dw_duration_parse_us(value, &v) < 0 || v < (uint64_t)(k->min * 1e6) ||
            v > (uint64_t)(k->max * 1e6)) {
            snprintf(lc->reason, sizeof(lc->reason),
                     "[%s] %s: '%s' is not a duration (e.g. 30m, 2h) in [%gs, %gs]",
                     section, name, value, k->min, k->max);
            return 0;
        }
        /* The rules count in minutes; a millisecond is as fine as any of
         * them means, and what --print-config writes back exactly. */
        if (v % 1000) {
            snprintf(lc->reason, sizeof(lc->reason),
                     "[%s] %s: '%s' is finer than a millisecond", section, name, value);
            return 0;
        }
        *(uint64_t *)p = v;
    }
    return 1;
}

static int check(const struct dw_detect_config *c, char *why, size_t cap)
{
    if (c->temp_min_c >= c->temp_max_c)
        return snprintf(why, cap, "[gating] temp_min_c must be below temp_max_c"), -1;
    if (c->fr_from_us >= c->fr_to_us)
        return snprintf(why, cap, "[F1-FR] from must be before to"), -1;
    if (c->p1_minutes_us > c->p1_window_us)
        return snprintf(why, cap, "[P1] minutes must not exceed window"), -1;
    if (c->t2_delta_c < c->t1_delta_c)
        return snprintf(why, cap, "[T2] delta_c must be at least [T1] delta_c"), -1;
    if (c->g3_high_fever_c < c->g2_fever_c)
        return snprintf(why, cap, "[G2] high_fever_c must be at least fever_c"), -1;
    if (c->baseline_min_us > c->baseline_window_us)
        return snprintf(why, cap, "[baseline] min_data must not exceed window"), -1;
    return 0;
}

static int finish(struct dw_detect_config *c, struct load_ctx *lc, int rc,
                  const char *name, char *err, size_t errcap)
{
    char why[160];
    if (rc < 0) {
        snprintf(err, errcap, "%s: %s", name, rc == -1 ? strerror(errno) : "out of memory");
        return rc == -1 ? -EIO : -ENOMEM;
    }
    if (rc > 0) {
        snprintf(err, errcap, "%s:%d: %s", name, rc, lc->reason[0] ? lc->reason : "syntax error");
        return -EINVAL;
    }
    if (check(c, why, sizeof(why)) < 0) {
        snprintf(err, errcap, "%s: %s", name, why);
        return -EINVAL;
    }
    return 0;
}

int dw_detect_config_load(struct dw_detect_config *c, const char *path, char *err, size_t errcap)
{
    struct dw_detect_config tmp = *c;
    struct load_ctx lc = { .c = &tmp };
    FILE *f = fopen(path, "r");
    struct stat st;
    int rc, e;
    if (!f) {
        e = -errno;
        snprintf(err, errcap, "%s: %s", path, strerror(-e));
        return e;
    }
    /* fopen() opens a directory, and libinih takes its read error for the
     * end of an empty file: the built-in values would run silently. */
    if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "%s: %s", path, S_ISDIR(st.st_mode) ? strerror(EISDIR)
                                                                  : "not a regular file");
        fclose(f);
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    }
    rc = ini_parse_file(f, on_key, &lc);
    if (rc == 0 && ferror(f)) {
        snprintf(err, errcap, "%s: read error", path);
        fclose(f);
        return -EIO;
    }
    fclose(f);
    if ((e = finish(&tmp, &lc, rc, path, err, errcap)) < 0)
        return e;
    *c = tmp;
    return 0;
}

int dw_detect_config_load_string(struct dw_detect_config *c, const char *text,
                                 const char *name, char *err, size_t errcap)
{
    struct dw_detect_config tmp = *c;
    struct load_ctx lc = { .c = &tmp };
    int rc = ini_parse_string(text, on_key, &lc), e;
    if ((e = finish(&tmp, &lc, rc, name, err, errcap)) < 0)
        return e;
    *c = tmp;
    return 0;
}

void dw_detect_config_print(const struct dw_detect_config *c, FILE *f)
{
    const char *sec = NULL;
    char buf[64];
    fprintf(f, "# ductwatch-detect effective configuration (rule set %s)\n", DW_RULESET_VERSION);
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!sec || strcmp(sec, keys[i].section)) {
            sec = keys[i].section;
            fprintf(f, "\n[%s]\n", sec);
        }
        format_value(c, &keys[i], buf, sizeof(buf));
        fprintf(f, "# %s\n%s = %s\n", keys[i].help, keys[i].name, buf);
    }
}

void dw_detect_config_section(const struct dw_detect_config *c, const char *section,
                              void (*fn)(const char *key, const char *value, void *u), void *u)
{
    char buf[64];
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].section, section))
            continue;
        format_value(c, &keys[i], buf, sizeof(buf));
        fn(keys[i].name, buf, u);
    }
}
