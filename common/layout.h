/* Garment zone layout: the default 2 x 8 zones, names, mirrors, neighbours. */
#pragma once
#include "frame.h"

#define DW_MAX_NEIGHBOURS 4

/* Fills h with the reference garment's layout (16 zones: per side, 4
 * quadrants x 2 rings; zone = side*8 + quadrant*2 + ring). Device id,
 * firmware and rate are set to the given values. */
void dw_layout_default(struct dw_hello *h, const char *device_id,
                       const char *firmware, unsigned rate_hz);

/* Neighbours of zone z on its own side: the other ring of its quadrant and
 * the same ring of the two adjacent quadrants. Returns how many (<= 4). */
unsigned dw_layout_neighbours(const struct dw_hello *h, unsigned z,
                              unsigned out[DW_MAX_NEIGHBOURS]);

/* "left upper-outer inner" */
void dw_zone_name(const struct dw_hello *h, unsigned z, char *buf, size_t len);
const char *dw_quadrant_name(unsigned q);
const char *dw_ring_name(unsigned r);

/* Physical values from a sample. */
double dw_sample_temp_c(const struct dw_hello *h, const struct dw_sample *s, unsigned z);
double dw_sample_pressure_kpa(const struct dw_hello *h, const struct dw_sample *s, unsigned z);
double dw_sample_ambient_c(const struct dw_hello *h, const struct dw_sample *s, unsigned i);
double dw_sample_accel_g(const struct dw_hello *h, const struct dw_sample *s, unsigned axis);
