#include <stdio.h>
#include <string.h>
#include "layout.h"

static const char *const quadrant_names[] = { "upper-outer", "upper-inner", "lower-inner", "lower-outer" };
static const char *const ring_names[] = { "inner", "outer" };

const char *dw_quadrant_name(unsigned q) { return q < 4 ? quadrant_names[q] : "?"; }
const char *dw_ring_name(unsigned r) { return r < 2 ? ring_names[r] : "?"; }

void dw_layout_default(struct dw_hello *h, const char *device_id,
                       const char *firmware, unsigned rate_hz)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->device_id, sizeof(h->device_id), "%s", device_id);
    snprintf(h->firmware, sizeof(h->firmware), "%s", firmware);
    h->sample_rate_hz = (uint16_t)rate_hz;
    h->n_zones = DW_DEFAULT_ZONES;
    h->n_ambient = DW_N_AMBIENT;
    h->temp_scale = DW_DEFAULT_TEMP_SCALE;
    h->pressure_scale = DW_DEFAULT_PRESSURE_SCALE;
    h->accel_scale = DW_DEFAULT_ACCEL_SCALE;
    for (unsigned z = 0; z < DW_DEFAULT_ZONES; z++) {
        struct dw_zone_desc *d = &h->zone[z];
        d->side = (uint8_t)(z / 8);
        d->quadrant = (uint8_t)((z % 8) / 2);
        d->ring = (uint8_t)(z % 2);
        d->mirror = (uint8_t)(z ^ 8);
        /* The outer ring of the lower quadrants lies on the band, the outer
         * ring of the upper-outer quadrant under the strap. */
        if (d->ring == DW_RING_OUTER &&
            (d->quadrant == DW_Q_LOWER_INNER || d->quadrant == DW_Q_LOWER_OUTER ||
             d->quadrant == DW_Q_UPPER_OUTER))
            d->flags |= DW_ZF_BAND;
    }
}

static int find_zone(const struct dw_hello *h, unsigned side, unsigned q, unsigned ring)
{
    for (unsigned z = 0; z < h->n_zones; z++)
        if (h->zone[z].side == side && h->zone[z].quadrant == q && h->zone[z].ring == ring)
            return (int)z;
    return -1;
}

unsigned dw_layout_neighbours(const struct dw_hello *h, unsigned z,
                              unsigned out[DW_MAX_NEIGHBOURS])
{
    const struct dw_zone_desc *d = &h->zone[z];
    int cand[3] = {
        find_zone(h, d->side, d->quadrant, 1u - d->ring),
        find_zone(h, d->side, (d->quadrant + 1) % 4, d->ring),
        find_zone(h, d->side, (d->quadrant + 3) % 4, d->ring),
    };
    unsigned n = 0;
    for (int i = 0; i < 3; i++) {
        if (cand[i] < 0 || (unsigned)cand[i] == z)
            continue;
        int dup = 0;
        for (unsigned k = 0; k < n; k++)
            dup |= out[k] == (unsigned)cand[i];
        if (!dup)
            out[n++] = (unsigned)cand[i];
    }
    return n;
}

void dw_zone_name(const struct dw_hello *h, unsigned z, char *buf, size_t len)
{
    const struct dw_zone_desc *d = &h->zone[z];
    snprintf(buf, len, "%s %s %s", dw_side_name(d->side), dw_quadrant_name(d->quadrant),
             dw_ring_name(d->ring));
}

double dw_sample_temp_c(const struct dw_hello *h, const struct dw_sample *s, unsigned z)
{
    return s->temp[z] * (h->temp_scale * 1e-6);
}

double dw_sample_pressure_kpa(const struct dw_hello *h, const struct dw_sample *s, unsigned z)
{
    return s->pressure[z] * (h->pressure_scale * 1e-6);
}

double dw_sample_ambient_c(const struct dw_hello *h, const struct dw_sample *s, unsigned i)
{
    return s->ambient[i] * (h->temp_scale * 1e-6);
}

double dw_sample_accel_g(const struct dw_hello *h, const struct dw_sample *s, unsigned axis)
{
    return s->accel[axis] * (h->accel_scale * 1e-6);
}
