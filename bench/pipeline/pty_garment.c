/* A garment on a pseudo-terminal for the end-to-end and latency
 * benchmarks. It writes HELLO and then SAMPLE frames at --rate (paced in
 * 1 ms batches, blocking writes: if acquisition does not keep up, the pty
 * fills and the achieved rate falls short, which is what "not sustained"
 * means here). With --frames-sub/--alerts-sub it also subscribes to
 * acquisition and detection and measures, per device sequence, the time
 * from write() to the frame.<dev> message arriving, and, for thermometer
 * EVENT frames (--thermometer-every N: alternately 38.6 and 36.8 C, so the
 * G3 fever alert is raised and cleared again), from write() to the alert
 * arriving. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "benchutil.h"
#include "cli.h"
#include "dwtime.h"
#include "endpoint.h"
#include "frame.h"
#include "garment_link.h"
#include "log.h"
#include "msg.h"

static const char *prog = "pty-garment";
static volatile sig_atomic_t stop;

struct garment {
    /* options */
    double rate;
    uint64_t frames, thermo_every, linger_us, pause_after, pause_us;
    const char *frames_sub, *alerts_sub, *input;
    /* the pty, written in batches (sims/garment_link) */
    struct dw_garment_link link;
    /* sockets */
    void *ctx, *fsub, *asub;
    bool loopback;
    /* per device seq: write time (main thread) and receive time (receiver
     * thread); alerts as (device seq, receive time) pairs */
    uint64_t *t_write, *t_recv;
    uint64_t *alert_seq, *alert_recv, *alert_lat;
    size_t n_alerts, n_alert_lat, n_thermo;
    pthread_t rx;
    atomic_bool rx_stop;
    struct dw_decoder rx_dec;
    uint32_t dseq;
};

static void usage(void)
{
    printf(
"Usage: %s --rate HZ --frames N [options]\n"
"       %s --input FILE [--rate HZ] [options]\n"
"A garment on a pseudo-terminal for bench/run: prints 'pty: /dev/pts/N',\n"
"waits for acquisition's HELLO_REQUEST, writes HELLO and N-1 SAMPLE frames\n"
"at HZ, and reports the rate it achieved.\n"
"\n"
"      --rate HZ               frames per second (paced in 1 ms batches)\n"
"      --frames N              frames in all, HELLO included\n"
"      --thermometer-every K   every K-th frame is a thermometer EVENT,\n"
"                              alternately 38.6 and 36.8 C (G3 raised, cleared)\n"
"      --frames-sub EP         subscribe to acquisition: frame latency p50/p99\n"
"      --alerts-sub EP         subscribe to detection: alert latency p50/p99\n"
"      --input FILE            write this raw garment byte stream (for example\n"
"                              a synthgen or ductwatch-sim --out file) instead,\n"
"                              at --rate frames/s or as fast as it is read\n"
"      --pause-after N         with --input: after N frames, wait until they\n"
"                              were read, print 'paused: N', pause (--pause D,\n"
"                              default 3s), go on (a steady-state mark)\n"
"      --loopback              no acquisition: read the frames back from the\n"
"                              pty's other side here (the pty's own latency)\n"
"      --linger D              after the last write, keep the pty open until\n"
"                              acquisition read everything, then D more (1s)\n"
"  -h, --help                  this text\n"
"  -V, --version               print the version\n", prog, prog);
}

static void die(const char *what)
{
    dw_err("%s: %s", what, strerror(errno));
    exit(DW_EXIT_FAILURE);
}

static void flush_out(struct garment *g)
{
    if (dw_garment_link_flush(&g->link) < 0)
        exit(DW_EXIT_FAILURE);
}

static uint64_t device_time_us(const struct garment *g, uint32_t seq)
{
    return 1000000 + (uint64_t)((double)seq * 1e6 / g->rate);
}

static void emit(struct garment *g, uint8_t type, const uint8_t *payload, size_t len)
{
    uint8_t wire[DW_MAX_WIRE];
    ssize_t n = dw_frame_encode(type, g->dseq, device_time_us(g, g->dseq), payload, len,
                                wire, sizeof(wire));
    if (n < 0) {
        errno = (int)-n;
        die("encode");
    }
    if (dw_garment_link_put(&g->link, wire, (size_t)n) < 0)
        exit(DW_EXIT_FAILURE);
    g->dseq++;
}

static void emit_next(struct garment *g)
{
    uint8_t p[DW_MAX_PAYLOAD];
    ssize_t n;
    uint8_t type = DW_FRAME_SAMPLE;
    if (g->dseq == 0) {
        type = DW_FRAME_HELLO;
        n = dw_bench_hello_payload("bench0001", (unsigned)g->rate, p, sizeof(p));
    } else if (g->thermo_every && g->dseq % g->thermo_every == 0) {
        struct dw_event e = { .kind = DW_EV_THERMOMETER, .side = DW_SIDE_NONE,
                              .value = g->n_thermo++ % 2 ? 36800 : 38600 };
        type = DW_FRAME_EVENT;
        n = dw_event_pack(&e, p, sizeof(p));
    } else {
        n = dw_bench_sample_payload(g->dseq, 0, p, sizeof(p));
    }
    if (n < 0) {
        errno = (int)-n;
        die("payload");
    }
    emit(g, type, p, (size_t)n);
}

static void *subscribe(struct garment *g, const char *ep, const char *prefix)
{
    void *s = dw_zmq_socket(g->ctx, ZMQ_SUB);
    int zero = 0;
    if (!s)
        die("zmq socket");
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof(zero));
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, prefix, strlen(prefix));
    if (zmq_connect(s, ep) < 0) {
        dw_err("connect %s: %s", ep, zmq_strerror(zmq_errno()));
        exit(DW_EXIT_FAILURE);
    }
    return s;
}

static void on_alert(struct garment *g, const char *json, size_t len, uint64_t now)
{
    cJSON *j = cJSON_ParseWithLength(json, len);
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(j, "rule");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "t_device_us");
    /* Only this program's own thermometer frames have a known write time. */
    if (!g->input && cJSON_IsString(rule) && rule->valuestring[0] == 'G' && cJSON_IsNumber(t)) {
        /* device time -> the device seq of the thermometer frame */
        double seq = ((double)t->valuedouble - 1e6) * g->rate / 1e6;
        if (seq >= 0 && seq < (double)g->frames && g->n_alerts < g->frames) {
            g->alert_seq[g->n_alerts] = (uint64_t)(seq + 0.5);
            g->alert_recv[g->n_alerts++] = now;
        }
    }
    cJSON_Delete(j);
}

static void on_loopback_frame(const struct dw_frame *f, void *user)
{
    struct garment *g = user;
    if (f->seq < g->frames && !g->t_recv[f->seq])
        g->t_recv[f->seq] = dw_now_monotonic_ns();
}

/* The receiver thread: stamps what arrives on the subscriptions (or, with
 * --loopback, on the pty's own slave side) the moment it arrives, while the
 * main thread sleeps between paced writes. */
static void *receiver(void *arg)
{
    struct garment *g = arg;
    zmq_pollitem_t items[2];
    int n_pi = 0;
    if (g->loopback)
        items[n_pi++] = (zmq_pollitem_t){ NULL, g->link.pty_slave, ZMQ_POLLIN, 0 };
    if (g->fsub)
        items[n_pi++] = (zmq_pollitem_t){ g->fsub, 0, ZMQ_POLLIN, 0 };
    if (g->asub)
        items[n_pi++] = (zmq_pollitem_t){ g->asub, 0, ZMQ_POLLIN, 0 };
    while (!atomic_load(&g->rx_stop)) {
        if (zmq_poll(items, n_pi, 50) <= 0)
            continue;
        for (int i = 0; i < n_pi; i++) {
            if (!items[i].socket) {
                uint8_t buf[4096];
                ssize_t n = read(g->link.pty_slave, buf, sizeof(buf));
                if (n > 0)
                    dw_decoder_feed(&g->rx_dec, buf, (size_t)n);
                continue;
            }
            for (;;) {
                char topic[DW_TOPIC_MAX];
                uint8_t body[4096];
                if (zmq_recv(items[i].socket, topic, sizeof(topic), ZMQ_DONTWAIT) < 0)
                    break;
                int bl = zmq_recv(items[i].socket, body, sizeof(body) - 1, 0);
                uint64_t now = dw_now_monotonic_ns();
                if (bl < 0)
                    break;
                if (items[i].socket == g->fsub) {
                    struct dw_msg_frame m;
                    if (dw_msg_frame_parse(body, (size_t)bl, &m) == 0 &&
                        m.device_seq < g->frames && !g->t_recv[m.device_seq])
                        g->t_recv[m.device_seq] = now;
                } else {
                    on_alert(g, (const char *)body, (size_t)bl, now);
                }
            }
        }
    }
    return NULL;
}

static void sleep_ms(unsigned ms)
{
    dw_sleep_until_monotonic(dw_now_monotonic_ns() + (uint64_t)ms * 1000000ULL, &stop);
}

/* Until acquisition has read everything written so far (at most 30 s). */
static void wait_drained(struct garment *g)
{
    if (!g->loopback)
        dw_garment_link_drain(&g->link, 30000000000ULL);
}

static void count_frame(const struct dw_frame *f, void *user)
{
}

/* Copies a raw byte stream into the pty at the speed it is read; returns
 * the number of frames in it in g->dseq. */
static void write_file(struct garment *g)
{
    enum { BIG = 1 << 18 };
    FILE *f = fopen(g->input, "rb");
    size_t n;
    if (!f)
        die(g->input);
    struct dw_decoder *count = malloc(sizeof(*count));
    uint8_t *buf = malloc(BIG);
    if (!count || !buf)
        die("malloc");
    dw_decoder_init(count, count_frame, NULL);
    bool paused = !g->pause_after;
    /* Paced (--rate): small pieces, each written once its frames are due. */
    size_t piece = g->rate > 0 ? 8192 : BIG;
    uint64_t t0 = dw_now_monotonic_ns(), skipped = 0;
    while (!stop && (n = fread(buf, 1, piece, f)) > 0) {
        dw_decoder_feed(count, buf, n);
        if (g->rate > 0)
            dw_sleep_until_monotonic(t0 + skipped + (uint64_t)((double)count->st.frames * 1e9 / g->rate),
                                     &stop);
        if (dw_garment_link_write(&g->link, buf, n) < 0)
            exit(DW_EXIT_FAILURE);
        dw_garment_link_read_host(&g->link);
        if (!paused && count->st.frames >= g->pause_after) {
            wait_drained(g);
            printf("paused: %" PRIu64 "\n", count->st.frames);
            fflush(stdout);
            uint64_t p0 = dw_now_monotonic_ns();
            dw_sleep_until_monotonic(p0 + g->pause_us * 1000ULL, &stop);
            skipped += dw_now_monotonic_ns() - p0;
            paused = true;
        }
    }
    g->dseq = (uint32_t)count->st.frames + 1;
    free(count);
    free(buf);
    fclose(f);
}

static void report(struct garment *g, double elapsed)
{
    for (size_t i = 0; i < g->n_alerts; i++) {
        uint64_t w = g->t_write[g->alert_seq[i]];
        if (w && g->alert_recv[i] > w)
            g->alert_lat[g->n_alert_lat++] = g->alert_recv[i] - w;
    }
    uint64_t *lat = calloc(g->frames, sizeof(*lat));
    size_t n_lat = 0;
    if (!lat)
        die("calloc");
    for (uint64_t i = 0; i < g->frames; i++)
        if (g->t_recv[i] && g->t_write[i] && g->t_recv[i] >= g->t_write[i])
            lat[n_lat++] = g->t_recv[i] - g->t_write[i];
    double achieved = elapsed > 0 ? (double)(g->dseq - 1) / elapsed : 0;
    double f50 = dw_bench_quantile(lat, n_lat, 0.5) / 1e3, f99 = dw_bench_quantile(lat, n_lat, 0.99) / 1e3;
    double a50 = dw_bench_quantile(g->alert_lat, g->n_alert_lat, 0.5) / 1e3;
    double a99 = dw_bench_quantile(g->alert_lat, g->n_alert_lat, 0.99) / 1e3;
    printf("garment: %" PRIu32 " frames, %" PRIu64 " bytes in %.3f s: %.0f frames/s of %.0f asked,"
           " %.1f%% of the time blocked on the pty\n", g->dseq, g->link.bytes_out, elapsed,
           achieved, g->rate, elapsed > 0 ? 100.0 * (double)g->link.write_ns * 1e-9 / elapsed : 0);
    if (g->fsub || g->loopback)
        printf("frame latency (write -> %s): %zu frames, p50 %.1f us, p99 %.1f us\n",
               g->loopback ? "read() on the pty" : "frame.<dev>", n_lat, f50, f99);
    if (g->asub)
        printf("alert latency (write -> alert.<dev>): %zu alerts of %zu thermometer frames,"
               " p50 %.1f us, p99 %.1f us\n", g->n_alert_lat, g->n_thermo, a50, a99);
    dw_bench_result("\"bench\":\"pty-garment\",\"frames\":%" PRIu32 ",\"bytes\":%" PRIu64
                    ",\"elapsed_s\":%.4f,\"rate\":%.1f,\"achieved\":%.1f,\"frame_lat_n\":%zu,"
                    "\"frame_p50_us\":%.1f,\"frame_p99_us\":%.1f,\"thermometer\":%zu,"
                    "\"alert_lat_n\":%zu,\"alert_p50_us\":%.1f,\"alert_p99_us\":%.1f",
                    g->dseq, g->link.bytes_out, elapsed, g->rate, achieved, n_lat, f50, f99,
                    g->n_thermo, g->n_alert_lat, a50, a99);
    free(lat);
}

static void parse_args(int argc, char **argv, struct garment *g)
{
    const struct dw_bench_opt opts[] = {
        DW_BENCH_OPT_DOUBLE("rate", &g->rate, 1, 1e7),
        DW_BENCH_OPT_U64("frames", &g->frames, 2, UINT32_MAX),
        DW_BENCH_OPT_U64("thermometer-every", &g->thermo_every, 2, UINT32_MAX),
        DW_BENCH_OPT_STR("frames-sub", &g->frames_sub),
        DW_BENCH_OPT_STR("alerts-sub", &g->alerts_sub),
        DW_BENCH_OPT_DURATION("linger", &g->linger_us),
        DW_BENCH_OPT_STR("input", &g->input),
        DW_BENCH_OPT_U64("pause-after", &g->pause_after, 1, UINT32_MAX),
        DW_BENCH_OPT_DURATION("pause", &g->pause_us),
        DW_BENCH_OPT_FLAG("loopback", &g->loopback),
        { 0 },
    };

    dw_bench_parse_args(prog, argc, argv, opts, usage);
    if (g->input && (g->frames || g->thermo_every))
        dw_usage_error(prog, "--input goes without --frames and --thermometer-every");
    if (!g->input && (g->rate <= 0 || !g->frames))
        dw_usage_error(prog, "--rate and --frames are required");
    if (g->loopback && (g->input || g->frames_sub || g->alerts_sub))
        dw_usage_error(prog, "--loopback goes without --input, --frames-sub and --alerts-sub");
    if (g->pause_after && !g->input)
        dw_usage_error(prog, "--pause-after goes with --input");
}

/* Acquisition asks for a HELLO once its port is open and raw: true when
 * it did within 20 s (or there is no acquisition: --loopback). */
static bool wait_hello_request(struct garment *g)
{
    uint64_t deadline = dw_now_monotonic_ns() + 20000000000ULL;
    bool asked = false;

    while (!g->loopback && !stop && dw_now_monotonic_ns() < deadline &&
           !(asked = dw_garment_link_take_request(&g->link)))
        dw_garment_link_wait_host(&g->link, 10);
    if (!g->loopback && !asked && !stop) {
        dw_err("no HELLO_REQUEST from acquisition within 20 s");
        return false;
    }
    return true;
}

/* Writes the frames (the file, or --frames at --rate); the seconds it took. */
static double write_frames(struct garment *g)
{
    uint64_t t0 = dw_now_monotonic_ns(), t_end = t0;

    if (g->input) {
        write_file(g);
        t_end = dw_now_monotonic_ns();
    }
    while (!g->input && !stop && g->dseq < g->frames) {
        uint64_t now = dw_now_monotonic_ns();
        uint64_t due = (uint64_t)((double)(now - t0) * 1e-9 * g->rate) + 1;
        if (due > g->frames)
            due = g->frames;
        uint64_t stamp = dw_now_monotonic_ns();
        while (g->dseq < due) {
            g->t_write[g->dseq] = stamp;
            emit_next(g);
        }
        flush_out(g);
        t_end = dw_now_monotonic_ns();
        dw_garment_link_read_host(&g->link);
        dw_sleep_until_monotonic(t0 + (uint64_t)((double)due * 1e9 / g->rate), &stop);
    }
    return (double)(t_end - t0) * 1e-9;
}

static void close_garment(struct garment *g)
{
    if (g->fsub)
        zmq_close(g->fsub);
    if (g->asub)
        zmq_close(g->asub);
    zmq_ctx_term(g->ctx);
    dw_garment_link_close(&g->link);
    free(g->t_write);
    free(g->t_recv);
    free(g->alert_lat);
    free(g->alert_seq);
    free(g->alert_recv);
}

int main(int argc, char **argv)
{
    static struct garment g = { .linger_us = 1000000, .pause_us = 3000000 };
    dw_log_init(prog);
    parse_args(argc, argv, &g);
    dw_install_stop_signals(&stop);
    g.t_write = calloc(g.frames + 1, sizeof(uint64_t));
    g.t_recv = calloc(g.frames + 1, sizeof(uint64_t));
    g.alert_lat = calloc(g.frames + 1, sizeof(uint64_t));
    g.alert_seq = calloc(g.frames + 1, sizeof(uint64_t));
    g.alert_recv = calloc(g.frames + 1, sizeof(uint64_t));
    if (!g.t_write || !g.t_recv || !g.alert_lat || !g.alert_seq || !g.alert_recv)
        die("calloc");
    g.ctx = zmq_ctx_new();
    if (g.frames_sub)
        g.fsub = subscribe(&g, g.frames_sub, "frame.");
    if (g.alerts_sub)
        g.asub = subscribe(&g, g.alerts_sub, "alert.");
    dw_decoder_init(&g.rx_dec, on_loopback_frame, &g);
    if (dw_garment_link_open(&g.link, "pty", NULL, &stop) < 0)
        return DW_EXIT_FAILURE;
    bool threaded = g.fsub || g.asub || g.loopback;
    if (threaded && pthread_create(&g.rx, NULL, receiver, &g) != 0)
        die("pthread_create");
    if (!wait_hello_request(&g))
        return DW_EXIT_FAILURE;
    sleep_ms(300); /* let the subscriptions settle */
    double elapsed = write_frames(&g);
    /* Closing the master would throw away what acquisition has not read. */
    wait_drained(&g);
    uint64_t linger_end = dw_now_monotonic_ns() + g.linger_us * 1000ULL;
    dw_sleep_until_monotonic(linger_end, &stop);
    if (threaded) {
        atomic_store(&g.rx_stop, true);
        pthread_join(g.rx, NULL);
    }
    report(&g, elapsed);
    close_garment(&g);
    return DW_EXIT_OK;
}
