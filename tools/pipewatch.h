/* Is the pipeline a client follows still there? `ductwatch view` and
 * `ductwatch alerts` ask every couple of seconds, so that after the
 * pipeline ends (a `ductwatch run` that finished, services stopped, a
 * killed program) they say so instead of showing stale state forever. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define DW_PIPEWATCH_MAX 16

struct dw_pipewatch {
    const char *eps[DW_PIPEWATCH_MAX];
    unsigned n;
    uint64_t silence_ns;      /* no message for this long also counts (0: not) */
    uint64_t last_msg_ns;     /* monotonic time of the latest message (0: none yet) */
    uint64_t next_check_ns;
    uint64_t stopped_since_ns; /* realtime, for "since HH:MM:SS" */
    bool stopped;
    bool was_up;              /* a check found it running */
};

/* eps: the endpoints followed (copied by pointer). */
void dw_pipewatch_init(struct dw_pipewatch *w, const char *const *eps, unsigned n,
                       uint64_t silence_ns);
/* A message arrived at monotonic time now. */
void dw_pipewatch_heard(struct dw_pipewatch *w, uint64_t now_ns);
/* Checks (at most every 2 s). Returns -1 when it just stopped, +1 when it
 * just came back, 0 otherwise; w->stopped says the state. Stopped: every
 * ipc endpoint refuses or is gone, or nothing was heard for silence_ns
 * after something was. */
int dw_pipewatch_check(struct dw_pipewatch *w, uint64_t now_ns);
/* "the pipeline has stopped: nothing from it since 16:10:54 UTC (12 s);
 * waiting for it to come back" */
void dw_pipewatch_describe(const struct dw_pipewatch *w, uint64_t now_ns, char *buf,
                           unsigned cap);
