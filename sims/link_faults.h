/* Link faults the simulator injects between its frames and the reader
 * (docs/simulator.md, "Link faults"): bit flips, dropped and duplicated
 * bytes, garbage bursts, unplug/replug and device clock drift, all drawn
 * from the seed. The injector also decides exactly which garment frames the
 * host cannot receive intact, so the labels can say so. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "prng.h"

struct dw_link_faults_spec {
    double flip, drop, dup;     /* per byte probabilities */
    uint64_t garbage_us;        /* mean interval between garbage bursts; 0 = none */
    unsigned garbage_max;       /* longest burst, bytes */
    uint64_t unplug_us;         /* mean interval between unplugs; 0 = none */
    uint64_t unplug_for_us;     /* how long the garment stays unplugged */
    double drift_ppm;           /* device clock against real time */
    double lose_minutes;        /* share of device minutes whose frames are lost */
};

/* Parses "flip=1e-4,drop=1e-5,dup=1e-5,garbage=10m,garbage-max=64,
 * unplug=30m,unplug-for=2s,drift=50,lose-minutes=0.05". 0 or -EINVAL with a reason in err. */
int dw_link_faults_parse(const char *spec, struct dw_link_faults_spec *out, char *err,
                         size_t errlen);
bool dw_link_faults_any(const struct dw_link_faults_spec *s);

enum dw_fault_kind { DW_FAULT_FLIP, DW_FAULT_DROP, DW_FAULT_DUP, DW_FAULT_GARBAGE,
                     DW_FAULT_UNPLUG, DW_FAULT_KINDS };
const char *dw_fault_kind_name(unsigned kind);

/* One injected byte fault, reported back to the caller. */
struct dw_byte_fault {
    unsigned kind;
    size_t offset;              /* in the frame's wire bytes */
    unsigned bit;               /* flips */
    bool delimiter;             /* it hit the frame's trailing 0x00 */
};

struct dw_link_faults {
    struct dw_link_faults_spec spec;
    struct dw_prng rng;
    double p_any;
    uint64_t skip;              /* bytes left before the next byte fault */
    uint64_t next_garbage_us, next_unplug_us;
    bool merge_pending;         /* an unterminated block runs into the next frame */
    uint64_t minute_key;        /* which minutes are lost: a hash of the seed and the minute */
    uint64_t count[DW_FAULT_KINDS];
};

void dw_link_faults_init(struct dw_link_faults *f, const struct dw_link_faults_spec *spec,
                         uint64_t seed);
/* Applies byte faults to one frame's wire bytes (delimiter included) into
 * out (cap >= 2 * len). Returns the length written; *lost says whether
 * the host cannot receive this frame; faults[0..*n_faults) lists what was
 * done (at most max_faults reported, all counted). */
size_t dw_link_faults_frame(struct dw_link_faults *f, const uint8_t *in, size_t len,
                            uint8_t *out, bool *lost, struct dw_byte_fault *faults,
                            unsigned max_faults, unsigned *n_faults);
/* A garbage burst due at device time t_us: writes it to out (cap >=
 * garbage_max) and returns its length, 0 if none is due. *glued: it does
 * not end in 0x00, so it spoils the next frame. */
size_t dw_link_faults_garbage(struct dw_link_faults *f, uint64_t t_us, uint8_t *out, bool *glued);
/* Whether an unplug is due at t_us (then schedules the next one). */
bool dw_link_faults_unplug_due(struct dw_link_faults *f, uint64_t t_us);
/* Whether every frame of the device minute holding t_us is lost (the
 * lose-minutes fault: a radio link that drops out now and then). */
bool dw_link_faults_minute_lost(const struct dw_link_faults *f, uint64_t t_us);
/* The link was re-established: nothing pending carries over. */
void dw_link_faults_reset(struct dw_link_faults *f);
