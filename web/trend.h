/* Per garment, one mean per zone and device-time minute over the last
 * 48 hours (a fixed ring, so days of wear never grow it), and from those
 * minutes the baselines the page colours zones by: warmth is the zone's
 * contrast with its neighbours (T minus their median, the detector's L)
 * against its own usual contrast, firmness the pressure against the
 * zone's usual pressure (docs/web.md, "Colours"). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "frame.h"
#include "strbuf.h"

#define DW_TREND_MINUTES (48 * 60)
#define DW_TREND_BASE_MINUTES (24 * 60) /* baselines over the last day */

struct dw_trend {
    unsigned nz;
    struct dw_hello layout;       /* for neighbours */
    bool started;
    uint64_t minute;              /* device minute of the open bucket */
    unsigned head, count;         /* closed minutes in the ring; newest at head - 1 */
    float *t, *p;                 /* [DW_TREND_MINUTES][nz], NaN = no data */
    float *scratch;               /* DW_TREND_MINUTES floats */
    double sum_t[DW_MAX_ZONES], sum_p[DW_MAX_ZONES];
    uint32_t n_t[DW_MAX_ZONES], n_p[DW_MAX_ZONES];
    float base_l[DW_MAX_ZONES], base_p[DW_MAX_ZONES]; /* NaN until known */
    unsigned since_base;          /* minutes closed since the baselines */
};

/* NULL with errno set. */
struct dw_trend *dw_trend_new(const struct dw_hello *layout);
void dw_trend_free(struct dw_trend *tr);
/* One sample: temperatures and pressures in physical units, NaN where the
 * garment flags the channel. A device clock that goes back (a garment
 * restart) starts the trend again. */
void dw_trend_add(struct dw_trend *tr, uint64_t t_device_us, const float *t_c,
                  const float *p_kpa);
/* Warmth (deg C above the zone's usual contrast) and firmness (ratio to its
 * usual pressure) of zone z for the given values; NaN while unknown. */
float dw_trend_warmth(struct dw_trend *tr, unsigned z, const float *t_c);
float dw_trend_firmness(const struct dw_trend *tr, unsigned z, float p_kpa);
/* {"zone":z,"step_s":60,"end_t_device_us":..,"t":[...],"p":[...]} over the
 * last `minutes` minutes, oldest first, the open minute last. */
void dw_trend_json(const struct dw_trend *tr, unsigned z, unsigned minutes,
                   struct dw_strbuf *b);
