/* The detector's private state and the interfaces between its parts
 * (libinput-style: one file per concern, one private header).
 *
 * detector.c      public API, device table, minute scheduler, events
 * minute.c        minute means, validity gating, contrasts L, A, R, Q
 * baseline.c      rolling baselines, post-feed soft pressure, clock hours
 * alert.c         the rules table, messages, raise/update/clear
 * rules_sensor.c  S1..S5
 * rules_thermal.c T1, T2, G1..G3
 * rules_firmness.c P1, F1, F1-FR
 * rules_episode.c D1, I1, E1, E2, H1, episodes and escalation
 *
 * The rules are those of docs/detection.md. Nothing here reads a clock. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "detector.h"
#include "devtab.h"
#include "frame.h"
#include "layout.h"
#include "robust.h"

#define DW_DET_MINUTE_US 60000000ULL
#define DW_DET_T_HISTORY_MIN 16   /* minutes of skin temperature kept for S5 */
#define DW_DET_AMB_HISTORY_MIN 64 /* minutes of ambient kept for its change artefact */
#define DW_DET_SOFT_CAP 64        /* post-feed soft pressure values per zone */
#define DW_DET_ZONE_EPISODES 8    /* episode starts remembered per zone */
#define DW_DET_FR_MIN_MINUTES 5   /* minutes of data an F1-FR window needs */
#define DW_DET_CLOCK_HOURS 72     /* same-clock-hour history: 3 days */
#define DW_DET_FILL_CAP 32        /* pre-feed fullness points kept per breast */
#define DW_DET_FILL_MIN 4         /* points before the wearer's own curve is used */
#define DW_DET_E1_MARGIN 0.15     /* E1: R above this wearer's usual pre-feed R at that gap */
#define DW_DET_E1_MAD_FACTOR 3.0  /* ... and above 3 robust SDs of her own scatter */
#define DW_DET_E1_POST_FEED_R 1.20 /* E1: breast median R 30-60 min after a feed: not relieved */
#define DW_DET_E1_POST_FEED_US (12ULL * 3600 * 1000000) /* that verdict counts this long */
#define DW_DET_LYING_G 0.5        /* gravity share on x (sides) or z (back): lying */
#define DW_DET_LYING_AFTER_US (2 * DW_DET_MINUTE_US) /* the press fades after a roll */
/* An active D1 / I1 keeps its zone unless another qualifying zone is more
 * extreme by more than this (docs/detection.md, "The zone an alert names"):
 * the width of the rules' own hysteresis band at the default 0.8 (T2
 * raises at dL 1.0, holds at 0.8; F1 raises at R 1.30, holds at 1.24), far
 * above minute-to-minute jitter, below the steps the rules tell apart
 * (T1 0.5 -> T2 1.0 C). */
#define DW_DET_I1_ZONE_MARGIN_C 0.2  /* dL, C */
#define DW_DET_D1_ZONE_MARGIN_R 0.05 /* R */

/* Every rule, in the order of the rules table. */
enum dw_rule {
    DW_RULE_T1, DW_RULE_T2, DW_RULE_F1, DW_RULE_FR, DW_RULE_P1,
    DW_RULE_S1, DW_RULE_S2, DW_RULE_S3, DW_RULE_S4, DW_RULE_S5,
    DW_RULE_D1, DW_RULE_I1, DW_RULE_G1, DW_RULE_G2, DW_RULE_G3,
    DW_RULE_E1, DW_RULE_E2, DW_RULE_H1,
    DW_RULE_COUNT
};

/* The wearer's posture in a minute, from the direction of gravity in the
 * garment's axes (docs/protocol.md section 3.2). */
enum dw_posture { DW_POSTURE_UPRIGHT, DW_POSTURE_BACK, DW_POSTURE_LEFT, DW_POSTURE_RIGHT };

/* One row per rule: its id on the wire, the plain-language finding of its
 * message, whether it is a clinical finding (false for the sensor rules,
 * H1 and P1: those never carry self-care advice at L0 nor the 7-day note),
 * and the escalation step it is raised at unless escalated. */
struct dw_rule_info {
    const char *id;
    const char *name;
    bool clinical;
    int step; /* enum dw_alert_level */
};

const struct dw_rule_info *dw_det_rule(enum dw_rule rule);

/* What an alert measured against what it was compared with. */
struct dw_measure {
    double value, threshold;
};

/* A condition that must hold for a while, with hysteresis. */
struct dw_sustain {
    bool on;
    uint32_t minutes_true, minutes_false, minutes_invalid;
};

/* One alert's life: raised, updated, cleared under one id. */
struct dw_handle {
    bool active;
    uint64_t id;
    int level, side, zone;
    enum dw_rule rule;
    uint64_t since_us;
    bool noted; /* the 7-day note went out */
};

/* The samples of one zone within the open minute. */
struct dw_zone_acc {
    double sum_t_c, sum_p_kpa;
    uint32_t n;
    int16_t t_raw_min, t_raw_max;
    uint16_t p_raw_min, p_raw_max;
    bool out_of_range; /* too hot, or a status bit (ADC rail, saturated) */
    bool too_cold;     /* below S4's range: a fault only on the skin or below the room */
    uint32_t n_cold_pressed; /* samples below the range with contact pressure */
};

struct dw_zone {
    unsigned neighbour[DW_MAX_NEIGHBOURS], n_neighbours, mirror, side;
    bool band;
    bool lateral; /* an outer quadrant or the band: what a mattress presses */
    /* the closed minute */
    double t_c, p_kpa, l_c, a_c, r, q, dl_c, da_c, dg_c;
    double last_dl_c, last_r; /* last valid, for alert values */
    bool has, contact, detached, t_valid, p_valid, out_of_range, stuck;
    bool has_l, has_a, has_r, has_q;
    /* gating */
    uint64_t settle_until_us, suppress_until_us;
    bool had_contact;
    /* stuck runs: the band of raw values since the run started */
    int16_t t_run_lo, t_run_hi;
    uint16_t p_run_lo, p_run_hi;
    uint32_t t_run_min, p_run_min;
    /* history */
    float t_history[DW_DET_T_HISTORY_MIN];
    struct dw_window base_l, base_a;
    float hour_t[2][DW_DET_CLOCK_HOURS]; /* per clock hour: [sum | n] */
    double hour_sum_c;
    uint32_t hour_n;
    float soft_p_kpa[DW_DET_SOFT_CAP];
    uint64_t soft_t_us[DW_DET_SOFT_CAP];
    uint32_t soft_n, soft_head;
    double soft_median_kpa;
    uint8_t *p1_bits;
    uint32_t p1_count;
    /* the F1-FR window after a feed */
    double fr_sum_r, fr_sum_p_kpa;
    uint32_t fr_n_r, fr_n_p;
    uint64_t fr_last_us;
    /* rules of this zone */
    struct dw_sustain sustain[DW_RULE_COUNT];
    struct dw_sustain p1_neighbour;
    struct dw_handle handle[DW_RULE_COUNT];
    uint64_t episode_start_us[DW_DET_ZONE_EPISODES];
    uint32_t n_episodes;
};

struct dw_breast {
    bool in_feed, feed_minute;
    uint64_t feed_start_us, feed_end_us, artefact_until_us;
    uint64_t pack_until_us; /* a logged ice or heat pack: S5 knows the source */
    bool fr_pending;
    double fr_median_sum;
    uint32_t fr_median_n;
    double median_r;      /* this minute, NAN if none */
    double median_r_last; /* last valid */
    uint32_t n_t_valid, n_present;
    /* this wearer's pre-feed fullness: median R at a feed start against
     * the hours since the last feed on this side (R = 1 + a * gap^b) */
    float fill_gap_h[DW_DET_FILL_CAP], fill_r[DW_DET_FILL_CAP];
    uint32_t fill_n, fill_head;
    bool fill_fit;
    double fill_a, fill_b, fill_sd;
    double post_feed_r;   /* breast median R 30-60 min after the last feed */
    uint64_t post_feed_us;
    /* D1 / I1 */
    struct dw_sustain d1, i1, i1_t2;
    uint32_t cooc_feeds;
    bool cooc;
    uint32_t cooc_gone_min;
    struct dw_handle d1_alert, i1_alert;
    /* episode */
    bool episode_open;
    uint64_t episode_start_us, episode_last_active_us;
    uint64_t d1_first_us, i1_first_us, f1_first_us, warm_first_us;
};

struct dw_device {
    char id[DW_ID_LEN + 1];
    bool have_hello;
    struct dw_hello hello;
    unsigned n_zones;
    /* zone_cap zones, allocated at the HELLO for as many as it declares
     * (a HELLO with more adds some); 64 in the struct with their rings
     * cost 2.3 MB a garment that has 16 (issue 19) */
    struct dw_zone *zone;
    unsigned zone_cap;
    struct dw_breast breast[2];
    /* the open minute */
    struct dw_zone_acc acc[DW_MAX_ZONES];
    double acc_ambient_c[2], acc_accel_g, acc_accel_g2, acc_gravity_g[3];
    uint32_t acc_n;
    bool started;
    uint64_t minute, last_t_us, t_offset_us;
    double ambient_c[2];
    float ambient_history[DW_DET_AMB_HISTORY_MIN];
    float ambient_hour[2][DW_DET_CLOCK_HOURS];
    double ambient_hour_sum_c;
    uint32_t ambient_hour_n;
    uint64_t motion_until_us, ambient_artefact_until_us, shower_until_us;
    enum dw_posture posture;     /* of the closed minute */
    uint64_t lying_until_us[2];  /* lying on that side, and a little after */
    bool garment_off_logged;
    /* minutes in a row the zones read skin while garment_off_logged holds
     * (a garment-on lost on the link or never logged ends it, rules_sensor.c) */
    uint32_t worn_minutes;
    uint64_t wear_minutes, feeds;
    bool learned;
    uint64_t next_baseline_minute;
    struct dw_sustain g1, s2, e1;
    struct dw_handle g1_alert, fever_alert, s2_alert, e1_alert, e2_alert, h1_alert;
    uint64_t fever_first_us, fever_last_us;
    double fever_c;
    /* E1 relief after a feed */
    bool e1_check;
    uint64_t e1_check_until_us;
    double e1_pre_feed_r;
    bool e1_relieved;
    uint32_t e1_unrelieved;
    uint64_t next_alert_id;
    struct dw_detector_stats stats;
};

struct dw_detector {
    struct dw_detect_config c;
    dw_alert_fn fn;
    void *user;
    struct dw_devtab devs;  /* of struct dw_device: a process serves any number */
    struct dw_device *last; /* the one device_get found last, or NULL */
    uint32_t baseline_window_min, p1_window_min;
    /* work space of the medians, one for all devices: a minute is closed
     * for one device at a time (max(baseline window, soft cap) floats) */
    float *scratch;
};

/* One minute being closed: what every rule family reads and leaves for the
 * next. Decisions are stamped at the minute's end (t_us). */
struct minute_ctx {
    struct dw_detector *d;
    struct dw_device *dv;
    const struct dw_detect_config *c;
    uint64_t minute, t0_us, t_us, hour;
    unsigned n_zones;
    uint32_t clear_min, max_invalid_min;
    double hysteresis;
    float *scratch;
    /* minute.c */
    bool have;        /* any sample this minute */
    double ambient_mean_c;
    unsigned n_present, n_detached;
    bool shower;
    /* rules_thermal.c */
    double g1_fraction;
    bool fever, system_fever;
};

/* detector.c */
uint32_t dw_det_minutes(uint64_t us);
double dw_det_median(float *buf, unsigned n);
int dw_det_side_of(int side);

/* sustained conditions: +1 raised, -1 cleared, 0 */
int dw_sustain_step(struct dw_sustain *s, bool raise, bool hold, bool valid,
                    uint32_t need, uint32_t clear, uint32_t max_invalid);

/* alert.c */
/* The place of an alert in words; "" when it has neither zone nor side. */
void dw_det_where(const struct dw_hello *hello, int side, int zone, char *buf, size_t cap);
/* An alert's message into buf: the length it needs (as snprintf). */
size_t dw_det_message(char *buf, size_t cap, enum dw_rule rule, int level, int state,
                      const char *where, bool note);
void dw_det_alert_set(struct dw_detector *d, struct dw_device *dv, struct dw_handle *h,
                      enum dw_rule rule, int level, int side, int zone, struct dw_measure m,
                      uint64_t t);
void dw_det_alert_clear(struct dw_detector *d, struct dw_device *dv, struct dw_handle *h,
                        int side, struct dw_measure m, uint64_t t);

/* minute.c */
void dw_minute_means(struct minute_ctx *x);
void dw_minute_feed_timeouts(struct minute_ctx *x);
void dw_minute_validity(struct minute_ctx *x);
void dw_minute_contrasts(struct minute_ctx *x);
void dw_minute_reset(struct dw_device *dv);

/* baseline.c */
bool dw_baseline_zone_in_alert(const struct dw_zone *z);
void dw_baseline_soft_push(struct dw_zone *z, double p_kpa, uint64_t t);
void dw_baseline_soft_update(struct dw_detector *d, struct dw_zone *z, uint64_t now,
                             float *scratch);
double dw_baseline_clock_hour(float hour_sums[2][DW_DET_CLOCK_HOURS], uint64_t hour,
                              float *scratch);
void dw_baseline_step(struct minute_ctx *x);

/* rules_sensor.c */
void dw_rules_sensor_step(struct minute_ctx *x);

/* rules_thermal.c */
void dw_rules_fever_step(struct minute_ctx *x);
void dw_rules_warmth_step(struct minute_ctx *x);
void dw_rules_g1_escalate(struct minute_ctx *x);
void dw_rules_thermometer(struct dw_detector *d, struct dw_device *dv, uint64_t t,
                          bool has_value, double c);

/* rules_firmness.c */
void dw_rules_firmness_step(struct minute_ctx *x);
void dw_rules_relief_step(struct minute_ctx *x);

/* baseline.c: the wearer's own pre-feed fullness */
void dw_baseline_fill_add(struct dw_breast *b, double gap_h, double r, float *scratch);
/* Her usual median R after gap_h hours without a feed on that side; NAN
 * while too few feeds were seen. */
double dw_baseline_fill_expected(const struct dw_breast *b, double gap_h);

/* rules_episode.c */
void dw_rules_episode_touch(struct dw_device *dv, unsigned side, int zone, uint64_t t);
void dw_rules_duct_step(struct minute_ctx *x);
void dw_rules_engorgement_step(struct minute_ctx *x);
void dw_rules_feed_start(struct dw_detector *d, struct dw_device *dv, int s0, int s1,
                         uint64_t t);
void dw_rules_feed_end(struct dw_detector *d, struct dw_device *dv, int s0, int s1,
                       uint64_t t);
