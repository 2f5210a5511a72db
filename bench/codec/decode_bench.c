/* Frame decoding throughput (COBS + CRC-32C + SAMPLE unpack) as a ratio to
 * memcpy of the same bytes, both measured in this run on this machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "benchutil.h"
#include "cli.h"
#include "crc32c.h"
#include "dwtime.h"
#include "frame.h"
#include "layout.h"

struct sink {
    uint64_t frames;
    int64_t checksum;
};

static void on_frame(const struct dw_frame *f, void *user)
{
    struct sink *s = user;
    struct dw_sample smp;
    if (f->type == DW_FRAME_SAMPLE && dw_sample_parse(f->payload, f->len, &smp) == 0) {
        s->frames++;
        s->checksum += smp.temp[0];
    }
}

static int reps = 5;

static double best_of(int n, double (*fn)(void *), void *arg)
{
    double best = 1e30;
    for (int i = 0; i < n; i++) {
        double t = fn(arg);
        if (t < best)
            best = t;
    }
    return best;
}

struct job {
    uint8_t *wire;
    size_t len;
    uint8_t *copy;
    size_t nframes;
    struct sink sink;
};

static double run_decode(void *arg)
{
    struct job *j = arg;
    struct dw_decoder *d = malloc(sizeof(*d));
    uint64_t t0 = dw_now_monotonic_ns();
    j->sink = (struct sink){ 0 };
    dw_decoder_init(d, on_frame, &j->sink);
    /* Feed in serial-read-sized pieces, as acquisition does. */
    for (size_t off = 0; off < j->len; off += 4096) {
        size_t n = j->len - off < 4096 ? j->len - off : 4096;
        dw_decoder_feed(d, j->wire + off, n);
    }
    double dt = (dw_now_monotonic_ns() - t0) * 1e-9;
    free(d);
    return dt;
}

static double run_memcpy(void *arg)
{
    struct job *j = arg;
    uint64_t t0 = dw_now_monotonic_ns();
    for (size_t off = 0; off < j->len; off += 4096) {
        size_t n = j->len - off < 4096 ? j->len - off : 4096;
        memcpy(j->copy + off, j->wire + off, n);
    }
    __asm__ volatile("" ::"r"(j->copy) : "memory");
    return (dw_now_monotonic_ns() - t0) * 1e-9;
}

static volatile uint32_t crc_sink;

static double run_crc(void *arg, uint32_t (*fn)(uint32_t, const void *, size_t))
{
    struct job *j = arg;
    uint64_t t0 = dw_now_monotonic_ns();
    uint32_t c = 0;
    for (size_t off = 0; off < j->len; off += 4096)
        c ^= fn(0, j->wire + off, j->len - off < 4096 ? j->len - off : 4096);
    crc_sink = c;
    return (dw_now_monotonic_ns() - t0) * 1e-9;
}

static double run_crc_table(void *arg) { return run_crc(arg, dw_crc32c_update_table); }
static double run_crc_chosen(void *arg) { return run_crc(arg, dw_crc32c_update); }

/* CRC-32C alone over the same bytes: the table code against the form the
 * decoder uses on this CPU (the instruction where there is one). */
static void report_crc(struct job *j, double mbps_cpy)
{
    double t_tab = best_of(reps, run_crc_table, j), t_hw = best_of(reps, run_crc_chosen, j);
    printf("crc32c %s: %.1f MB/s, table: %.1f MB/s, ratio %s/table: %.2f, %s/memcpy: %.4f\n",
           dw_crc32c_impl(), j->len / t_hw / 1e6, j->len / t_tab / 1e6, dw_crc32c_impl(),
           t_tab / t_hw, dw_crc32c_impl(), j->len / t_hw / 1e6 / mbps_cpy);
}

static const char *prog = "decode_bench";

static void usage(void)
{
    printf(
"Usage: %s [--frames N] [--reps N]\n"
"Decodes N 16-zone SAMPLE wire frames (default 200000), fed in 4096-byte\n"
"reads, and copies the same bytes with memcpy; best of 5 each. Prints both\n"
"rates, their ratio and a 'json:' line.\n"
"\n"
"      --frames N   frames to decode (default 200000)\n"
"      --reps N     best of N instead of 5 (on a busy machine: a small\n"
"                   --frames, which stays in the cache, and many reps)\n"
"  -h, --help       this text\n"
"  -V, --version    print the version\n", prog);
}

int main(int argc, char **argv)
{
    uint64_t frames = 200000, n_reps = 5;
    const struct dw_bench_opt opts[] = {
        DW_BENCH_OPT_U64("frames", &frames, 1, 10000000),
        DW_BENCH_OPT_U64("reps", &n_reps, 1, 100000),
        { 0 },
    };

    dw_bench_parse_args(prog, argc, argv, opts, usage);
    reps = (int)n_reps;
    size_t nframes = (size_t)frames;
    struct dw_hello h;
    struct dw_sample s = { .n_zones = DW_DEFAULT_ZONES };
    uint8_t payload[DW_MAX_PAYLOAD];
    struct job j = { 0 };

    dw_layout_default(&h, "bench", "0", 10);
    /* A 16-zone SAMPLE is about 112 bytes on the wire, under DW_MAX_WIRE / 8. */
    j.wire = malloc(nframes * (DW_MAX_WIRE / 8) + DW_MAX_WIRE);
    if (!j.wire) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    for (size_t i = 0; i < nframes; i++) {
        for (unsigned z = 0; z < s.n_zones; z++) {
            s.temp[z] = (int16_t)(3400 + (i * 7 + z * 13) % 150);
            s.pressure[z] = (uint16_t)(800 + (i * 3 + z) % 400);
        }
        ssize_t pl = dw_sample_pack(&s, payload, sizeof(payload));
        ssize_t n = dw_frame_encode(DW_FRAME_SAMPLE, (uint32_t)i, i * 100000, payload,
                                    (size_t)pl, j.wire + j.len, DW_MAX_WIRE);
        if (n < 0)
            return 1;
        j.len += (size_t)n;
    }
    j.copy = malloc(j.len);
    j.nframes = nframes;

    const char *hw = dw_crc32c_impl();
    dw_crc32c_select("table");
    double t_dec_table = best_of(reps, run_decode, &j);
    dw_crc32c_select(hw);
    double t_dec = best_of(reps, run_decode, &j);
    if (j.sink.frames != nframes) {
        fprintf(stderr, "decoded %llu of %zu frames\n", (unsigned long long)j.sink.frames, nframes);
        return 1;
    }
    double t_cpy = best_of(reps, run_memcpy, &j);
    double fps = nframes / t_dec, mbps_dec = j.len / t_dec / 1e6, mbps_cpy = j.len / t_cpy / 1e6;
    printf("decode: %zu frames, %zu bytes (%.1f B/frame)\n", nframes, j.len, (double)j.len / nframes);
    printf("decode: %.0f frames/s, %.1f MB/s\n", fps, mbps_dec);
    printf("memcpy baseline: %.1f MB/s\n", mbps_cpy);
    printf("ratio decode/memcpy: %.4f\n", mbps_dec / mbps_cpy);
    report_crc(&j, mbps_cpy);
    printf("decode with %s CRC / with the table CRC: %.2f\n", hw, t_dec_table / t_dec);
    printf("frames/s per 10 Hz garment: %.0f garments' worth\n", fps / 10.0);
    dw_bench_result("\"bench\":\"decode\",\"frames\":%zu,\"bytes\":%zu,\"frames_per_s\":%.0f,"
                    "\"decode_MBps\":%.1f,\"memcpy_MBps\":%.1f", nframes, j.len, fps, mbps_dec,
                    mbps_cpy);
    free(j.wire);
    free(j.copy);
    return 0;
}
