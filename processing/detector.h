/* The detector core: a pure library driven by device time only.
 *
 * Feed it HELLO, samples and events (each with its device time, in
 * order per device); it keeps per-device state (keyed by device id) and
 * reports alerts through a callback. No wall clock is read anywhere, so
 * the same input gives the same alerts at any speed and in any chunking. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "frame.h"

/* The longest message the detector writes, its NUL included: it fits a
 * phone notification and the session file's alert message. */
#define DW_ALERT_MESSAGE_MAX 256

enum dw_alert_level { DW_L0 = 0, DW_L1, DW_L2, DW_L3 };
enum dw_alert_state { DW_ALERT_RAISED = 0, DW_ALERT_UPDATED, DW_ALERT_CLEARED };

struct dw_alert {
    const char *device;
    uint64_t id;          /* per device, shared by raised/updated/cleared */
    const char *rule;     /* "T1", "D1", ... */
    int level;            /* enum dw_alert_level */
    int state;            /* enum dw_alert_state */
    int side;             /* enum dw_side */
    int zone;             /* -1: none */
    char zone_name[48];
    double value, threshold;
    uint64_t t_device_us;
    bool clinical;        /* false for H1, P1 and the sensor rules S1..S5 */
    const char *message;
};

typedef void (*dw_alert_fn)(const struct dw_alert *a, void *user);

struct dw_detector;

/* NULL with errno set on failure. The config is copied. */
struct dw_detector *dw_detector_new(const struct dw_detect_config *cfg,
                                    dw_alert_fn fn, void *user);
void dw_detector_free(struct dw_detector *d);

/* A device announced itself (layout, scales). Samples before the first
 * HELLO of a device are ignored (counted). These three return 0 or -errno:
 * -EINVAL for a device id that is empty or longer than DW_ID_LEN, -ENOMEM. */
int dw_detector_hello(struct dw_detector *d, const char *device, const struct dw_hello *h);
int dw_detector_sample(struct dw_detector *d, const char *device, uint64_t t_device_us,
                       const struct dw_sample *s);
/* kind: enum dw_event_kind; side: enum dw_side; value in the kind's unit
 * (degrees C for a thermometer reading). */
int dw_detector_event(struct dw_detector *d, const char *device, uint64_t t_device_us,
                      int kind, int side, bool has_value, double value);

struct dw_detector_stats {
    uint64_t samples, events, minutes, ignored_before_hello, out_of_order, alerts;
};
int dw_detector_stats(const struct dw_detector *d, const char *device,
                      struct dw_detector_stats *st);

/* What the rules saw of one zone in the last minute the detector closed,
 * for reports that colour a zone by it. NaN where the rules had no valid
 * value then (learning a baseline, a feed or shower window, no contact). */
struct dw_detector_zone {
    double dl;  /* warmth against its neighbours, minus its own baseline: dL, degrees C */
    double da;  /* against its mirror zone, minus that baseline: dA, degrees C */
    double r;   /* pressure / its post-feed soft baseline: R */
    double q;   /* R / the median R of its neighbours: Q */
};
/* 0, -ENOENT (device or zone unknown). */
int dw_detector_zone(const struct dw_detector *d, const char *device, unsigned zone,
                     struct dw_detector_zone *out);

const char *dw_alert_level_name(int level);
const char *dw_alert_state_name(int state);
