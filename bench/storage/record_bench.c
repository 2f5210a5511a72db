/* Recording throughput: frame.<dev> bodies into an HDF5 session through
 * the storage module's session writer (SWMR, the same code ductwatch-record
 * runs), against plain sequential write() of the same bytes with the same
 * flush cadence, both ending in fsync. The file size after --frames rows
 * gives the bytes on disk per wear-day. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "benchutil.h"
#include "cli.h"
#include "dwtime.h"
#include "frame.h"
#include "log.h"
#include "msg.h"
#include "session_writer.h"

static const char *prog = "record-bench";

struct opts {
    uint64_t frames, rate, flush_every, stats_every, chunk_rows;
    const char *dir, *input;
    bool keep;
};

/* A garment's recorded bytes (--input): its HELLO and its SAMPLE frames. */
struct sample_in {
    uint32_t seq;
    uint64_t t_device_us;
    uint16_t len;
    uint8_t payload[DW_MAX_PAYLOAD];
};
static struct {
    uint8_t hello[DW_MAX_PAYLOAD];
    size_t hello_len;
    struct sample_in *s;
    size_t n, cap;
    int failed;
} in;

static void on_frame(const struct dw_frame *f, void *user)
{
    (void)user;
    if (f->type == DW_FRAME_HELLO && !in.hello_len) {
        memcpy(in.hello, f->payload, f->len);
        in.hello_len = f->len;
    } else if (f->type == DW_FRAME_SAMPLE && in.hello_len) {
        if (in.n == in.cap) {
            size_t nc = in.cap ? in.cap * 2 : 4096;
            struct sample_in *ns = realloc(in.s, nc * sizeof(*ns));
            if (!ns) {
                in.failed = 1;
                return;
            }
            in.s = ns;
            in.cap = nc;
        }
        struct sample_in *x = &in.s[in.n++];
        x->seq = f->seq;
        x->t_device_us = f->t_device_us;
        x->len = f->len;
        memcpy(x->payload, f->payload, f->len);
    }
}

static int load_input(const char *path)
{
    struct dw_decoder d;
    uint8_t buf[65536];
    ssize_t r;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        dw_err("%s: %s", path, strerror(errno));
        return -1;
    }
    dw_decoder_init(&d, on_frame, NULL);
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        dw_decoder_feed(&d, buf, (size_t)r);
    close(fd);
    if (r < 0 || in.failed || !in.hello_len || !in.n) {
        dw_err("%s: %s", path, r < 0 ? strerror(errno) : in.failed ? "out of memory"
               : "no HELLO and SAMPLE frames in it");
        return -1;
    }
    return 0;
}

static void usage(void)
{
    printf(
"Usage: %s --dir DIR [options]\n"
"Writes N frame.<dev> bodies (16-zone SAMPLEs of one device at HZ) into an\n"
"HDF5 session with ductwatch's session writer, then the same bytes with\n"
"write(), and compares. Both files are removed afterwards.\n"
"\n"
"      --dir DIR          where the two files go (required)\n"
"      --frames N         SAMPLE rows (default 864000: a wear-day at 10 Hz)\n"
"      --rate HZ          the garment's rate in its HELLO (default 10)\n"
"      --flush-every N    flush (H5Fflush / write()) every N rows (default HZ:\n"
"                         once a device-second, as live recording does)\n"
"      --stats-every N    one /stats row every N rows (default 2*HZ: acquire\n"
"                         publishes stats every 2 s)\n"
"      --keep             keep the HDF5 file (its path is printed)\n"
"      --chunk-rows N     rows per /frames chunk (default: the recorder's, 30 s\n"
"                         of samples)\n"
"      --input FILE       a garment's bytes instead of synthetic samples (e.g.\n"
"                         ductwatch-sim --out FILE): its HELLO and SAMPLEs;\n"
"                         --frames defaults to all of them, --rate to the HELLO's\n"
"  -h, --help             this text\n"
"  -V, --version          print the version\n", prog);
}

static size_t body_for(uint64_t i, uint8_t *body, size_t cap)
{
    uint8_t p[DW_MAX_PAYLOAD];
    ssize_t pl = in.n ? in.s[i].len : dw_bench_sample_payload(i, 0, p, sizeof(p));
    uint64_t t_us = in.n ? in.s[i].t_device_us : 1000000 + i * 100000;
    struct dw_msg_frame m = {
        .version = DW_MSG_VERSION, .type = DW_FRAME_SAMPLE, .len = (uint16_t)pl,
        .device_seq = in.n ? in.s[i].seq : (uint32_t)i, .seq = i + 1, .stream = 1,
        .t_device_us = t_us, .t_host_ns = 1800000000000000000ull + t_us * 1000,
        .payload = in.n ? in.s[i].payload : p,
    };
    ssize_t n = pl < 0 ? pl : dw_msg_frame_pack(&m, body, cap);
    return n < 0 ? 0 : (size_t)n;
}

static int run_hdf5(const struct opts *o, const char *path, double *secs, uint64_t *bytes_in)
{
    uint8_t hello[DW_MAX_PAYLOAD], body[DW_MSG_FRAME_HDR + DW_MAX_PAYLOAD];
    char err[512];
    struct dw_session_writer *w = NULL;
    ssize_t hl = in.n ? (ssize_t)in.hello_len
                      : dw_bench_hello_payload("bench0001", (unsigned)o->rate, hello, sizeof(hello));
    if (in.n)
        memcpy(hello, in.hello, in.hello_len);
    struct dw_session_start st = {
        .path = path, .hello = hello, .hello_len = (size_t)hl,
        .t_host_ns = 1800000000000000000ull, .t_device_us = 1000000, .stream = 1,
        .reason = "first-hello", .chunk_rows = (unsigned)o->chunk_rows,
    };
    uint64_t t0 = dw_now_monotonic_ns();
    if (hl < 0 || dw_session_writer_create(&w, &st, err, sizeof(err)) < 0) {
        dw_err("%s", hl < 0 ? "hello" : err);
        return -1;
    }
    *bytes_in = 0;
    for (uint64_t i = 0; i < o->frames; i++) {
        size_t n = body_for(i, body, sizeof(body));
        struct dw_msg_frame m;
        if (!n || dw_msg_frame_parse(body, n, &m) < 0 || dw_session_writer_frame(w, &m) < 0)
            break;
        *bytes_in += n;
        if (o->stats_every && (i + 1) % o->stats_every == 0) {
            struct dw_row_stats r = { .t_host_ns = m.t_host_ns, .t_device_us = m.t_device_us,
                                      .seq = m.seq, .frames = i + 1, .link_up = 1 };
            dw_session_strset(r.source, sizeof(r.source), "acquire");
            dw_session_writer_stats(w, &r);
        }
        if ((i + 1) % o->flush_every == 0)
            dw_session_writer_flush(w);
    }
    int rc = dw_session_writer_close(w, NULL, err, sizeof(err));
    *secs = (double)(dw_now_monotonic_ns() - t0) * 1e-9;
    if (rc < 0)
        dw_err("%s", err);
    return rc;
}

static int run_write(const struct opts *o, const char *path, double *secs)
{
    uint8_t *buf = malloc(o->flush_every * (DW_MSG_FRAME_HDR + DW_MAX_PAYLOAD));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600), rc = 0;
    size_t fill = 0;
    uint64_t t0 = dw_now_monotonic_ns();
    if (fd < 0 || !buf) {
        dw_err("%s: %s", path, strerror(errno));
        free(buf);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (uint64_t i = 0; i < o->frames && rc == 0; i++) {
        fill += body_for(i, buf + fill, DW_MSG_FRAME_HDR + DW_MAX_PAYLOAD);
        if ((i + 1) % o->flush_every == 0 || i + 1 == o->frames) {
            if (write(fd, buf, fill) != (ssize_t)fill)
                rc = -1;
            fill = 0;
        }
    }
    if (rc < 0 || fsync(fd) < 0) {
        dw_err("%s: %s", path, strerror(errno));
        rc = -1;
    }
    close(fd);
    *secs = (double)(dw_now_monotonic_ns() - t0) * 1e-9;
    free(buf);
    return rc;
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) < 0 ? -1 : (long long)sb.st_size;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    const struct dw_bench_opt opts[] = {
        DW_BENCH_OPT_STR("dir", &o->dir),
        DW_BENCH_OPT_U64("frames", &o->frames, 1, UINT32_MAX),
        DW_BENCH_OPT_U64("rate", &o->rate, 1, 1000),
        DW_BENCH_OPT_U64("flush-every", &o->flush_every, 1, 1000000),
        DW_BENCH_OPT_U64("stats-every", &o->stats_every, 0, UINT32_MAX),
        DW_BENCH_OPT_STR("input", &o->input),
        DW_BENCH_OPT_FLAG("keep", &o->keep),
        DW_BENCH_OPT_U64("chunk-rows", &o->chunk_rows, 16, 8192),
        { 0 },
    };

    dw_bench_parse_args(prog, argc, argv, opts, usage);
    if (!o->dir)
        dw_usage_error(prog, "--dir is required");
}

/* --input sets the rate and caps the frames; the other defaults follow the
 * rate. -1 when the input cannot be read. */
static int settle_options(struct opts *o)
{
    if (o->input) {
        struct dw_hello h;
        if (load_input(o->input) < 0 || dw_hello_parse(in.hello, in.hello_len, &h) < 0)
            return -1;
        if (o->rate && o->rate != h.sample_rate_hz)
            dw_usage_error(prog, "--rate %" PRIu64 " but %s is at %u Hz", o->rate, o->input,
                           (unsigned)h.sample_rate_hz);
        o->rate = h.sample_rate_hz;
        if (!o->frames || o->frames > in.n)
            o->frames = in.n;
    }
    if (!o->rate)
        o->rate = 10;
    if (!o->frames)
        o->frames = 864000;
    if (!o->flush_every)
        o->flush_every = o->rate;
    if (o->stats_every == UINT64_MAX)
        o->stats_every = 2 * o->rate;
    return 0;
}

static void report(const struct opts *o, double t_h5, double t_raw, uint64_t bytes_in,
                   long long h5_size, long long raw_size)
{
    double fps = (double)o->frames / t_h5, fps_raw = (double)o->frames / t_raw;
    double day = (double)h5_size * (86400.0 * (double)o->rate / (double)o->frames);
    printf("hdf5: %" PRIu64 " frames in %.3f s: %.0f frames/s, %.2f MB/s of message bytes;"
           " file %lld B (%.1f B/frame)\n", o->frames, t_h5, fps, (double)bytes_in / t_h5 / 1e6,
           h5_size, (double)h5_size / (double)o->frames);
    printf("write(): %.3f s: %.0f frames/s, %.2f MB/s; file %lld B\n", t_raw, fps_raw,
           (double)bytes_in / t_raw / 1e6, raw_size);
    printf("ratio hdf5/write(): %.4f; bytes on disk per wear-day at %" PRIu64 " Hz: %.1f MB\n",
           fps / fps_raw, o->rate, day / 1e6);
    dw_bench_result("\"bench\":\"record\",\"frames\":%" PRIu64 ",\"flush_every\":%" PRIu64
                    ",\"hdf5_s\":%.4f,\"write_s\":%.4f,\"hdf5_fps\":%.0f,\"write_fps\":%.0f,"
                    "\"hdf5_Bps\":%.0f,\"write_Bps\":%.0f,\"h5_bytes\":%lld,\"raw_bytes\":%lld,"
                    "\"day_bytes\":%.0f",
                    o->frames, o->flush_every, t_h5, t_raw, fps, fps_raw,
                    (double)bytes_in / t_h5, (double)bytes_in / t_raw, h5_size, raw_size, day);
}

int main(int argc, char **argv)
{
    struct opts o = { .frames = 0, .rate = 0, .stats_every = UINT64_MAX };
    dw_log_init(prog);
    parse_args(argc, argv, &o);
    if (settle_options(&o) < 0)
        return DW_EXIT_FAILURE;

    char h5[4096], raw[4096];
    snprintf(h5, sizeof(h5), "%s/record-bench-%d.h5", o.dir, (int)getpid());
    snprintf(raw, sizeof(raw), "%s/record-bench-%d.raw", o.dir, (int)getpid());
    double t_h5 = 0, t_raw = 0;
    uint64_t bytes_in = 0;
    int rc = run_hdf5(&o, h5, &t_h5, &bytes_in);
    long long h5_size = file_size(h5);
    if (rc == 0)
        rc = run_write(&o, raw, &t_raw);
    long long raw_size = file_size(raw);
    if (o.keep)
        printf("kept: %s\n", h5);
    else
        unlink(h5);
    unlink(raw);
    if (rc < 0)
        return DW_EXIT_FAILURE;
    report(&o, t_h5, t_raw, bytes_in, h5_size, raw_size);
    return DW_EXIT_OK;
}
