/* Child processes of `ductwatch run`: start, watch, read their stdout line
 * by line, restart with backoff, stop in order. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define DW_STAGE_MAX_ARGS 32

struct dw_stage;
/* Called for every line the stage prints (without the newline); is_err:
 * it came from its stderr. */
typedef void (*dw_stage_line_cb)(struct dw_stage *s, bool is_err, const char *line,
                                 void *user);

struct dw_stage_pipe {
    int fd;                      /* -1 when closed */
    char line[4096];
    size_t fill;
};

struct dw_stage {
    const char *name;            /* "ductwatch-acquire" */
    char path[4096];             /* resolved program */
    char *argv[DW_STAGE_MAX_ARGS + 1];
    pid_t pid;                   /* 0 when not running */
    struct dw_stage_pipe out, err; /* its stdout and stderr */
    dw_stage_line_cb on_line;
    void *user;

    unsigned starts, restarts;
    uint64_t started_ns, next_start_ns;
    unsigned backoff_ms;
    int last_status;             /* wait status of the last exit */
    bool exec_failed;            /* the program could not be run at all */
    bool stopping;               /* we asked it to stop */
};

/* name is the program name; args are its arguments (without argv[0]),
 * copied by pointer (must outlive the stage), NULL-terminated. */
int dw_stage_init(struct dw_stage *s, const char *name, const char *const *args,
                  dw_stage_line_cb cb, void *user);
/* Forks and execs it, stdout and stderr to pipes, stdin from /dev/null, in its own process group (a terminal's ^C reaches only us; we
 * stop the stages in order) and with SIGTERM as parent-death signal.
 * 0 or -errno; -ENOEXEC if the program could not be executed. */
int dw_stage_start(struct dw_stage *s);
/* Reads what the stage printed; calls on_line per complete line. */
void dw_stage_read(struct dw_stage *s);
/* Non-blocking check: true if it exited (then pid = 0, last_status set). */
bool dw_stage_reap(struct dw_stage *s);
/* Sends sig, waits up to timeout_ms (reading its output), then SIGKILL.
 * Returns its wait status, or -1 if it was not running. */
int dw_stage_stop(struct dw_stage *s, int sig, unsigned timeout_ms);
/* "exited with status 1" / "killed by signal 9" */
void dw_stage_describe(int wstatus, char *buf, unsigned cap);
