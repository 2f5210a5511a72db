/* layout.c: the default garment layout, neighbours, mirrors, zone names and
 * sample scaling. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dwcmocka.h"
#include "frame.h"
#include "layout.h"

static void test_layout_default(void **state)
{
    struct dw_hello h;
    char name[64];
    unsigned nb[DW_MAX_NEIGHBOURS];
    (void)state;

    dw_layout_default(&h, "DW-0001", "fw", 10);
    assert_string_equal(h.device_id, "DW-0001");
    assert_int_equal(h.n_zones, 16);
    assert_int_equal(h.n_ambient, 2);
    for (unsigned z = 0; z < h.n_zones; z++) {
        const struct dw_zone_desc *d = &h.zone[z];
        /* zone = side*8 + quadrant*2 + ring */
        assert_int_equal(z, d->side * 8u + d->quadrant * 2u + d->ring);
        /* a mirror on the other side, same place, and back */
        const struct dw_zone_desc *m = &h.zone[d->mirror];
        assert_int_not_equal(m->side, d->side);
        assert_int_equal(m->quadrant, d->quadrant);
        assert_int_equal(m->ring, d->ring);
        assert_int_equal(m->mirror, z);
        /* at least two neighbours on its own side, each one listing z back */
        unsigned n = dw_layout_neighbours(&h, z, nb);
        assert_true(n >= 2 && n <= DW_MAX_NEIGHBOURS);
        assert_int_equal(n, 3);
        for (unsigned i = 0; i < n; i++) {
            unsigned back[DW_MAX_NEIGHBOURS], bn, found = 0;
            assert_int_not_equal(nb[i], z);
            assert_int_equal(h.zone[nb[i]].side, d->side);
            for (unsigned k = 0; k < i; k++)
                assert_int_not_equal(nb[k], nb[i]);
            bn = dw_layout_neighbours(&h, nb[i], back);
            for (unsigned k = 0; k < bn; k++)
                found |= back[k] == z;
            assert_true(found);
        }
        /* band flags: outer ring of upper-outer, lower-inner, lower-outer */
        int band = d->ring == DW_RING_OUTER && d->quadrant != DW_Q_UPPER_INNER;
        assert_int_equal(!!(d->flags & DW_ZF_BAND), band);
    }
    /* the table of docs/protocol.md §8 */
    unsigned n = dw_layout_neighbours(&h, 0, nb);
    assert_int_equal(n, 3);
    assert_int_equal(nb[0], 1);
    assert_int_equal(nb[1], 2);
    assert_int_equal(nb[2], 6);
    n = dw_layout_neighbours(&h, 13, nb);
    assert_int_equal(nb[0], 12);
    assert_int_equal(nb[1], 15);
    assert_int_equal(nb[2], 11);
    dw_zone_name(&h, 0, name, sizeof(name));
    assert_string_equal(name, "left upper-outer inner");
    dw_zone_name(&h, 5, name, sizeof(name));
    assert_string_equal(name, "left lower-inner outer");
    dw_zone_name(&h, 15, name, sizeof(name));
    assert_string_equal(name, "right lower-outer outer");
    assert_string_equal(dw_quadrant_name(9), "?");
    assert_string_equal(dw_ring_name(2), "?");
}

/* A layout with missing zones: neighbours that do not exist are skipped,
 * a zone alone on its ring has only its other-ring neighbour. */
static void test_layout_sparse(void **state)
{
    struct dw_hello h;
    unsigned nb[DW_MAX_NEIGHBOURS];
    (void)state;
    memset(&h, 0, sizeof(h));
    h.n_zones = 4;
    /* left: upper-outer inner/outer, lower-inner inner; right: upper-outer inner */
    h.zone[0] = (struct dw_zone_desc){ 0, 0, 0, 3, 0 };
    h.zone[1] = (struct dw_zone_desc){ 0, 0, 1, 3, 0 };
    h.zone[2] = (struct dw_zone_desc){ 0, 2, 0, 3, 0 };
    h.zone[3] = (struct dw_zone_desc){ 1, 0, 0, 0, 0 };
    assert_int_equal(dw_layout_neighbours(&h, 0, nb), 1);
    assert_int_equal(nb[0], 1);
    assert_int_equal(dw_layout_neighbours(&h, 2, nb), 0);
    assert_int_equal(dw_layout_neighbours(&h, 3, nb), 0);
}

static void test_layout_scaling(void **state)
{
    struct dw_hello h;
    struct dw_sample s = { .n_zones = 16 };
    (void)state;
    dw_layout_default(&h, "x", "", 10);
    s.temp[5] = 3712;
    s.temp[6] = -500;
    s.pressure[9] = 65535;
    s.ambient[1] = 2475;
    s.accel[2] = -1002;
    assert_float_equal(dw_sample_temp_c(&h, &s, 5), 37.12, 1e-9);
    assert_float_equal(dw_sample_temp_c(&h, &s, 6), -5.0, 1e-9);
    assert_float_equal(dw_sample_pressure_kpa(&h, &s, 9), 65.535, 1e-9);
    assert_float_equal(dw_sample_ambient_c(&h, &s, 1), 24.75, 1e-9);
    assert_float_equal(dw_sample_accel_g(&h, &s, 2), -1.002, 1e-9);
    h.temp_scale = 0xffffffffu;
    s.temp[0] = 32767;
    assert_float_equal(dw_sample_temp_c(&h, &s, 0), 32767 * 4294.967295, 1e-3);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_layout_default),
    cmocka_unit_test(test_layout_sparse),
    cmocka_unit_test(test_layout_scaling),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
