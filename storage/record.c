/* ductwatch-record: ZeroMQ streams -> one HDF5 session file per device
 * (docs/storage.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "contract.h"
#include "device_id.h"
#include "dseq.h"
#include "duration.h"
#include "dwtime.h"
#include "endpoint.h"
#include "fleet_compact.h"
#include "fleet_writer.h"
#include "frame.h"
#include "jssub.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "parse_num.h"
#include "recover.h"
#include "resume.h"
#include "security.h"
#include "session_file.h"
#include "session_reader.h"
#include "session_writer.h"
#include "stream_sub.h"
#include "utf8.h"

#define DEFAULT_ROTATE_US (24ull * 3600 * 1000000)
#define DEFAULT_FSYNC_US (10ull * 1000000)
#define FLUSH_NS 1000000000ull       /* the contract: at least once a second */
#define STATS_NS 10000000000ull      /* the recorder's own /stats rows */
#define DRAIN_BUDGET 4096            /* messages per wake-up before timers run */
#define STOP_DRAIN_NS 2000000000ull  /* at stop: take what is already queued */
#define MAX_SUBS 16
/* --nats: a message waits for the next flush of its file (at most about a
 * second, FLUSH_NS) before its ack; unacked this long it comes again. */
#define NATS_ACK_WAIT_MS 10000
/* --nats with --sub too: the longest a fetch waits while ZeroMQ may have
 * messages queued. */
#define NATS_SHARE_MS 20
#define DEFAULT_FLEET_PERIOD_US (3600ull * 1000000)
/* --layout auto: above this many garments one fleet file costs less than
 * a file per garment (bench/fleet, docs/performance.md). */
#define FLEET_AUTO_ABOVE 64
/* The flush and fsync sweeps run at most this often: each wake-up takes
 * the files due by then, instead of one wake-up per file (1000 a second
 * for 1000 files cost 7% of a core with nothing to record). */
#define SWEEP_TICK_NS 20000000ull
/* Free memory glibc keeps at the top of the heap instead of returning it.
 * zlib allocates and frees about 256 KiB for every chunk HDF5 compresses;
 * with glibc's default of 128 KiB every flush of every file shrank the heap
 * and faulted the same pages in again (most of a recorder's CPU time with
 * hundreds of files). 4 MiB costs as little CPU as 64 MiB did (0.106 %
 * against 0.107 % of a core per garment, 1024 garments, record-once) and
 * keeps less of a burst's memory. */
#define HEAP_TRIM_BYTES (4 * 1024 * 1024)
/* Setting the trim threshold stops glibc from raising its mmap threshold
 * (128 KiB) as large blocks are freed, so every block of 128 KiB or more
 * was an mmap, its pages faulted in and zeroed, then an munmap: a fleet
 * file's chunk buffers (4096 rows x 64 zones x 4 bytes = 1 MiB a column)
 * at every flush. Up to this size blocks come from the heap: record-once
 * 5000 garments --layout fleet 0.0145-0.0170 % of a core per garment
 * before, 0.0103 % with it (docs/performance.md 3.5). */
#define HEAP_MMAP_BYTES (4 * 1024 * 1024)

static const char *prog = "ductwatch-record";
static volatile sig_atomic_t stop;

struct config {
    const char *subs[MAX_SUBS];
    int n_subs;
    const char *dir;
    uint64_t rotate_us;
    uint64_t fsync_us;
    unsigned chunk_rows;
    const char *recover;
    const char *curve_key, *server_key;
    bool insecure;
    enum { LAYOUT_SESSION, LAYOUT_FLEET, LAYOUT_AUTO } layout;
    uint64_t fleet_period_us;
    size_t fleet_above;
    const char *name;       /* the recorder's name in fleet file names */
    char **compact;         /* --compact: the files */
    int n_compact;
    size_t compact_memory;  /* --compact-memory, bytes (0: the default) */
    bool compact_closed;    /* --compact-closed */
    struct dw_jssub_options nats; /* --nats, --partition: a fleet worker */
};

struct device {
    struct dw_sub_device sub;         /* first: the id, acquire's and detect's streams */
    struct dw_session_writer *w;
    unsigned fdev;                    /* fleet layout: /devices index + 1, 0 = none */
    bool have_hello;
    uint8_t hello[DW_MAX_PAYLOAD];
    size_t hello_len;
    /* Rotation clock: device time since the file started, never backwards. */
    uint64_t file_elapsed_us, last_t;
    bool have_t;
    /* The device seq, to number garment EVENTs (their JSON body has
     * none) and to count the garment frames lost across an acquire
     * restart. */
    struct dw_dseq dseq;
    uint64_t stream;                  /* latest acquire stream id */
    uint64_t unrecordable;            /* messages before any HELLO, or that did not fit */
    bool warned_unrecordable;
    bool warned_hello_id;
    /* acquire's gap event for frames before the device's first HELLO: it
     * comes before the HELLO that opens the file, and goes first in it */
    struct dw_row_event held_gap;
    bool have_held_gap;
    uint64_t frames_total;
    /* the fleet file it joined last (struct recorder's fleet_gen), and
     * frames_total when it first joined that one: its frames in the file */
    uint64_t fleet_gen, fleet_frames0;
    uint64_t fleet_lost;              /* its frames lost with a deleted fleet file */
    char last_name[PATH_MAX];
    uint64_t last_t_device_us;
    uint64_t flushed_ns;              /* monotonic: its file's last flush (--nats acks) */
    struct dw_session_tail disk;      /* --nats, resumed: its newest file before the start */
    bool disk_checked, have_disk;
};

/* Work done for every file once per period, spread over the period in
 * device order instead of all at once: device i of n is due at
 * start + i * period / n, so each file still gets it once per period. */
struct sweep {
    uint64_t period_ns, start_ns;
    size_t done;    /* devices handled in this period */
};

struct recorder {
    struct config cfg;
    struct dw_stream_sub sub; /* its device entries are struct device */
    struct sweep flush, sync;
    int dir_fd;               /* --dir: session files are created under it */
    bool fleet_on;            /* writing the fleet layout (--layout, or auto switched) */
    struct dw_fleet_writer *fleet;
    struct dw_jssub *js;      /* --nats: the partition's consumer */
    struct dw_resume resume;  /* --nats, resumed: the directory as the predecessor left it */
    bool resuming;
    uint64_t on_disk;         /* messages left out: the predecessor's files hold them */
    uint64_t fleet_end_ns;    /* host time the fleet file's period ends */
    uint64_t fleet_gen;       /* fleet files opened so far: which one is current */
    uint64_t fleet_flushed_ns, fleet_synced_ns; /* monotonic: its last flush, fsync */
    size_t hellos;            /* devices that sent a HELLO (auto layout) */
    uint64_t refused;         /* messages refused for their topic or HELLO (below) */
    int failed;
    char fail_msg[DW_SESSION_ERR_MAX];
};

static void usage(void)
{
    printf(
"Usage: %s [--sub EP]... [--dir DIR] [options]\n"
"       %s --recover FILE.h5\n"
"       %s --compact FLEET.h5...\n"
"Records ductwatch streams (frames, events, stats, alerts) into one HDF5\n"
"session file per device: DIR/<device>-<UTC start>.h5 (see docs/storage.md).\n"
"\n"
"      --sub EP           endpoint to subscribe to, repeatable (default\n"
"                         ipc://RUN/acquire and ipc://RUN/detect)\n"
"  -d, --dir DIR          where session files go (default: the current directory)\n"
"      --rotate D         start a new file after D of device time (default 24h)\n"
"      --fsync D          fsync files this often (default 10s; flushes are every 1 s)\n"
"      --chunk-rows N     rows per /frames chunk, 16..8192 (default: 30 s\n"
"                         of samples, kept within 16..4096)\n"
"      --recover FILE     make a file whose recorder was killed readable again,\n"
"                         print what it holds, and exit\n"
"      --layout L         session (one file per garment), fleet (one file per\n"
"                         recorder and period, compacted later) or auto (default:\n"
"                         session up to --fleet-above garments, then fleet)\n"
"      --fleet-above N    auto switches to fleet above N garments (default %d)\n"
"      --fleet-period D   a new fleet file every D of host time (default 1h)\n"
"      --name NAME        the recorder's name in fleet file names (default: host)\n"
"      --compact          rewrite the closed fleet files given as operands into\n"
"                         session files in their directory, remove them, exit\n"
"      --compact-memory K KiB of rows --compact holds before it writes them\n"
"                         (default %zu; more: fewer rounds)\n"
"      --compact-closed   compact each fleet file once closed, in a child\n"
"                         process at the idle scheduling priority\n",
           prog, prog, prog, FLEET_AUTO_ABOVE, DW_FLEET_COMPACT_MEMORY >> 10);
    dw_jssub_usage(NATS_ACK_WAIT_MS);
    dw_cli_usage_std(25, DW_CLI_HELP_CURVE_CLIENT | DW_CLI_HELP_INSECURE | DW_CLI_HELP_VERSION);
    printf(
"\n"
"Prints 'file: PATH' for every file it opens, a summary line for every\n"
"file it closes and a 'lost: N garment frame(s) of DEV ...' line for frames\n"
"that fell between a killed acquire and the next (a gap row in the file);\n"
"'deleted: PATH: N frame(s) of DEV lost with it' when the file being\n"
"written was deleted (it goes on in a new one).\n"
"With --nats a message is acked once the flush that holds its rows is\n"
"done; --sub is then only what is given (no default endpoints).\n"
"SIGINT/SIGTERM: flush, close, exit 0. A write error (disk\n"
"full...) closes the files with what they hold and exits 1.\n");
}

enum { O_SUB = 256, O_ROTATE, O_FSYNC_EVERY, O_CHUNK, O_RECOVER, O_CURVE_KEY, O_SERVER_KEY,
       O_INSECURE, O_LAYOUT, O_FLEET_ABOVE, O_FLEET_PERIOD, O_NAME, O_COMPACT,
       O_COMPACT_MEMORY, O_COMPACT_CLOSED, O_NATS };

/* The fleet options (--layout, --fleet-above, --fleet-period, --name,
 * --compact-memory, --compact-closed);
 * false for any other option. */
static bool parse_fleet_option(int ch, struct config *c)
{
    uint64_t u;

    switch (ch) {
    case O_LAYOUT:
        if (!strcmp(optarg, "session"))
            c->layout = LAYOUT_SESSION;
        else if (!strcmp(optarg, "fleet"))
            c->layout = LAYOUT_FLEET;
        else if (!strcmp(optarg, "auto"))
            c->layout = LAYOUT_AUTO;
        else
            dw_usage_error(prog, "bad --layout '%s' (session, fleet or auto)", optarg);
        return true;
    case O_FLEET_ABOVE:
        if (dw_parse_u64(optarg, 0, 1000000, &u) < 0)
            dw_usage_error(prog, "bad --fleet-above '%s' (0..1000000)", optarg);
        c->fleet_above = (size_t)u;
        return true;
    case O_FLEET_PERIOD:
        if (dw_duration_parse_us(optarg, &c->fleet_period_us) < 0 ||
            c->fleet_period_us < 1000000)
            dw_usage_error(prog, "bad --fleet-period '%s' (at least 1s, e.g. 1h)", optarg);
        return true;
    case O_NAME:
        if (!dw_device_id_valid(optarg, strlen(optarg)))
            dw_usage_error(prog, "bad --name '%s' (letters, digits, '-' and '_', as a "
                           "device id)", optarg);
        c->name = optarg;
        return true;
    case O_COMPACT_MEMORY:
        if (dw_parse_u64(optarg, 64, (uint64_t)1 << 32, &u) < 0)
            dw_usage_error(prog, "bad --compact-memory '%s' (KiB, 64..4294967296)", optarg);
        c->compact_memory = (size_t)u << 10;
        return true;
    case O_COMPACT_CLOSED:
        c->compact_closed = true;
        return true;
    }
    return false;
}

/* What the options say together, and the operands (only --compact has). */
static void check_args(int argc, char **argv, struct config *c)
{
    if (c->compact) {
        c->compact = argv + optind;
        c->n_compact = argc - optind;
        if (!c->n_compact)
            dw_usage_error(prog, "--compact needs the fleet files to compact");
        if (c->n_subs || c->recover)
            dw_usage_error(prog, "--compact does not record: no --sub or --recover with it");
    } else {
        dw_usage_no_operands(prog, argc, argv);
    }
    if (!!c->curve_key != !!c->server_key)
        dw_usage_error(prog, "--curve-key and --server-key go together");
    if (c->recover && c->n_subs)
        dw_usage_error(prog, "--recover does not record: no --sub with it");
    dw_jssub_options_check(&c->nats, prog);
}

static void parse_args(int argc, char **argv, struct config *c)
{
    static const struct option opts[] = {
        { "sub", required_argument, NULL, O_SUB },
        { "dir", required_argument, NULL, 'd' },
        { "rotate", required_argument, NULL, O_ROTATE },
        { "fsync", required_argument, NULL, O_FSYNC_EVERY },
        { "chunk-rows", required_argument, NULL, O_CHUNK },
        { "recover", required_argument, NULL, O_RECOVER },
        { "curve-key", required_argument, NULL, O_CURVE_KEY },
        { "server-key", required_argument, NULL, O_SERVER_KEY },
        { "insecure", no_argument, NULL, O_INSECURE },
        { "layout", required_argument, NULL, O_LAYOUT },
        { "fleet-above", required_argument, NULL, O_FLEET_ABOVE },
        { "fleet-period", required_argument, NULL, O_FLEET_PERIOD },
        { "name", required_argument, NULL, O_NAME },
        { "compact", no_argument, NULL, O_COMPACT },
        { "compact-memory", required_argument, NULL, O_COMPACT_MEMORY },
        { "compact-closed", no_argument, NULL, O_COMPACT_CLOSED },
        DW_JSSUB_LONGOPTS(O_NATS),
        DW_CLI_LONGOPTS_STD,
        { 0 },
    };
    int level = DW_LOG_INFO, ch;
    uint64_t u;

    c->dir = ".";
    c->rotate_us = DEFAULT_ROTATE_US;
    c->fsync_us = DEFAULT_FSYNC_US;
    c->layout = LAYOUT_AUTO;
    c->fleet_above = FLEET_AUTO_ABOVE;
    c->fleet_period_us = DEFAULT_FLEET_PERIOD_US;
    dw_jssub_options_init(&c->nats, "record", NATS_ACK_WAIT_MS);
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":d:vqhV", opts, NULL)) != -1) {
        switch (ch) {
        case O_SUB:
            dw_cli_check_room(prog, c->n_subs, MAX_SUBS, "--sub endpoints");
            c->subs[c->n_subs++] = optarg;
            break;
        case 'd': c->dir = optarg; break;
        case O_ROTATE:
            if (dw_duration_parse_us(optarg, &c->rotate_us) < 0 || c->rotate_us < 1000000)
                dw_usage_error(prog, "bad --rotate '%s' (a duration of at least 1s, e.g. 24h)",
                               optarg);
            break;
        case O_FSYNC_EVERY:
            if (dw_duration_parse_us(optarg, &c->fsync_us) < 0 || c->fsync_us < 1000000)
                dw_usage_error(prog, "bad --fsync '%s' (a duration of at least 1s)", optarg);
            break;
        case O_CHUNK:
            /* Every flush filters the whole current chunk again: far larger
             * chunks make each flush slower than the data comes in. */
            if (dw_parse_u64(optarg, 16, 8192, &u) < 0)
                dw_usage_error(prog, "bad --chunk-rows '%s' (16..8192)", optarg);
            c->chunk_rows = (unsigned)u;
            break;
        case O_RECOVER: c->recover = optarg; break;
        case O_CURVE_KEY: c->curve_key = optarg; break;
        case O_SERVER_KEY: c->server_key = optarg; break;
        case O_INSECURE: c->insecure = true; break;
        case O_COMPACT: c->compact = argv; break;
        default:
            if (!parse_fleet_option(ch, c) && !dw_jssub_option(&c->nats, ch, O_NATS, optarg, prog))
                dw_cli_std_option(prog, ch, argv, &level, usage);
        }
    }
    check_args(argc, argv, c);
    dw_log_set_level(level);
}

/* ---- small helpers ---- */

static size_t n_devices(const struct recorder *r)
{
    return dw_stream_sub_count(&r->sub);
}

static struct device *device_at(const struct recorder *r, size_t i)
{
    return (struct device *)dw_stream_sub_device(&r->sub, (unsigned)i);
}

static void fail_writer(struct recorder *r, struct device *d, int e)
{
    if (r->failed)
        return;
    r->failed = e ? e : -EIO;
    snprintf(r->fail_msg, sizeof(r->fail_msg), "%s",
             d->w && dw_session_writer_error(d->w) ? dw_session_writer_error(d->w)
             : d->fdev && dw_fleet_writer_error(r->fleet) ? dw_fleet_writer_error(r->fleet)
                                                           : strerror(-r->failed));
}

/* ---- where a device's rows go: its session file, or the fleet file ---- */

static bool has_file(const struct device *d)
{
    return d->w || d->fdev;
}

static int put_frame(struct recorder *r, struct device *d, const struct dw_msg_frame *m)
{
    return d->w ? dw_session_writer_frame(d->w, m)
                : dw_fleet_writer_frame(r->fleet, (int)d->fdev - 1, m);
}

static int put_event(struct recorder *r, struct device *d, struct dw_row_event *row)
{
    return d->w ? dw_session_writer_event(d->w, row)
                : dw_fleet_writer_event(r->fleet, (int)d->fdev - 1, row);
}

static int put_alert(struct recorder *r, struct device *d, struct dw_row_alert *row)
{
    return d->w ? dw_session_writer_alert(d->w, row)
                : dw_fleet_writer_alert(r->fleet, (int)d->fdev - 1, row);
}

static int put_stats(struct recorder *r, struct device *d, struct dw_row_stats *row)
{
    return d->w ? dw_session_writer_stats(d->w, row)
                : dw_fleet_writer_stats(r->fleet, (int)d->fdev - 1, row);
}

/* ---- the fleet file ---- */

static void fleet_failed(struct recorder *r, int e, const char *err)
{
    if (r->failed)
        return;
    r->failed = e ? e : -EIO;
    snprintf(r->fail_msg, sizeof(r->fail_msg), "%s", err);
}

/* The recorder's name in fleet file names: --name, else the host name
 * with what a device id may not hold made '-'. */
static void recorder_name(const struct recorder *r, char *buf, size_t cap)
{
    char host[65] = "record";
    if (r->cfg.name) {
        snprintf(buf, cap, "%s", r->cfg.name);
        return;
    }
    if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
        snprintf(host, sizeof(host), "record");
    host[32] = 0;
    for (char *p = host; *p; p++)
        if (!dw_device_id_valid(p, 1))
            *p = '-';
    snprintf(buf, cap, "%s", host);
}

static int fleet_open(struct recorder *r, uint64_t now_ns)
{
    char who[65], stamp[32], name[NAME_MAX + 1], path[PATH_MAX], err[DW_SESSION_ERR_MAX];
    uint64_t period = r->cfg.fleet_period_us * 1000;
    struct dw_fleet_start s = { .dir_fd = r->dir_fd, .recorder = who, .t_host_ns = now_ns,
                                .period_ns = period };
    int e = -EEXIST;

    recorder_name(r, who, sizeof(who));
    dw_format_utc(now_ns, stamp, sizeof(stamp), 1);
    for (int k = 0; k < 100 && e == -EEXIST; k++) {
        if (k)
            snprintf(name, sizeof(name), "fleet-%s-%s-%d.h5", who, stamp, k);
        else
            snprintf(name, sizeof(name), "fleet-%s-%s.h5", who, stamp);
        snprintf(path, sizeof(path), "%s/%s", r->cfg.dir, name);
        s.path = path;
        s.name = name;
        e = dw_fleet_writer_create(&r->fleet, &s, err, sizeof(err));
    }
    if (e < 0) {
        fleet_failed(r, e, err);
        return e;
    }
    r->fleet_end_ns = (now_ns / period + 1) * period;
    r->fleet_gen++;
    printf(DW_LINE_FILE "%s\n", path);
    fflush(stdout);
    dw_info("recording the fleet into %s", path);
    return 0;
}

static int fleet_join(struct recorder *r, struct device *d, const struct dw_msg_frame *m,
                      const char *reason)
{
    int idx;
    if (!r->fleet && fleet_open(r, dw_now_realtime_ns()) < 0)
        return r->failed;
    idx = dw_fleet_writer_device(r->fleet, d->hello, d->hello_len, m->stream, m->t_host_ns,
                                 m->t_device_us, reason);
    if (idx < 0) {
        fleet_failed(r, idx, dw_fleet_writer_error(r->fleet) ? dw_fleet_writer_error(r->fleet)
                                                              : "a HELLO the fleet file refused");
        return idx;
    }
    d->fdev = (unsigned)idx + 1;
    if (d->fleet_gen != r->fleet_gen) { /* a new HELLO rejoins the same file */
        d->fleet_gen = r->fleet_gen;
        d->fleet_frames0 = d->frames_total;
    }
    return 0;
}

/* A device whose fleet file rotated (or that the auto layout moved to the
 * fleet) goes on in the current fleet file with its HELLO: true when it
 * has a file. */
static bool rejoin(struct recorder *r, struct device *d)
{
    struct dw_msg_frame m = { .t_host_ns = dw_now_realtime_ns(), .stream = d->stream,
                              .t_device_us = d->last_t_device_us };
    if (has_file(d))
        return true;
    if (!r->fleet_on || !d->have_hello || r->failed)
        return false;
    return fleet_join(r, d, &m, "rotation") == 0;
}

/* ---- files ---- */

static void record_stats_row(struct device *d, uint64_t t_host_ns, struct dw_row_stats *row)
{
    memset(row, 0, sizeof(*row));
    row->t_host_ns = t_host_ns;
    row->t_device_us = d->last_t_device_us;
    dw_session_strset(row->source, sizeof(row->source), "record");
    row->stream_gaps = d->sub.acq.gaps + d->sub.det.gaps;
    row->messages_missing = d->sub.acq.missing + d->sub.det.missing;
    row->duplicates = d->sub.acq.duplicates + d->sub.det.duplicates;
    row->restarts = d->sub.acq.restarts + d->sub.det.restarts;
    row->write_queue = d->w ? dw_session_writer_queued(d->w) : 0;
    row->unrecordable = d->unrecordable;
    row->frames_written = d->frames_total;
}

static int close_file(struct recorder *r, struct device *d, struct dw_session_counts *held)
{
    struct dw_session_counts c;
    struct dw_row_stats row;
    char err[DW_SESSION_ERR_MAX], path[PATH_MAX];
    int e;
    if (d->fdev) {
        /* Its rows stay in the fleet file, which goes on. */
        if (!dw_fleet_writer_error(r->fleet)) {
            record_stats_row(d, dw_now_realtime_ns(), &row);
            put_stats(r, d, &row);
        }
        d->fdev = 0;
        if (held)
            memset(held, 0, sizeof(*held));
        return 0;
    }
    if (!d->w)
        return 0;
    if (!dw_session_writer_error(d->w)) {
        record_stats_row(d, dw_now_realtime_ns(), &row);
        dw_session_writer_stats(d->w, &row);
    }
    snprintf(path, sizeof(path), "%s", dw_session_writer_path(d->w));
    d->flushed_ns = dw_now_monotonic_ns();
    e = dw_session_writer_close(d->w, &c, err, sizeof(err));
    d->w = NULL;
    printf(DW_LINE_CLOSED "%s: frames %llu, events %llu, alerts %llu, gaps %llu (%llu missing)%s\n",
           path, (unsigned long long)c.frames, (unsigned long long)c.events,
           (unsigned long long)c.alerts, (unsigned long long)c.gaps,
           (unsigned long long)c.missing, e < 0 ? ", WRITE FAILED" : "");
    fflush(stdout);
    if (held)
        *held = c;
    if (e < 0 && !r->failed) {
        r->failed = e;
        snprintf(r->fail_msg, sizeof(r->fail_msg), "%s", err);
    }
    return e;
}

/* --compact-closed: a closed fleet file is compacted by a child running
 * this program's --compact at SCHED_IDLE (it gets the CPU only when
 * nothing else wants it, so the recording never waits for it), its
 * stdout to /dev/null (the recorder's own 'file:' lines stay the
 * recorder's), its errors on the recorder's stderr. A crash of either
 * leaves the fleet file, which --compact finishes later. */
static void compact_closed(const struct recorder *r, const char *path)
{
    char mem[32], *argv[] = { "ductwatch-record", "-q", "--compact", "--compact-memory", mem,
                              (char *)path, NULL };
    struct sched_param sp = { 0 };
    posix_spawnattr_t at;
    posix_spawn_file_actions_t fa;
    sigset_t none, def;
    pid_t pid;
    int e;
    snprintf(mem, sizeof(mem), "%zu",
             (r->cfg.compact_memory ? r->cfg.compact_memory : DW_FLEET_COMPACT_MEMORY) >> 10);
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDULER | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setschedpolicy(&at, SCHED_IDLE);
    posix_spawnattr_setschedparam(&at, &sp);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    e = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e)
        dw_warn("%s: cannot start its compaction (%s): run 'ductwatch-record --compact %s'",
                path, strerror(e), path);
    else
        dw_info("%s: compacting it (process %d, SCHED_IDLE)", path, (int)pid);
}

/* The --compact-closed children that ended. */
static void reap_compactions(void)
{
    pid_t pid;
    int st;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            dw_info("compaction (process %d) done", (int)pid);
        else
            dw_warn("compaction (process %d) failed (status 0x%x): its fleet file stays, "
                    "for 'ductwatch-record --compact'", (int)pid, (unsigned)st);
    }
}

/* Closes the fleet file (its period ended, or the recorder stops): each
 * of its devices goes on in the next one at its next message. compact:
 * hand it to --compact-closed's child. */
static int fleet_close_as(struct recorder *r, bool compact)
{
    struct dw_session_counts c;
    char err[DW_SESSION_ERR_MAX], path[PATH_MAX];
    int e;
    if (!r->fleet)
        return 0;
    for (size_t i = 0; i < n_devices(r); i++)
        if (device_at(r, i)->fdev)
            close_file(r, device_at(r, i), NULL);
    snprintf(path, sizeof(path), "%s", dw_fleet_writer_path(r->fleet));
    e = dw_fleet_writer_close(r->fleet, &c, err, sizeof(err));
    r->fleet = NULL;
    printf(DW_LINE_CLOSED "%s: frames %llu, events %llu, alerts %llu, gaps %llu (%llu missing)%s\n",
           path, (unsigned long long)c.frames, (unsigned long long)c.events,
           (unsigned long long)c.alerts, (unsigned long long)c.gaps,
           (unsigned long long)c.missing, e < 0 ? ", WRITE FAILED" : "");
    fflush(stdout);
    if (e < 0)
        fleet_failed(r, e, err);
    else if (compact)
        compact_closed(r, path);
    return e;
}

static int fleet_close(struct recorder *r)
{
    return fleet_close_as(r, r->cfg.compact_closed);
}

/* --layout auto: past the threshold, every device's rows go to the fleet
 * file from their next message on. */
static void switch_to_fleet(struct recorder *r)
{
    dw_info("%zu garments: switching to the fleet layout (--fleet-above %zu)", r->hellos,
            r->cfg.fleet_above);
    r->fleet_on = true;
    for (size_t i = 0; i < n_devices(r); i++)
        if (device_at(r, i)->w)
            close_file(r, device_at(r, i), NULL);
}

/* One open file per device: take every descriptor the hard limit allows
 * (the soft limit is often 1024, about 1000 garments). */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        dw_debug("cannot raise the open files limit: %s", strerror(errno));
}

/* After a file failed to open (error e): when the descriptors ran out,
 * say so instead of HDF5's "unable to open file". */
static void explain_fd_limit(struct recorder *r, const char *path, int e)
{
    struct rlimit rl;
    size_t open_files = 0;
    int fd = e == -EMFILE || e == -ENFILE ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return;
    }
    if (e == -EMFILE || e == -ENFILE)
        errno = -e;
    if (errno != EMFILE && errno != ENFILE)
        return;
    for (size_t i = 0; i < n_devices(r); i++)
        open_files += device_at(r, i)->w != NULL;
    if (errno == ENFILE || getrlimit(RLIMIT_NOFILE, &rl) < 0)
        snprintf(r->fail_msg, sizeof(r->fail_msg),
                 "cannot create %s: the system is out of open files (%zu session "
                 "files open here)", path, open_files);
    else
        snprintf(r->fail_msg, sizeof(r->fail_msg),
                 "cannot create %s: %zu session files are open and the limit of open "
                 "files is %llu (one per device plus a few); raise the hard limit "
                 "(ulimit -Hn, systemd LimitNOFILE=) or spread the devices over more "
                 "recorders", path, open_files, (unsigned long long)rl.rlim_cur);
}

static int open_file(struct recorder *r, struct device *d, const struct dw_msg_frame *m,
                     const char *reason)
{
    char path[PATH_MAX], stamp[32], err[DW_SESSION_ERR_MAX];
    const char *prev = d->last_name[0] ? d->last_name : NULL;
    struct dw_session_start s = {
        .hello = d->hello, .hello_len = d->hello_len, .t_host_ns = m->t_host_ns,
        .t_device_us = m->t_device_us, .stream = m->stream, .reason = reason,
        .previous = prev, .chunk_rows = r->cfg.chunk_rows,
    };
    int e = -EEXIST;

    if (r->fleet_on)
        return fleet_join(r, d, m, reason);
    dw_format_utc(m->t_host_ns, stamp, sizeof(stamp), 1);
    for (int k = 0; k < 100 && e == -EEXIST; k++) {
        char name[NAME_MAX + 1];
        int n = dw_session_name(name, sizeof(name), d->sub.id, stamp, k);
        if (n >= 0)
            n = snprintf(path, sizeof(path), "%s/%s", r->cfg.dir, name);
        if (n < 0 || (size_t)n >= sizeof(path)) {
            snprintf(err, sizeof(err), "%s: file name too long", r->cfg.dir);
            e = -ENAMETOOLONG;
            break;
        }
        s.path = path;
        s.name = name;
        s.dir_fd = r->dir_fd;
        e = dw_session_writer_create(&d->w, &s, err, sizeof(err));
    }
    if (e < 0) {
        r->failed = e;
        snprintf(r->fail_msg, sizeof(r->fail_msg), "%s", err);
        explain_fd_limit(r, path, e);
        return e;
    }
    {
        const char *base = strrchr(path, '/');
        snprintf(d->last_name, sizeof(d->last_name), "%s", base ? base + 1 : path);
    }
    d->file_elapsed_us = 0;
    d->have_t = false;
    printf(DW_LINE_FILE "%s\n", path);
    fflush(stdout);
    dw_info("recording %s (%s)", path, reason);
    return 0;
}

/* Device time since the file started; a clock going back (garment restart)
 * adds nothing. */
static void advance_clock(struct device *d, uint64_t t)
{
    if (d->have_t && t > d->last_t)
        d->file_elapsed_us += t - d->last_t;
    d->last_t = t;
    d->have_t = true;
    d->last_t_device_us = t;
}

static void unrecordable(struct device *d, const char *what)
{
    d->unrecordable++;
    if (!d->warned_unrecordable) {
        d->warned_unrecordable = true;
        dw_warn("%s: %s before the device's first HELLO cannot be recorded (counted in "
                "/stats unrecordable); start the recorder before acquire or within its "
                "10 s backlog", d->sub.id, what);
    }
}

static int write_event(struct recorder *r, struct device *d, struct dw_row_event *row)
{
    int e;
    if (!has_file(d) && !rejoin(r, d)) {
        unrecordable(d, "an event");
        return 0;
    }
    e = put_event(r, d, row);
    if (e < 0)
        fail_writer(r, d, e);
    return e;
}

/* A text column from a message: valid UTF-8 in the file whatever the
 * publisher sent (acquire repairs a garment's text and refuses a user's,
 * but a publisher straight to the recorder, or a broker in between, may
 * send anything), cut at a whole character to fit the column. */
_Static_assert(DW_S_TEXT <= DW_S_MESSAGE && DW_S_ZONE_NAME <= DW_S_MESSAGE &&
               DW_S_RULESET <= DW_S_MESSAGE && DW_S_SOURCE <= DW_S_MESSAGE,
               "text_column's buffer holds the widest text column");

static void text_column(char *dst, size_t width, const char *s)
{
    char buf[DW_S_MESSAGE > DW_S_PARAMS ? DW_S_MESSAGE + 1 : DW_S_PARAMS + 1];
    dw_utf8_repair(s, strlen(s), buf, width < sizeof(buf) ? width + 1 : sizeof(buf));
    dw_session_strset(dst, width, buf);
}

/* The recorder's own rows in /events (source "record"). */
static void own_event(struct recorder *r, struct device *d, const char *kind, uint64_t seq,
                      uint64_t missing, uint64_t t_dev, uint64_t t_host, const char *text)
{
    struct dw_row_event row;
    dw_session_own_event(&row, kind, seq, missing, t_dev, t_host, text);
    write_event(r, d, &row);
}

/* Gaps and restarts of a stream (which: "acquire" or "detect"). */
static void stream_event(struct recorder *r, struct device *d, const char *kind, uint64_t seq,
                         uint64_t missing, uint64_t t_dev, uint64_t t_host, const char *which)
{
    if (!strcmp(kind, "gap"))
        dw_warn("%s: %llu message(s) of the %s stream missing before seq %llu", d->sub.id,
                (unsigned long long)missing, which, (unsigned long long)seq);
    own_event(r, d, kind, seq, missing, t_dev, t_host, which);
}

/* Garment frames that fell between a killed acquire and its successor
 * (struct dw_dseq): a gap row like acquire's own, so that the holes in
 * /frames/device_seq add up to the gap rows. */
static void bridge_gap(struct recorder *r, struct device *d, const struct dw_msg_frame *m,
                       uint32_t lost)
{
    dw_warn("%s: %u garment frame(s) lost between two acquire streams (device seq %u to %u)",
            d->sub.id, lost, d->dseq.bridge_from, d->dseq.bridge_from + lost - 1);
    own_event(r, d, "gap", m->seq, lost, m->t_device_us, m->t_host_ns,
              "garment frames lost while acquire restarted");
    /* On stdout too: what the file holds is what counts, and `ductwatch
     * run` takes its summary from here (its own subscription may have got
     * one frame more or less from a killed acquire). */
    dw_line_print_lost(stdout, lost, d->sub.id, d->dseq.bridge_from);
}

/* What the stream sequence said of a message (struct dw_sub_msg's seq):
 * a restarted publisher and a gap each get their /events row. */
static void stream_seq(struct recorder *r, struct device *d, bool alert, int64_t k, uint64_t seq,
                       uint64_t t_dev, uint64_t t_host)
{
    const char *which = alert ? "detect" : "acquire";
    if (k == DW_SEQ_RESTART)
        stream_event(r, d, "stream-restart", seq, 0, t_dev, t_host, which);
    else if (k > 0)
        stream_event(r, d, "gap", seq, (uint64_t)k, t_dev, t_host, which);
    if (!alert)
        dw_dseq_message(&d->dseq, k, seq);
}

/* ---- messages ---- */

/* --nats, resumed: whether the device's newest session file from before
 * the start holds this message already (storage/resume.h): flushed by the
 * killed predecessor, which had not acked it. It is then left out. A HELLO
 * is never left out: the new file starts with it. */
static bool on_disk(struct recorder *r, struct device *d, bool alert, uint64_t seq,
                    uint64_t t_host_ns)
{
    if (!r->resuming)
        return false;
    if (!d->disk_checked) {
        d->disk_checked = true;
        d->have_disk = dw_resume_tail(&r->resume, d->sub.id, &d->disk);
    }
    if (!d->have_disk || !dw_session_tail_holds(&d->disk, alert, seq, t_host_ns))
        return false;
    r->on_disk++;
    return true;
}

/* A stream carries one device, the one its topics name: a HELLO for
 * another cannot open (or change) that device's file. */
static void refuse_hello(struct recorder *r, struct device *d, const char *hello_id)
{
    r->refused++;
    if (!d->warned_hello_id)
        dw_warn("%s: refused a HELLO of device '%s' on this device's topic; its frames "
                "cannot be recorded", d->sub.id, hello_id);
    d->warned_hello_id = true;
}

/* A HELLO: a new file when it is the first or differs from the file's, or
 * when no file is open. 1 when a file was opened, 0 when the current one
 * goes on, <0 when it could not be taken. */
static int take_hello(struct recorder *r, struct device *d, const struct dw_msg_frame *m,
                      bool late)
{
    struct dw_hello h;
    bool same = d->have_hello && d->hello_len == m->len && !memcmp(d->hello, m->payload, m->len);
    if (dw_hello_parse(m->payload, m->len, &h) < 0) {
        dw_warn("%s: a HELLO that does not parse, dropped", d->sub.id);
        return -EBADMSG;
    }
    if (strcmp(h.device_id, d->sub.id) != 0) {
        refuse_hello(r, d, h.device_id);
        return -EPERM;
    }
    if (same && has_file(d))
        return 0;
    if (!d->have_hello && ++r->hellos > r->cfg.fleet_above && !r->fleet_on &&
        r->cfg.layout == LAYOUT_AUTO)
        switch_to_fleet(r);
    const char *reason = d->have_hello ? (same ? "continued" : "hello-changed") : "first-hello";
    int e;
    if (has_file(d) && (e = close_file(r, d, NULL)) < 0)
        return e;
    memcpy(d->hello, m->payload, m->len);
    d->hello_len = m->len;
    d->have_hello = true;
    if ((e = open_file(r, d, m, reason)) < 0)
        return e;
    if (d->have_held_gap) {
        d->have_held_gap = false;
        write_event(r, d, &d->held_gap);
    }
    if (late && d->sub.acq.last > 1)
        /* Everything of the stream up to the latest message seen, except
         * this HELLO, is not in the file: say so. */
        stream_event(r, d, "gap", d->sub.acq.last + 1, d->sub.acq.last - 1, m->t_device_us,
                     m->t_host_ns, "acquire");
    return 1;
}

/* Whether frame m starts the next file (--rotate of device time). */
static bool rotation_due(const struct recorder *r, const struct device *d,
                         const struct dw_msg_frame *m)
{
    return d->have_t && (d->file_elapsed_us + (m->t_device_us > d->last_t
                                                   ? m->t_device_us - d->last_t : 0)) >=
                            r->cfg.rotate_us;
}

static int on_frame(const struct dw_sub_msg *sm, const struct dw_msg_frame *m, void *user)
{
    struct recorder *r = user;
    struct device *d = (struct device *)sm->dev;
    /* a HELLO the subscriber passes although it repeats (a backlog replay
     * that came late: docs/messages.md 8) carries an old device seq */
    bool late = sm->seq == DW_SEQ_DUP, opened = false;
    uint32_t lost = 0;
    int e;
    if (!late) {
        stream_seq(r, d, false, sm->seq, m->seq, m->t_device_us, m->t_host_ns);
        lost = dw_dseq_frame(&d->dseq, m->device_seq);
    }
    d->stream = m->stream;
    if (m->type != DW_FRAME_HELLO && on_disk(r, d, false, m->seq, m->t_host_ns))
        return 0;
    if (m->type == DW_FRAME_HELLO) {
        if ((e = take_hello(r, d, m, late)) < 0)
            return e;
        opened = e > 0;
    } else if (!has_file(d) && !rejoin(r, d)) {
        unrecordable(d, "a frame");
        return 0;
    } else if (d->w && rotation_due(r, d, m)) {
        /* This frame starts the next file: nothing falls between the two. */
        if (close_file(r, d, NULL) < 0 || open_file(r, d, m, "rotation") < 0)
            return 0;
    }
    /* A HELLO that opens a file may be a replayed one, long before the
     * frames that follow: the file's device-time clock starts with them. */
    if (!opened)
        advance_clock(d, m->t_device_us);
    if (lost)
        bridge_gap(r, d, m, lost);
    e = put_frame(r, d, m);
    if (e == -EBADMSG) {
        d->unrecordable++;
        dw_warn("%s: a %s frame that does not fit the HELLO, dropped", d->sub.id,
                dw_frame_type_name(m->type));
    } else if (e < 0) {
        fail_writer(r, d, e);
    } else if (m->type == DW_FRAME_SAMPLE) {
        d->frames_total++;
    }
    return 0;
}

static void on_event(const struct dw_sub_msg *sm, const struct dw_msg_event *ev, void *user)
{
    struct recorder *r = user;
    struct device *d = (struct device *)sm->dev;
    struct dw_row_event row;
    const char *kind = dw_event_kind_name((unsigned)ev->kind);
    stream_seq(r, d, false, sm->seq, ev->seq, ev->t_device_us, ev->t_host_ns);
    memset(&row, 0, sizeof(row));
    row.seq = ev->seq;
    row.t_device_us = ev->t_device_us;
    row.t_host_ns = ev->t_host_ns;
    dw_session_strset(row.kind, sizeof(row.kind), kind ? kind : "unknown");
    dw_session_strset(row.side, sizeof(row.side), dw_side_name((unsigned)ev->side));
    /* A garment sends 0 for kinds without a value: stored as none (NaN). */
    row.value = ev->has_value && (strcmp(ev->source, "garment") ||
                                 dw_event_kind_has_value((unsigned)ev->kind)) ? ev->value : NAN;
    row.missing = ev->missing;
    text_column(row.source, sizeof(row.source), ev->source);
    text_column(row.text, sizeof(row.text), ev->text);
    row.device_seq = -1;
    if (!strcmp(ev->source, "garment"))
        row.device_seq = dw_dseq_garment_event(&d->dseq);
    else if (ev->kind == DW_EV_GAP)
        /* Published just before the frame after the gap. */
        dw_dseq_gap(&d->dseq, ev->missing);
    if (on_disk(r, d, false, ev->seq, ev->t_host_ns))
        return;
    if (!has_file(d) && !rejoin(r, d) && ev->kind == DW_EV_GAP && !d->have_held_gap) {
        d->held_gap = row;
        d->have_held_gap = true;
        return;
    }
    write_event(r, d, &row);
}

static void on_stats(const struct dw_sub_msg *sm, const struct dw_msg_stats *s, void *user)
{
    struct recorder *r = user;
    struct device *d = (struct device *)sm->dev;
    struct dw_row_stats row = { .t_host_ns = s->t_host_ns, .t_device_us = s->t_device_us,
                                .seq = s->seq };
    int e;
    stream_seq(r, d, false, sm->seq, s->seq, s->t_device_us, s->t_host_ns);
    if (on_disk(r, d, false, s->seq, s->t_host_ns))
        return;
    if (!has_file(d) && !rejoin(r, d)) {
        unrecordable(d, "a stats message");
        return;
    }
    dw_session_strset(row.source, sizeof(row.source), "acquire");
#define X(f) row.f = s->f;
    X(bytes) X(frames) X(crc_errors) X(length_errors) X(cobs_errors) X(version_errors)
    X(resyncs) X(device_seq_gaps) X(frames_missing) X(reconnects) X(events_in) X(zmq_dropped)
    X(drift_ppm) X(link_up)
#undef X
    if ((e = put_stats(r, d, &row)) < 0)
        fail_writer(r, d, e);
}

static void on_alert(const struct dw_sub_msg *sm, const struct dw_msg_alert *a, void *user)
{
    struct recorder *r = user;
    struct device *d = (struct device *)sm->dev;
    struct dw_row_alert row = {
        .seq = a->seq, .t_device_us = a->t_device_us, .t_host_ns = a->t_host_ns, .id = a->id,
        .zone = (int16_t)a->zone, .value = a->has_value ? a->value : NAN,
        .threshold = a->has_threshold ? a->threshold : NAN,
    };
    int e;
    stream_seq(r, d, true, sm->seq, a->seq, a->t_device_us, a->t_host_ns);
    if (on_disk(r, d, true, a->seq, a->t_host_ns))
        return;
    text_column(row.rule, sizeof(row.rule), a->rule);
    text_column(row.level, sizeof(row.level), a->level);
    text_column(row.state, sizeof(row.state), a->state);
    text_column(row.side, sizeof(row.side), a->side);
    text_column(row.zone_name, sizeof(row.zone_name), a->zone_name);
    text_column(row.ruleset_version, sizeof(row.ruleset_version), a->ruleset_version);
    text_column(row.params, sizeof(row.params), a->params);
    text_column(row.message, sizeof(row.message), a->message);
    if (!has_file(d) && !rejoin(r, d)) {
        unrecordable(d, "an alert");
        return;
    }
    if ((e = put_alert(r, d, &row)) < 0)
        fail_writer(r, d, e);
}

static void on_bad(const struct dw_sub_msg *sm, enum dw_topic_kind k, const char *why, void *user)
{
    (void)user;
    dw_warn("%s: malformed %s dropped (%zu bytes): %s", sm->dev->id, dw_topic_kind_name(k),
            sm->len, why);
}

/* A topic whose device part is no device id (docs/protocol.md, HELLO) names
 * no file: a publisher that sends one is broken or hostile. Counted, the
 * first one logged. */
static void on_refused(const char *topic, size_t tlen, void *user)
{
    struct recorder *r = user;
    if (!r->refused++)
        dw_warn("refused a message on topic '%.*s': not KIND.DEVICE with a valid device id; "
                "further ones are counted", (int)(tlen > 64 ? 64 : tlen), topic);
}

/* The file being written has no name left (someone deleted it): what it
 * holds is lost. Say so, and go on in a new file that starts with a gap
 * row counting the frames lost with the old one. */
static void replace_deleted(struct recorder *r, struct device *d)
{
    struct dw_session_counts c;
    struct dw_msg_frame m = { .t_host_ns = dw_now_realtime_ns(), .stream = d->stream,
                              .t_device_us = d->last_t_device_us };
    char path[PATH_MAX], text[DW_EVENT_TEXT_MAX + 1];

    snprintf(path, sizeof(path), "%s", dw_session_writer_path(d->w));
    if (close_file(r, d, &c) < 0)
        return;
    dw_warn("%s: %s was deleted while being recorded: %llu frames, %llu events, %llu alerts "
            "lost with it; going on in a new file", d->sub.id, path,
            (unsigned long long)c.frames, (unsigned long long)c.events,
            (unsigned long long)c.alerts);
    printf(DW_LINE_DELETED "%s: %llu frame(s) of %s lost with it\n", path,
           (unsigned long long)c.frames, d->sub.id);
    fflush(stdout);
    if (open_file(r, d, &m, "file-deleted") < 0)
        return;
    snprintf(text, sizeof(text), "session file deleted while recording");
    own_event(r, d, "gap", d->sub.acq.last + 1, c.frames, m.t_device_us, m.t_host_ns, text);
}

/* The once-a-second flush of one file; -v says what it holds after it (the
 * crash tests read it to tell a late flush from a lost one). */
static void flush_device(struct recorder *r, struct device *d)
{
    struct dw_session_counts c;
    if (!d->w)
        return;
    dw_debug("%s: flushing", d->sub.id);
    d->flushed_ns = dw_now_monotonic_ns();
    if (dw_session_writer_flush(d->w) < 0) {
        fail_writer(r, d, -EIO);
        return;
    }
    if (dw_session_writer_unlinked(d->w)) {
        replace_deleted(r, d);
        return;
    }
    dw_session_writer_counts(d->w, &c);
    dw_debug("%s: flushed, %llu frames in the file", d->sub.id, (unsigned long long)c.frames);
}

static void sync_device(struct recorder *r, struct device *d)
{
    if (d->w && dw_session_writer_sync(d->w) < 0)
        fail_writer(r, d, -EIO);
}

static void sweep_init(struct sweep *s, uint64_t period_ns, uint64_t now)
{
    s->period_ns = period_ns;
    s->start_ns = now;
    s->done = 0;
}

/* Devices [0, n) due by time t of the current period (double: a period
 * of days times many devices would not fit 64 bits; one device more or
 * less is no matter). */
static size_t sweep_target(const struct sweep *s, size_t n, uint64_t t)
{
    uint64_t in = t - s->start_ns;
    size_t k;
    if (in >= s->period_ns)
        return n;
    k = (size_t)((double)in / (double)s->period_ns * (double)n) + 1;
    return k > n ? n : k;
}

/* Runs fn for every device due by now. The period after a late one starts
 * where the late one ended, so no file waits longer than a period plus the
 * lateness. */
static void sweep_run(struct recorder *r, struct sweep *s, uint64_t now,
                      void (*fn)(struct recorder *, struct device *))
{
    for (int pass = 0; pass < 2 && !r->failed; pass++) {
        size_t to = sweep_target(s, n_devices(r), now);
        for (; s->done < to && !r->failed; s->done++)
            fn(r, device_at(r, s->done));
        if (now - s->start_ns < s->period_ns)
            return;
        s->start_ns += s->period_ns;
        if (now - s->start_ns >= s->period_ns)
            s->start_ns = now;
        s->done = 0;
    }
}

/* When the next device of the sweep is due. */
static uint64_t sweep_next(const struct sweep *s, size_t n)
{
    if (s->done >= n)
        return s->start_ns + s->period_ns;
    return s->start_ns + (uint64_t)((double)s->done / (double)n * (double)s->period_ns);
}

/* The fleet file has no name left (someone deleted it): what it holds is
 * lost, for every garment in it. Say so per garment that had frames in it,
 * as for a session file, and go on in a new fleet file where each of them
 * starts with a gap row counting its frames lost with the old one. Its
 * messages were acked under --nats at the flushes before (docs/storage.md
 * 1). */
static void fleet_replace_deleted(struct recorder *r)
{
    uint64_t t_host = dw_now_realtime_ns(), total = 0;
    char path[PATH_MAX];
    size_t in_file = 0;

    snprintf(path, sizeof(path), "%s", dw_fleet_writer_path(r->fleet));
    for (size_t i = 0; i < n_devices(r); i++) {
        struct device *d = device_at(r, i);
        d->fleet_lost = d->fdev ? d->frames_total - d->fleet_frames0 : 0;
        total += d->fleet_lost;
        in_file += d->fleet_lost > 0;
    }
    dw_warn("%s was deleted while being recorded: %llu frames of %zu garment(s) lost with it",
            path, (unsigned long long)total, in_file);
    for (size_t i = 0; i < n_devices(r); i++) {
        struct device *d = device_at(r, i);
        if (d->fleet_lost)
            printf(DW_LINE_DELETED "%s: %llu frame(s) of %s lost with it\n", path,
                   (unsigned long long)d->fleet_lost, d->sub.id);
    }
    fflush(stdout);
    if (fleet_close_as(r, false) < 0) /* nothing left to compact */
        return;
    for (size_t i = 0; i < n_devices(r) && !r->failed; i++) {
        struct device *d = device_at(r, i);
        struct dw_msg_frame m = { .t_host_ns = t_host, .stream = d->stream,
                                  .t_device_us = d->last_t_device_us };
        if (d->fleet_lost && fleet_join(r, d, &m, "file-deleted") == 0)
            own_event(r, d, "gap", d->sub.acq.last + 1, d->fleet_lost, m.t_device_us, t_host,
                      "fleet file deleted while recording");
    }
}

/* The fleet file's once-a-second flush (one for all its devices), its
 * fsync, and its rotation at the end of its period. -v says what it holds
 * after the flush (the crash tests read it). */
static void fleet_tick(struct recorder *r, uint64_t now)
{
    struct dw_session_counts c;
    if (!r->fleet)
        return;
    r->fleet_flushed_ns = now;
    if (dw_fleet_writer_flush(r->fleet) < 0) {
        fleet_failed(r, -EIO, dw_fleet_writer_error(r->fleet));
        return;
    }
    if (dw_fleet_writer_unlinked(r->fleet)) {
        fleet_replace_deleted(r);
        return;
    }
    dw_fleet_writer_counts(r->fleet, &c);
    dw_debug("fleet: flushed, %llu frames in the file", (unsigned long long)c.frames);
    if (now >= r->fleet_synced_ns + r->cfg.fsync_us * 1000) {
        r->fleet_synced_ns = now;
        if (dw_fleet_writer_sync(r->fleet) < 0) {
            fleet_failed(r, -EIO, dw_fleet_writer_error(r->fleet));
            return;
        }
    }
    if (dw_now_realtime_ns() >= r->fleet_end_ns)
        fleet_close(r);
}

static void stats_rows(struct recorder *r)
{
    uint64_t now = dw_now_realtime_ns();
    for (size_t i = 0; i < n_devices(r) && !r->failed; i++) {
        struct device *d = device_at(r, i);
        struct dw_row_stats row;
        if (!has_file(d))
            continue;
        record_stats_row(d, now, &row);
        if (put_stats(r, d, &row) < 0)
            fail_writer(r, d, -EIO);
    }
}

static int close_all(struct recorder *r)
{
    int e = 0;
    for (size_t i = 0; i < n_devices(r); i++)
        if (device_at(r, i)->w && close_file(r, device_at(r, i), NULL) < 0)
            e = -1;
    if (fleet_close(r) < 0)
        e = -1;
    return e;
}

/* ---- --recover ---- */

static int do_recover(const char *path)
{
    struct dw_session_reader *rd;
    char err[DW_SESSION_ERR_MAX], t0[40], t1[40], span[64];
    const struct dw_session_info *in;
    const struct dw_row_event *ev;
    size_t n_ev, gaps = 0;
    struct dw_recover_report rep = { 0 };
    int e = dw_session_recover(path, &rep, err, sizeof(err));
    if (e < 0) {
        dw_err("%s", err);
        return DW_EXIT_FAILURE;
    }
    if (e == DW_RECOVER_REMOVED) {
        printf("%s: empty (its recorder was killed while creating it): held nothing, "
               "removed\n", path);
        return DW_EXIT_OK;
    }
    printf("%s: %s\n", path, e > 0 ? "recovered (SWMR flags cleared, end of file restored)"
                                   : "was closed properly, nothing to recover");
    if (rep.rows_cut)
        printf("cut the last %llu /frames rows: %s\n", (unsigned long long)rep.rows_cut,
               rep.torn ? "a chunk there no longer reads back (checksum), torn by a crash"
                        : "not every column held them");
    if (rep.table_rows_cut)
        printf("cut the last %llu table rows (events, alerts, stats...): their chunk no longer "
               "reads back (checksum), torn by a crash\n", (unsigned long long)rep.table_rows_cut);
    {
        uint64_t devices = 0, frames = 0;
        if (dw_fleet_file_summary(path, &devices, &frames) > 0) {
            printf("fleet file: devices %llu, frames %llu; compact it with "
                   "'ductwatch-record --compact %s'\n", (unsigned long long)devices,
                   (unsigned long long)frames, path);
            return DW_EXIT_OK;
        }
    }
    if (dw_session_reader_open(&rd, path, err, sizeof(err)) < 0) {
        dw_err("%s", err);
        return DW_EXIT_FAILURE;
    }
    in = dw_session_reader_info(rd);
    ev = dw_session_reader_events(rd, &n_ev);
    for (size_t i = 0; i < n_ev; i++)
        if (!strncmp(ev[i].kind, "gap", sizeof(ev[i].kind)))
            gaps++;
    dw_format_utc(in->t_first_ns, t0, sizeof(t0), 0);
    dw_format_utc(in->t_last_ns, t1, sizeof(t1), 0);
    dw_duration_format(in->frames ? in->t_last_us - in->t_first_us : 0, span, sizeof(span));
    printf("device %s, firmware %s, session start %s\n", in->device_id,
           in->firmware[0] ? in->firmware : "-", in->session_start);
    printf("frames %llu, %s of device time (host %s .. %s)\n", (unsigned long long)in->frames,
           span, in->frames ? t0 : "-", in->frames ? t1 : "-");
    printf("events %llu (gaps %zu), alerts %llu, status %llu, hellos %llu, stats %llu\n",
           (unsigned long long)in->events, gaps, (unsigned long long)in->alerts,
           (unsigned long long)in->status, (unsigned long long)in->hellos,
           (unsigned long long)in->stats);
    dw_session_reader_close(rd);
    return DW_EXIT_OK;
}

/* ---- --compact ---- */

static int do_compact(char **files, int n, size_t memory)
{
    int status = DW_EXIT_OK;
    for (int i = 0; i < n; i++) {
        struct dw_fleet_compact_report rep = { 0 };
        char err[DW_SESSION_ERR_MAX];
        if (dw_fleet_compact(files[i], memory, &rep, err, sizeof(err)) < 0) {
            dw_err("%s", err);
            status = DW_EXIT_FAILURE;
            continue;
        }
        printf("compacted: %s: %zu session file(s) (%zu appended to), frames %llu, events %llu, "
               "alerts %llu, duplicates %llu, missing between %llu%s\n",
               files[i], rep.files, rep.appended, (unsigned long long)rep.frames,
               (unsigned long long)rep.events, (unsigned long long)rep.alerts,
               (unsigned long long)rep.duplicates, (unsigned long long)rep.bridged,
               rep.redone ? " (an earlier compaction had stopped mid-way: done again)" : "");
        for (size_t k = 0; k < rep.files; k++)
            printf(DW_LINE_FILE "%s\n", rep.paths[k]);
        dw_fleet_compact_report_free(&rep);
    }
    fflush(stdout);
    return status;
}

/* ---- main ---- */


static int setup_socket(struct recorder *r, void *ctx, void **out)
{
    void *s = dw_zmq_socket(ctx, ZMQ_SUB);
    int hwm = 0;
    char eps[2][512];
    const char *list[MAX_SUBS];
    int n = r->cfg.n_subs;

    if (!s) {
        dw_err("cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        return -1;
    }
    /* Never drop on our side: the stream must arrive whole. */
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    if (zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) < 0) {
        dw_err("cannot subscribe: %s", zmq_strerror(errno));
        zmq_close(s);
        return -1;
    }
    memcpy(list, r->cfg.subs, sizeof(list));
    if (!n) {
        if (dw_default_endpoint("acquire", eps[0], sizeof(eps[0])) < 0 ||
            dw_default_endpoint("detect", eps[1], sizeof(eps[1])) < 0) {
            dw_err("no runtime directory for the default endpoints (set DUCTWATCH_RUNTIME_DIR "
                   "or use --sub)");
            zmq_close(s);
            return -1;
        }
        list[0] = eps[0];
        list[1] = eps[1];
        n = 2;
    }
    for (int i = 0; i < n; i++) {
        char why[256];
        if (dw_security_connect(s, list[i], r->cfg.curve_key, r->cfg.server_key,
                                r->cfg.insecure, why, sizeof(why)) < 0) {
            dw_err("cannot subscribe to %s: %s", list[i], why);
            zmq_close(s);
            return -1;
        }
        dw_debug("subscribed to %s", list[i]);
    }
    *out = s;
    return 0;
}

/* --nats: whether the rows of a message of dev handled at t_ns are in a
 * flushed file (then it is acked). A device without a file has no rows
 * to wait for (what it could not record is counted as unrecordable). */
static bool rows_flushed(const char *dev, uint64_t t_ns, void *user)
{
    struct recorder *r = user;
    struct device *d = dw_devtab_find(&r->sub.devices, dev);
    if (!d || !has_file(d))
        return true;
    if (d->fdev)
        return r->fleet_flushed_ns > t_ns;
    return d->flushed_ns > t_ns;
}

/* --nats: one fetch, waiting until the loop's next deadline at most. */
static int fetch(struct recorder *r, struct dw_loop *lp, bool zmq_too)
{
    long ms = dw_loop_timeout_ms(lp, dw_now_monotonic_ns());
    int got;
    if (zmq_too && ms > NATS_SHARE_MS)
        ms = NATS_SHARE_MS;
    got = dw_jssub_fetch(r->js, (int)ms, &r->sub);
    if (got < 0) {
        r->failed = got;
        snprintf(r->fail_msg, sizeof(r->fail_msg), "NATS: %s", strerror(-got));
    }
    return got;
}

/* Takes what is waiting, at most DRAIN_BUDGET messages: how many. */
static int drain(struct recorder *r, void *sock)
{
    int k = 0, got;
    if (!sock)
        return 0;
    while (k < DRAIN_BUDGET && !r->failed &&
           (got = dw_stream_sub_recv(&r->sub, sock, ZMQ_DONTWAIT)) != 0) {
        if (got == -ENOMEM) {
            r->failed = -ENOMEM;
            snprintf(r->fail_msg, sizeof(r->fail_msg), "out of memory");
        }
        if (got < 0)
            break;
        k++;
    }
    return k;
}

/* When the flush and fsync sweeps want the next wake-up: not before
 * SWEEP_TICK_NS after the last. */
static uint64_t sweep_due(const struct recorder *r, uint64_t last_sweep)
{
    uint64_t next = sweep_next(&r->flush, n_devices(r));
    uint64_t next_sync = sweep_next(&r->sync, n_devices(r));
    if (next_sync < next)
        next = next_sync;
    return next < last_sweep + SWEEP_TICK_NS ? last_sweep + SWEEP_TICK_NS : next;
}

/* Receives and writes until a write fails, or until stopped once what had
 * already arrived is taken: 0, or -1 when waiting failed. */
static int record_loop(struct recorder *r, void *sock)
{
    struct dw_loop lp;
    uint64_t now = dw_now_monotonic_ns(), next_stats = now + STATS_NS;
    uint64_t last_sweep = 0, stop_deadline = 0;

    dw_loop_init(&lp, &stop);
    sweep_init(&r->flush, FLUSH_NS, now);
    sweep_init(&r->sync, r->cfg.fsync_us * 1000, now);
    while (!r->failed) {
        zmq_pollitem_t pi = { sock, 0, ZMQ_POLLIN, 0 };
        int k, e;
        now = dw_now_monotonic_ns();
        if (dw_loop_stopped(&lp) && !stop_deadline)
            stop_deadline = now + STOP_DRAIN_NS;
        dw_loop_begin(&lp);
        dw_loop_wake_at(&lp, stop_deadline ? now : sweep_due(r, last_sweep));
        dw_loop_wake_at(&lp, next_stats);
        if (r->fleet)
            dw_loop_wake_at(&lp, r->fleet_flushed_ns + FLUSH_NS);
        if (r->js) {
            fetch(r, &lp, sock != NULL);
        } else if ((e = dw_loop_poll(&lp, &pi, 1)) < 0) {
            dw_err("zmq_poll: %s", zmq_strerror(-e));
            return -1;
        }
        k = drain(r, sock);
        now = dw_now_monotonic_ns();
        if (now >= last_sweep + SWEEP_TICK_NS) {
            sweep_run(r, &r->flush, now, flush_device);
            sweep_run(r, &r->sync, now, sync_device);
            if (r->cfg.compact_closed)
                reap_compactions();
            last_sweep = now;
        }
        if (r->fleet && now >= r->fleet_flushed_ns + FLUSH_NS)
            fleet_tick(r, now);
        if (r->js && !r->failed)
            dw_jssub_ack(r->js, rows_flushed, r);
        if (now >= next_stats) {
            stats_rows(r);
            next_stats = now + STATS_NS;
        }
        /* Stopping: take what already arrived, then close. */
        if (stop_deadline && (k < DRAIN_BUDGET || now >= stop_deadline))
            break;
    }
    return 0;
}

/* The directory to record into, open for fsync of its entries; -1 with
 * the reason said. errno only from a call that failed: a file where the
 * directory should be is "not a directory", whatever errno held before. */
static int open_record_dir(const char *dir)
{
    struct stat sb;
    int fd = -1;
    int e = stat(dir, &sb) < 0 ? errno : !S_ISDIR(sb.st_mode) ? ENOTDIR
            : access(dir, W_OK | X_OK) < 0 ? errno : 0;
    if (!e && (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        e = errno;
    if (e) {
        dw_err("cannot record into %s: %s", dir, strerror(e));
        return -1;
    }
    return fd;
}

/* At the end: what the streams lost or repeated, per device, and the
 * messages refused for their topic. */
static void log_stream_losses(struct recorder *r)
{
    for (size_t i = 0; i < n_devices(r); i++) {
        struct device *d = device_at(r, i);
        if (d->sub.acq.missing || d->sub.det.missing || d->unrecordable)
            dw_info("%s: stream messages missing %llu, duplicates dropped %llu, unrecordable %llu",
                    d->sub.id, (unsigned long long)(d->sub.acq.missing + d->sub.det.missing),
                    (unsigned long long)(d->sub.acq.duplicates + d->sub.det.duplicates),
                    (unsigned long long)d->unrecordable);
    }
    if (r->refused)
        dw_warn("refused %llu message(s) whose topic names no valid device id, or another "
                "device than its HELLO", (unsigned long long)r->refused);
}

/* --nats: the partition's consumer; -1 with the reason said. */
static int nats_open(struct recorder *r)
{
    char why[512];
    if (!(r->js = dw_jssub_open(&r->cfg.nats.sub, why, sizeof(why)))) {
        dw_err("%s", why);
        return -1;
    }
    printf(DW_LINE_NATS "%s %s%s\n", r->cfg.nats.conn.url, dw_jssub_name(r->js),
           dw_jssub_resumed(r->js) ? " (resumed)" : "");
    fflush(stdout);
    if (dw_jssub_resumed(r->js)) {
        char who[65];
        int e;
        recorder_name(r, who, sizeof(who));
        e = dw_resume_open(&r->resume, r->dir_fd, r->cfg.dir, who);
        if (e < 0)
            dw_warn("cannot list %s (%s): what the last worker flushed but did not ack may be "
                    "written again", r->cfg.dir, strerror(-e));
        r->resuming = e == 0;
    }
    return 0;
}

/* At the end: with every file closed (flushed), what is held is acked;
 * after a failure it is not (it comes again to the next worker). */
static void nats_close(struct recorder *r, bool ok)
{
    struct dw_jssub_counters c;
    if (!r->js)
        return;
    if (ok)
        dw_jssub_ack(r->js, NULL, NULL);
    dw_jssub_counters(r->js, &c);
    dw_info("%s: %llu messages (%llu redelivered), %llu frames and other parts, %llu acked, "
            "%llu not acked, %llu HELLOs fetched, %llu waited for a hole, %llu holes given "
            "up, %llu already on disk", dw_jssub_name(r->js),
            (unsigned long long)c.messages, (unsigned long long)c.redelivered,
            (unsigned long long)c.parts, (unsigned long long)c.acked,
            (unsigned long long)(c.held + c.waiting), (unsigned long long)c.hellos,
            (unsigned long long)c.reordered, (unsigned long long)c.holes_given_up,
            (unsigned long long)r->on_disk);
    dw_jssub_close(r->js);
    dw_resume_close(&r->resume);
    r->js = NULL;
    dw_jspub_library_close();
}

int main(int argc, char **argv)
{
    static const struct dw_sub_handlers handlers = {
        .on_frame = on_frame, .on_event = on_event, .on_stats = on_stats, .on_alert = on_alert,
        .on_bad = on_bad, .on_refused = on_refused,
    };
    struct recorder r;
    void *ctx = NULL, *sock = NULL;
    int status = DW_EXIT_OK;

    memset(&r, 0, sizeof(r));
    dw_stream_sub_init(&r.sub, &handlers, sizeof(struct device), &r);
    dw_log_init(prog);
    parse_args(argc, argv, &r.cfg);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (r.cfg.recover)
        return do_recover(r.cfg.recover);
    if (r.cfg.compact)
        return do_compact(r.cfg.compact, r.cfg.n_compact, r.cfg.compact_memory);
    r.fleet_on = r.cfg.layout == LAYOUT_FLEET;

    umask(077);
#ifdef __GLIBC__
    mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_BYTES);
    mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_BYTES);
#endif
    raise_fd_limit();
    if ((r.dir_fd = open_record_dir(r.cfg.dir)) < 0)
        return DW_EXIT_FAILURE;
    dw_install_stop_signals(&stop);
    ctx = zmq_ctx_new();
    if (!ctx || ((!r.cfg.nats.on || r.cfg.n_subs) && setup_socket(&r, ctx, &sock) < 0) ||
        (r.cfg.nats.on && nats_open(&r) < 0)) {
        dw_zmq_close(sock);
        if (ctx)
            zmq_ctx_term(ctx);
        return DW_EXIT_FAILURE;
    }
    if (record_loop(&r, sock) < 0)
        status = DW_EXIT_FAILURE;
    if (r.failed) {
        dw_err("%s", r.fail_msg);
        close_all(&r);
        dw_err("stopped: files keep everything written before the error");
        status = DW_EXIT_FAILURE;
    } else if (close_all(&r) < 0) {
        dw_err("%s", r.fail_msg);
        status = DW_EXIT_FAILURE;
    }
    nats_close(&r, status == DW_EXIT_OK);
    log_stream_losses(&r);
    dw_stream_sub_fini(&r.sub);
    close(r.dir_fd);
    dw_zmq_close(sock);
    zmq_ctx_term(ctx);
    if (r.failed) {
        /* HDF5's exit handler would try again to close a file that failed
         * to close, and can crash doing it: everything is done already. */
        fflush(stdout);
        fflush(stderr);
        _exit(status);
    }
    return status;
}
