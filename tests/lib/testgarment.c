/* The garment the tests put on a pseudo-terminal (sims/garment_link: raw
 * mode, our own slave kept open, an optional stable symlink).
 *
 * Prints "pty: /dev/pts/N" (flushed), then a lone 0x00, HELLO and SAMPLEs at
 * --rate Hz (paced at --speed x real time, or --fast), --frames of them or
 * --duration of device time, or until SIGTERM. The values are either a known
 * function of the device seq (--values seq, the default: sample_values(),
 * which tests/pylib/dwtest/garment.py recomputes) or fixed (--values fixed:
 * zone z 33.00 + 0.25 z C and 1.000 + 0.100 z kPa, ambient 24.50 and
 * 24.75 C). Every HELLO_REQUEST is answered with a HELLO as the next frame.
 * Faults on request: deterministic byte corruption, an unplug/replug on a new
 * pty behind --pty-link, a quiet pause. At the end it waits until the reader
 * took every byte, prints one JSON summary line and stays plugged in for
 * --hold-ms.
 *
 * It takes ductwatch-sim's options too (--scenario and --labels are
 * ignored, --out must be pty), so it can stand in for the simulator
 * (DUCTWATCH_SIM=...). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "duration.h"
#include "dwtime.h"
#include "frame.h"
#include "garment_link.h"
#include "layout.h"
#include "log.h"
#include "parse_num.h"

static const char *prog = "testgarment";
static volatile sig_atomic_t stop;

struct options {
    uint64_t frames;            /* SAMPLEs; 0: until --duration or SIGTERM */
    uint64_t duration_us;
    double rate, speed;
    bool fast, wait_request, fixed_values;
    double corrupt;
    uint64_t seed;
    const char *pty_link, *device;
    unsigned zones;
    uint64_t unplug_at, unplug_frames, unplug_ms, pause_at, pause_ms, hold_ms;
};

struct garment {
    struct options o;
    struct dw_garment_link link;
    struct dw_hello hello;
    uint32_t dseq;
    uint64_t t0_mono, rng;
    /* summary */
    unsigned long sent, hellos, samples, corrupted_frames, corrupted_bytes, lost_down;
};

static void usage(void)
{
    printf("Usage: %s [--frames N | --duration D] [--rate HZ] [--speed X | --fast]\n"
           "  [--values seq|fixed] [--device ID] [--zones N] [--wait-request]\n"
           "  [--corrupt FRACTION] [--seed N] [--pty-link PATH]\n"
           "  [--unplug-at K --unplug-frames M --unplug-ms MS] [--pause-at K --pause-ms MS]\n"
           "  [--hold-ms MS] [--out pty] [--scenario S] [--labels F] [-q] [-v]\n"
           "The test garment on a pseudo-terminal (tests/lib/testgarment.c).\n", prog);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static uint64_t opt_u64(const char *name, const char *v, uint64_t max)
{
    uint64_t u;
    if (dw_parse_u64(v, 0, max, &u) < 0)
        dw_usage_error(prog, "bad %s '%s'", name, v);
    return u;
}

static double opt_double(const char *name, const char *v, double min, double max)
{
    double d;
    if (dw_parse_double(v, min, max, &d) < 0)
        dw_usage_error(prog, "bad %s '%s'", name, v);
    return d;
}

enum { O_FRAMES = 256, O_DURATION, O_RATE, O_SPEED, O_FAST, O_VALUES, O_DEVICE, O_ZONES,
       O_WAIT, O_CORRUPT, O_SEED, O_LINK, O_UNPLUG_AT, O_UNPLUG_FRAMES, O_UNPLUG_MS,
       O_PAUSE_AT, O_PAUSE_MS, O_HOLD, O_OUT, O_IGNORED };

static const struct option long_opts[] = {
    { "frames", required_argument, NULL, O_FRAMES },
    { "duration", required_argument, NULL, O_DURATION },
    { "rate", required_argument, NULL, O_RATE },
    { "speed", required_argument, NULL, O_SPEED },
    { "fast", no_argument, NULL, O_FAST },
    { "values", required_argument, NULL, O_VALUES },
    { "device", required_argument, NULL, O_DEVICE },
    { "zones", required_argument, NULL, O_ZONES },
    { "wait-request", no_argument, NULL, O_WAIT },
    { "corrupt", required_argument, NULL, O_CORRUPT },
    { "seed", required_argument, NULL, O_SEED },
    { "pty-link", required_argument, NULL, O_LINK },
    { "unplug-at", required_argument, NULL, O_UNPLUG_AT },
    { "unplug-frames", required_argument, NULL, O_UNPLUG_FRAMES },
    { "unplug-ms", required_argument, NULL, O_UNPLUG_MS },
    { "pause-at", required_argument, NULL, O_PAUSE_AT },
    { "pause-ms", required_argument, NULL, O_PAUSE_MS },
    { "hold-ms", required_argument, NULL, O_HOLD },
    { "out", required_argument, NULL, O_OUT },
    { "scenario", required_argument, NULL, O_IGNORED },
    { "labels", required_argument, NULL, O_IGNORED },
    { "help", no_argument, NULL, 'h' },
    { 0 },
};

static void parse_option(struct options *o, int ch, char **argv)
{
    switch (ch) {
    case O_FRAMES: o->frames = opt_u64("--frames", optarg, UINT32_MAX / 2); break;
    case O_DURATION:
        if (dw_duration_parse_us(optarg, &o->duration_us) < 0)
            dw_usage_error(prog, "bad --duration '%s'", optarg);
        break;
    case O_RATE: o->rate = opt_double("--rate", optarg, 0.01, 1e7); break;
    case O_SPEED: o->speed = opt_double("--speed", optarg, 0.001, 1e9); break;
    case O_FAST: o->fast = true; break;
    case O_VALUES:
        if (strcmp(optarg, "seq") && strcmp(optarg, "fixed"))
            dw_usage_error(prog, "--values is seq or fixed, not '%s'", optarg);
        o->fixed_values = !strcmp(optarg, "fixed");
        break;
    case O_DEVICE: o->device = optarg; break;
    case O_ZONES: o->zones = (unsigned)opt_u64("--zones", optarg, DW_MAX_ZONES); break;
    case O_WAIT: o->wait_request = true; break;
    case O_CORRUPT: o->corrupt = opt_double("--corrupt", optarg, 0, 1); break;
    case O_SEED: o->seed = opt_u64("--seed", optarg, UINT64_MAX); break;
    case O_LINK: o->pty_link = optarg; break;
    case O_UNPLUG_AT: o->unplug_at = opt_u64("--unplug-at", optarg, UINT32_MAX); break;
    case O_UNPLUG_FRAMES: o->unplug_frames = opt_u64("--unplug-frames", optarg, UINT32_MAX); break;
    case O_UNPLUG_MS: o->unplug_ms = opt_u64("--unplug-ms", optarg, 600000); break;
    case O_PAUSE_AT: o->pause_at = opt_u64("--pause-at", optarg, UINT32_MAX); break;
    case O_PAUSE_MS: o->pause_ms = opt_u64("--pause-ms", optarg, 600000); break;
    case O_HOLD: o->hold_ms = opt_u64("--hold-ms", optarg, 3600000); break;
    case O_OUT:
        if (strcmp(optarg, "pty"))
            dw_usage_error(prog, "only --out pty, not '%s'", optarg);
        break;
    case O_IGNORED: case 'q': case 'v': break;
    case 'h': usage(); exit(DW_EXIT_OK);
    default: dw_usage_bad_option(prog, ch, argv);
    }
}

static void parse_args(struct options *o, int argc, char **argv)
{
    int ch;
    *o = (struct options){ .rate = 10, .speed = 1, .device = "tg-0001",
                           .zones = DW_DEFAULT_ZONES, .unplug_ms = 300, .hold_ms = 200 };
    while ((ch = getopt_long(argc, argv, ":hqv", long_opts, NULL)) != -1)
        parse_option(o, ch, argv);
    dw_usage_no_operands(prog, argc, argv);
    if (o->zones < 1)
        dw_usage_error(prog, "bad --zones 0");
    if (o->fast && o->speed != 1)
        dw_usage_error(prog, "--speed and --fast exclude each other");
    if (!o->frames && o->duration_us)
        o->frames = (uint64_t)((double)o->duration_us * 1e-6 * o->rate);
}

static uint64_t device_time_us(const struct garment *g)
{
    if (g->o.fast)
        return 1000000 + (uint64_t)g->dseq * (uint64_t)(1e6 / g->o.rate);
    /* The device clock runs with the host's (times --speed): a pause or a
     * late frame shows in device time as on a real garment. */
    return 1000000 + (uint64_t)((double)(dw_now_monotonic_ns() - g->t0_mono) * g->o.speed / 1e3);
}

/* Flips bytes of one encoded frame, each with probability --corrupt. */
static void corrupt(struct garment *g, uint8_t *wire, ssize_t n)
{
    bool hit = false;
    for (ssize_t i = 0; i < n; i++) {
        if ((double)(xorshift(&g->rng) >> 11) / 9007199254740992.0 < g->o.corrupt) {
            wire[i] ^= (uint8_t)(1 + xorshift(&g->rng) % 255);
            g->corrupted_bytes++;
            hit = true;
        }
    }
    g->corrupted_frames += hit;
}

static int emit(struct garment *g, uint8_t type, const uint8_t *payload, size_t len,
                bool may_corrupt)
{
    uint8_t wire[DW_MAX_WIRE];
    ssize_t n = dw_frame_encode(type, g->dseq, device_time_us(g), payload, len, wire,
                                sizeof(wire));
    if (n < 0) {
        dw_err("cannot encode a frame: %s", strerror((int)-n));
        return -1;
    }
    g->dseq++;
    g->sent++;
    if (may_corrupt && g->o.corrupt > 0)
        corrupt(g, wire, n);
    return dw_garment_link_put(&g->link, wire, (size_t)n);
}

static void make_hello(struct garment *g)
{
    struct dw_hello *h = &g->hello;
    unsigned nz = g->o.zones;
    /* HELLO's rate field holds 1..1000 Hz; faster streams say 1000. */
    double hz = g->o.rate < 1 ? 1 : g->o.rate > 1000 ? 1000 : g->o.rate;
    dw_layout_default(h, g->o.device, "testgarment-1", (unsigned)hz);
    if (nz == DW_DEFAULT_ZONES)
        return;
    /* Another zone count: halves per side, quadrants and rings in turn. */
    memset(h->zone, 0, sizeof(h->zone));
    h->n_zones = (uint8_t)nz;
    for (unsigned z = 0; z < nz; z++) {
        h->zone[z].side = (uint8_t)(z * 2 / nz);
        h->zone[z].quadrant = (uint8_t)((z / 2) % 4);
        h->zone[z].ring = (uint8_t)(z % 2);
        h->zone[z].mirror = (uint8_t)((z + nz / 2) % nz);
    }
}

/* A connection starts with a lone 0x00, then HELLO. */
static int send_hello(struct garment *g, bool connect)
{
    static const uint8_t zero = 0;
    uint8_t p[DW_MAX_PAYLOAD];
    ssize_t n = dw_hello_pack(&g->hello, p, sizeof(p));
    if (n < 0 || (connect && dw_garment_link_put(&g->link, &zero, 1) < 0))
        return -1;
    g->hellos++;
    return emit(g, DW_FRAME_HELLO, p, (size_t)n, false);
}

/* The values dwtest.garment.expected_sample() computes for device seq s,
 * or the fixed ones. */
static void sample_values(const struct options *o, uint32_t s, struct dw_sample *v)
{
    memset(v, 0, sizeof(*v));
    v->n_zones = (uint8_t)o->zones;
    if (o->fixed_values) {
        for (unsigned z = 0; z < o->zones; z++) {
            v->temp[z] = (int16_t)(3300 + 25 * z);
            v->pressure[z] = (uint16_t)(1000 + 100 * z);
        }
        v->ambient[0] = 2450;
        v->ambient[1] = 2475;
        v->accel[2] = 1000;
        return;
    }
    for (unsigned z = 0; z < o->zones; z++) {
        v->temp[z] = (int16_t)(3000 + (s * 31u + z * 7u) % 1000u);
        v->pressure[z] = (uint16_t)((s * 17u + z * 113u) % 60000u);
        v->status[z] = (uint8_t)((s + z) % 5 == 0 ? DW_ZS_PRES_SAT : 0);
    }
    v->ambient[0] = (int16_t)(2000 + s % 500u);
    v->ambient[1] = (int16_t)(2100 + s % 300u);
    v->accel[0] = (int16_t)((int)(s % 2000u) - 1000);
    v->accel[1] = (int16_t)(s % 7u);
    v->accel[2] = 1000;
}

static int send_sample(struct garment *g, bool may_corrupt)
{
    struct dw_sample v;
    uint8_t p[DW_MAX_PAYLOAD];
    ssize_t n;
    sample_values(&g->o, g->dseq, &v);
    n = dw_sample_pack(&v, p, sizeof(p));
    if (n < 0)
        return -1;
    g->samples++;
    return emit(g, DW_FRAME_SAMPLE, p, (size_t)n, may_corrupt);
}

/* Waits, answering nothing, while noting what the host sends. */
static void idle_ms(struct garment *g, uint64_t ms)
{
    uint64_t end = dw_now_monotonic_ns() + ms * 1000000u;
    for (uint64_t now; !stop && (now = dw_now_monotonic_ns()) < end;)
        dw_garment_link_wait_host(&g->link, (int)((end - now) / 1000000u) + 1);
}

/* The pty goes away (and the link with it, never to lead to another
 * test's pty that reuses the number); frames made meanwhile never reach
 * the host; a new pty comes up behind the same link. */
static int unplug_replug(struct garment *g)
{
    struct timespec ts = { (time_t)(g->o.unplug_ms / 1000), (long)(g->o.unplug_ms % 1000) * 1000000 };
    if (dw_garment_link_flush(&g->link) < 0)
        return -1;
    dw_garment_link_drain(&g->link, 30000000000ull);
    idle_ms(g, 50);
    dw_garment_link_unplug(&g->link);
    g->dseq += (uint32_t)g->o.unplug_frames;
    g->lost_down += g->o.unplug_frames;
    nanosleep(&ts, NULL);
    if (dw_garment_link_replug(&g->link) < 0)
        return -1;
    dw_info("replugged as %s", g->link.pty_name);
    return send_hello(g, true);
}

/* Before frame i: the faults due now, a HELLO if asked for. */
static int before_frame(struct garment *g, uint64_t i)
{
    if (g->o.unplug_at && i == g->o.unplug_at && unplug_replug(g) < 0)
        return -1;
    if (g->o.pause_at && i == g->o.pause_at) {
        /* Quiet for a while; the device clock keeps running. */
        if (dw_garment_link_flush(&g->link) < 0)
            return -1;
        idle_ms(g, g->o.pause_ms);
    }
    if ((!g->o.fast || (i & 255) == 0) && dw_garment_link_take_request(&g->link))
        return send_hello(g, false);
    return 0;
}

static int stream(struct garment *g)
{
    uint64_t period_ns = (uint64_t)(1e9 / (g->o.rate * g->o.speed));
    uint64_t next = dw_now_monotonic_ns();
    for (uint64_t i = 0; !stop && (!g->o.frames || i < g->o.frames); i++) {
        bool resumed = (g->o.unplug_at && i == g->o.unplug_at) ||
                       (g->o.pause_at && i == g->o.pause_at);
        if (before_frame(g, i) < 0)
            return -1;
        if (resumed)
            next = dw_now_monotonic_ns();
        /* The first and last frames stay clean: they anchor the count. */
        if (send_sample(g, i + 1 != g->o.frames) < 0)
            return -1;
        if (g->o.fast)
            continue;
        if (dw_garment_link_flush(&g->link) < 0)
            return -1;
        next += period_ns;
        uint64_t now = dw_now_monotonic_ns();
        if (next > now)
            dw_garment_link_wait_host(&g->link, (int)((next - now) / 1000000u));
        dw_sleep_until_monotonic(next, &stop);
    }
    return dw_garment_link_flush(&g->link);
}

static int wait_request(struct garment *g)
{
    uint64_t end = dw_now_monotonic_ns() + 10000000000ull;
    while (!stop && dw_now_monotonic_ns() < end) {
        if (dw_garment_link_take_request(&g->link))
            return 0;
        dw_garment_link_wait_host(&g->link, 10);
    }
    dw_err("no HELLO_REQUEST within 10 s");
    return -1;
}

static void print_summary(const struct garment *g)
{
    printf("{\"type\":\"summary\",\"frames_sent\":%lu,\"hellos\":%lu,\"samples\":%lu,"
           "\"lost_while_down\":%lu,\"corrupted_frames\":%lu,\"corrupted_bytes\":%lu,"
           "\"hello_requests\":%llu,\"last_dseq\":%u,\"bytes\":%llu}\n",
           g->sent, g->hellos, g->samples, g->lost_down, g->corrupted_frames,
           g->corrupted_bytes, (unsigned long long)g->link.requests, g->dseq - 1,
           (unsigned long long)g->link.bytes_out);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static struct garment g;
    int status = DW_EXIT_FAILURE;

    dw_log_init(prog);
    parse_args(&g.o, argc, argv);
    g.rng = 0x9e3779b97f4a7c15ull ^ (g.o.seed * 0xbf58476d1ce4e5b9ull);
    if (!g.rng)
        g.rng = 1;
    make_hello(&g);
    dw_install_stop_signals(&stop);
    if (dw_garment_link_open(&g.link, "pty", g.o.pty_link, &stop) < 0)
        return DW_EXIT_FAILURE;
    g.t0_mono = dw_now_monotonic_ns();
    if (g.o.wait_request && wait_request(&g) < 0)
        goto out;
    if (send_hello(&g, true) < 0 || stream(&g) < 0)
        goto out;
    if (!stop) {
        /* Closing the pty would throw away what the reader has not taken:
         * drained before the summary, and again before the close. */
        dw_garment_link_drain(&g.link, 30000000000ull);
        print_summary(&g);
        idle_ms(&g, g.o.hold_ms);
        dw_garment_link_drain(&g.link, 30000000000ull);
    }
    status = DW_EXIT_OK;
out:
    dw_garment_link_close(&g.link);
    return status;
}
