/* Reads a garment byte stream (a file) with common/'s decoder and writes what
 * the scenario tests measure, in blocks of N samples (default 600 = one
 * minute at 10 Hz):
 *   stdout: {"hello":{...}} first, then one JSON line per EVENT frame, then
 *           {"stats":{...}} with the decoder's counters and frames by type;
 *   OUT:    one row of doubles per block: t_s (first sample), then per zone
 *           temp mean, temp max-min, pressure mean, pressure max-min (all
 *           zones of one quantity together), ambient means (2), accel means
 *           (3), the standard deviation of |accel|, and the samples in the block.
 * Usage: simframes STREAM OUT [N] */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "layout.h"

struct acc {
    struct dw_hello h;
    bool have_hello;
    FILE *out;
    unsigned every, n;
    uint64_t t0;
    double tsum[DW_MAX_ZONES], tmin[DW_MAX_ZONES], tmax[DW_MAX_ZONES];
    double psum[DW_MAX_ZONES], pmin[DW_MAX_ZONES], pmax[DW_MAX_ZONES];
    double amb[2], accel[3], amag, amag2;
    uint64_t by_type[6];
};

static void flush_block(struct acc *a)
{
    unsigned z, nz = a->h.n_zones;
    double row[4 * DW_MAX_ZONES + 8];
    size_t k = 0;
    if (!a->n)
        return;
    row[k++] = (double)a->t0 / 1e6;
    for (z = 0; z < nz; z++) row[k++] = a->tsum[z] / a->n;
    for (z = 0; z < nz; z++) row[k++] = a->tmax[z] - a->tmin[z];
    for (z = 0; z < nz; z++) row[k++] = a->psum[z] / a->n;
    for (z = 0; z < nz; z++) row[k++] = a->pmax[z] - a->pmin[z];
    for (z = 0; z < 2; z++) row[k++] = a->amb[z] / a->n;
    for (z = 0; z < 3; z++) row[k++] = a->accel[z] / a->n;
    row[k++] = sqrt(fmax(0, a->amag2 / a->n - (a->amag / a->n) * (a->amag / a->n)));
    row[k++] = a->n;
    fwrite(row, sizeof(double), k, a->out);
    a->n = 0;
}

static void on_frame(const struct dw_frame *f, void *user)
{
    struct acc *a = user;
    struct dw_sample s;
    struct dw_event e;
    if (f->type < 6)
        a->by_type[f->type]++;
    if (f->type == DW_FRAME_HELLO && dw_hello_parse(f->payload, f->len, &a->h) == 0) {
        if (!a->have_hello)
            printf("{\"hello\":{\"device_id\":\"%s\",\"rate\":%u,\"zones\":%u,\"seq\":%" PRIu32 "}}\n",
                   a->h.device_id, a->h.sample_rate_hz, a->h.n_zones, f->seq);
        a->have_hello = true;
    } else if (f->type == DW_FRAME_EVENT && dw_event_parse(f->payload, f->len, &e) == 0) {
        printf("{\"event\":\"%s\",\"side\":\"%s\",\"value\":%.3f,\"t_us\":%" PRIu64 ",\"seq\":%" PRIu32 "}\n",
               dw_event_kind_name(e.kind), dw_side_name(e.side), e.value / 1000.0, f->t_device_us, f->seq);
    } else if (f->type == DW_FRAME_SAMPLE && a->have_hello &&
               dw_sample_parse(f->payload, f->len, &s) == 0) {
        double mag = 0;
        if (!a->n) {
            a->t0 = f->t_device_us;
            for (unsigned z = 0; z < a->h.n_zones; z++) {
                a->tsum[z] = a->psum[z] = 0;
                a->tmin[z] = a->pmin[z] = 1e9;
                a->tmax[z] = a->pmax[z] = -1e9;
            }
            memset(a->amb, 0, sizeof(a->amb));
            memset(a->accel, 0, sizeof(a->accel));
            a->amag = a->amag2 = 0;
        }
        for (unsigned z = 0; z < a->h.n_zones; z++) {
            double t = dw_sample_temp_c(&a->h, &s, z), p = dw_sample_pressure_kpa(&a->h, &s, z);
            a->tsum[z] += t;
            a->tmin[z] = fmin(a->tmin[z], t);
            a->tmax[z] = fmax(a->tmax[z], t);
            a->psum[z] += p;
            a->pmin[z] = fmin(a->pmin[z], p);
            a->pmax[z] = fmax(a->pmax[z], p);
        }
        for (unsigned i = 0; i < 2; i++)
            a->amb[i] += dw_sample_ambient_c(&a->h, &s, i);
        for (unsigned i = 0; i < 3; i++) {
            double g = dw_sample_accel_g(&a->h, &s, i);
            a->accel[i] += g;
            mag += g * g;
        }
        mag = sqrt(mag);
        a->amag += mag;
        a->amag2 += mag * mag;
        if (++a->n == a->every)
            flush_block(a);
    }
}

int main(int argc, char **argv)
{
    static struct acc a;
    static struct dw_decoder d;
    uint8_t buf[65536];
    size_t n;
    FILE *in;
    if (argc < 3) {
        fprintf(stderr, "usage: simframes STREAM OUT [N]\n");
        return 2;
    }
    in = fopen(argv[1], "rb");
    a.out = fopen(argv[2], "wb");
    a.every = argc > 3 ? (unsigned)atoi(argv[3]) : 600;
    if (!in || !a.out || !a.every) {
        perror("simframes");
        return 1;
    }
    dw_decoder_init(&d, on_frame, &a);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        dw_decoder_feed(&d, buf, n);
    flush_block(&a);
    printf("{\"stats\":{\"bytes\":%" PRIu64 ",\"frames\":%" PRIu64 ",\"crc_errors\":%" PRIu64
           ",\"length_errors\":%" PRIu64 ",\"cobs_errors\":%" PRIu64 ",\"version_errors\":%" PRIu64
           ",\"hello\":%" PRIu64 ",\"sample\":%" PRIu64 ",\"event\":%" PRIu64 ",\"status\":%" PRIu64 "}}\n",
           d.st.bytes, d.st.frames, d.st.crc_errors, d.st.length_errors, d.st.cobs_errors,
           d.st.version_errors, a.by_type[1], a.by_type[2], a.by_type[3], a.by_type[4]);
    fclose(in);
    return fclose(a.out) ? 1 : 0;
}
