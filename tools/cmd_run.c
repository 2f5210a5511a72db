/* ductwatch run: the whole pipeline on one machine, supervised.
 *
 * Stages are child processes in a private runtime directory (so two runs,
 * or a run next to system services, never share endpoints): the simulator
 * on a pseudo-terminal (unless --port), ductwatch-acquire, ductwatch-detect
 * and ductwatch-record. A stage that dies is reported and restarted with
 * backoff; the others keep running. At the end the stages stop in data-flow
 * order (simulator, acquire, detect, record) so nothing in flight is lost. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "cli.h"
#include "duration.h"
#include "dwtime.h"
#include "endpoint.h"
#include "layout.h"
#include "livestate.h"
#include "log.h"
#include "supervise.h"
#include "termsafe.h"
#include "tool.h"

/* The default session: a scenario whose simulated course raises alerts
 * (see docs/simulator.md), long enough to pass detection's learning period,
 * at a speed that takes about a minute and a half of wall time. */
#define DEFAULT_SCENARIO "mastitis"
#define DEFAULT_DURATION "36h"
#define DEFAULT_SPEED "1500"
#define DEFAULT_DIR "sessions"

#define BACKOFF_MIN_MS 500u
#define BACKOFF_MAX_MS 10000u
#define STABLE_NS 30000000000ull        /* running this long resets the backoff */
#define READY_TIMEOUT_MS 15000u
#define STOP_TIMEOUT_MS 10000u
#define RECORD_STOP_TIMEOUT_MS 30000u
#define QUICK_FAIL_NS 3000000000ull    /* an exit this soon after start... */
#define MAX_QUICK_FAILS 5u              /* ...this many times in a row is fatal */
#define SETTLE_MS 1000u                 /* between stopping one stage and the next */
#define QUIET_NS 2000000000ull          /* session files unchanged this long: caught up */
#define QUIET_MAX_NS 60000000000ull
/* Subscriptions acquire waits for before it reads the simulator (which
 * would otherwise, at --fast, run past consumers still connecting): our own
 * three (stats., event., frame.), at least one from detect and one from
 * record. */
#define SIM_WAIT_SUBSCRIBERS "5"

enum { ST_RECORD, ST_DETECT, ST_SIM, ST_ACQUIRE, N_STAGES };

static const char *prog = "ductwatch run";
static volatile sig_atomic_t stop;
static volatile sig_atomic_t child_event;

struct run {
    /* options */
    const char *scenario, *seed, *port, *duration, *speed, *dir, *config, *labels, *rate;
    bool fast, use_sim, no_report;
    uint64_t duration_us;
    int level;

    /* where */
    char base[PATH_MAX], rundir[PATH_MAX], current_link[PATH_MAX + 16];
    char garment_link[PATH_MAX + 16], ep_acquire[PATH_MAX + 16], ep_events[PATH_MAX + 16];
    char ep_detect[PATH_MAX + 16], pty[PATH_MAX];

    /* stages */
    struct dw_stage st[N_STAGES];
    const char *args[N_STAGES][DW_STAGE_MAX_ARGS + 1];
    unsigned backoff_ms[N_STAGES];
    unsigned quick_fails[N_STAGES];
    bool pty_ready, acquire_ready, detect_ready;
    bool running;               /* every stage started: supervising */
    bool sim_finished;          /* the simulator reached its duration */
    bool fatal;                 /* a stage cannot run at all: give up */

    /* what we see */
    void *ctx, *sub_acq, *sub_det;
    struct dw_live live;
    struct dw_msg_stats prev_total; /* counters of earlier acquire instances */
    uint64_t last_stream;
    struct dw_msg_stats last_stats;
    uint64_t bridged_gaps, bridged_missing; /* the recorder's `lost:` lines */
    char files[16][PATH_MAX];
    unsigned n_files;
    bool tty, status_shown;
    uint64_t t0_ns, next_status_ns;
};

static void usage(void)
{
    printf(
"Usage: ductwatch run [--scenario NAME [--seed N] | --port PATH|auto] [options]\n"
"Starts the whole pipeline -- the garment simulator on a pseudo-terminal (or a\n"
"real garment with --port), ductwatch-acquire, ductwatch-detect and\n"
"ductwatch-record -- shows live status and every alert, and at the end prints\n"
"the session file(s), an alert summary and the loss counters, and writes an\n"
"HTML report (ductwatch report) beside each session file.\n"
"\n"
"  -s, --scenario NAME  simulator scenario (default %s)\n"
"      --seed N         simulator seed (default: the simulator's)\n"
"  -p, --port PATH|auto a real garment instead of the simulator\n"
"  -d, --duration D     simulated time to run (default %s); with --port, wall\n"
"                       time (default: until interrupted)\n"
"      --speed X        simulation speed, x real time (default %s)\n"
"      --fast           simulate as fast as the pipeline takes it\n"
"      --rate HZ        simulated sample rate (default: the simulator's)\n"
"      --labels FILE    write the simulator's ground-truth labels to FILE\n"
"  -o, --dir DIR        where session files go (default ./%s)\n"
"  -c, --config FILE    detection configuration (ductwatch-detect --config)\n"
"      --no-report      do not write the HTML reports at the end\n"
"  -v, --verbose        more log output (passed on to the stages)\n"
"  -q, --quiet          errors, alerts and the summary only\n"
"  -h, --help           this text\n"
"\n"
"The default session simulates %s of the '%s' scenario at %sx (about 1.5\n"
"minutes) and shows alerts. Stages run with DUCTWATCH_RUNTIME_DIR set to a\n"
"fresh private directory RUN/run-XXXXXX; RUN/current points to it while the\n"
"run lasts, so 'ductwatch log', 'alerts' and 'view' in another terminal find\n"
"it. A stage that dies is restarted (backoff 0.5 s doubling to 10 s). Ctrl-C\n"
"ends the run cleanly. Programs are found as described in ductwatch(1).\n",
        DEFAULT_SCENARIO, DEFAULT_DURATION, DEFAULT_SPEED, DEFAULT_DIR,
        DEFAULT_DURATION, DEFAULT_SCENARIO, DEFAULT_SPEED);
}

static void on_child(int sig) { (void)sig; child_event = 1; }

/* ---- output: status lines on a terminal are rewritten in place ---------- */

static void clear_status(struct run *r)
{
    if (r->tty && r->status_shown) {
        fputs("\r\033[K", stdout);
        fflush(stdout);
        r->status_shown = false;
    }
}

static void say(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct run *r, const char *fmt, ...)
{
    va_list ap;
    clear_status(r);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

/* The latest readings, per breast: mean skin temperature and pressure of
 * the zones in contact (>= 0.2 kPa), and the ambient of each cup. */
static void readings(const struct dw_live *l, char *buf, size_t cap)
{
    double t[2] = { 0, 0 }, p[2] = { 0, 0 };
    unsigned n[2] = { 0, 0 };
    size_t k;
    buf[0] = 0;
    if (!l->have_sample)
        return;
    for (unsigned z = 0; z < l->hello.n_zones && z < l->sample.n_zones; z++) {
        unsigned side = l->hello.zone[z].side;
        double kpa = dw_sample_pressure_kpa(&l->hello, &l->sample, z);
        if (side > DW_SIDE_RIGHT || kpa < 0.2)
            continue;
        t[side] += dw_sample_temp_c(&l->hello, &l->sample, z);
        p[side] += kpa;
        n[side]++;
    }
    k = 0;
    for (unsigned side = 0; side < 2; side++) {
        int w;
        if (n[side])
            w = snprintf(buf + k, cap - k, "%s %.1f C %.2f kPa  ", side ? "R" : "L",
                         t[side] / n[side], p[side] / n[side]);
        else
            w = snprintf(buf + k, cap - k, "%s no contact  ", side ? "R" : "L");
        if (w < 0 || (size_t)w >= cap - k)
            return;
        k += (size_t)w;
    }
    snprintf(buf + k, cap - k, "amb %.1f/%.1f C  ", dw_sample_ambient_c(&l->hello, &l->sample, 0),
             dw_sample_ambient_c(&l->hello, &l->sample, 1));
}

static void show_status(struct run *r)
{
    const struct dw_msg_stats *s = &r->live.stats;
    char sim[32], line[640], now[128];
    if (r->level < DW_LOG_INFO)
        return;
    if (!r->live.have_stats) {
        snprintf(line, sizeof(line), "waiting for the garment (%s)...",
                 r->use_sim ? "simulator" : r->port);
    } else {
        dw_duration_format(s->t_device_us, sim, sizeof(sim));
        readings(&r->live, now, sizeof(now));
        snprintf(line, sizeof(line),
                 "%s  t+%s  link %s  %sframes %llu  loss: crc %llu len %llu cobs %llu "
                 "seq-gaps %llu (missing %llu) reconnects %llu drops %llu  alerts %llu (%u active)",
                 s->device, sim, s->link_up ? "up" : "DOWN", now, (unsigned long long)s->frames,
                 (unsigned long long)s->crc_errors, (unsigned long long)s->length_errors,
                 (unsigned long long)s->cobs_errors, (unsigned long long)s->device_seq_gaps,
                 (unsigned long long)s->frames_missing, (unsigned long long)s->reconnects,
                 (unsigned long long)s->zmq_dropped, (unsigned long long)r->live.alerts_seen,
                 r->live.n_active);
    }
    if (r->tty) {
        /* One line refreshed in place: a wrapped line could not be cleared. */
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
            strlen(line) >= ws.ws_col)
            line[ws.ws_col - 1] = 0;
        clear_status(r);
        fputs(line, stdout);
        r->status_shown = true;
    } else {
        fputs(line, stdout);
        fputc('\n', stdout);
    }
    fflush(stdout);
}

/* ---- messages from the pipeline --------------------------------------- */

static void on_msg(struct dw_live *l, enum dw_live_kind k, const uint8_t *body, size_t len,
                   void *user)
{
    struct run *r = user;
    char line[1024], safe[4 * 1024], t[32];
    if (k == DW_LIVE_STATS) {
        /* A restarted acquire counts from zero: keep the earlier totals. */
        if (r->last_stream && l->stats.stream != r->last_stream) {
#define ADD(f) r->prev_total.f += r->last_stats.f;
            ADD(bytes) ADD(frames) ADD(crc_errors) ADD(length_errors) ADD(cobs_errors)
            ADD(version_errors) ADD(resyncs) ADD(device_seq_gaps) ADD(frames_missing)
            ADD(reconnects) ADD(events_in) ADD(zmq_dropped)
#undef ADD
        }
        r->last_stream = l->stats.stream;
        r->last_stats = l->stats;
    } else if (k == DW_LIVE_ALERT) {
        dw_alert_format(&l->last_alert, line, sizeof(line));
        say(r, "alert: %s", line);
    } else if (k == DW_LIVE_EVENT && r->level >= DW_LOG_INFO) {
        const struct dw_msg_event *e = &l->last_event;
        dw_duration_format(e->t_device_us, t, sizeof(t));
        snprintf(line, sizeof(line), "event: t+%s %s", t,
                 dw_event_kind_name((unsigned)e->kind) ? dw_event_kind_name((unsigned)e->kind) : "?");
        if (e->side != DW_SIDE_NONE)
            snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s",
                     dw_side_name((unsigned)e->side));
        /* a garment sends 0 for kinds without a value (a feed, a shower) */
        if (e->has_value && (e->kind == DW_EV_THERMOMETER || e->value != 0))
            snprintf(line + strlen(line), sizeof(line) - strlen(line), " %.2f", e->value);
        if (e->kind == DW_EV_GAP)
            snprintf(line + strlen(line), sizeof(line) - strlen(line), " (%llu frames missing)",
                     (unsigned long long)e->missing);
        if (e->text[0])
            snprintf(line + strlen(line), sizeof(line) - strlen(line), " \"%s\"", e->text);
        snprintf(line + strlen(line), sizeof(line) - strlen(line), " [%s]",
                 e->source[0] ? e->source : "acquire");
        dw_term_safe(line, strlen(line), safe, sizeof(safe)); /* text from the stream */
        say(r, "%s", safe);
    }
}

static void on_stage_line(struct dw_stage *s, bool is_err, const char *line, void *user)
{
    struct run *r = user;
    if (is_err) {
        /* Their own log lines, already prefixed with the program name. */
        clear_status(r);
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
        return;
    }
    if (s == &r->st[ST_SIM] && !strncmp(line, "pty: ", 5)) {
        char tmp[PATH_MAX + 32];
        snprintf(r->pty, sizeof(r->pty), "%s", line + 5);
        /* acquire opens the stable link, so a restarted simulator (a new
         * pty) looks to it like the garment being replugged. */
        snprintf(tmp, sizeof(tmp), "%s.new", r->garment_link);
        unlink(tmp);
        if (symlink(r->pty, tmp) < 0 || rename(tmp, r->garment_link) < 0) {
            dw_err("cannot link %s -> %s: %s", r->garment_link, r->pty, strerror(errno));
            r->fatal = true;
            return;
        }
        r->pty_ready = true;
        dw_debug("simulator on %s", r->pty);
    } else if (s == &r->st[ST_ACQUIRE] && !strncmp(line, "pub: ", 5)) {
        r->acquire_ready = true;
    } else if (s == &r->st[ST_DETECT] && !strncmp(line, "pub: ", 5)) {
        r->detect_ready = true;
    } else if (s == &r->st[ST_RECORD] && !strncmp(line, "lost: ", 6)) {
        /* lost: N garment frame(s) of DEV while acquire restarted (...),
         * counted for the device the summary is about */
        static const char of[] = " garment frame(s) of ";
        char *end;
        unsigned long long n = strtoull(line + 6, &end, 10);
        size_t dl = strlen(r->live.device);
        if (end > line + 6 && !strncmp(end, of, sizeof(of) - 1) &&
            (!dl || (!strncmp(end + sizeof(of) - 1, r->live.device, dl) &&
                     end[sizeof(of) - 1 + dl] == ' '))) {
            r->bridged_gaps++;
            r->bridged_missing += n;
        }
    } else if (s == &r->st[ST_RECORD] && !strncmp(line, "file: ", 6)) {
        unsigned i;
        for (i = 0; i < r->n_files; i++)
            if (!strcmp(r->files[i], line + 6))
                break;
        if (i == r->n_files && r->n_files < 16)
            snprintf(r->files[r->n_files++], sizeof(r->files[0]), "%s", line + 6);
        if (r->level >= DW_LOG_INFO)
            say(r, "recording to %s", line + 6);
    } else if (r->level >= DW_LOG_DEBUG) {
        say(r, "%s: %s", s->name, line);
    }
}

/* ---- the loop ---------------------------------------------------------- */

static void start_stage(struct run *r, int i);

/* One round: waits up to timeout_ms for anything, handles it, reaps and
 * (unless shutting down) restarts stages. */
static void pump(struct run *r, long timeout_ms, bool supervise)
{
    zmq_pollitem_t it[2 + 2 * N_STAGES];
    int n = 0;
    uint64_t now;

    it[n++] = (zmq_pollitem_t){ .socket = r->sub_acq, .events = ZMQ_POLLIN };
    it[n++] = (zmq_pollitem_t){ .socket = r->sub_det, .events = ZMQ_POLLIN };
    for (int i = 0; i < N_STAGES; i++) {
        if (r->st[i].out.fd >= 0)
            it[n++] = (zmq_pollitem_t){ .fd = r->st[i].out.fd, .events = ZMQ_POLLIN };
        if (r->st[i].err.fd >= 0)
            it[n++] = (zmq_pollitem_t){ .fd = r->st[i].err.fd, .events = ZMQ_POLLIN };
    }
    if (child_event)
        timeout_ms = 0;
    if (zmq_poll(it, n, timeout_ms) < 0 && errno != EINTR)
        dw_warn("zmq_poll: %s", zmq_strerror(errno));
    dw_live_drain(&r->live, r->sub_acq, on_msg, r);
    dw_live_drain(&r->live, r->sub_det, on_msg, r);
    for (int i = 0; i < N_STAGES; i++)
        dw_stage_read(&r->st[i]);

    child_event = 0;
    now = dw_now_monotonic_ns();
    for (int i = 0; i < N_STAGES; i++) {
        struct dw_stage *s = &r->st[i];
        char why[96];
        if (!s->argv[0] || !dw_stage_reap(s))
            continue;
        if (i == ST_SIM) {
            /* Its pty number is free for anyone now: acquire must not
             * follow the link to somebody else's terminal. */
            unlink(r->garment_link);
            r->pty_ready = false;
        }
        if (s->stopping)
            continue;
        if (i == ST_SIM && WIFEXITED(s->last_status) && WEXITSTATUS(s->last_status) == 0) {
            r->sim_finished = true;
            say(r, "the simulator reached the end of its session");
            continue;
        }
        dw_stage_describe(s->last_status, why, sizeof(why));
        if (WIFEXITED(s->last_status) && WEXITSTATUS(s->last_status) == DW_EXIT_USAGE) {
            say(r, "%s %s: it rejected its arguments; stopping the run", s->name, why);
            r->fatal = true;
            continue;
        }
        if (!r->running) {
            say(r, "%s %s while the pipeline was starting", s->name, why);
            continue;
        }
        if (now - s->started_ns > STABLE_NS)
            r->backoff_ms[i] = BACKOFF_MIN_MS;
        /* One that cannot stay up at all is a configuration problem. */
        r->quick_fails[i] = now - s->started_ns < QUICK_FAIL_NS ? r->quick_fails[i] + 1 : 0;
        if (r->quick_fails[i] >= MAX_QUICK_FAILS) {
            say(r, "%s %s; it failed %u times in a row within %.0f s of starting: "
                "stopping the run", s->name, why, r->quick_fails[i], QUICK_FAIL_NS / 1e9);
            r->fatal = true;
            continue;
        }
        s->next_start_ns = now + (uint64_t)r->backoff_ms[i] * 1000000ull;
        say(r, "%s %s unexpectedly; restarting it in %.1f s", s->name, why,
            r->backoff_ms[i] / 1000.0);
        r->backoff_ms[i] = r->backoff_ms[i] * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                                 : r->backoff_ms[i] * 2;
    }
    if (!supervise)
        return;
    for (int i = 0; i < N_STAGES; i++) {
        struct dw_stage *s = &r->st[i];
        if (s->argv[0] && !s->pid && s->starts && !r->fatal && !r->sim_finished &&
            now >= s->next_start_ns) {
            start_stage(r, i);
            if (s->pid) {
                s->restarts++;
                say(r, "%s restarted (restart %u)", s->name, s->restarts);
            }
        }
    }
}

static void start_stage(struct run *r, int i)
{
    int e = dw_stage_start(&r->st[i]);
    if (e == -ENOEXEC) {
        r->fatal = true;
    } else if (e < 0) {
        dw_err("cannot start %s: %s", r->st[i].name, strerror(-e));
        r->st[i].starts++; /* counts as an attempt: retried with backoff */
        r->st[i].next_start_ns = dw_now_monotonic_ns() +
                                 (uint64_t)r->backoff_ms[i] * 1000000ull;
    }
}

/* Runs the loop until *flag or timeout; false on timeout, fatal or stop. */
static bool wait_for(struct run *r, const bool *flag, unsigned timeout_ms, int stage)
{
    uint64_t end = dw_now_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (!*flag) {
        if (stop || r->fatal || dw_now_monotonic_ns() > end)
            return false;
        if (stage >= 0 && !r->st[stage].pid && r->st[stage].restarts == 0 &&
            r->st[stage].starts) {
            /* It died before becoming ready: no restarting at start-up. */
            return false;
        }
        pump(r, 100, false);
    }
    return true;
}

static void settle(struct run *r, unsigned ms)
{
    uint64_t end = dw_now_monotonic_ns() + (uint64_t)ms * 1000000ull;
    while (dw_now_monotonic_ns() < end)
        pump(r, 50, false);
}

/* ---- set-up and tear-down ---------------------------------------------- */

static int make_rundir(struct run *r)
{
    char tmp[PATH_MAX + 32];
    int e = dw_runtime_dir(r->base, sizeof(r->base));
    if (e < 0) {
        dw_err("runtime directory: %s", strerror(-e));
        return e;
    }
    if (snprintf(r->rundir, sizeof(r->rundir), "%s/run-XXXXXX", r->base) >= (int)sizeof(r->rundir) ||
        !mkdtemp(r->rundir)) {
        dw_err("cannot create a run directory in %s: %s", r->base, strerror(errno));
        return -errno;
    }
    /* Endpoint paths must fit a sockaddr_un (108 bytes). */
    if (strlen(r->rundir) + 16 > 100) {
        dw_err("runtime directory path %s is too long for ipc sockets", r->rundir);
        rmdir(r->rundir);
        return -ENAMETOOLONG;
    }
    snprintf(r->ep_acquire, sizeof(r->ep_acquire), "ipc://%s/acquire", r->rundir);
    snprintf(r->ep_events, sizeof(r->ep_events), "ipc://%s/events", r->rundir);
    snprintf(r->ep_detect, sizeof(r->ep_detect), "ipc://%s/detect", r->rundir);
    snprintf(r->garment_link, sizeof(r->garment_link), "%s/garment", r->rundir);
    snprintf(r->current_link, sizeof(r->current_link), "%s/current", r->base);
    snprintf(tmp, sizeof(tmp), "%s/.current-%d", r->base, (int)getpid());
    unlink(tmp);
    if (symlink(strrchr(r->rundir, '/') + 1, tmp) < 0 || rename(tmp, r->current_link) < 0) {
        dw_warn("cannot point %s at this run: %s", r->current_link, strerror(errno));
        unlink(tmp);
        r->current_link[0] = 0;
    }
    setenv("DUCTWATCH_RUNTIME_DIR", r->rundir, 1);
    return 0;
}

static void remove_rundir(struct run *r)
{
    static const char *const names[] = { "acquire", "events", "detect", "garment", "garment.new" };
    char p[PATH_MAX + 32], target[PATH_MAX];
    if (r->current_link[0]) {
        ssize_t n = readlink(r->current_link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = 0;
            if (!strcmp(target, strrchr(r->rundir, '/') + 1))
                unlink(r->current_link);
        }
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        snprintf(p, sizeof(p), "%s/%s", r->rundir, names[i]);
        unlink(p);
    }
    if (rmdir(r->rundir) < 0)
        dw_debug("left %s: %s", r->rundir, strerror(errno));
}

static void build_args(struct run *r)
{
    const char **a;
    int n;
    const char *verb = r->level >= DW_LOG_DEBUG ? "-vv" : r->level <= DW_LOG_ERROR ? "-q" : NULL;

    a = r->args[ST_RECORD]; n = 0;
    a[n++] = "--dir"; a[n++] = r->dir;
    a[n++] = "--sub"; a[n++] = r->ep_acquire;
    a[n++] = "--sub"; a[n++] = r->ep_detect;
    if (verb) a[n++] = verb;
    a[n] = NULL;

    a = r->args[ST_DETECT]; n = 0;
    a[n++] = "--sub"; a[n++] = r->ep_acquire;
    a[n++] = "--pub"; a[n++] = r->ep_detect;
    if (r->config) { a[n++] = "--config"; a[n++] = r->config; }
    if (verb) a[n++] = verb;
    a[n] = NULL;

    a = r->args[ST_SIM]; n = 0;
    a[n++] = "--scenario"; a[n++] = r->scenario;
    if (r->seed) { a[n++] = "--seed"; a[n++] = r->seed; }
    a[n++] = "--duration"; a[n++] = r->duration;
    if (r->fast) a[n++] = "--fast";
    else { a[n++] = "--speed"; a[n++] = r->speed; }
    if (r->rate) { a[n++] = "--rate"; a[n++] = r->rate; }
    if (r->labels) { a[n++] = "--labels"; a[n++] = r->labels; }
    a[n++] = "--out"; a[n++] = "pty";
    if (verb) a[n++] = verb;
    a[n] = NULL;

    a = r->args[ST_ACQUIRE]; n = 0;
    a[n++] = "--port"; a[n++] = r->use_sim ? r->garment_link : r->port;
    a[n++] = "--pub"; a[n++] = r->ep_acquire;
    a[n++] = "--events"; a[n++] = r->ep_events;
    if (r->use_sim) { a[n++] = "--wait-subscribers"; a[n++] = SIM_WAIT_SUBSCRIBERS; }
    if (verb) a[n++] = verb;
    a[n] = NULL;
}

static void parse_args(struct run *r, int argc, char **argv)
{
    enum { O_SEED = 256, O_SPEED, O_FAST, O_RATE, O_LABELS, O_NO_REPORT };
    static const struct option opts[] = {
        { "scenario", required_argument, NULL, 's' },
        { "seed", required_argument, NULL, O_SEED },
        { "port", required_argument, NULL, 'p' },
        { "duration", required_argument, NULL, 'd' },
        { "speed", required_argument, NULL, O_SPEED },
        { "fast", no_argument, NULL, O_FAST },
        { "rate", required_argument, NULL, O_RATE },
        { "labels", required_argument, NULL, O_LABELS },
        { "no-report", no_argument, NULL, O_NO_REPORT },
        { "dir", required_argument, NULL, 'o' },
        { "config", required_argument, NULL, 'c' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    int ch;
    uint64_t u;
    double d;
    bool speed_given = false;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":s:p:d:o:c:vqh", opts, NULL)) != -1) {
        switch (ch) {
        case 's': r->scenario = optarg; break;
        case O_SEED:
            if (dw_parse_u64(optarg, 0, UINT64_MAX, &u) < 0)
                dw_usage_error(prog, "bad --seed '%s'", optarg);
            r->seed = optarg;
            break;
        case 'p': r->port = optarg; break;
        case 'd':
            if (dw_duration_parse_us(optarg, &r->duration_us) < 0 || !r->duration_us)
                dw_usage_error(prog, "bad --duration '%s' (e.g. 90s, 36h, 3d)", optarg);
            r->duration = optarg;
            break;
        case O_SPEED:
            if (dw_parse_double(optarg, 0.001, 1e9, &d) < 0)
                dw_usage_error(prog, "bad --speed '%s' (a factor, e.g. 60)", optarg);
            r->speed = optarg;
            speed_given = true;
            break;
        case O_FAST: r->fast = true; break;
        case O_RATE:
            if (dw_parse_u64(optarg, 1, 1000, &u) < 0)
                dw_usage_error(prog, "bad --rate '%s' (1..1000 Hz)", optarg);
            r->rate = optarg;
            break;
        case O_LABELS: r->labels = optarg; break;
        case O_NO_REPORT: r->no_report = true; break;
        case 'o': r->dir = optarg; break;
        case 'c': r->config = optarg; break;
        case 'v': case 'q': dw_tool_verbosity(&r->level, ch); break;
        case 'h': usage(); exit(DW_EXIT_OK);
        default: dw_usage_bad_option(prog, ch, argv);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
    if (r->fast && speed_given)
        dw_usage_error(prog, "--speed and --fast exclude each other");
    r->use_sim = !r->port;
    if (!r->use_sim && (r->scenario || r->seed || r->fast || speed_given || r->rate || r->labels))
        dw_usage_error(prog, "--port excludes the simulator's options (--scenario, --seed, "
                       "--speed, --fast, --rate, --labels)");
    if (!r->scenario)
        r->scenario = DEFAULT_SCENARIO;
    if (!r->speed)
        r->speed = DEFAULT_SPEED;
    if (!r->duration && r->use_sim) {
        r->duration = DEFAULT_DURATION;
        dw_duration_parse_us(r->duration, &r->duration_us);
    }
    if (!r->dir)
        r->dir = DEFAULT_DIR;
    dw_log_set_level(r->level);
}

/* `ductwatch report FILE.h5` for each session file (FILE.html beside it),
 * run as a child of this same program. A failed report is said, but the
 * session is recorded all the same: it does not fail the run. */
static void write_reports(struct run *r)
{
    for (unsigned i = 0; i < r->n_files && !stop; i++) {
        char out[PATH_MAX + 8];
        size_t n = strlen(r->files[i]);
        int st;
        pid_t pid;
        if (n > 3 && !strcmp(r->files[i] + n - 3, ".h5"))
            n -= 3;
        snprintf(out, sizeof(out), "%.*s.html", (int)n, r->files[i]);
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
            char *args[] = { DW_TOOL, "report", r->files[i], "-o", out, NULL };
            execv("/proc/self/exe", args);
            _exit(127);
        }
        if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
            printf("report: not written for %s (see the message above)\n", r->files[i]);
            continue;
        }
        printf("report: %s\n", out);
    }
}

static void summary(struct run *r, uint64_t wall_ns)
{
    struct dw_msg_stats tot = r->live.stats, *s = &tot;
    char t[32];
    struct stat sb;

    clear_status(r);
    printf("\n== ductwatch run: summary ==\n");
    dw_duration_format(wall_ns / 1000, t, sizeof(t));
    printf("wall time: %s", t);
    if (r->live.have_stats) {
        dw_duration_format(s->t_device_us, t, sizeof(t));
        printf(", garment time: %s, device %s", t, s->device);
    }
    printf("\n");
    if (!r->n_files)
        printf("session files: none (ductwatch-record opened no file)\n");
    for (unsigned i = 0; i < r->n_files; i++) {
        if (stat(r->files[i], &sb) == 0)
            printf("session file: %s (%lld bytes)\n", r->files[i], (long long)sb.st_size);
        else
            printf("session file: %s (MISSING: %s)\n", r->files[i], strerror(errno));
    }
    printf("alerts: %llu message(s), %u still active at the end\n",
           (unsigned long long)r->live.alerts_seen, r->live.n_active);
    for (unsigned i = 0; i < r->live.counts.n; i++) {
        const struct dw_alert_count *c = &r->live.counts.c[i];
        printf("  %-6s %-3s raised %u, updated %u, cleared %u\n", c->rule, c->level,
               c->raised, c->updated, c->cleared);
    }
#define ADD(f) tot.f += r->prev_total.f;
    ADD(bytes) ADD(frames) ADD(crc_errors) ADD(length_errors) ADD(cobs_errors)
    ADD(version_errors) ADD(resyncs) ADD(device_seq_gaps) ADD(frames_missing)
    ADD(reconnects) ADD(events_in) ADD(zmq_dropped)
#undef ADD
    /* and what fell between a killed acquire and the next one, as the
     * recorder counted it (its `lost:` lines): the file is what counts */
    tot.device_seq_gaps += r->bridged_gaps;
    tot.frames_missing += r->bridged_missing;
    if (r->live.have_stats)
        printf("loss: serial bytes %llu, frames %llu, crc errors %llu, length errors %llu, "
               "cobs errors %llu, resyncs %llu, device seq gaps %llu (frames missing %llu), "
               "reconnects %llu, zmq drops %llu\n",
               (unsigned long long)s->bytes, (unsigned long long)s->frames,
               (unsigned long long)s->crc_errors, (unsigned long long)s->length_errors,
               (unsigned long long)s->cobs_errors, (unsigned long long)s->resyncs,
               (unsigned long long)s->device_seq_gaps, (unsigned long long)s->frames_missing,
               (unsigned long long)s->reconnects, (unsigned long long)s->zmq_dropped);
    else
        printf("loss: no stats received from ductwatch-acquire\n");
    for (int i = 0; i < N_STAGES; i++)
        if (r->st[i].argv[0] && r->st[i].restarts)
            printf("restarts: %s %u\n", r->st[i].name, r->st[i].restarts);
    fflush(stdout);
}

static long long session_bytes(const struct run *r)
{
    long long total = 0;
    struct stat sb;
    for (unsigned i = 0; i < r->n_files; i++)
        if (stat(r->files[i], &sb) == 0)
            total += sb.st_size;
    return total;
}

/* The garment has stopped sending; wait until the recorder has caught up
 * with what acquire already published (its files stop growing; it flushes
 * at least every second), so stopping acquire drops nothing in flight. */
static void wait_recorder_quiet(struct run *r)
{
    uint64_t start = dw_now_monotonic_ns(), changed = start;
    long long last = session_bytes(r);
    if (!r->st[ST_RECORD].pid)
        return;
    while (dw_now_monotonic_ns() - changed < QUIET_NS &&
           dw_now_monotonic_ns() - start < QUIET_MAX_NS) {
        if (stop) {
            say(r, "interrupted again: not waiting for the recorder to catch up");
            break;
        }
        long long now_bytes;
        pump(r, 100, false);
        now_bytes = session_bytes(r);
        if (now_bytes != last) {
            last = now_bytes;
            changed = dw_now_monotonic_ns();
        }
    }
    dw_debug("recorder quiet after %.1f s", (dw_now_monotonic_ns() - start) / 1e9);
}

/* Stops the stages in data-flow order, letting each drain. */
static void shutdown_stages(struct run *r)
{
    static const int order[] = { ST_SIM, ST_ACQUIRE, ST_DETECT, ST_RECORD };
    for (size_t k = 0; k < sizeof(order) / sizeof(*order); k++) {
        struct dw_stage *s = &r->st[order[k]];
        char why[96];
        int st;
        if (!s->argv[0])
            continue;
        if (s->pid && order[k] == ST_ACQUIRE)
            wait_recorder_quiet(r);
        else if (s->pid && k > 0)
            settle(r, SETTLE_MS); /* what the previous stage sent arrives */
        st = dw_stage_stop(s, SIGTERM, order[k] == ST_RECORD ? RECORD_STOP_TIMEOUT_MS
                                                             : STOP_TIMEOUT_MS);
        if (order[k] == ST_SIM)
            unlink(r->garment_link);
        if (st != -1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0) &&
            !(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)) {
            dw_stage_describe(st, why, sizeof(why));
            say(r, "%s %s while stopping", s->name, why);
        }
    }
    /* Alerts detect published just before it stopped. */
    settle(r, 200);
}

int dw_cmd_run(int argc, char **argv)
{
    struct run *r = calloc(1, sizeof(*r));
    struct sigaction sa;
    struct stat st;
    int status = DW_EXIT_FAILURE, e;
    uint64_t end_ns = 0;

    if (!r) {
        dw_err("out of memory");
        return DW_EXIT_FAILURE;
    }
    r->level = DW_LOG_INFO;
    parse_args(r, argc, argv);
    r->tty = isatty(STDOUT_FILENO);
    dw_install_stop_signals(&stop);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_child;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NOCLDSTOP; /* no SA_RESTART: wake the poll */
    sigaction(SIGCHLD, &sa, NULL);

    if (mkdir(r->dir, 0750) < 0 && errno != EEXIST) {
        dw_err("cannot create %s: %s", r->dir, strerror(errno));
        free(r);
        return DW_EXIT_FAILURE;
    }
    if (stat(r->dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        dw_err("cannot write to %s: %s", r->dir, strerror(ENOTDIR));
        free(r);
        return DW_EXIT_FAILURE;
    }
    if (access(r->dir, W_OK | X_OK) < 0) {
        dw_err("cannot write to %s: %s", r->dir, strerror(errno));
        free(r);
        return DW_EXIT_FAILURE;
    }
    if (make_rundir(r) < 0) {
        free(r);
        return DW_EXIT_FAILURE;
    }
    dw_live_init(&r->live);
    build_args(r);
    for (int i = 0; i < N_STAGES; i++) {
        static const char *const names[N_STAGES] = {
            [ST_RECORD] = "ductwatch-record", [ST_DETECT] = "ductwatch-detect",
            [ST_SIM] = "ductwatch-sim", [ST_ACQUIRE] = "ductwatch-acquire",
        };
        r->backoff_ms[i] = BACKOFF_MIN_MS;
        if (i == ST_SIM && !r->use_sim)
            continue;
        if (dw_stage_init(&r->st[i], names[i], r->args[i], on_stage_line, r) < 0) {
            dw_err("cannot set up %s", names[i]);
            goto out;
        }
    }

    r->ctx = zmq_ctx_new();
    r->sub_acq = r->ctx ? dw_zmq_socket(r->ctx, ZMQ_SUB) : NULL;
    r->sub_det = r->ctx ? dw_zmq_socket(r->ctx, ZMQ_SUB) : NULL;
    if (!r->sub_acq || !r->sub_det ||
        zmq_setsockopt(r->sub_acq, ZMQ_SUBSCRIBE, "stats.", 6) < 0 ||
        zmq_setsockopt(r->sub_acq, ZMQ_SUBSCRIBE, "event.", 6) < 0 ||
        zmq_setsockopt(r->sub_acq, ZMQ_SUBSCRIBE, "frame.", 6) < 0 ||
        zmq_setsockopt(r->sub_det, ZMQ_SUBSCRIBE, "alert.", 6) < 0 ||
        zmq_connect(r->sub_acq, r->ep_acquire) < 0 || zmq_connect(r->sub_det, r->ep_detect) < 0) {
        dw_err("zmq: %s", zmq_strerror(errno));
        goto out;
    }

    r->t0_ns = dw_now_monotonic_ns();
    if (r->level >= DW_LOG_INFO) {
        if (r->use_sim)
            say(r, "ductwatch run: simulated garment, scenario '%s'%s%s, %s at %s%s; "
                "sessions in %s/", r->scenario, r->seed ? " seed " : "", r->seed ? r->seed : "",
                r->duration, r->fast ? "full speed" : r->speed, r->fast ? "" : "x", r->dir);
        else
            say(r, "ductwatch run: garment on %s%s%s; sessions in %s/", r->port,
                r->duration ? " for " : "", r->duration ? r->duration : "", r->dir);
        say(r, "runtime dir %s (other terminals: ductwatch log | alerts | view)", r->rundir);
    }

    /* Consumers first, so they are listening when data starts. */
    start_stage(r, ST_RECORD);
    start_stage(r, ST_DETECT);
    if (r->fatal || !wait_for(r, &r->detect_ready, READY_TIMEOUT_MS, ST_DETECT)) {
        if (!stop)
            dw_err("ductwatch-detect did not start");
        goto stop_all;
    }
    if (r->use_sim) {
        start_stage(r, ST_SIM);
        if (r->fatal || !wait_for(r, &r->pty_ready, READY_TIMEOUT_MS, ST_SIM)) {
            if (!stop)
                dw_err("ductwatch-sim did not report its pseudo-terminal");
            goto stop_all;
        }
    }
    start_stage(r, ST_ACQUIRE);
    if (r->fatal || !wait_for(r, &r->acquire_ready, READY_TIMEOUT_MS, ST_ACQUIRE)) {
        if (!stop)
            dw_err("ductwatch-acquire did not start on %s", r->use_sim ? r->pty : r->port);
        goto stop_all;
    }
    r->running = true;
    if (!r->use_sim && r->duration_us)
        end_ns = dw_now_monotonic_ns() + r->duration_us * 1000;

    while (!stop && !r->fatal && !r->sim_finished) {
        uint64_t now = dw_now_monotonic_ns();
        if (end_ns && now >= end_ns)
            break;
        if (now >= r->next_status_ns) {
            show_status(r);
            r->next_status_ns = now + (r->tty ? 1000000000ull : 10000000000ull);
        }
        pump(r, 200, true);
    }
    status = r->fatal ? DW_EXIT_FAILURE : DW_EXIT_OK;
    if (stop) {
        say(r, "interrupted: stopping the pipeline (interrupt again to skip waiting)");
        stop = 0;
    }

stop_all:
    shutdown_stages(r);
    summary(r, dw_now_monotonic_ns() - r->t0_ns);
    if (!r->no_report)
        write_reports(r);
    if (status == DW_EXIT_OK && !r->n_files) {
        dw_err("no session file was written");
        status = DW_EXIT_FAILURE;
    }
out:
    if (r->sub_acq)
        zmq_close(r->sub_acq);
    if (r->sub_det)
        zmq_close(r->sub_det);
    if (r->ctx)
        zmq_ctx_term(r->ctx);
    remove_rundir(r);
    e = status;
    free(r);
    return e;
}
