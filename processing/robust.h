/* Bounded-memory robust statistics: a ring of per-minute values over a
 * fixed window, with median and MAD recomputed on demand. Memory is fixed
 * at creation, so a week of wear never grows it.
 *
 * The ring keeps its values as 16-bit fixed point in steps of 1/scale
 * (scale 100: 0.01 degrees C; 1000: 0.001 of a ratio), 2 bytes a minute
 * instead of 4: a 72 h window of one zone is 8.4 KB (issue 19, memory per
 * garment). A value comes back within half a step. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define DW_FIXED16_NONE INT16_MIN /* no value (NAN) */
#define DW_FIXED16_MAX INT16_MAX  /* the largest magnitude, in steps */
#define DW_FIXED16_CENTI 100.0    /* scale: 0.01 (degrees C) */
#define DW_FIXED16_MILLI 1000.0   /* scale: 0.001 (ratios) */

/* v * scale rounded to the nearest step (halves away from zero); beyond
 * +-DW_FIXED16_MAX steps, infinities included, it saturates there; NAN is
 * DW_FIXED16_NONE. */
int16_t dw_fixed16_encode(double v, double scale);
/* The value of q steps; NAN for DW_FIXED16_NONE. */
float dw_fixed16_decode(int16_t q, double scale);

struct dw_window {
    int16_t *v;      /* DW_FIXED16_NONE = no value for that slot */
    double scale;    /* steps per unit */
    uint32_t cap, head, count, n_valid;
    double median, mad; /* cached by dw_ring_update */
    bool have;          /* median/mad valid */
};

/* scale: steps per unit of the values (DW_FIXED16_CENTI, ...). */
int dw_ring_init(struct dw_window *r, uint32_t cap, double scale);
void dw_ring_free(struct dw_window *r);
/* Pushes one slot (NAN for none); the oldest falls out when full. */
void dw_ring_push(struct dw_window *r, float v);
void dw_ring_clear(struct dw_window *r);
/* Recomputes median and MAD over the valid values; have = n_valid >= min_n.
 * scratch must hold cap floats. */
void dw_ring_update(struct dw_window *r, uint32_t min_n, float *scratch);

/* Median of n values (reorders a). NAN if n == 0. */
double dw_median(float *a, uint32_t n);
