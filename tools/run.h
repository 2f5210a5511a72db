/* `ductwatch run` inside: the state of one run and the parts it is made of.
 *
 *   cmd_run.c        the course of a run: set up, start, watch, stop, sum up
 *   run_args.c       the command line and each stage's arguments
 *   run_supervise.c  the stages as child processes: the loop, restarts with
 *                    backoff, stopping in order, the private runtime directory
 *   run_lines.c      what the stages print on stdout (pty:, pub:, file:, lost:)
 *   run_status.c     the terminal: the status line, alerts and events */
#pragma once
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "livestate.h"
#include "msg.h"
#include "supervise.h"

/* The default session: a scenario whose simulated course raises alerts
 * (see docs/simulator.md), long enough to pass detection's learning period,
 * at a speed that takes about a minute and a half of wall time. */
#define DW_RUN_DEFAULT_SCENARIO "mastitis"
#define DW_RUN_DEFAULT_DURATION "36h"
#define DW_RUN_DEFAULT_SPEED "1500"
#define DW_RUN_DEFAULT_DIR "sessions"

#define DW_RUN_MAX_FILES 16

enum { ST_RECORD, ST_DETECT, ST_SIM, ST_ACQUIRE, ST_WEB, N_STAGES };

/* The web page, on loopback (any free port unless --web-listen). */
#define DW_RUN_DEFAULT_WEB_LISTEN "127.0.0.1:0"

struct run {
    volatile sig_atomic_t stop;  /* SIGINT/SIGTERM */

    /* options */
    const char *scenario, *seed, *port, *duration, *speed, *dir, *config, *labels, *rate;
    bool fast, use_sim, no_report, no_web;
    const char *web_listen, *on_alert;
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
    bool pty_ready, acquire_ready, detect_ready, web_ready;
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
    char files[DW_RUN_MAX_FILES][PATH_MAX];
    unsigned n_files;
    bool tty, status_shown;
    uint64_t t0_ns, next_status_ns;
};

/* run_args.c: parses the command line into r (exits 2 on bad usage, 0
 * after --help), then fills r->args for every stage. */
void dw_run_parse_args(struct run *r, int argc, char **argv);
void dw_run_build_args(struct run *r);

/* run_supervise.c */
void dw_run_watch_children(void);
/* Each stage's program and arguments (after dw_run_build_args). */
int dw_run_init_stages(struct run *r);
int dw_run_make_rundir(struct run *r);
void dw_run_remove_rundir(struct run *r);
/* One round: waits up to timeout_ms for anything, handles it, reaps and
 * (with supervise) restarts stages. */
void dw_run_pump(struct run *r, long timeout_ms, bool supervise);
void dw_run_start_stage(struct run *r, int i);
/* Runs the loop until *flag or timeout; false on timeout, fatal or stop. */
bool dw_run_wait_for(struct run *r, const bool *flag, unsigned timeout_ms, int stage);
/* Stops the stages in data-flow order, letting each drain. */
void dw_run_shutdown_stages(struct run *r);

/* run_lines.c: one line a stage printed (dw_stage_line_cb). */
void dw_run_on_stage_line(struct dw_stage *s, bool is_err, const char *line, void *user);

/* run_status.c */
void dw_run_say(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dw_run_clear_status(struct run *r);
void dw_run_show_status(struct run *r);
/* A message from the pipeline (dw_live_cb). */
void dw_run_on_msg(struct dw_live *l, enum dw_live_kind k, const uint8_t *body, size_t len,
                   void *user);
