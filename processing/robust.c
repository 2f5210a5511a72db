#include <errno.h>
#include <math.h>
#include <stdbool.h>
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

/* Counting the ring's steps instead of selecting among decoded floats:
 * the steps are whole numbers in a narrow band (a window of 0.01 C
 * contrasts spans a few hundred), and decoding is monotonic, so the k-th
 * smallest float is the decoded k-th smallest step; the deviations from
 * the median fall on either side in order, merged outwards. Same values,
 * bit for bit, as dw_median over the floats (the fallback below when the
 * band is wider than the scratch): select_k was 12 % of a week's replay
 * (docs/performance.md 3.4). cnt[i] counts the steps lo + i. */
struct ring_hist {
    const struct dw_window *r;
    uint32_t *cnt, span;
    int32_t lo;
};

static float hist_value(const struct ring_hist *h, uint32_t i)
{
    return dw_fixed16_decode((int16_t)(h->lo + (int32_t)i), h->r->scale);
}

static float hist_kth(const struct ring_hist *h, uint32_t k)
{
    uint32_t seen = 0, i = 0;
    for (; i + 1 < h->span; i++) {
        seen += h->cnt[i];
        if (seen > k)
            break;
    }
    return hist_value(h, i);
}

/* The k-th smallest |value - m|: below m they grow downwards, above m
 * upwards (float rounding is monotonic), so the two runs are merged. */
static float hist_kth_dev(const struct ring_hist *h, float m, uint32_t k)
{
    int64_t up = 0, down;
    while (up < h->span && hist_value(h, (uint32_t)up) <= m)
        up++;
    down = up - 1;
    for (uint32_t seen = 0;;) {
        while (down >= 0 && !h->cnt[down])
            down--;
        while (up < h->span && !h->cnt[up])
            up++;
        if (down < 0 && up >= h->span)
            return NAN; /* k beyond the counted values: not reached */
        float fd = down >= 0 ? fabsf(hist_value(h, (uint32_t)down) - m) : INFINITY;
        float fu = up < h->span ? fabsf(hist_value(h, (uint32_t)up) - m) : INFINITY;
        bool take_down = down >= 0 && fd <= fu;
        seen += h->cnt[take_down ? down : up];
        if (seen > k)
            return take_down ? fd : fu;
        if (take_down)
            down--;
        else
            up++;
    }
}

/* As dw_median: the middle one, or the mean of the two middle ones. */
static double hist_median(const struct ring_hist *h, uint32_t n, bool dev, float m)
{
    float hi = dev ? hist_kth_dev(h, m, n / 2) : hist_kth(h, n / 2);
    if (n % 2)
        return hi;
    float lo = dev ? hist_kth_dev(h, m, n / 2 - 1) : hist_kth(h, n / 2 - 1);
    return 0.5 * ((double)lo + hi);
}

/* The counts of the ring's steps into scratch (cap uint32 slots); false
 * when their band is wider than that. *n: the valid values. */
static bool ring_count(const struct dw_window *r, uint32_t *scratch, struct ring_hist *h,
                       uint32_t *n)
{
    int32_t lo = INT16_MAX, hi = INT16_MIN;
    uint32_t valid = 0;
    for (uint32_t i = 0; i < r->count; i++) {
        int32_t q = r->v[i];
        if (q == DW_FIXED16_NONE)
            continue;
        valid++;
        lo = q < lo ? q : lo;
        hi = q > hi ? q : hi;
    }
    *n = valid;
    if (!valid || (uint32_t)(hi - lo) >= r->cap)
        return false;
    *h = (struct ring_hist){.r = r, .cnt = scratch, .span = (uint32_t)(hi - lo) + 1, .lo = lo};
    memset(scratch, 0, sizeof(*scratch) * h->span);
    for (uint32_t i = 0; i < r->count; i++)
        if (r->v[i] != DW_FIXED16_NONE)
            scratch[r->v[i] - lo]++;
    return true;
}

static void ring_update_floats(struct dw_window *r, float *scratch)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->count; i++)
        if (r->v[i] != DW_FIXED16_NONE)
            scratch[n++] = dw_fixed16_decode(r->v[i], r->scale);
    double med = dw_median(scratch, n);
    for (uint32_t i = 0; i < n; i++)
        scratch[i] = fabsf(scratch[i] - (float)med);
    r->median = med;
    r->mad = dw_median(scratch, n);
}

void dw_ring_update(struct dw_window *r, uint32_t min_n, float *scratch)
{
    struct ring_hist h;
    uint32_t n;
    /* scratch is malloc'd work space: its effective type is what was
     * stored last (C11 6.5p6), here the counts */
    bool counted = ring_count(r, (uint32_t *)(void *)scratch, &h, &n);
    if (n == 0 || n < min_n) {
        r->have = false;
        r->median = r->mad = NAN;
        return;
    }
    if (counted) {
        r->median = hist_median(&h, n, false, 0);
        r->mad = hist_median(&h, n, true, (float)r->median);
    } else {
        ring_update_floats(r, scratch);
    }
    r->have = true;
}
