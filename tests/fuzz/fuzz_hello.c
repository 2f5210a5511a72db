/* Fuzz target for a garment's HELLO as the rest of the code uses it: the
 * input is a HELLO payload; when dw_hello_parse accepts it, every zone's
 * neighbours and name are computed on it (the detector and the live view
 * do, for any layout a garment announces), and the bytes after it are
 * tried as a SAMPLE of that layout with its physical values.
 *
 * Checks besides memory safety: neighbours are at most DW_MAX_NEIGHBOURS,
 * distinct, other zones of the same side; a zone name is a terminated
 * string that fits; a HELLO packs back to the same bytes. fuzz_frame.c
 * covers the decoder and the parsers alone. Plain replay main():
 * fuzz_replay.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dw_hello h;
    struct dw_sample s;
    uint8_t re[DW_MAX_PAYLOAD];
    size_t hl;

    if (size > 2 * DW_MAX_PAYLOAD)
        return 0;
    /* The first two bytes say where the HELLO ends and the SAMPLE begins,
     * so one input can hold both. */
    if (size < 2)
        return 0;
    hl = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2;
    size -= 2;
    if (hl > size)
        hl = size;
    if (dw_hello_parse(data, hl, &h) < 0)
        return 0;
    CHECK(h.n_zones >= 1 && h.n_zones <= DW_MAX_ZONES);
    CHECK(dw_hello_pack(&h, re, sizeof(re)) == (ssize_t)hl && !memcmp(re, data, hl));
    for (unsigned z = 0; z < h.n_zones; z++) {
        unsigned nb[DW_MAX_NEIGHBOURS];
        char name[64], tiny[6];
        unsigned n = dw_layout_neighbours(&h, z, nb);
        CHECK(n <= DW_MAX_NEIGHBOURS);
        for (unsigned i = 0; i < n; i++) {
            CHECK(nb[i] < h.n_zones && nb[i] != z);
            CHECK(h.zone[nb[i]].side == h.zone[z].side);
            for (unsigned k = 0; k < i; k++)
                CHECK(nb[k] != nb[i]);
        }
        dw_zone_name(&h, z, name, sizeof(name));
        CHECK(memchr(name, 0, sizeof(name)) && name[0]);
        dw_zone_name(&h, z, tiny, sizeof(tiny));
        CHECK(memchr(tiny, 0, sizeof(tiny)));
        CHECK(h.zone[z].mirror < h.n_zones);
    }
    if (dw_sample_parse(data + hl, size - hl, &s) == 0 && s.n_zones == h.n_zones) {
        for (unsigned z = 0; z < h.n_zones; z++)
            CHECK(isfinite(dw_sample_temp_c(&h, &s, z)) && isfinite(dw_sample_pressure_kpa(&h, &s, z)));
        for (unsigned i = 0; i < DW_N_AMBIENT; i++)
            CHECK(isfinite(dw_sample_ambient_c(&h, &s, i)));
        for (unsigned a = 0; a < 3; a++)
            CHECK(isfinite(dw_sample_accel_g(&h, &s, a)));
    }
    return 0;
}
