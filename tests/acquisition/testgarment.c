/* A scripted garment on a pseudo-terminal, for the acquisition tests.
 *
 * Prints "pty: /dev/pts/N" (flushed) and then writes HELLO followed by
 * --frames SAMPLEs whose values are a known function of the device seq
 * (see sample_values(); tests/acquisition/acqtest.py recomputes them), at
 * --rate Hz or --fast. Options add deterministic byte corruption, an
 * unplug/replug on a new pty behind --link, and answering HELLO_REQUEST.
 * At the end it prints one JSON summary line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "dwtime.h"
#include "frame.h"

struct garment {
    /* options */
    unsigned long frames;
    double rate;
    bool fast, wait_request;
    double corrupt;
    uint64_t rng;
    const char *link;
    unsigned long unplug_at, unplug_frames, unplug_ms, hold_ms, pause_at, pause_ms;
    const char *device;
    unsigned zones;
    /* state */
    int master, slave;
    char slave_path[PATH_MAX];
    uint32_t dseq;
    uint64_t t0_mono;
    struct dw_decoder dec;
    bool request_seen;
    uint8_t out[1 << 16];
    size_t out_fill;
    /* summary */
    unsigned long sent, hellos, samples, corrupted_frames, corrupted_bytes, lost_down, requests;
    unsigned long long bytes_written;
};

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void die(const char *what)
{
    fprintf(stderr, "testgarment: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void on_frame(const struct dw_frame *f, void *user)
{
    struct garment *g = user;
    if (f->type == DW_FRAME_HELLO_REQUEST) {
        g->request_seen = true;
        g->requests++;
    }
}

static void open_pty(struct garment *g)
{
    struct termios t;
    g->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (g->master < 0 || grantpt(g->master) < 0 || unlockpt(g->master) < 0)
        die("posix_openpt");
    snprintf(g->slave_path, sizeof(g->slave_path), "%s", ptsname(g->master));
    /* Our own slave descriptor: raw mode before any byte goes in (the line
     * discipline processes input on arrival) and a place to ask how much
     * the reader has not taken yet. */
    g->slave = open(g->slave_path, O_RDWR | O_NOCTTY);
    if (g->slave < 0 || tcgetattr(g->slave, &t) < 0)
        die("open slave");
    cfmakeraw(&t);
    if (tcsetattr(g->slave, TCSANOW, &t) < 0)
        die("tcsetattr");
    if (g->link) {
        char tmp[PATH_MAX + 8];
        snprintf(tmp, sizeof(tmp), "%s.new", g->link);
        unlink(tmp);
        if (symlink(g->slave_path, tmp) < 0 || rename(tmp, g->link) < 0)
            die("symlink");
    }
}

static void close_pty(struct garment *g)
{
    close(g->slave);
    close(g->master);
    g->slave = g->master = -1;
}

/* Reads what the host wrote (HELLO_REQUEST), without blocking unless
 * timeout_ms > 0. */
static void poll_host(struct garment *g, int timeout_ms)
{
    uint8_t buf[256];
    struct pollfd p = { .fd = g->master, .events = POLLIN };
    while (poll(&p, 1, timeout_ms) > 0 && (p.revents & POLLIN)) {
        ssize_t n = read(g->master, buf, sizeof(buf));
        if (n <= 0)
            return;
        dw_decoder_feed(&g->dec, buf, (size_t)n);
        timeout_ms = 0;
    }
}

/* Idles for ms, still answering nothing but noting HELLO_REQUESTs. */
static void idle_ms(struct garment *g, unsigned long ms)
{
    uint64_t end = dw_now_monotonic_ns() + (uint64_t)ms * 1000000u;
    for (uint64_t now; (now = dw_now_monotonic_ns()) < end;)
        poll_host(g, (int)((end - now) / 1000000u) + 1);
}

static void flush_out(struct garment *g)
{
    size_t off = 0;
    while (off < g->out_fill) {
        ssize_t n = write(g->master, g->out + off, g->out_fill - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("write");
        }
        off += (size_t)n;
        g->bytes_written += (unsigned long long)n;
    }
    g->out_fill = 0;
}

static uint64_t device_time(const struct garment *g)
{
    if (g->fast)
        return 1000000 + (uint64_t)g->dseq * (uint64_t)(1e6 / g->rate);
    return 1000000 + (dw_now_monotonic_ns() - g->t0_mono) / 1000;
}

static void emit(struct garment *g, uint8_t type, const uint8_t *payload, size_t len, bool may_corrupt)
{
    uint8_t wire[DW_MAX_WIRE];
    ssize_t n = dw_frame_encode(type, g->dseq, device_time(g), payload, len, wire, sizeof(wire));
    bool hit = false;
    if (n < 0) {
        errno = (int)-n;
        die("encode");
    }
    g->dseq++;
    g->sent++;
    if (may_corrupt && g->corrupt > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if ((double)(xorshift(&g->rng) >> 11) / 9007199254740992.0 < g->corrupt) {
                wire[i] ^= (uint8_t)(1 + xorshift(&g->rng) % 255);
                g->corrupted_bytes++;
                hit = true;
            }
        }
        g->corrupted_frames += hit;
    }
    if (g->out_fill + (size_t)n > sizeof(g->out))
        flush_out(g);
    memcpy(g->out + g->out_fill, wire, (size_t)n);
    g->out_fill += (size_t)n;
}

static void send_hello(struct garment *g)
{
    struct dw_hello h;
    uint8_t p[DW_MAX_PAYLOAD];
    memset(&h, 0, sizeof(h));
    snprintf(h.device_id, sizeof(h.device_id), "%s", g->device);
    snprintf(h.firmware, sizeof(h.firmware), "testgarment-1");
    h.sample_rate_hz = (uint16_t)(g->rate > 1000 ? 1000 : g->rate < 1 ? 1 : g->rate);
    h.n_zones = (uint8_t)g->zones;
    h.n_ambient = DW_N_AMBIENT;
    h.temp_scale = DW_DEFAULT_TEMP_SCALE;
    h.pressure_scale = DW_DEFAULT_PRESSURE_SCALE;
    h.accel_scale = DW_DEFAULT_ACCEL_SCALE;
    for (unsigned z = 0; z < g->zones; z++) {
        h.zone[z].side = (uint8_t)(z * 2 / g->zones);
        h.zone[z].quadrant = (uint8_t)((z / 2) % 4);
        h.zone[z].ring = (uint8_t)(z % 2);
        h.zone[z].mirror = (uint8_t)((z + g->zones / 2) % g->zones);
    }
    ssize_t n = dw_hello_pack(&h, p, sizeof(p));
    if (n < 0) {
        errno = (int)-n;
        die("hello");
    }
    emit(g, DW_FRAME_HELLO, p, (size_t)n, false);
    g->hellos++;
}

/* The values acqtest.py expects for a sample with device seq s. */
static void sample_values(unsigned zones, uint32_t s, struct dw_sample *o)
{
    memset(o, 0, sizeof(*o));
    o->n_zones = (uint8_t)zones;
    for (unsigned z = 0; z < zones; z++) {
        o->temp[z] = (int16_t)(3000 + (s * 31u + z * 7u) % 1000u);
        o->pressure[z] = (uint16_t)((s * 17u + z * 113u) % 60000u);
        o->status[z] = (uint8_t)((s + z) % 5 == 0 ? DW_ZS_PRES_SAT : 0);
    }
    o->ambient[0] = (int16_t)(2000 + s % 500u);
    o->ambient[1] = (int16_t)(2100 + s % 300u);
    o->accel[0] = (int16_t)((int)(s % 2000u) - 1000);
    o->accel[1] = (int16_t)(s % 7u);
    o->accel[2] = 1000;
}

static void send_sample(struct garment *g, bool may_corrupt)
{
    struct dw_sample smp;
    uint8_t p[DW_MAX_PAYLOAD];
    sample_values(g->zones, g->dseq, &smp);
    ssize_t n = dw_sample_pack(&smp, p, sizeof(p));
    emit(g, DW_FRAME_SAMPLE, p, (size_t)n, may_corrupt);
    g->samples++;
}

/* Waits until the reader has taken every byte we wrote. */
static void drain(struct garment *g, unsigned long extra_ms)
{
    int pending = 1;
    flush_out(g);
    for (int i = 0; i < 3000 && pending > 0; i++) {
        if (ioctl(g->slave, FIONREAD, &pending) < 0)
            break;
        if (pending > 0) {
            poll_host(g, 10);
        }
    }
    if (extra_ms)
        poll_host(g, (int)extra_ms);
}

static void usage(void)
{
    printf("Usage: testgarment [--frames N] [--rate HZ | --fast] [--corrupt FRACTION --seed N]\n"
           "  [--link PATH] [--unplug-at K --unplug-frames M --unplug-ms MS] [--wait-request]\n"
           "  [--device ID] [--zones N] [--hold-ms MS] [--pause-at K --pause-ms MS]\n");
}

int main(int argc, char **argv)
{
    enum { O_FRAMES = 256, O_RATE, O_FAST, O_CORRUPT, O_SEED, O_LINK, O_UNPLUG_AT,
           O_UNPLUG_FRAMES, O_UNPLUG_MS, O_WAIT, O_DEVICE, O_ZONES, O_HOLD, O_PAUSE_AT,
           O_PAUSE_MS };
    static const struct option opts[] = {
        { "frames", required_argument, NULL, O_FRAMES }, { "rate", required_argument, NULL, O_RATE },
        { "fast", no_argument, NULL, O_FAST }, { "corrupt", required_argument, NULL, O_CORRUPT },
        { "seed", required_argument, NULL, O_SEED }, { "link", required_argument, NULL, O_LINK },
        { "unplug-at", required_argument, NULL, O_UNPLUG_AT },
        { "unplug-frames", required_argument, NULL, O_UNPLUG_FRAMES },
        { "unplug-ms", required_argument, NULL, O_UNPLUG_MS },
        { "wait-request", no_argument, NULL, O_WAIT }, { "device", required_argument, NULL, O_DEVICE },
        { "zones", required_argument, NULL, O_ZONES }, { "hold-ms", required_argument, NULL, O_HOLD },
        { "pause-at", required_argument, NULL, O_PAUSE_AT },
        { "pause-ms", required_argument, NULL, O_PAUSE_MS },
        { "help", no_argument, NULL, 'h' }, { 0 },
    };
    struct garment *g = calloc(1, sizeof(*g));
    int ch;

    g->frames = 100;
    g->rate = 100;
    g->rng = 0x9e3779b97f4a7c15ull;
    g->device = "tg-0001";
    g->zones = DW_DEFAULT_ZONES;
    g->unplug_ms = 300;
    g->hold_ms = 200;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case O_FRAMES: g->frames = strtoul(optarg, NULL, 10); break;
        case O_RATE: g->rate = atof(optarg); break;
        case O_FAST: g->fast = true; break;
        case O_CORRUPT: g->corrupt = atof(optarg); break;
        case O_SEED: g->rng = 0x9e3779b97f4a7c15ull ^ (strtoull(optarg, NULL, 10) * 0xbf58476d1ce4e5b9ull); break;
        case O_LINK: g->link = optarg; break;
        case O_UNPLUG_AT: g->unplug_at = strtoul(optarg, NULL, 10); break;
        case O_UNPLUG_FRAMES: g->unplug_frames = strtoul(optarg, NULL, 10); break;
        case O_UNPLUG_MS: g->unplug_ms = strtoul(optarg, NULL, 10); break;
        case O_WAIT: g->wait_request = true; break;
        case O_DEVICE: g->device = optarg; break;
        case O_ZONES: g->zones = (unsigned)atoi(optarg); break;
        case O_HOLD: g->hold_ms = strtoul(optarg, NULL, 10); break;
        case O_PAUSE_AT: g->pause_at = strtoul(optarg, NULL, 10); break;
        case O_PAUSE_MS: g->pause_ms = strtoul(optarg, NULL, 10); break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if (g->rate <= 0 || g->zones < 1 || g->zones > DW_MAX_ZONES || !g->rng) {
        usage();
        return 2;
    }
    dw_decoder_init(&g->dec, on_frame, g);
    g->t0_mono = dw_now_monotonic_ns();
    open_pty(g);
    printf("pty: %s\n", g->slave_path);
    fflush(stdout);

    if (g->wait_request) {
        for (int i = 0; i < 1000 && !g->request_seen; i++)
            poll_host(g, 10);
        if (!g->request_seen) {
            fprintf(stderr, "testgarment: no HELLO_REQUEST within 10 s\n");
            return 1;
        }
        g->request_seen = false;
    }
    g->out[g->out_fill++] = 0; /* a lone delimiter, as on every connect */
    send_hello(g);
    uint64_t period_ns = (uint64_t)(1e9 / g->rate), next = dw_now_monotonic_ns();
    for (unsigned long i = 0; i < g->frames; i++) {
        if (g->unplug_at && i == g->unplug_at) {
            drain(g, 50);
            /* Unplugged: the link leads nowhere (and never to another
             * test's pty that reuses the number). */
            if (g->link)
                unlink(g->link);
            close_pty(g);
            /* Frames generated while unplugged never reach the host. */
            g->dseq += (uint32_t)g->unplug_frames;
            g->lost_down += g->unplug_frames;
            struct timespec ts = { (time_t)(g->unplug_ms / 1000), (long)(g->unplug_ms % 1000) * 1000000 };
            nanosleep(&ts, NULL);
            open_pty(g);
            fprintf(stderr, "testgarment: replugged as %s\n", g->slave_path);
            g->out[g->out_fill++] = 0;
            send_hello(g);
            next = dw_now_monotonic_ns();
        }
        if (g->pause_at && i == g->pause_at) {
            /* Quiet for a while (the device clock keeps running). */
            flush_out(g);
            idle_ms(g, g->pause_ms);
            next = dw_now_monotonic_ns();
        }
        if (g->request_seen) {
            g->request_seen = false;
            send_hello(g);
        }
        /* The first and last frames stay clean: they anchor the count. */
        send_sample(g, i + 1 < g->frames);
        if (!g->fast) {
            flush_out(g);
            next += period_ns;
            uint64_t now = dw_now_monotonic_ns();
            poll_host(g, next > now ? (int)((next - now) / 1000000) : 0);
            dw_sleep_until_monotonic(next, NULL);
        } else if ((i & 255) == 0) {
            poll_host(g, 0);
        }
    }
    drain(g, 0);
    printf("{\"type\":\"summary\",\"frames_sent\":%lu,\"hellos\":%lu,\"samples\":%lu,"
           "\"lost_while_down\":%lu,\"corrupted_frames\":%lu,\"corrupted_bytes\":%lu,"
           "\"hello_requests\":%lu,\"last_dseq\":%u,\"bytes\":%llu}\n",
           g->sent, g->hellos, g->samples, g->lost_down, g->corrupted_frames,
           g->corrupted_bytes, g->requests, g->dseq - 1, g->bytes_written);
    fflush(stdout);
    /* Stay plugged in a while: the reader decides when the test ends. */
    idle_ms(g, g->hold_ms);
    close_pty(g);
    free(g);
    return 0;
}
