/* mksession: writes a session file through storage's real writer, with
 * known contents for the report tests: frames of a plausible wearer (per-zone
 * baselines, a slow swing, a warm zone during the alert), feeds, a
 * thermometer reading, a shower, a link-down/up with a gap (frames really
 * missing), alerts raised/updated/cleared, and cumulative stats rows.
 *
 * mksession OUT.h5 [--hours H] [--rate HZ] [--device-id ID] [--text TEXT]
 *                  [--message MSG] [--params JSON] [--spike-zone Z] [--spike-c C]
 *                  [--spike-at-h H] [--restart-at-h H] [--fault-zone Z]
 *                  [--crash | --hold]
 * --text goes into every user event's text, --message into every alert's
 * message (both for escaping tests), --params into every alert's params
 * (default: T1's built-in parameters as detect writes them); --spike-* puts one sample of zone Z at
 * C degrees; --restart-at-h restarts the garment there (its clock starts
 * again near 0, a new HELLO); --fault-zone flags zone Z's thermistor
 * faulted in every 7th sample; --crash leaves the file as a killed writer would (flushed, not
 * closed); --hold flushes, prints "ready" and keeps the file open in SWMR
 * mode until stdin closes, as a recorder still writing. Prints what it wrote
 * on stdout, one "key value" a line. --hours 0 writes the HELLO and one
 * stats row only. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "frame.h"
#include "layout.h"
#include "msg.h"
#include "session_format.h"
#include "session_writer.h"

#define T0_NS 1795545119000000000ull
#define T0_US 5000000ull

struct gen {
    struct dw_session_writer *w;
    struct dw_hello h;
    uint64_t seq;
    uint32_t dseq;
    const char *text, *message, *params;
    unsigned events, alerts, frames;
    uint64_t clock_back_us;     /* device clock lost at garment restarts */
};

/* The host clock runs on through garment restarts. */
static uint64_t host_ns(const struct gen *g, uint64_t t_us)
{
    return T0_NS + (t_us + g->clock_back_us - T0_US) * 1000ull;
}

static void die(const char *what, int e)
{
    fprintf(stderr, "mksession: %s: %s\n", what, strerror(-e));
    exit(1);
}

static void event(struct gen *g, uint64_t t_us, const char *kind, const char *side,
                  double value, uint64_t missing, const char *source)
{
    struct dw_row_event row;
    int e;
    memset(&row, 0, sizeof(row));
    row.seq = ++g->seq;
    row.t_device_us = t_us;
    row.t_host_ns = host_ns(g, t_us);
    dw_session_strset(row.kind, sizeof(row.kind), kind);
    dw_session_strset(row.side, sizeof(row.side), side);
    row.value = value;
    row.missing = missing;
    dw_session_strset(row.source, sizeof(row.source), source);
    row.device_seq = -1;
    dw_session_strset(row.text, sizeof(row.text), g->text);
    if ((e = dw_session_writer_event(g->w, &row)) < 0)
        die("event", e);
    g->events++;
}

static void alert(struct gen *g, uint64_t t_us, uint64_t id, const char *rule,
                  const char *level, const char *state, unsigned zone, double value,
                  double threshold)
{
    struct dw_row_alert a;
    char name[64];
    int e;
    memset(&a, 0, sizeof(a));
    a.seq = ++g->seq;
    a.t_device_us = t_us;
    a.t_host_ns = host_ns(g, t_us);
    a.id = id;
    dw_session_strset(a.rule, sizeof(a.rule), rule);
    dw_session_strset(a.level, sizeof(a.level), level);
    dw_session_strset(a.state, sizeof(a.state), state);
    dw_session_strset(a.side, sizeof(a.side), zone < 8 ? "left" : "right");
    a.zone = (int16_t)zone;
    dw_zone_name(&g->h, zone, name, sizeof(name));
    dw_session_strset(a.zone_name, sizeof(a.zone_name), name);
    a.value = value;
    a.threshold = threshold;
    dw_session_strset(a.ruleset_version, sizeof(a.ruleset_version), "test-1");
    dw_session_strset(a.params, sizeof(a.params), g->params);
    if (g->message)
        dw_session_strset(a.message, sizeof(a.message), g->message);
    else
        dw_session_strset(a.message, sizeof(a.message),
                          "possible localized warmth here; keep feeding on demand");
    if ((e = dw_session_writer_alert(g->w, &a)) < 0)
        die("alert", e);
    g->alerts++;
}

static void stats(struct gen *g, uint64_t t_us, uint64_t frames, bool after_gap)
{
    struct dw_row_stats s;
    int e;
    memset(&s, 0, sizeof(s));
    s.t_device_us = t_us;
    s.t_host_ns = host_ns(g, t_us);
    dw_session_strset(s.source, sizeof(s.source), "acquire");
    s.seq = ++g->seq;
    s.frames = frames;
    s.bytes = frames * 80;
    s.crc_errors = after_gap ? 3 : 0;
    s.resyncs = after_gap ? 3 : 0;
    s.device_seq_gaps = after_gap ? 1 : 0;
    s.frames_missing = after_gap ? 12 : 0;
    s.reconnects = after_gap ? 1 : 0;
    s.link_up = 1;
    if ((e = dw_session_writer_stats(g->w, &s)) < 0)
        die("stats", e);
}

static void frame(struct gen *g, uint8_t type, uint64_t t_us, const uint8_t *p, size_t len)
{
    struct dw_msg_frame m = { .version = 1, .type = type, .len = (uint16_t)len,
                              .device_seq = g->dseq++, .seq = ++g->seq, .stream = 7,
                              .t_device_us = t_us, .t_host_ns = host_ns(g, t_us),
                              .payload = p };
    int e = dw_session_writer_frame(g->w, &m);
    if (e < 0)
        die("frame", e);
    if (type == DW_FRAME_SAMPLE)
        g->frames++;
}

/* The command line. */
struct opts {
    double hours, spike_c, spike_at_h, restart_at_h;
    unsigned rate, spike_zone, fault_zone;
    const char *dev;
    bool crash, hold;
};

/* Where things happen in the session, as sample indexes. */
struct plan {
    uint64_t n, dt;
    uint64_t i_alert, i_update, i_clear, i_gap, gap_frames, i_thermo, i_shower;
    uint64_t i_restart, i_spike, feed_every, stats_every;
    unsigned warm_zone;
    const uint8_t *hello;
    size_t hello_len;
    bool gap_done;
};

static void parse_args(int argc, char **argv, struct opts *o, struct gen *g)
{
    static const struct option opts[] = {
        { "hours", required_argument, NULL, 'H' },
        { "rate", required_argument, NULL, 'r' },
        { "device-id", required_argument, NULL, 'd' },
        { "text", required_argument, NULL, 't' },
        { "message", required_argument, NULL, 'm' },
        { "params", required_argument, NULL, 'P' },
        { "spike-zone", required_argument, NULL, 'z' },
        { "spike-c", required_argument, NULL, 'c' },
        { "spike-at-h", required_argument, NULL, 'a' },
        { "crash", no_argument, NULL, 'x' },
        { "hold", no_argument, NULL, 'w' },
        { "restart-at-h", required_argument, NULL, 'R' },
        { "fault-zone", required_argument, NULL, 'f' },
        { 0 },
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'H': o->hours = atof(optarg); break;
        case 'r': o->rate = (unsigned)atoi(optarg); break;
        case 'd': o->dev = optarg; break;
        case 't': g->text = optarg; break;
        case 'm': g->message = optarg; break;
        case 'P': g->params = optarg; break;
        case 'z': o->spike_zone = (unsigned)atoi(optarg); break;
        case 'c': o->spike_c = atof(optarg); break;
        case 'a': o->spike_at_h = atof(optarg); break;
        case 'x': o->crash = true; break;
        case 'w': o->hold = true; break;
        case 'R': o->restart_at_h = atof(optarg); break;
        case 'f': o->fault_zone = (unsigned)atoi(optarg); break;
        default: exit(2);
        }
    }
    if (optind + 1 != argc || o->hours < 0 || o->rate < 1 || o->rate > 1000 ||
        o->spike_zone >= 16) {
        fprintf(stderr, "usage: mksession OUT.h5 [options]\n");
        exit(2);
    }
}

static void make_plan(const struct opts *o, struct plan *p)
{
    uint64_t n = (uint64_t)(o->hours * 3600.0 * o->rate);

    p->n = n;
    p->dt = 1000000ull / o->rate;
    /* Where things happen, as fractions of the session. */
    p->i_alert = n / 2;
    p->i_update = n / 2 + n / 20;
    p->i_clear = n * 8 / 10;
    p->i_gap = n * 6 / 10;
    p->gap_frames = 12;
    p->i_thermo = n / 3;
    p->i_shower = n / 4;
    p->i_restart = o->restart_at_h >= 0 ? (uint64_t)(o->restart_at_h * 3600.0 * o->rate)
                                        : UINT64_MAX;
    p->i_spike = o->spike_at_h >= 0 ? (uint64_t)(o->spike_at_h * 3600.0 * o->rate) : UINT64_MAX;
    p->feed_every = (uint64_t)o->rate * 3600 * 3 / 2; /* 1.5 h */
    p->stats_every = (uint64_t)o->rate * 600;
    p->warm_zone = 5;
    p->gap_done = false;
}

/* What happens before sample i at device time *t: restarts, gaps, events,
 * alerts, stats. A gap moves i and t on. */
static void happenings(struct gen *g, const struct opts *o, struct plan *p, uint64_t *i,
                       uint64_t *t)
{
    uint64_t fe = p->feed_every;

    if (*i == p->i_restart) {
        /* The garment rebooted: its clock starts again, it says HELLO. */
        g->clock_back_us += *t - 1000000;
        *t = 1000000;
        frame(g, DW_FRAME_HELLO, *t, p->hello, p->hello_len);
    }
    if (*i == p->i_gap && !p->gap_done) {
        /* The link drops: frames are lost, acquisition says so. */
        event(g, *t, "link-down", "none", NAN, 0, "acquire");
        *t += p->gap_frames * p->dt;
        *i += p->gap_frames;
        event(g, *t, "link-up", "none", NAN, 0, "acquire");
        event(g, *t, "gap", "none", NAN, p->gap_frames, "acquire");
        p->gap_done = true;
    }
    if (*i % fe == fe / 3)
        event(g, *t, "feed-start", (*i / fe) % 2 ? "right" : "left", NAN, 0, "user");
    if (*i % fe == fe / 3 + (uint64_t)o->rate * 1200)
        event(g, *t, "feed-end", (*i / fe) % 2 ? "right" : "left", NAN, 0, "user");
    if (*i == p->i_thermo)
        event(g, *t, "thermometer", "none", 37.4, 0, "user");
    if (*i == p->i_shower)
        event(g, *t, "shower", "none", NAN, 0, "user");
    if (*i == p->i_alert)
        alert(g, *t, 1, "T1", "L0", "raised", p->warm_zone, 0.8, 0.5);
    if (*i == p->i_update)
        alert(g, *t, 1, "T1", "L0", "updated", p->warm_zone, 1.1, 0.5);
    if (*i == p->i_clear)
        alert(g, *t, 1, "T1", "L0", "cleared", p->warm_zone, 0.2, 0.5);
    if (*i == p->i_alert + p->n / 40)
        alert(g, *t, 2, "D1", "L1", "raised", 12, 1.4, 1.3);
    if (*i % p->stats_every == 0)
        stats(g, *t, g->frames, p->gap_done);
}

/* Sample i at hour (of the host clock, taken before a gap moved it on): a
 * slow daily swing and a small ripple, the warm zone during its alert, the
 * spike and the faulty zone. */
static void make_sample(const struct gen *g, const struct opts *o, const struct plan *p,
                        uint64_t i, double hour, struct dw_sample *smp)
{
    memset(smp, 0, sizeof(*smp));
    smp->n_zones = g->h.n_zones;
    for (unsigned z = 0; z < g->h.n_zones; z++) {
        double tc = 33.6 + 0.1 * (z % 8) + 0.3 * sin(hour * 2 * M_PI / 24.0)
                    + 0.02 * sin((double)i * 0.7 + z);
        double kpa = 1.0 + 0.05 * z + 0.2 * sin(hour * 2 * M_PI / 3.0);
        if (z == p->warm_zone && i >= p->i_alert && i < p->i_clear) {
            tc += 1.0;
            kpa *= 1.5;
        }
        if (i == p->i_spike && z == o->spike_zone)
            tc = o->spike_c;
        smp->temp[z] = (int16_t)lround(tc * 100.0);
        smp->pressure[z] = (uint16_t)lround(kpa * 1000.0);
        /* every 7th sample: a thermistor fault, a garment sends 0 */
        if (z == o->fault_zone && i % 7 == 0) {
            smp->status[z] = DW_ZS_TEMP_FAULT;
            smp->temp[z] = 0;
        }
    }
    smp->ambient[0] = smp->ambient[1] = 2600;
    smp->accel[2] = 1000;
}

/* --crash: ends as a killed writer would; --hold: flushed, then waits for
 * stdin to close. */
static void crash_or_hold(struct gen *g, const struct opts *o)
{
    int e;

    if (o->crash) {
        if ((e = dw_session_writer_flush(g->w)) < 0 || (e = dw_session_writer_sync(g->w)) < 0)
            die("flush", e);
        printf("frames %u\nevents %u\nalerts %u\n", g->frames, g->events, g->alerts);
        fflush(stdout);
        _exit(0); /* as a killed writer: SWMR flags stay set */
    }
    if (o->hold) {
        char buf[64];
        if ((e = dw_session_writer_flush(g->w)) < 0)
            die("flush", e);
        printf("ready\n");
        fflush(stdout);
        while (fread(buf, 1, sizeof(buf), stdin) > 0)
            ;
    }
}

int main(int argc, char **argv)
{
    struct gen g = { .text = "", .message = NULL,
                     .params = "{\"delta_c\":0.5,\"mad_factor\":3,\"max_zone_fraction\":0.5,"
                               "\"sustain\":\"30m\"}" };
    struct opts o = { .hours = 2.0, .spike_c = 45.0, .spike_at_h = -1, .restart_at_h = -1,
                      .rate = 10, .spike_zone = 3, .fault_zone = UINT32_MAX,
                      .dev = "bra-test" };
    struct plan p;
    uint8_t hp[DW_MAX_PAYLOAD], sp[DW_MAX_PAYLOAD];
    char err[DW_SESSION_ERR_MAX];
    ssize_t hl;
    uint64_t t = T0_US;
    int e;

    parse_args(argc, argv, &o, &g);
    dw_layout_default(&g.h, o.dev, "fw-test", o.rate);
    hl = dw_hello_pack(&g.h, hp, sizeof(hp));
    if (hl < 0)
        die("hello", (int)hl);
    struct dw_session_start s = { .path = argv[optind], .hello = hp, .hello_len = (size_t)hl,
                                  .t_host_ns = T0_NS, .t_device_us = T0_US, .stream = 7,
                                  .reason = "first-hello" };
    if ((e = dw_session_writer_create(&g.w, &s, err, sizeof(err))) < 0) {
        fprintf(stderr, "mksession: %s\n", err);
        return 1;
    }
    make_plan(&o, &p);
    p.hello = hp;
    p.hello_len = (size_t)hl;

    frame(&g, DW_FRAME_HELLO, t, hp, (size_t)hl);
    for (uint64_t i = 0; i < p.n; i++) {
        struct dw_sample smp;
        double hour = (double)(t + g.clock_back_us - T0_US) / 3.6e9;
        size_t sl;

        happenings(&g, &o, &p, &i, &t);
        make_sample(&g, &o, &p, i, hour, &smp);
        sl = (size_t)dw_sample_pack(&smp, sp, sizeof(sp));
        frame(&g, DW_FRAME_SAMPLE, t, sp, sl);
        if (i % (o.rate * 600) == 0 && (e = dw_session_writer_flush(g.w)) < 0)
            die("flush", e);
        t += p.dt;
    }
    stats(&g, t, g.frames, p.gap_done);
    crash_or_hold(&g, &o);
    if ((e = dw_session_writer_close(g.w, NULL, err, sizeof(err))) < 0) {
        fprintf(stderr, "mksession: %s\n", err);
        return 1;
    }
    printf("frames %u\nevents %u\nalerts %u\n", g.frames, g.events, g.alerts);
    return 0;
}
