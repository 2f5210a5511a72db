/* The acquisition state machine: garment bytes in, one ordered ZeroMQ stream
 * out. No serial or CLI code here: the caller feeds received bytes with
 * their receive times, reports link changes, hands over user event requests
 * and calls the periodic functions; everything is published on the XPUB
 * socket it was given. docs/messages.md describes what comes out. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backlog.h"
#include "frame.h"
#include "msg.h"
#include "replay_budget.h"

#define DW_ACQ_DRIFT_POINTS 600
#define DW_ACQ_DRIFT_STEP_NS 100000000ull    /* one point per 100 ms */
#define DW_ACQ_DRIFT_MIN_SPAN_NS 2000000000ull  /* report 0 below 2 s */
#define DW_ACQ_HELLO_RETRY_NS 1000000000ull
/* A garment frame whose device time is more than this ahead of the time
 * line (the last frame's device time plus the host time elapsed since) is
 * suspect: dropped and counted, it moves neither the time line nor the
 * drift estimate (docs/messages.md, section 6). */
#define DW_ACQ_TIME_JUMP_US (3600ull * 1000000)
/* ...unless this many suspect frames in a row, each after the one before,
 * agree: the garment's clock really jumped, and the time line follows. */
#define DW_ACQ_TIME_RESYNC 3

struct dw_acquire_opts {
    size_t backlog;          /* messages kept for replay (0: DW_BACKLOG_DEFAULT) */
    uint64_t backlog_age_ns; /* and only those younger than this (0: 10 s) */
};

struct dw_acquire {
    void *pub;                 /* XPUB socket, not owned */
    struct dw_decoder dec;
    struct dw_backlog backlog;

    /* the stream */
    uint64_t stream, seq;
    char device[DW_ID_LEN + 1];
    bool have_hello;
    struct dw_hello hello;

    /* receive time of the bytes being fed */
    uint64_t rx_real_ns, rx_mono_ns;

    /* device sequence accounting */
    bool have_base;
    uint32_t expected;          /* next device seq we should see */

    /* the latest published garment frame, for stamping host events */
    bool have_frame;
    uint64_t last_dev_us, last_mono_ns;
    /* suspect device times in a row (DW_ACQ_TIME_JUMP_US), the latest one */
    unsigned suspect_n;
    uint64_t suspect_dev_us, suspect_mono_ns;

    /* device clock vs host clock */
    struct { uint64_t mono_ns, dev_us; } drift[DW_ACQ_DRIFT_POINTS];
    size_t drift_n, drift_head;

    /* link and HELLO requests */
    bool link_up, ever_up;
    bool need_hello;
    uint64_t last_request_ns;
    bool replay_pending;
    struct dw_backlog_filter want;  /* what the pending replay is for */
    struct dw_replay_budget budget;

    /* counters (see docs/messages.md, stats) */
    uint64_t published_frames;  /* garment frames that reached the stream */
    uint64_t payload_errors;    /* CRC-valid frames whose payload is invalid */
    uint64_t pre_hello_dropped; /* frames before the first HELLO */
    uint64_t time_suspect;      /* of payload_errors: device time out of line */
    uint64_t text_repaired;     /* garment EVENT texts that were not UTF-8 */
    uint64_t device_seq_gaps, frames_missing, reboots;
    uint64_t reconnects, events_in, zmq_dropped, replayed;
    uint64_t replays, replays_hello; /* full replays; HELLO alone (budget spent) */
};

/* stream id = realtime ns now. 0 or -errno. */
int dw_acquire_init(struct dw_acquire *a, void *pub_sock, const struct dw_acquire_opts *o);
void dw_acquire_free(struct dw_acquire *a);

/* Bytes read from the link at the given host times. */
void dw_acquire_feed(struct dw_acquire *a, const uint8_t *data, size_t len,
                     uint64_t real_ns, uint64_t mono_ns);
/* The link opened (first time or again) / went away. */
void dw_acquire_link_up(struct dw_acquire *a, uint64_t real_ns, uint64_t mono_ns);
void dw_acquire_link_down(struct dw_acquire *a, const char *why, uint64_t real_ns,
                          uint64_t mono_ns);
/* True when a HELLO_REQUEST should be written now (no HELLO since the link
 * came up and none requested in the last second); records the request. */
bool dw_acquire_want_hello_request(struct dw_acquire *a, uint64_t mono_ns);

/* Handles one events-endpoint request; writes the JSON reply into reply. */
void dw_acquire_user_event(struct dw_acquire *a, const char *json, size_t len,
                           uint64_t real_ns, uint64_t mono_ns, char *reply, size_t cap);

/* Publishes stats.<device> (nothing before the first HELLO). */
void dw_acquire_publish_stats(struct dw_acquire *a, uint64_t real_ns, uint64_t mono_ns);
void dw_acquire_fill_stats(const struct dw_acquire *a, struct dw_msg_stats *s);


/* Sets up an XPUB socket for dw_acquire: every subscription reported
 * (ZMQ_XPUB_VERBOSE), the send high-water mark and the largest
 * subscription (defaults.h: DW_SUBSCRIPTION_MAX). 0 or -errno.
 * Not ZMQ_XPUB_MANUAL: in libzmq 4.3.4 a subscription read from a
 * subscriber that has already gone away is applied to a freed pipe
 * (fixed upstream by zeromq/libzmq PR #4137, after 4.3.4). */
int dw_acquire_setup_pub(void *sock, int sndhwm);
/* Reads subscription notices from the XPUB socket and, if a new
 * subscription came in, replays at once what the backlog holds for the new
 * subscriptions' prefixes, within the replay budget (replay_budget.h).
 * Returns the number of new subscriptions. */
int dw_acquire_handle_subscriptions(struct dw_acquire *a, uint64_t mono_ns);
/* Cheap check (ZMQ_EVENTS) for pending subscription notices, handled as
 * above. Call it right before publishing a batch: libzmq applies a new
 * subscription as soon as it processes its commands, and a live message
 * sent before the replay would make the subscriber drop the replay as
 * duplicates. */
void dw_acquire_check_subscriptions(struct dw_acquire *a, uint64_t mono_ns);
/* Sends the backlog if a replay is pending (replay_pending): all of what
 * matches `want` if the budget allows, else the pinned HELLO alone, at
 * most every DW_REPLAY_HELLO_GAP_NS (else it stays pending). */
void dw_acquire_replay(struct dw_acquire *a, uint64_t mono_ns);
/* When a pending replay is due (monotonic ns), or UINT64_MAX. */
uint64_t dw_acquire_replay_due(const struct dw_acquire *a);

/* Device time for "now": the latest frame's device time plus the host
 * time elapsed since it arrived. false before any frame. */
bool dw_acquire_device_now(const struct dw_acquire *a, uint64_t mono_ns, uint64_t *dev_us);
/* Least-squares slope of device time over host monotonic time, in ppm. */
double dw_acquire_drift_ppm(const struct dw_acquire *a);
