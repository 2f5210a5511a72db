/* The subscriber side of the streams (docs/messages.md sections 2 and 8),
 * written once for detect, record, the tools and the web server: receive
 * [topic, body], pick the handler by topic kind, parse the body, follow
 * each device's stream sequences, drop what acquire's backlog replay
 * repeats, and keep one table entry per device.
 *
 * Per device there are two streams: acquire's (frame., event. and stats.
 * share one sequence) and detect's (alert.). A message that is a duplicate
 * by seq is dropped before any handler sees it, with one exception: a HELLO
 * while the device has none yet (a replay can reach a new subscriber after
 * a few live messages, and nothing can be read without its HELLO). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "devtab.h"
#include "frame.h"
#include "msg_alert.h"
#include "msg_event.h"
#include "msg_frame.h"
#include "msg_stats.h"
#include "seqtrack.h"
#include "topic.h"

/* One device as the subscriber follows it. A caller with state of its own
 * per device makes this the first member of its struct and passes the
 * struct's size to dw_stream_sub_init: every entry is then one of those. */
struct dw_sub_device {
    char id[DW_ID_LEN + 1];
    struct dw_seq_tracker acq; /* acquire's stream: frame., event., stats. */
    struct dw_seq_tracker det; /* detect's stream: alert. */
    bool have_hello;           /* a HELLO was taken (see on_frame) */
};

/* What a handler gets with the parsed body. */
struct dw_sub_msg {
    struct dw_sub_device *dev; /* the device of the topic: dev->id */
    /* dw_seq_check's result for this message: messages missing before it
     * (> 0), 0 in order, DW_SEQ_RESTART (a new stream id), or DW_SEQ_DUP
     * for a HELLO delivered although it repeats (see above). */
    int64_t seq;
    const uint8_t *body;       /* the body as received */
    size_t len;
};

/* A NULL handler: messages of that kind are ignored (not tracked, no
 * device entry made for them). */
struct dw_sub_handlers {
    /* For a HELLO, a negative return says it was not taken: a later HELLO
     * that repeats by seq is then still delivered. */
    int (*on_frame)(const struct dw_sub_msg *m, const struct dw_msg_frame *f, void *user);
    void (*on_event)(const struct dw_sub_msg *m, const struct dw_msg_event *e, void *user);
    void (*on_stats)(const struct dw_sub_msg *m, const struct dw_msg_stats *s, void *user);
    void (*on_alert)(const struct dw_sub_msg *m, const struct dw_msg_alert *a, void *user);
    /* Optional: a body that does not parse (dropped). m->seq is 0. */
    void (*on_bad)(const struct dw_sub_msg *m, enum dw_topic_kind kind, const char *why,
                   void *user);
    /* Optional: a topic of one of the four kinds whose device part is no
     * valid device id (topic.h): refused before any device entry is made,
     * since ids name files. */
    void (*on_refused)(const char *topic, size_t tlen, void *user);
};

struct dw_stream_sub {
    struct dw_sub_handlers h;
    void *user;
    struct dw_devtab devices; /* entries: struct dw_sub_device (or the caller's) */
    uint64_t delivered;       /* messages that reached a handler */
    uint64_t ignored;         /* other topics, kinds without a handler, one-part messages */
    uint64_t bad;             /* bodies that did not parse */
    uint64_t refused;         /* topics naming no valid device id (on_refused) */
    uint64_t duplicates;      /* dropped as repeats (also counted per device) */
};

/* device_size: bytes of one device entry, at least sizeof(struct
 * dw_sub_device) (0 for just that). Allocates nothing. */
void dw_stream_sub_init(struct dw_stream_sub *s, const struct dw_sub_handlers *h,
                        size_t device_size, void *user);
/* Frees the device table (entries included). */
void dw_stream_sub_fini(struct dw_stream_sub *s);
/* Handles one message: 1 when a handler got it, 0 when it was dropped
 * (another topic, no handler, a bad body, a duplicate), -ENOMEM when the
 * device's entry could not be made. */
int dw_stream_sub_handle(struct dw_stream_sub *s, const char *topic, size_t tlen,
                         const uint8_t *body, size_t blen);
/* Receives one message from sock and handles it (flags as dw_zmq_recv2):
 * 1 when one came (whatever became of it), 0 when none did, -errno. */
int dw_stream_sub_recv(struct dw_stream_sub *s, void *sock, int flags);
/* Everything waiting on sock, at most max messages, without waiting: the
 * number received, or -errno. */
int dw_stream_sub_drain(struct dw_stream_sub *s, void *sock, unsigned max);
/* Device entry i of [0, dw_stream_sub_count(s)), in the order first seen. */
static inline unsigned dw_stream_sub_count(const struct dw_stream_sub *s)
{
    return s->devices.n;
}
static inline struct dw_sub_device *dw_stream_sub_device(const struct dw_stream_sub *s,
                                                         unsigned i)
{
    return dw_devtab_at(&s->devices, i);
}
