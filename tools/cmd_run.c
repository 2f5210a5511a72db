/* ductwatch run: the whole pipeline on one machine, supervised.
 *
 * Stages are child processes in a private runtime directory (so two runs,
 * or a run next to system services, never share endpoints): the simulator
 * on a pseudo-terminal (unless --port), ductwatch-acquire, ductwatch-detect,
 * ductwatch-record and ductwatch-web (unless --no-web). A stage that dies is reported and restarted with
 * backoff; the others keep running. At the end the stages stop in data-flow
 * order (simulator, acquire, detect, record) so nothing in flight is lost.
 * This file is the course of a run; run.h names the parts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "cli.h"
#include "duration.h"
#include "dwtime.h"
#include "endpoint.h"
#include "log.h"
#include "run.h"
#include "tool.h"

#define READY_TIMEOUT_MS 15000u

/* `ductwatch report` over every session file of the run (a session rotated
 * into several files is one report; FIRST.html beside the first), run as a
 * child of this same program with the run's detection configuration. A
 * failed report is said, but the session is recorded all the same: it does
 * not fail the run. */
static void write_reports(struct run *r)
{
    char out[PATH_MAX + 8];
    const char *args[DW_RUN_MAX_FILES + 10];
    size_t n, k = 0;
    int st;
    pid_t pid;
    if (!r->n_files || r->stop)
        return;
    n = strlen(r->files[0]);
    if (n > 3 && !strcmp(r->files[0] + n - 3, ".h5"))
        n -= 3;
    snprintf(out, sizeof(out), "%.*s.html", (int)n, r->files[0]);
    args[k++] = DW_TOOL;
    args[k++] = "report";
    for (unsigned i = 0; i < r->n_files; i++)
        args[k++] = r->files[i];
    args[k++] = "-o";
    args[k++] = out;
    if (r->config) {
        args[k++] = "--config";
        args[k++] = r->config;
    }
    /* run -q: no progress and no "info: report" line from the child (the
     * summary's "report: PATH" line says it) */
    if (r->level <= DW_LOG_ERROR)
        args[k++] = "-q";
    args[k] = NULL;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        execv("/proc/self/exe", (char *const *)args);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
        printf("report: not written (see the message above)\n");
        return;
    }
    printf("report: %s\n", out);
}

static void summary(struct run *r, uint64_t wall_ns)
{
    struct dw_msg_stats tot = r->live.stats, *s = &tot;
    char t[32];
    struct stat sb;

    dw_run_clear_status(r);
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


/* The session directory exists (or is made) and is writable. */
static int check_dir(const struct run *r)
{
    struct stat st;
    if (mkdir(r->dir, 0750) < 0 && errno != EEXIST) {
        dw_err("cannot create %s: %s", r->dir, strerror(errno));
        return -1;
    }
    if (stat(r->dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        dw_err("cannot write to %s: %s", r->dir, strerror(ENOTDIR));
        return -1;
    }
    if (access(r->dir, W_OK | X_OK) < 0) {
        dw_err("cannot write to %s: %s", r->dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Our own subscriptions: acquire's stats, events and frames (the status
 * line) and detect's alerts. */
static int connect_subs(struct run *r)
{
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
        return -1;
    }
    return 0;
}

static void announce(struct run *r)
{
    if (r->level < DW_LOG_INFO)
        return;
    if (r->use_sim)
        dw_run_say(r, "ductwatch run: simulated garment, scenario '%s'%s%s, %s at %s%s; "
            "sessions in %s/", r->scenario, r->seed ? " seed " : "", r->seed ? r->seed : "",
            r->duration, r->fast ? "full speed" : r->speed, r->fast ? "" : "x", r->dir);
    else
        dw_run_say(r, "ductwatch run: garment on %s%s%s; sessions in %s/", r->port,
            r->duration ? " for " : "", r->duration ? r->duration : "", r->dir);
    dw_run_say(r, "runtime dir %s (other terminals: ductwatch log | alerts | view)", r->rundir);
}

/* Consumers first, so they are listening when data starts. False when a
 * stage did not come up. */
static bool start_pipeline(struct run *r)
{
    dw_run_start_stage(r, ST_RECORD);
    dw_run_start_stage(r, ST_DETECT);
    if (r->fatal || !dw_run_wait_for(r, &r->detect_ready, READY_TIMEOUT_MS, ST_DETECT)) {
        if (!r->stop)
            dw_err("ductwatch-detect did not start");
        return false;
    }
    if (!r->no_web) {
        dw_run_start_stage(r, ST_WEB);
        if (r->fatal || !dw_run_wait_for(r, &r->web_ready, READY_TIMEOUT_MS, ST_WEB)) {
            if (!r->stop)
                dw_err("ductwatch-web did not start on %s", r->web_listen);
            return false;
        }
    }
    if (r->use_sim) {
        dw_run_start_stage(r, ST_SIM);
        if (r->fatal || !dw_run_wait_for(r, &r->pty_ready, READY_TIMEOUT_MS, ST_SIM)) {
            if (!r->stop)
                dw_err("ductwatch-sim did not report its pseudo-terminal");
            return false;
        }
    }
    dw_run_start_stage(r, ST_ACQUIRE);
    if (r->fatal || !dw_run_wait_for(r, &r->acquire_ready, READY_TIMEOUT_MS, ST_ACQUIRE)) {
        if (!r->stop)
            dw_err("ductwatch-acquire did not start on %s", r->use_sim ? r->pty : r->port);
        return false;
    }
    r->running = true;
    return true;
}

/* Until the simulator ends, --duration passes (real garment), a stage
 * cannot run, or an interrupt. */
static void watch(struct run *r)
{
    uint64_t end_ns = 0;
    if (!r->use_sim && r->duration_us)
        end_ns = dw_now_monotonic_ns() + r->duration_us * 1000;
    while (!r->stop && !r->fatal && !r->sim_finished) {
        uint64_t now = dw_now_monotonic_ns();
        if (end_ns && now >= end_ns)
            break;
        if (now >= r->next_status_ns) {
            dw_run_show_status(r);
            r->next_status_ns = now + (r->tty ? 1000000000ull : 10000000000ull);
        }
        dw_run_pump(r, 200, true);
    }
}

int dw_cmd_run(int argc, char **argv)
{
    struct run *r = calloc(1, sizeof(*r));
    int status = DW_EXIT_FAILURE;

    if (!r) {
        dw_err("out of memory");
        return DW_EXIT_FAILURE;
    }
    r->level = DW_LOG_INFO;
    dw_run_parse_args(r, argc, argv);
    r->tty = isatty(STDOUT_FILENO);
    dw_install_stop_signals(&r->stop);
    dw_run_watch_children();

    if (check_dir(r) < 0 || dw_run_make_rundir(r) < 0) {
        free(r);
        return DW_EXIT_FAILURE;
    }
    dw_live_init(&r->live);
    dw_run_build_args(r);
    if (dw_run_init_stages(r) < 0 || connect_subs(r) < 0)
        goto out;

    r->t0_ns = dw_now_monotonic_ns();
    announce(r);
    if (start_pipeline(r)) {
        watch(r);
        status = r->fatal ? DW_EXIT_FAILURE : DW_EXIT_OK;
        if (r->stop) {
            dw_run_say(r, "interrupted: stopping the pipeline (interrupt again to skip waiting)");
            r->stop = 0;
        }
    }
    dw_run_shutdown_stages(r);
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
    dw_run_remove_rundir(r);
    dw_live_fini(&r->live);
    free(r);
    return status;
}
