/* ductwatch-sim: a simulated garment. The model (model.c) says what the
 * sensors read; this file turns it into the garment's exact byte stream
 * (docs/protocol.md), paces it, injects link faults (link_faults.c) and
 * writes the ground-truth labels (docs/simulator.md). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "duration.h"
#include "dw_config.h"
#include "dwtime.h"
#include "frame.h"
#include "garment_link.h"
#include "layout.h"
#include "link_faults.h"
#include "log.h"
#include "model.h"
#include "parse_num.h"
#include "replay.h"

#define STATUS_EVERY_US 10000000ull
#define OUTBUF 16384
#define MAX_BYTE_FAULTS 16

static const char *prog = "ductwatch-sim";
static volatile sig_atomic_t stop;

struct seq_range {
    uint32_t first, last;
};

struct sim {
    struct dw_model_config mc;
    unsigned rate;
    double speed;               /* 0 = --fast */
    const char *out, *pty_link, *labels_path, *device, *faults_spec;
    struct dw_link_faults_spec fspec;
    bool faults_on;
    struct dw_hello ref, hello;     /* the model's layout; the one the HELLO declares */
    const char *zone_order;
    uint8_t order[DW_MAX_ZONES];    /* HELLO zone i is the reference zone order[i] */
    uint8_t inv[DW_MAX_ZONES];      /* and reference zone z is HELLO zone inv[z] */
    uint64_t reboot_at_us;          /* 0: never */
    bool rebooted;
    uint64_t boot_dev;              /* device time of the last boot, on the session's line */
    uint8_t hello_payload[DW_MAX_PAYLOAD];
    size_t hello_len;
    struct dw_model *model;
    struct dw_garment_link link;
    struct dw_link_faults faults;
    FILE *labels;
    /* output */
    uint8_t buf[OUTBUF];
    size_t fill;
    uint64_t wall0_ns;
    bool unplugged;
    uint64_t unplug_start_us, unplug_end_us;
    uint32_t unplug_first_seq;
    /* accounting */
    uint32_t seq;
    uint64_t sent[5], written, damaged, lost_unplugged, lost_minutes, answered, bytes_garbage;
    uint64_t last_lost_minute, n_lost_minutes;
    struct seq_range *lost;
    size_t n_lost, cap_lost;
    bool lost_truncated;
    uint64_t t_dev_end;
};

static void usage(void)
{
    printf(
"Usage: ductwatch-sim --scenario NAME [options]\n"
"       ductwatch-sim --list-scenarios\n"
"       ductwatch-sim replay FILE.h5 [options]   (ductwatch-sim replay --help)\n"
"A simulated ductwatch garment: the exact byte stream of docs/protocol.md from\n"
"a physiological model with labelled anomalies (docs/simulator.md).\n"
"\n"
"  -s, --scenario NAME    healthy, blocked-duct, mastitis, engorgement,\n"
"                         garment-pressure, sensor-detached, sensor-stuck,\n"
"                         ice-pack, fever-only (default healthy)\n"
"      --list-scenarios   the scenarios and their parameters\n"
"      --seed N           the seed: same seed and options, same bytes (default 1)\n"
"  -d, --duration D       simulated time, e.g. 90m, 72h, 3d (default 24h)\n"
"      --rate HZ          samples per second, 1-1000 (default 10)\n"
"      --speed X          X times real time, paced by simulated time (default 1)\n"
"      --fast             as fast as the reader takes it (blocking writes)\n"
"      --out pty|stdout|FILE  where the bytes go (default pty: prints\n"
"                         'pty: /dev/pts/N' first and waits for a HELLO_REQUEST)\n"
"      --pty-link PATH    keep a symlink PATH to the current pty (removed while\n"
"                         unplugged), like /dev/serial/by-id names\n"
"      --labels FILE      write the ground truth as JSON lines\n"
"      --device ID        device id in HELLO, 1-16 characters, no '/' (default\n"
"                         dwsim-01)\n"
"      --side left|right  side of the scenario's anomaly (default from the seed)\n"
"      --zone N           zone of the anomaly, 0-15 (zone = side*8 + quadrant*2 +\n"
"                         ring, docs/protocol.md 8; default from the seed)\n"
"      --onset D          when the anomaly starts, after the session start\n"
"      --episode-duration D  how long it lasts (default per scenario)\n"
"      --param KEY=VALUE  a scenario parameter (repeatable; --list-scenarios)\n"
"      --link-faults SPEC link faults, e.g. flip=1e-4,drop=1e-5,dup=1e-5,\n"
"                         garbage=10m,garbage-max=64,unplug=30m,unplug-for=2s,\n"
"                         drift=50,lose-minutes=0.05 (per-byte probabilities;\n"
"                         mean intervals of device time; ppm; share of whole\n"
"                         minutes whose frames are lost)\n"
"      --zone-order ORDER the order the HELLO declares the zones in: ref (the\n"
"                         reference order, default), reverse or shuffle (from\n"
"                         the seed); SAMPLEs follow it, --zone stays reference\n"
"      --reboot-at D      the garment reboots D into the session: device time\n"
"                         and seq restart at 0 after a new HELLO\n");
    dw_cli_usage_std(25, DW_CLI_HELP_VERSION);
    printf(
"\n"
"Exit status: 0 at the end of the session or on SIGINT/SIGTERM, 1 on a\n"
"runtime failure, 2 on bad usage.\n");
}

static void check_device_id(const char *id)
{
    size_t n = strlen(id);
    if (!n || n > DW_ID_LEN)
        dw_usage_error(prog, "bad --device '%s' (1 to %d characters)", id, DW_ID_LEN);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7E || id[i] == '/')
            dw_usage_error(prog, "bad --device '%s' (printable, no spaces, no '/')", id);
}

enum { O_LIST = 256, O_SEED, O_RATE, O_SPEED, O_FAST, O_OUT, O_PTY_LINK, O_LABELS,
       O_DEVICE, O_SIDE, O_ZONE, O_ONSET, O_EPISODE, O_PARAM, O_FAULTS, O_ZONE_ORDER,
       O_REBOOT };

static const struct option sim_opts[] = {
    { "scenario", required_argument, NULL, 's' },
    { "list-scenarios", no_argument, NULL, O_LIST },
    { "seed", required_argument, NULL, O_SEED },
    { "duration", required_argument, NULL, 'd' },
    { "rate", required_argument, NULL, O_RATE },
    { "speed", required_argument, NULL, O_SPEED },
    { "fast", no_argument, NULL, O_FAST },
    { "out", required_argument, NULL, O_OUT },
    { "pty-link", required_argument, NULL, O_PTY_LINK },
    { "labels", required_argument, NULL, O_LABELS },
    { "device", required_argument, NULL, O_DEVICE },
    { "side", required_argument, NULL, O_SIDE },
    { "zone", required_argument, NULL, O_ZONE },
    { "onset", required_argument, NULL, O_ONSET },
    { "episode-duration", required_argument, NULL, O_EPISODE },
    { "param", required_argument, NULL, O_PARAM },
    { "link-faults", required_argument, NULL, O_FAULTS },
    { "zone-order", required_argument, NULL, O_ZONE_ORDER },
    { "reboot-at", required_argument, NULL, O_REBOOT },
    DW_CLI_LONGOPTS_STD,
    { 0 },
};

static void parse_param(struct sim *s, char *arg)
{
    char *eq = strchr(arg, '=');
    double d;

    if (!eq || eq == arg)
        dw_usage_error(prog, "bad --param '%s' (KEY=VALUE)", arg);
    if (s->mc.n_params >= DW_MODEL_MAX_PARAMS)
        dw_usage_error(prog, "too many --param options");
    if (dw_parse_double(eq + 1, -1e9, 1e9, &d) < 0)
        dw_usage_error(prog, "bad --param '%s' (the value must be a number)", arg);
    *eq = 0;
    s->mc.param_key[s->mc.n_params] = arg;
    s->mc.param_value[s->mc.n_params++] = d;
}

/* The scenario's options: where, when and how. false: not one of them. */
static bool parse_scenario_option(struct sim *s, int ch, char *arg)
{
    uint64_t u;

    switch (ch) {
    case O_SIDE:
        if (strcmp(arg, "left") && strcmp(arg, "right"))
            dw_usage_error(prog, "bad --side '%s' (left or right)", arg);
        s->mc.side = arg[0] == 'l' ? DW_SIDE_LEFT : DW_SIDE_RIGHT;
        return true;
    case O_ZONE:
        if (dw_parse_u64(arg, 0, DW_DEFAULT_ZONES - 1, &u) < 0)
            dw_usage_error(prog, "bad --zone '%s' (0 to %d)", arg, DW_DEFAULT_ZONES - 1);
        s->mc.zone = (int)u;
        return true;
    case O_ONSET:
        if (dw_duration_parse_us(arg, &u) < 0 || u > INT64_MAX)
            dw_usage_error(prog, "bad --onset '%s' (a duration such as 30h)", arg);
        s->mc.onset_us = (int64_t)u;
        return true;
    case O_EPISODE:
        if (dw_duration_parse_us(arg, &u) < 0 || !u || u > INT64_MAX)
            dw_usage_error(prog, "bad --episode-duration '%s' (a duration such as 36h)", arg);
        s->mc.episode_us = (int64_t)u;
        return true;
    case O_PARAM:
        parse_param(s, arg);
        return true;
    default:
        return false;
    }
}

/* The session's options. false: not one of them. */
static bool parse_session_option(struct sim *s, int ch, char *arg)
{
    char err[256];
    uint64_t u;

    switch (ch) {
    case 's': s->mc.scenario = arg; return true;
    case O_SEED:
        if (dw_parse_u64(arg, 0, UINT64_MAX, &s->mc.seed) < 0)
            dw_usage_error(prog, "bad --seed '%s' (a non-negative integer)", arg);
        return true;
    case 'd':
        if (dw_duration_parse_us(arg, &s->mc.duration_us) < 0 || !s->mc.duration_us)
            dw_usage_error(prog, "bad --duration '%s' (e.g. 90s, 15m, 72h, 3d)", arg);
        return true;
    case O_RATE:
        if (dw_parse_u64(arg, 1, 1000, &u) < 0)
            dw_usage_error(prog, "bad --rate '%s' (1 to 1000 Hz)", arg);
        s->rate = (unsigned)u;
        return true;
    case O_OUT: s->out = arg; return true;
    case O_PTY_LINK: s->pty_link = arg; return true;
    case O_LABELS: s->labels_path = arg; return true;
    case O_DEVICE: check_device_id(arg); s->device = arg; return true;
    case O_FAULTS:
        if (dw_link_faults_parse(arg, &s->fspec, err, sizeof(err)) < 0)
            dw_usage_error(prog, "%s", err);
        s->faults_spec = arg;
        return true;
    case O_ZONE_ORDER:
        if (strcmp(arg, "ref") && strcmp(arg, "reverse") && strcmp(arg, "shuffle"))
            dw_usage_error(prog, "bad --zone-order '%s' (ref, reverse or shuffle)", arg);
        s->zone_order = arg;
        return true;
    case O_REBOOT:
        if (dw_duration_parse_us(arg, &s->reboot_at_us) < 0 || !s->reboot_at_us)
            dw_usage_error(prog, "bad --reboot-at '%s' (a duration such as 30h)", arg);
        return true;
    default:
        return parse_scenario_option(s, ch, arg);
    }
}

static void parse_args(int argc, char **argv, struct sim *s)
{
    int ch, level = DW_LOG_INFO;
    bool speed_set = false, fast = false;

    s->mc.scenario = "healthy";
    s->mc.seed = 1;
    s->mc.duration_us = 24 * DW_MODEL_US_H;
    s->mc.side = s->mc.zone = -1;
    s->mc.onset_us = s->mc.episode_us = -1;
    s->rate = 10;
    s->speed = 1;
    s->out = "pty";
    s->device = "dwsim-01";
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":s:d:vqhV", sim_opts, NULL)) != -1) {
        if (ch == O_LIST) {
            dw_model_list_scenarios(stdout);
            exit(DW_EXIT_OK);
        } else if (ch == O_SPEED) {
            if (dw_parse_double(optarg, 1e-3, 1e9, &s->speed) < 0)
                dw_usage_error(prog, "bad --speed '%s' (a number from 0.001 to 1e9)", optarg);
            speed_set = true;
        } else if (ch == O_FAST) {
            fast = true;
        } else if (!parse_session_option(s, ch, optarg)) {
            dw_cli_std_option(prog, ch, argv, &level, usage);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
    if (fast && speed_set)
        dw_usage_error(prog, "--speed and --fast exclude each other");
    if (fast)
        s->speed = 0;
    if (s->pty_link && strcmp(s->out, "pty"))
        dw_usage_error(prog, "--pty-link goes with --out pty");
    if (s->reboot_at_us && s->reboot_at_us >= s->mc.duration_us)
        dw_usage_error(prog, "--reboot-at is not before the end of the session (--duration)");
    s->faults_on = dw_link_faults_any(&s->fspec);
    dw_log_set_level(level);
}

/* ---- time ---------------------------------------------------------- */

/* The device clock runs fast by drift_ppm against simulated real time. */
static uint64_t dev_us(const struct sim *s, uint64_t real_us)
{
    return s->fspec.drift_ppm == 0 ? real_us
                                   : (uint64_t)llround((double)real_us * (1.0 + s->fspec.drift_ppm * 1e-6));
}

static uint64_t real_us(const struct sim *s, uint64_t dev)
{
    return s->fspec.drift_ppm == 0 ? dev
                                   : (uint64_t)llround((double)dev / (1.0 + s->fspec.drift_ppm * 1e-6));
}

/* ---- zone order ---------------------------------------------------- */

/* The HELLO's layout: the reference zones in --zone-order's order. The
 * model keeps the reference layout; order_sample follows the HELLO. */
static void order_zones(struct sim *s)
{
    unsigned n = s->ref.n_zones;
    bool rev = s->zone_order && !strcmp(s->zone_order, "reverse");
    struct dw_prng r;

    for (unsigned i = 0; i < n; i++)
        s->order[i] = (uint8_t)(rev ? n - 1 - i : i);
    if (s->zone_order && !strcmp(s->zone_order, "shuffle")) {
        dw_prng_seed(&r, s->mc.seed, 4);
        for (unsigned i = n - 1; i > 0; i--) {
            unsigned j = (unsigned)(dw_prng_next(&r) % (i + 1));
            uint8_t t = s->order[i];
            s->order[i] = s->order[j];
            s->order[j] = t;
        }
    }
    for (unsigned i = 0; i < n; i++)
        s->inv[s->order[i]] = (uint8_t)i;
    s->hello = s->ref;
    for (unsigned i = 0; i < n; i++) {
        const struct dw_zone_desc *d = &s->ref.zone[s->order[i]];
        s->hello.zone[i] = *d;
        if (d->mirror < n)
            s->hello.zone[i].mirror = s->inv[d->mirror];
    }
}

static void order_sample(const struct sim *s, struct dw_sample *smp)
{
    struct dw_sample ref = *smp;
    for (unsigned i = 0; i < smp->n_zones; i++) {
        smp->temp[i] = ref.temp[s->order[i]];
        smp->pressure[i] = ref.pressure[s->order[i]];
        smp->status[i] = ref.status[s->order[i]];
    }
}

/* ---- labels -------------------------------------------------------- */

static const char *side_label(int side)
{
    return side == DW_MODEL_SIDE_BOTH ? "both" : dw_side_name((unsigned)side);
}

static const char *type_label(unsigned type)
{
    static const char *const names[] = { "?", "hello", "sample", "event", "status" };
    return type < 5 ? names[type] : "?";
}

static void note_lost(struct sim *s, uint32_t seq)
{
    if (s->n_lost && s->lost[s->n_lost - 1].last + 1 == seq) {
        s->lost[s->n_lost - 1].last = seq;
        return;
    }
    if (s->n_lost == s->cap_lost) {
        size_t cap = s->cap_lost ? 2 * s->cap_lost : 64;
        struct seq_range *n = realloc(s->lost, cap * sizeof(*n));
        if (!n) {
            s->lost_truncated = true; /* said at the end */
            return;
        }
        s->lost = n;
        s->cap_lost = cap;
    }
    s->lost[s->n_lost++] = (struct seq_range){ seq, seq };
}

static void write_spans(struct sim *s)
{
    size_t n;
    const struct dw_model_span *sp = dw_model_spans(s->model, &n);
    for (size_t i = 0; i < n; i++) {
        const struct dw_model_span *p = &sp[i];
        uint64_t end = p->end_us;
        if (real_us(s, s->t_dev_end) < p->start_us)
            continue; /* stopped before it began */
        if (dev_us(s, end) > s->t_dev_end)
            end = real_us(s, s->t_dev_end);
        if (!strcmp(p->type, "episode")) {
            char zname[64] = "";
            int zone = p->zone >= 0 ? s->inv[p->zone] : -1;
            if (zone >= 0)
                dw_zone_name(&s->hello, (unsigned)zone, zname, sizeof(zname));
            fprintf(s->labels, "{\"type\":\"episode\",\"scenario\":\"%s\",\"rule\":\"%s\","
                    "\"what\":\"%s\",\"side\":\"%s\",", s->mc.scenario, p->rule, p->kind,
                    side_label(p->side));
            if (zone >= 0)
                fprintf(s->labels, "\"zone\":%d,\"zone_name\":\"%s\",", zone, zname);
            else
                fprintf(s->labels, "\"zone\":null,\"zone_name\":null,");
            fprintf(s->labels, "\"start_us\":%llu,\"end_us\":%llu",
                    (unsigned long long)dev_us(s, p->start_us), (unsigned long long)dev_us(s, end));
            if (!isnan(p->value))
                fprintf(s->labels, ",\"max_reading_c\":%.1f", p->value);
            fprintf(s->labels, "}\n");
        } else {
            fprintf(s->labels, "{\"type\":\"artefact\",\"kind\":\"%s\",\"side\":\"%s\"", p->kind,
                    side_label(p->side));
            if (p->zone >= 0)
                fprintf(s->labels, ",\"zone\":%d", s->inv[p->zone]);
            fprintf(s->labels, ",\"start_us\":%llu,\"end_us\":%llu",
                    (unsigned long long)dev_us(s, p->start_us), (unsigned long long)dev_us(s, end));
            if (!isnan(p->value))
                fprintf(s->labels, ",\"%s\":%.1f",
                        !strcmp(p->kind, "thermometer") ? "value_c" : "ambient_c", p->value);
            if (p->logged >= 0)
                fprintf(s->labels, ",\"logged\":%s", p->logged ? "true" : "false");
            fprintf(s->labels, "}\n");
        }
    }
}

static void write_summary(struct sim *s)
{
    uint64_t total = s->sent[1] + s->sent[2] + s->sent[3] + s->sent[4];
    char device[2 * DW_ID_LEN + 1], *d = device;
    /* A device id may hold '"' or '\\' (printable ASCII): escape them. */
    for (const char *c = s->device; *c; c++) {
        if (*c == '"' || *c == '\\')
            *d++ = '\\';
        *d++ = *c;
    }
    *d = 0;
    fprintf(s->labels, "{\"type\":\"summary\",\"scenario\":\"%s\",\"seed\":%llu,\"device\":\"%s\","
            "\"rate_hz\":%u,\"duration_us\":%llu,\"frames\":{\"hello\":%llu,\"sample\":%llu,"
            "\"event\":%llu,\"status\":%llu,\"total\":%llu},\"last_seq\":%lld,"
            "\"frames_written\":%llu,\"frames_damaged\":%llu,\"frames_lost_unplugged\":%llu,"
            "\"frames_lost\":%llu,\"hello_answers\":%llu,\"bytes\":%llu,\"garbage_bytes\":%llu,"
            "\"drift_ppm\":%g,\"faults\":{",
            s->mc.scenario, (unsigned long long)s->mc.seed, device, s->rate,
            (unsigned long long)s->t_dev_end, (unsigned long long)s->sent[1],
            (unsigned long long)s->sent[2], (unsigned long long)s->sent[3],
            (unsigned long long)s->sent[4], (unsigned long long)total,
            total ? (long long)s->seq - 1 : -1LL, (unsigned long long)s->written,
            (unsigned long long)s->damaged, (unsigned long long)s->lost_unplugged,
            (unsigned long long)(s->damaged + s->lost_unplugged + s->lost_minutes),
            (unsigned long long)s->answered,
            (unsigned long long)s->link.bytes_out, (unsigned long long)s->bytes_garbage,
            s->fspec.drift_ppm);
    for (unsigned k = 0; k < DW_FAULT_KINDS; k++)
        fprintf(s->labels, "%s\"%s\":%llu", k ? "," : "", dw_fault_kind_name(k),
                (unsigned long long)s->faults.count[k]);
    if (s->fspec.lose_minutes > 0)
        fprintf(s->labels, ",\"lost-minute\":%llu", (unsigned long long)s->n_lost_minutes);
    fprintf(s->labels, "},\"frames_lost_minutes\":%llu,\"zone_order\":[",
            (unsigned long long)s->lost_minutes);
    for (unsigned i = 0; i < s->hello.n_zones; i++)
        fprintf(s->labels, "%s%u", i ? "," : "", s->order[i]);
    fprintf(s->labels, "],\"lost_seqs\":[");
    for (size_t i = 0; i < s->n_lost; i++)
        fprintf(s->labels, "%s[%u,%u]", i ? "," : "", s->lost[i].first, s->lost[i].last);
    fprintf(s->labels, "]}\n");
}

/* ---- output -------------------------------------------------------- */

static int flush_out(struct sim *s)
{
    int r = 0;
    if (s->fill && !s->unplugged)
        r = dw_garment_link_write(&s->link, s->buf, s->fill);
    s->fill = 0;
    return r;
}

static int put_bytes(struct sim *s, const uint8_t *p, size_t n)
{
    if (s->fill + n > sizeof(s->buf) && flush_out(s) < 0)
        return -1;
    if (n > sizeof(s->buf))
        return dw_garment_link_write(&s->link, p, n);
    memcpy(s->buf + s->fill, p, n);
    s->fill += n;
    return 0;
}

/* Paced output: wait for the frame's moment of (simulated) real time. */
static void pace(struct sim *s, uint64_t t_dev)
{
    if (s->speed <= 0)
        return;
    if (flush_out(s) < 0) {
        stop = 1;
        return;
    }
    dw_sleep_until_monotonic(s->wall0_ns + (uint64_t)((double)real_us(s, t_dev) * 1000.0 / s->speed),
                             &stop);
}

static void fault_line(struct sim *s, const struct dw_byte_fault *bf, uint32_t seq, unsigned type,
                       uint64_t t_dev)
{
    if (!s->labels)
        return;
    fprintf(s->labels, "{\"type\":\"fault\",\"kind\":\"%s\",\"t_us\":%llu,\"seq\":%u,"
            "\"frame\":\"%s\",\"offset\":%zu,\"delimiter\":%s", dw_fault_kind_name(bf->kind),
            (unsigned long long)t_dev, seq, type_label(type), bf->offset,
            bf->delimiter ? "true" : "false");
    if (bf->kind == DW_FAULT_FLIP)
        fprintf(s->labels, ",\"bit\":%u", bf->bit);
    fprintf(s->labels, "}\n");
}

static int emit(struct sim *s, uint8_t type, const uint8_t *payload, size_t len, uint64_t t_dev,
                bool exempt);
static int connect_sequence(struct sim *s, uint64_t t_dev);

/* A frame of a lost minute: numbered, never sent; one label per minute. */
static void lost_minute(struct sim *s, uint32_t seq, uint64_t t_dev)
{
    uint64_t minute = t_dev / 60000000ull;
    s->lost_minutes++;
    note_lost(s, seq);
    if (s->last_lost_minute == minute + 1)
        return;
    s->last_lost_minute = minute + 1;
    s->n_lost_minutes++;
    if (s->labels)
        fprintf(s->labels, "{\"type\":\"fault\",\"kind\":\"lost-minute\",\"start_us\":%llu,"
                "\"end_us\":%llu,\"first_seq\":%u}\n", (unsigned long long)(minute * 60000000ull),
                (unsigned long long)((minute + 1) * 60000000ull), seq);
}

/* A HELLO_REQUEST is answered by a HELLO as the next frame. */
static int answer_requests(struct sim *s, uint64_t t_dev)
{
    if (!s->link.is_pty || s->unplugged || !dw_garment_link_take_request(&s->link))
        return 0;
    s->answered++;
    dw_debug("answering a HELLO_REQUEST");
    return emit(s, DW_FRAME_HELLO, s->hello_payload, s->hello_len, t_dev, false);
}

/* One garment frame: numbered, then lost, damaged or written. exempt: the
 * HELLO that opens a connection, which faults never touch (a host drops
 * everything before its first HELLO; see docs/simulator.md). */
static int emit(struct sim *s, uint8_t type, const uint8_t *payload, size_t len, uint64_t t_dev,
                bool exempt)
{
    uint8_t wire[DW_MAX_WIRE], bad[2 * DW_MAX_WIRE], garbage[1024];
    struct dw_byte_fault bf[MAX_BYTE_FAULTS];
    uint32_t seq;
    ssize_t n;
    unsigned nf = 0;
    bool lost = false, glued = false;
    size_t g;

    if (type != DW_FRAME_HELLO && answer_requests(s, t_dev) < 0)
        return -1;
    seq = s->seq++;
    n = dw_frame_encode(type, seq, t_dev >= s->boot_dev ? t_dev - s->boot_dev : 0, payload, len,
                        wire, sizeof(wire));

    if (n < 0) {
        dw_err("cannot encode a %s frame: %s", dw_frame_type_name(type), strerror((int)-n));
        return -1;
    }
    s->sent[type]++;
    if (s->unplugged) {
        s->lost_unplugged++;
        note_lost(s, seq);
        return 0;
    }
    if (!s->faults_on || exempt) {
        s->written++;
        return put_bytes(s, wire, (size_t)n);
    }
    if (dw_link_faults_minute_lost(&s->faults, t_dev)) {
        lost_minute(s, seq, t_dev);
        return 0;
    }
    if ((g = dw_link_faults_garbage(&s->faults, t_dev, garbage, &glued)) > 0) {
        s->bytes_garbage += g;
        if (s->labels)
            fprintf(s->labels, "{\"type\":\"fault\",\"kind\":\"garbage\",\"t_us\":%llu,"
                    "\"bytes\":%zu,\"glued\":%s,\"before_seq\":%u}\n",
                    (unsigned long long)t_dev, g, glued ? "true" : "false", seq);
        if (put_bytes(s, garbage, g) < 0)
            return -1;
    }
    n = (ssize_t)dw_link_faults_frame(&s->faults, wire, (size_t)n, bad, &lost, bf,
                                      MAX_BYTE_FAULTS, &nf);
    for (unsigned i = 0; i < nf; i++)
        fault_line(s, &bf[i], seq, type, t_dev);
    s->written++;
    if (lost) {
        s->damaged++;
        note_lost(s, seq);
    }
    return put_bytes(s, bad, (size_t)n);
}

/* A garment reboot: a new HELLO, device time and seq from 0. */
static int reboot(struct sim *s, uint64_t t_dev)
{
    if (s->labels)
        fprintf(s->labels, "{\"type\":\"fault\",\"kind\":\"reboot\",\"t_us\":%llu,"
                "\"frames_before\":%u}\n", (unsigned long long)t_dev, s->seq);
    s->rebooted = true;
    s->boot_dev = t_dev;
    s->seq = 0;
    if (s->unplugged)
        return 0; /* the replug says HELLO */
    if (flush_out(s) < 0)
        return -1;
    return connect_sequence(s, t_dev);
}

static int emit_hello(struct sim *s, uint64_t t_dev, bool exempt)
{
    return emit(s, DW_FRAME_HELLO, s->hello_payload, s->hello_len, t_dev, exempt);
}

/* A connection starts with a lone 0x00, then HELLO. */
static int connect_sequence(struct sim *s, uint64_t t_dev)
{
    static const uint8_t zero = 0;
    if (put_bytes(s, &zero, 1) < 0)
        return -1;
    dw_link_faults_reset(&s->faults);
    return emit_hello(s, t_dev, true);
}

static int unplug(struct sim *s, uint64_t t_dev)
{
    if (flush_out(s) < 0)
        return -1;
    /* What is still in the pty would vanish with it: let the reader take it. */
    if (s->link.is_pty && !dw_garment_link_drain(&s->link, 10000000000ull))
        dw_warn("the reader did not take the last bytes before the unplug");
    dw_garment_link_unplug(&s->link);
    s->unplugged = true;
    s->unplug_start_us = t_dev;
    s->unplug_end_us = t_dev + dev_us(s, s->fspec.unplug_for_us);
    s->unplug_first_seq = s->seq;
    dw_debug("unplugged at %llu us", (unsigned long long)t_dev);
    return 0;
}

static int replug(struct sim *s, uint64_t t_dev)
{
    uint64_t pause_ms = s->speed > 0 ? (uint64_t)((double)s->fspec.unplug_for_us / 1000.0 / s->speed)
                                     : 200;
    if (s->link.is_pty && s->speed <= 0)
        usleep((useconds_t)(pause_ms * 1000)); /* long enough for the reader to see it */
    if (s->labels)
        fprintf(s->labels, "{\"type\":\"fault\",\"kind\":\"unplug\",\"start_us\":%llu,"
                "\"end_us\":%llu,\"first_seq\":%u,\"last_seq\":%u,\"frames_lost\":%u}\n",
                (unsigned long long)s->unplug_start_us, (unsigned long long)t_dev,
                s->unplug_first_seq, s->seq - 1, s->seq - s->unplug_first_seq);
    s->unplugged = false;
    if (dw_garment_link_replug(&s->link) < 0)
        return -1;
    dw_debug("plugged in again at %llu us", (unsigned long long)t_dev);
    return connect_sequence(s, t_dev);
}

/* ---- the run ------------------------------------------------------- */

static void wait_for_reader(struct sim *s)
{
    if (!s->link.is_pty)
        return;
    dw_info("waiting for a reader on %s (a HELLO_REQUEST)", s->link.pty_name);
    while (!stop && !dw_garment_link_take_request(&s->link))
        dw_garment_link_wait_host(&s->link, 200);
}


/* The garment's events up to t_dev, each at its own time. */
static int emit_events(struct sim *s, const struct dw_model_event *ev, size_t n_ev, size_t *ei,
                       uint64_t t_dev)
{
    uint8_t payload[DW_MAX_PAYLOAD];
    struct dw_event e;
    ssize_t n;

    for (; *ei < n_ev && dev_us(s, ev[*ei].t_us) <= t_dev; (*ei)++) {
        uint64_t te = dev_us(s, ev[*ei].t_us);
        memset(&e, 0, sizeof(e));
        e.kind = ev[*ei].kind;
        e.side = ev[*ei].side;
        e.value = ev[*ei].value;
        if (ev[*ei].text)
            snprintf(e.text, sizeof(e.text), "%s", ev[*ei].text);
        n = dw_event_pack(&e, payload, sizeof(payload));
        pace(s, te);
        if (n < 0 || emit(s, DW_FRAME_EVENT, payload, (size_t)n, te, false) < 0)
            return -1;
    }
    return 0;
}

static int run(struct sim *s)
{
    size_t n_ev, ei = 0;
    const struct dw_model_event *ev = dw_model_events(s->model, &n_ev);
    uint64_t dur_dev = dev_us(s, s->mc.duration_us), next_status = 0, k = 0, t_dev = 0;
    uint64_t next_progress = dw_now_monotonic_ns() + 10000000000ull;
    uint8_t payload[DW_MAX_PAYLOAD];
    struct dw_sample smp;
    struct dw_status st;
    ssize_t n;

    wait_for_reader(s);
    if (stop)
        return 0;
    s->wall0_ns = dw_now_monotonic_ns();
    if (connect_sequence(s, 0) < 0)
        return -1;
    for (;; k++) {
        t_dev = k * 1000000ull / s->rate;
        if (t_dev >= dur_dev || stop)
            break;
        if (s->reboot_at_us && !s->rebooted && t_dev >= dev_us(s, s->reboot_at_us) &&
            reboot(s, t_dev) < 0)
            return -1;
        if (s->faults_on && !s->unplugged && dw_link_faults_unplug_due(&s->faults, t_dev) &&
            unplug(s, t_dev) < 0)
            return -1;
        if (s->unplugged && t_dev >= s->unplug_end_us && replug(s, t_dev) < 0)
            return -1;
        if (emit_events(s, ev, n_ev, &ei, t_dev) < 0)
            return -1;
        if (t_dev >= next_status) {
            dw_model_status(s->model, real_us(s, t_dev), &st);
            n = dw_status_pack(&st, payload, sizeof(payload));
            pace(s, t_dev);
            if (n < 0 || emit(s, DW_FRAME_STATUS, payload, (size_t)n, t_dev, false) < 0)
                return -1;
            next_status += STATUS_EVERY_US;
        }
        dw_model_sample(s->model, real_us(s, t_dev), &smp);
        order_sample(s, &smp);
        n = dw_sample_pack(&smp, payload, sizeof(payload));
        pace(s, t_dev);
        if (n < 0 || emit(s, DW_FRAME_SAMPLE, payload, (size_t)n, t_dev, false) < 0)
            return -1;
        if ((k & 1023) == 0 && dw_now_monotonic_ns() >= next_progress) {
            char at[48];
            dw_duration_format(t_dev, at, sizeof(at));
            dw_debug("at %s, %u frames", at, s->seq);
            next_progress = dw_now_monotonic_ns() + 10000000000ull;
        }
    }
    s->t_dev_end = t_dev;
    if (s->unplugged && replug(s, t_dev) < 0)
        return -1;
    if (flush_out(s) < 0)
        return -1;
    /* The reader takes the tail before the pty goes away. */
    if (s->link.is_pty && !stop) {
        uint64_t until = dw_now_monotonic_ns() + 30000000000ull;
        while (!stop && dw_now_monotonic_ns() < until && dw_garment_link_pending(&s->link) > 0) {
            dw_garment_link_wait_host(&s->link, 50);
            if (answer_requests(s, t_dev) < 0 || flush_out(s) < 0)
                break;
        }
        usleep(200000);
    }
    return 0;
}

static int sim_main(int argc, char **argv)
{
    struct sim s;
    char err[256];
    int status = DW_EXIT_OK;
    ssize_t n;

    memset(&s, 0, sizeof(s));
    dw_log_init(prog);
    parse_args(argc, argv, &s);
    dw_layout_default(&s.ref, s.device, "dwsim-" DW_VERSION, s.rate);
    order_zones(&s);
    n = dw_hello_pack(&s.hello, s.hello_payload, sizeof(s.hello_payload));
    if (n < 0) {
        dw_err("cannot build the HELLO: %s", strerror((int)-n));
        return DW_EXIT_FAILURE;
    }
    s.hello_len = (size_t)n;
    s.model = dw_model_new(&s.mc, &s.ref, err, sizeof(err));
    if (!s.model) {
        if (errno == EINVAL)
            dw_usage_error(prog, "%s", err);
        dw_err("cannot build the model: %s", strerror(errno));
        return DW_EXIT_FAILURE;
    }
    dw_link_faults_init(&s.faults, &s.fspec, s.mc.seed);
    if (s.labels_path && !(s.labels = fopen(s.labels_path, "w"))) {
        dw_err("cannot write %s: %s", s.labels_path, strerror(errno));
        dw_model_free(s.model);
        return DW_EXIT_FAILURE;
    }
    /* dw_install_stop_signals sets no SA_RESTART: a write blocked on a
     * full pty nobody reads must end. */
    dw_install_stop_signals(&stop);
    if (dw_garment_link_open(&s.link, s.out, s.pty_link, &stop) < 0) {
        status = DW_EXIT_FAILURE;
        goto out;
    }
    if (s.labels && s.fspec.drift_ppm != 0)
        fprintf(s.labels, "{\"type\":\"fault\",\"kind\":\"drift\",\"ppm\":%g}\n", s.fspec.drift_ppm);
    dw_info("scenario %s, seed %llu, %u Hz, device %s%s%s", s.mc.scenario,
            (unsigned long long)s.mc.seed, s.rate, s.device,
            s.faults_spec ? ", link faults " : "", s.faults_spec ? s.faults_spec : "");
    if (run(&s) < 0)
        status = DW_EXIT_FAILURE;
    if (s.lost_truncated)
        dw_warn("out of memory: the labels' lost_seqs list is incomplete");
    dw_info("done: %llu frames, %llu bytes, %llu lost to link faults, %llu HELLO_REQUEST answered",
            (unsigned long long)(s.sent[1] + s.sent[2] + s.sent[3] + s.sent[4]),
            (unsigned long long)s.link.bytes_out,
            (unsigned long long)(s.damaged + s.lost_unplugged + s.lost_minutes),
            (unsigned long long)s.answered);
out:
    if (s.labels) {
        write_spans(&s);
        write_summary(&s);
        if (fclose(s.labels) != 0) {
            dw_err("writing %s: %s", s.labels_path, strerror(errno));
            status = DW_EXIT_FAILURE;
        }
    }
    dw_garment_link_close(&s.link);
    dw_model_free(s.model);
    free(s.lost);
    return status;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "replay"))
        return sim_replay_main(argc - 1, argv + 1);
    return sim_main(argc, argv);
}
