/* Bounded-memory robust statistics: a ring of per-minute values over a
 * fixed window, with median and MAD recomputed on demand. Memory is fixed
 * at creation, so a week of wear never grows it. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct dw_window {
    float *v;        /* NAN = no value for that slot */
    uint32_t cap, head, count, n_valid;
    double median, mad; /* cached by dw_ring_update */
    bool have;          /* median/mad valid */
};

int dw_ring_init(struct dw_window *r, uint32_t cap);
void dw_ring_free(struct dw_window *r);
/* Pushes one slot (NAN for none); the oldest falls out when full. */
void dw_ring_push(struct dw_window *r, float v);
void dw_ring_clear(struct dw_window *r);
/* Recomputes median and MAD over the valid values; have = n_valid >= min_n.
 * scratch must hold cap floats. */
void dw_ring_update(struct dw_window *r, uint32_t min_n, float *scratch);

/* Median of n values (reorders a). NAN if n == 0. */
double dw_median(float *a, uint32_t n);
