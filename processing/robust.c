#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "robust.h"

int16_t dw_fixed16_encode(double v, double scale)
{
    if (isnan(v))
        return DW_FIXED16_NONE;
    double q = v * scale;
    if (q >= DW_FIXED16_MAX)
        return DW_FIXED16_MAX;
    if (q <= -DW_FIXED16_MAX)
        return -DW_FIXED16_MAX;
    return (int16_t)lround(q);
}

float dw_fixed16_decode(int16_t q, double scale)
{
    return q == DW_FIXED16_NONE ? NAN : (float)(q / scale);
}

int dw_ring_init(struct dw_window *r, uint32_t cap, double scale)
{
    memset(r, 0, sizeof(*r));
    if (cap == 0 || !(scale > 0))
        return -EINVAL;
    r->v = malloc(sizeof(*r->v) * cap);
    if (!r->v)
        return -ENOMEM;
    r->cap = cap;
    r->scale = scale;
    dw_ring_clear(r);
    return 0;
}

void dw_ring_free(struct dw_window *r)
{
    free(r->v);
    r->v = NULL;
}

/* Only the first count slots are ever read (dw_ring_update, and a push
 * once count == cap), each written before: the slots are not filled here.
 * Filling them touched every page of a garment's 72 h baselines at its
 * HELLO: about half of detect's CPU for a fleet's HELLOs at start-up
 * (docs/performance.md 3.11); the pages now come as the minutes do. */
void dw_ring_clear(struct dw_window *r)
{
    r->head = r->count = r->n_valid = 0;
    r->have = false;
    r->median = r->mad = NAN;
}

void dw_ring_push(struct dw_window *r, float v)
{
    int16_t q = dw_fixed16_encode(v, r->scale);
    if (r->count == r->cap) {
        if (r->v[r->head] != DW_FIXED16_NONE)
            r->n_valid--;
    } else {
        r->count++;
    }
    r->v[r->head] = q;
    if (q != DW_FIXED16_NONE)
        r->n_valid++;
    r->head = (r->head + 1) % r->cap;
}

/* Quickselect (Hoare), k-th smallest; reorders a. */
static float select_k(float *a, uint32_t n, uint32_t k)
{
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = a[lo + (hi - lo) / 2];
        uint32_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return a[k];
}

double dw_median(float *a, uint32_t n)
{
    if (n == 0)
        return NAN;
    float hi = select_k(a, n, n / 2);
    if (n % 2)
        return hi;
    float lo = select_k(a, n, n / 2 - 1);
    return 0.5 * ((double)lo + hi);
}

void dw_ring_update(struct dw_window *r, uint32_t min_n, float *scratch)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->count; i++)
        if (r->v[i] != DW_FIXED16_NONE)
            scratch[n++] = dw_fixed16_decode(r->v[i], r->scale);
    if (n == 0 || n < min_n) {
        r->have = false;
        r->median = r->mad = NAN;
        return;
    }
    double med = dw_median(scratch, n);
    for (uint32_t i = 0; i < n; i++)
        scratch[i] = fabsf(scratch[i] - (float)med);
    r->median = med;
    r->mad = dw_median(scratch, n);
    r->have = true;
}
