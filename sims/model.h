/* The simulated wearer: a physiological model of breast skin temperature,
 * taxel pressure, ambient and motion per zone, the day's schedule (feeds,
 * showers, sleep, walks) and the scenario's anomaly (docs/simulator.md,
 * magnitudes from shared/detection.md "Facts"). Times are simulated real
 * time in microseconds since the garment went on; the caller maps them to
 * the device clock. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frame.h"
#include "prng.h"

#define DW_MODEL_MAX_PARAMS 16
#define DW_MODEL_US_S 1000000ull
#define DW_MODEL_US_H (3600ull * DW_MODEL_US_S)

/* What the user asked for; -1 / NAN mean "random from the seed". */
struct dw_model_config {
    const char *scenario;
    uint64_t seed;
    uint64_t duration_us;
    int side;                  /* DW_SIDE_LEFT/RIGHT or -1 */
    int zone;                  /* 0..15 or -1 */
    int64_t onset_us;          /* or -1 */
    int64_t episode_us;        /* or -1 */
    unsigned n_params;
    const char *param_key[DW_MODEL_MAX_PARAMS];
    double param_value[DW_MODEL_MAX_PARAMS];
};

struct dw_model_event {
    uint64_t t_us;
    uint8_t kind, side;
    int32_t value;
    const char *text;
};

/* A span on the time line written to the labels (episode or artefact). */
struct dw_model_span {
    const char *type;          /* "episode" or "artefact" */
    const char *kind;          /* artefact kind, or the episode's "what" */
    const char *rule;          /* episode: detection rule id; else NULL */
    int side;                  /* DW_SIDE_*, or 3 = both */
    int zone;                  /* or -1 */
    uint64_t start_us, end_us;
    double value;              /* NAN if none */
    int logged;                /* -1 = not applicable */
};
#define DW_MODEL_SIDE_BOTH 3

struct dw_model_slow {
    double temp[DW_MAX_ZONES], pres[DW_MAX_ZONES], amb[DW_N_AMBIENT], grav[3];
    double breath_hz, breath_g, gait_g, motion_g, pres_jitter;
};

struct dw_model;

/* Prints --list-scenarios: one scenario per line, parameters on '#' lines. */
void dw_model_list_scenarios(FILE *f);
/* Whether key is a parameter of the scenario (or a common one). */
bool dw_model_param_known(const char *scenario, const char *key);

/* Builds the wearer, her schedule and the scenario. Returns NULL and writes
 * a one-line reason to err for a bad configuration (errno EINVAL), or NULL
 * with errno ENOMEM. */
struct dw_model *dw_model_new(const struct dw_model_config *cfg, const struct dw_hello *layout,
                              char *err, size_t errlen);
void dw_model_free(struct dw_model *m);

/* The sample at t_us; calls must come with non-decreasing times. */
void dw_model_sample(struct dw_model *m, uint64_t t_us, struct dw_sample *s);
/* Battery and MCU state for a STATUS frame at t_us. */
void dw_model_status(struct dw_model *m, uint64_t t_us, struct dw_status *st);

/* The garment's EVENT frames, sorted by time. */
const struct dw_model_event *dw_model_events(const struct dw_model *m, size_t *n);
/* Episodes and artefacts for the labels, in time order. */
const struct dw_model_span *dw_model_spans(const struct dw_model *m, size_t *n);
