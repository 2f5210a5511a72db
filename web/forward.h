/* The wearer's taps to acquisition's events endpoint (docs/messages.md
 * section 7) from the stream thread, which owns every ZeroMQ socket: the
 * HTTP thread queues a job and suspends its connection; this side sends
 * one request at a time on a REQ socket it polls with the streams, and
 * hands the answer back. A tap id seen before gets the first answer again
 * and nothing is sent (the page resends what it could not deliver). A
 * request that gets no answer in DW_FORWARD_TIMEOUT_MS is answered 504 and
 * the socket is made anew (a REQ socket that lost its reply is stuck). */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "evreq.h"

#define DW_FORWARD_TIMEOUT_MS 3000
#define DW_FORWARD_TAPS 4096       /* tap ids remembered */

struct dw_forward_job {
    struct dw_web_evreq ev;
    void *conn;                    /* resumed with done() */
    unsigned status;               /* the answer: 200, 409, 503, 504 */
    char reply[512];               /* its JSON body */
    struct dw_forward_job *next;
};

struct dw_forward_tap {
    char id[DW_WEB_TAP_MAX + 1];
    uint64_t seq;
};

struct dw_forward {
    pthread_mutex_t lock;          /* the queue: the HTTP thread adds to it */
    struct dw_forward_job *head, *tail;
    int wake_fd;                   /* an eventfd the stream thread polls */
    bool stopping;
    void *ctx, *req;               /* owned by the stream thread */
    char endpoint[512];
    const char *curve_key, *server_key;
    bool insecure;
    struct dw_forward_job *inflight;
    uint64_t deadline_ns;
    struct dw_forward_tap *taps;   /* ring of DW_FORWARD_TAPS */
    unsigned tap_head, tap_n;
    int tap_fd;                    /* the ids kept on disk (-1: none) */
    void (*done)(void *conn, void *user);
    void *done_user;
    uint64_t sent, refused, timeouts, duplicates;
};

/* 0 or -errno (the socket cannot be made, the endpoint is refused). */
int dw_forward_init(struct dw_forward *f, void *ctx, const char *endpoint, const char *curve_key,
                    const char *server_key, bool insecure);
void dw_forward_fini(struct dw_forward *f);
/* Keeps the tap ids in a file too (mode 0600, lines "ID SEQ"), and reads
 * those of an earlier run first, so that a tap the page sends again after
 * a restart of the server still counts once. 0, -EPERM (a file of another
 * owner, or with group/other access), or another -errno. */
int dw_forward_keep_taps(struct dw_forward *f, const char *path);
/* HTTP thread: queue a job (answered through done(job->conn)). */
void dw_forward_submit(struct dw_forward *f, struct dw_forward_job *job);
/* Stream thread: the sockets to poll (wake fd, and the REQ socket while a
 * request is out): fills items, returns how many (at most 2). */
int dw_forward_pollitems(struct dw_forward *f, void *items);
/* Stream thread, after every poll: answers, time-outs, the next request.
 * now_ns: CLOCK_MONOTONIC. Returns the pending request's deadline in the
 * same clock (for dw_loop_wake_at), UINT64_MAX when none is out. */
uint64_t dw_forward_run(struct dw_forward *f, uint64_t now_ns);
/* Answers every queued and pending job 503 (before the HTTP side stops). */
void dw_forward_stop(struct dw_forward *f);
