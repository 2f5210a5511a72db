/* Detection parameters: every threshold and window of docs/detection.md,
 * with its documented default, read from an INI file (libinih). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define DW_RULESET_VERSION "1"

struct dw_detect_config {
    /* [gating] */
    double contact_kpa, skin_minus_ambient_c, temp_min_c, temp_max_c;
    uint64_t settle_us, feed_artefact_us, feed_max_us, shower_artefact_us, pack_artefact_us;
    uint64_t motion_artefact_us;
    double motion_high_g;
    double ambient_change_c;
    uint64_t ambient_change_window_us, ambient_artefact_us;
    /* [baseline] */
    uint64_t baseline_window_us, baseline_update_us, baseline_min_us;
    /* [learning] */
    uint64_t learning_wear_us;
    uint64_t learning_feeds;
    /* [alerts] */
    double hysteresis;
    uint64_t clear_after_us, episode_close_us;
    uint64_t l2_d1_us, l2_i1_us, l2_f1_us, l2_zone_window_us, l3_fever_us, note_after_us;
    uint64_t l2_zone_episodes, i1_spread_zones;
    /* [T1] [T2] */
    double t1_delta_c, t1_mad_factor, t1_max_zone_fraction;
    uint64_t t1_sustain_us;
    double t2_delta_c;
    uint64_t t2_sustain_us;
    /* [F1] [F1-FR] */
    double f1_r, f1_q;
    uint64_t f1_sustain_us;
    uint64_t fr_from_us, fr_to_us;
    double fr_r, fr_breast_median_max;
    /* [D1] */
    uint64_t d1_sustain_us, d1_fr_lookback_us;
    /* [I1] */
    uint64_t i1_feeds, i1_sustain_us, i1_t2_sustain_us;
    /* [G1] [G2] */
    double g1_delta_c, g1_zone_fraction, g1_ambient_c;
    uint64_t g1_sustain_us;
    double g2_fever_c, g3_high_fever_c;
    uint64_t g2_expire_us;
    /* [E1] [E2] */
    double e1_r, e1_zone_fraction, e1_side_diff, e1_fall;
    uint64_t e1_fall_window_us, e1_sustain_us;
    uint64_t e2_feeds, e2_duration_us;
    /* [P1] */
    double p1_kpa;
    uint64_t p1_minutes_us, p1_window_us;
    double p1_neighbour_ratio;
    uint64_t p1_neighbour_sustain_us;
    /* [S1] .. [S5] */
    double s1_valid_fraction;
    uint64_t s1_sustain_us;
    double s2_fraction;
    uint64_t s2_sustain_us;
    uint64_t s3_lsb, s3_sustain_us;
    double s4_temp_min_c, s4_temp_max_c;
    double s5_temp_min_c, s5_temp_max_c, s5_change_c, s5_global_fraction;
    uint64_t s5_window_us, s5_suppress_us;
};

void dw_detect_config_default(struct dw_detect_config *c);
/* Reads an INI file over c (c is left alone on error). Returns 0; -EINVAL
 * for a bad value, key or syntax, with "FILE:LINE: reason" in err; or
 * another negative errno when the file cannot be read (missing, a
 * directory...), with "FILE: reason". */
int dw_detect_config_load(struct dw_detect_config *c, const char *path,
                          char *err, size_t errcap);
/* Same, from a string (tests); name is used in messages. */
int dw_detect_config_load_string(struct dw_detect_config *c, const char *text,
                                 const char *name, char *err, size_t errcap);
/* Writes the effective values as a valid INI file. */
void dw_detect_config_print(const struct dw_detect_config *c, FILE *f);
/* Calls fn for each key of one section ("T1", "D1", ...), value formatted
 * as in the INI file: for the alert's "params". */
void dw_detect_config_section(const struct dw_detect_config *c, const char *section,
                              void (*fn)(const char *key, const char *value, void *u),
                              void *u);
