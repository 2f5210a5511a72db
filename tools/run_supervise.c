/* `ductwatch run`: the stages as child processes. One loop (dw_run_pump)
 * waits for the stages' output and the pipeline's messages, reaps the
 * stages that exit and restarts them with backoff; at the end they r->stop in
 * data-flow order (simulator, acquire, detect, record) so nothing in
 * flight is lost. The stages share a private runtime directory. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "cli.h"
#include "dwtime.h"
#include "endpoint.h"
#include "log.h"
#include "loop.h"
#include "run.h"

#define BACKOFF_MIN_MS 500u
#define BACKOFF_MAX_MS 10000u
#define STABLE_NS 30000000000ull        /* running this long resets the backoff */
#define STOP_TIMEOUT_MS 10000u
#define RECORD_STOP_TIMEOUT_MS 30000u
#define QUICK_FAIL_NS 3000000000ull    /* an exit this soon after start... */
#define MAX_QUICK_FAILS 5u              /* ...this many times in a row is fatal */
#define SETTLE_MS 1000u                 /* between stopping one stage and the next */
#define QUIET_NS 2000000000ull          /* session files unchanged this long: caught up */
#define QUIET_MAX_NS 60000000000ull

/* A stage exited: wakes the loop. Process-wide by nature (a signal). */
static volatile sig_atomic_t child_event;

static void on_child(int sig) { (void)sig; child_event = 1; }

void dw_run_watch_children(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_child;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NOCLDSTOP; /* no SA_RESTART: wake the poll */
    sigaction(SIGCHLD, &sa, NULL);
}

int dw_run_init_stages(struct run *r)
{
    static const char *const names[N_STAGES] = {
        [ST_RECORD] = "ductwatch-record", [ST_DETECT] = "ductwatch-detect",
        [ST_SIM] = "ductwatch-sim", [ST_ACQUIRE] = "ductwatch-acquire",
        [ST_WEB] = "ductwatch-web",
    };
    for (int i = 0; i < N_STAGES; i++) {
        r->backoff_ms[i] = BACKOFF_MIN_MS;
        if ((i == ST_SIM && !r->use_sim) || (i == ST_WEB && r->no_web))
            continue;
        if (dw_stage_init(&r->st[i], names[i], r->args[i], dw_run_on_stage_line, r) < 0) {
            dw_err("cannot set up %s", names[i]);
            return -1;
        }
    }
    return 0;
}

/* Stage i exited (its wait status in last_status): says so and decides
 * whether and when it restarts. */
static void stage_exited(struct run *r, int i, uint64_t now)
{
    struct dw_stage *s = &r->st[i];
    char why[96];
    if (i == ST_SIM) {
        /* Its pty number is free for anyone now: acquire must not
         * follow the link to somebody else's terminal. */
        unlink(r->garment_link);
        r->pty_ready = false;
    }
    if (s->stopping)
        return;
    if (i == ST_SIM && WIFEXITED(s->last_status) && WEXITSTATUS(s->last_status) == 0) {
        r->sim_finished = true;
        dw_run_say(r, "the simulator reached the end of its session");
        return;
    }
    dw_stage_describe(s->last_status, why, sizeof(why));
    if (WIFEXITED(s->last_status) && WEXITSTATUS(s->last_status) == DW_EXIT_USAGE) {
        dw_run_say(r, "%s %s: it rejected its arguments; stopping the run", s->name, why);
        r->fatal = true;
        return;
    }
    if (!r->running) {
        dw_run_say(r, "%s %s while the pipeline was starting", s->name, why);
        return;
    }
    if (now - s->started_ns > STABLE_NS)
        r->backoff_ms[i] = BACKOFF_MIN_MS;
    /* One that cannot stay up at all is a configuration problem. */
    r->quick_fails[i] = now - s->started_ns < QUICK_FAIL_NS ? r->quick_fails[i] + 1 : 0;
    if (r->quick_fails[i] >= MAX_QUICK_FAILS) {
        dw_run_say(r, "%s %s; it failed %u times in a row within %.0f s of starting: "
            "stopping the run", s->name, why, r->quick_fails[i], QUICK_FAIL_NS / 1e9);
        r->fatal = true;
        return;
    }
    s->next_start_ns = now + (uint64_t)r->backoff_ms[i] * 1000000ull;
    dw_run_say(r, "%s %s unexpectedly; restarting it in %.1f s", s->name, why,
        r->backoff_ms[i] / 1000.0);
    r->backoff_ms[i] = r->backoff_ms[i] * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                             : r->backoff_ms[i] * 2;
}

void dw_run_pump(struct run *r, long timeout_ms, bool supervise)
{
    zmq_pollitem_t it[2 + 2 * N_STAGES];
    struct dw_loop l;
    int n = 0, e;
    uint64_t now;

    it[n++] = (zmq_pollitem_t){ .socket = r->sub_acq, .events = ZMQ_POLLIN };
    it[n++] = (zmq_pollitem_t){ .socket = r->sub_det, .events = ZMQ_POLLIN };
    for (int i = 0; i < N_STAGES; i++) {
        if (r->st[i].out.fd >= 0)
            it[n++] = (zmq_pollitem_t){ .fd = r->st[i].out.fd, .events = ZMQ_POLLIN };
        if (r->st[i].err.fd >= 0)
            it[n++] = (zmq_pollitem_t){ .fd = r->st[i].err.fd, .events = ZMQ_POLLIN };
    }
    dw_loop_init(&l, &r->stop);
    dw_loop_wake_at(&l, dw_now_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull);
    if (child_event)
        dw_loop_wake_at(&l, 0);
    if ((e = dw_loop_poll(&l, it, n)) < 0)
        dw_warn("zmq_poll: %s", zmq_strerror(-e));
    dw_live_drain(&r->live, r->sub_acq, dw_run_on_msg, r);
    dw_live_drain(&r->live, r->sub_det, dw_run_on_msg, r);
    for (int i = 0; i < N_STAGES; i++)
        dw_stage_read(&r->st[i]);

    child_event = 0;
    now = dw_now_monotonic_ns();
    for (int i = 0; i < N_STAGES; i++)
        if (r->st[i].argv[0] && dw_stage_reap(&r->st[i]))
            stage_exited(r, i, now);
    if (!supervise)
        return;
    for (int i = 0; i < N_STAGES; i++) {
        struct dw_stage *s = &r->st[i];
        if (s->argv[0] && !s->pid && s->starts && !r->fatal && !r->sim_finished &&
            now >= s->next_start_ns) {
            dw_run_start_stage(r, i);
            if (s->pid) {
                s->restarts++;
                dw_run_say(r, "%s restarted (restart %u)", s->name, s->restarts);
            }
        }
    }
}

void dw_run_start_stage(struct run *r, int i)
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

bool dw_run_wait_for(struct run *r, const bool *flag, unsigned timeout_ms, int stage)
{
    uint64_t end = dw_now_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (!*flag) {
        if (r->stop || r->fatal || dw_now_monotonic_ns() > end)
            return false;
        if (stage >= 0 && !r->st[stage].pid && r->st[stage].restarts == 0 &&
            r->st[stage].starts) {
            /* It died before becoming ready: no restarting at start-up. */
            return false;
        }
        dw_run_pump(r, 100, false);
    }
    return true;
}

static void settle(struct run *r, unsigned ms)
{
    uint64_t end = dw_now_monotonic_ns() + (uint64_t)ms * 1000000ull;
    while (dw_now_monotonic_ns() < end)
        dw_run_pump(r, 50, false);
}

/* ---- set-up and tear-down ---------------------------------------------- */

int dw_run_make_rundir(struct run *r)
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

void dw_run_remove_rundir(struct run *r)
{
    static const char *const names[] = { "acquire", "events", "detect", "garment", "garment.new",
                                         "web-token", "web-token.taps" };
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
 * with what acquire already published (its files r->stop growing; it flushes
 * at least every second), so stopping acquire drops nothing in flight. */
static void wait_recorder_quiet(struct run *r)
{
    uint64_t start = dw_now_monotonic_ns(), changed = start;
    long long last = session_bytes(r);
    if (!r->st[ST_RECORD].pid)
        return;
    while (dw_now_monotonic_ns() - changed < QUIET_NS &&
           dw_now_monotonic_ns() - start < QUIET_MAX_NS) {
        if (r->stop) {
            dw_run_say(r, "interrupted again: not waiting for the recorder to catch up");
            break;
        }
        long long now_bytes;
        dw_run_pump(r, 100, false);
        now_bytes = session_bytes(r);
        if (now_bytes != last) {
            last = now_bytes;
            changed = dw_now_monotonic_ns();
        }
    }
    dw_debug("recorder quiet after %.1f s", (dw_now_monotonic_ns() - start) / 1e9);
}

void dw_run_shutdown_stages(struct run *r)
{
    static const int order[] = { ST_SIM, ST_ACQUIRE, ST_DETECT, ST_RECORD, ST_WEB };
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
            dw_run_say(r, "%s %s while stopping", s->name, why);
        }
    }
    /* Alerts detect published just before it stopped. */
    settle(r, 200);
}
