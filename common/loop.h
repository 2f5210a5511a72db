/* The wait of a program's main loop, written once: the deadlines of one
 * turn in monotonic ns, turned into a poll timeout in whole milliseconds
 * rounded up once (so a wake-up is never early and never spins), and the
 * stop flag set by dw_install_stop_signals.
 *
 * A turn: dw_loop_begin, dw_loop_wake_at for each thing due, then
 * dw_loop_poll (or dw_loop_timeout_ms for another wait). Why not an event
 * loop library: docs/CODING_STYLE.md, "Main loops". */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

/* The longest a program waits before it looks at its stop flag again: a
 * signal that arrives just before a wait does not interrupt that wait. */
#define DW_LOOP_STOP_CHECK_MS 200

struct dw_loop {
    volatile sig_atomic_t *stop; /* NULL: never stopped */
    uint64_t wake;               /* the turn's earliest deadline; UINT64_MAX: none */
};

void dw_loop_init(struct dw_loop *l, volatile sig_atomic_t *stop);
/* A new turn: no deadline yet. */
void dw_loop_begin(struct dw_loop *l);
/* Wake up at monotonic time t_ns at the latest. */
void dw_loop_wake_at(struct dw_loop *l, uint64_t t_ns);
/* The timeout for a wait that starts at now_ns: the turn's deadline minus
 * now, rounded up to whole ms (capped at DW_LOOP_STOP_CHECK_MS when there
 * is a stop flag); 0 when it has passed; -1 (no limit) when there is none
 * and no stop flag. */
long dw_loop_timeout_ms(const struct dw_loop *l, uint64_t now_ns);
/* zmq_poll of the items until the turn's deadline: the number of items
 * ready, 0 (deadline, or a signal), or -errno. */
int dw_loop_poll(struct dw_loop *l, zmq_pollitem_t *items, int n);
/* Whether the stop flag is set. */
bool dw_loop_stopped(const struct dw_loop *l);
