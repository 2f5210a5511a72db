/* A small deterministic garment model for the detector unit tests: the
 * reference layout, per-zone offsets, circadian swing, sensor noise, milk
 * filling between feeds that alternate sides, and switchable anomalies. It
 * drives the detector core directly (no wire, no sockets). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "detector.h"

struct synth {
    uint64_t rng;
    unsigned rate_hz;
    uint64_t t_us;
    struct dw_hello hello;
    double t_off[16], p_soft[16];
    double fill[2];           /* 0 after a feed, grows to ~0.3 */
    uint64_t feed_every_us, feed_len_us, next_feed_us;
    int next_side;
    bool in_feed;
    int feed_side;
    uint64_t feed_end_us;
    /* anomalies */
    double warm[16];          /* +C per zone */
    double firm[16];          /* pressure factor per zone, not emptied by feeds */
    double global_warm;       /* +C on all zones */
    double all_firm;          /* engorgement: extra fill on both sides */
    bool detached[16];
    bool stuck[16];
    int16_t stuck_val[16];
    double cold[16];          /* -C (an unlogged ice pack) */
    double extra_pressure[16];/* kPa added (a tight band) */
    bool garment_off;
    bool feeds_enabled;
    double room_c;            /* ambient; a zone off the skin reads room + 1 C */
    double accel_g[3];        /* gravity in the garment's axes (upright: 0, 0, 1) */
};

void synth_init(struct synth *s, uint64_t seed, unsigned rate_hz);
/* Runs for dur_us, feeding det (device "dev"); events are sent too. */
void synth_run(struct synth *s, struct dw_detector *det, uint64_t dur_us);
/* Same, but writes wire frames through fn (for byte-stream tests). */
typedef void (*synth_bytes_fn)(const uint8_t *b, size_t n, void *u);
void synth_run_wire(struct synth *s, uint64_t dur_us, synth_bytes_fn fn, void *u);
void synth_hello(struct synth *s, struct dw_detector *det);
