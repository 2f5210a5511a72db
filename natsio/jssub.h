/* A worker's partition of the fleet stream (docs/operations.md): the
 * durable pull consumer <role>-p<K> on dw.p.<K>.>, created explicitly
 * (explicit ack, an ack wait longer than the slowest flush) and pulled
 * from by name, never deleted, unsubscribed nor drained (in libnats 3.4
 * that deletes the durable): a restarted worker resumes where the last
 * one stopped.
 *
 * Each JetStream message becomes the [topic, body] parts a ZeroMQ
 * subscriber receives (a frame message of one garment-second: one part per
 * frame) and goes to dw_stream_sub_handle, so the program's own handlers
 * take it; the message is then held until the caller says its work is
 * done (record: the flush that holds its rows), and acked.
 *
 * A device met for the first time whose first message carries no HELLO
 * gets the latest HELLO of its stream first (dw.p.<K>.hello.<device>, the
 * bridge's copy), and, when the consumer was there before this worker
 * (a restart), its stream sequence starts just before that message: what
 * came before was acked, so done, and is no gap. libnats stays behind
 * this header.
 *
 * Per device and sequence (acquire's; detect's alerts), messages go to
 * the handlers in ductwatch seq order, as a ZeroMQ subscriber gets them:
 * JetStream delivers what was in flight when a consumer's leader died
 * again only after the ack wait, after newer messages, which the
 * handlers' duplicate rule (seq <= last) would then drop. So a message
 * beyond a hole in its device's sequence waits, un-acked and not handed
 * over (with those of the device behind it), until the redelivery fills
 * the hole; a hole not filled within 2 ack waits, or more messages
 * waiting than half the consumer's max ack pending, is given up: they
 * go over and the program counts the gap. A repeat (seq <= the last
 * handed over) goes over at once, is dropped there and acked. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "jspub.h"
#include "stream_sub.h"

struct dw_jssub_config {
    const struct dw_jspub_config *conn; /* servers, credentials, TLS */
    const char *stream;                 /* holds dw.p.> (default DW) */
    const char *role;                   /* "record", "detect": the durable's name */
    unsigned partition;
    int64_t ack_wait_ms;                /* un-acked this long: delivered again */
    int64_t max_ack_pending;            /* messages held un-acked at most */
    int batch;                          /* messages per fetch */
};

struct dw_jssub_counters {
    uint64_t messages;   /* JetStream messages taken */
    uint64_t parts;      /* [topic, body] parts handed to the handlers */
    uint64_t redelivered;/* messages delivered more than once */
    uint64_t acked;
    uint64_t held;       /* taken, not acked yet */
    uint64_t waiting;    /* taken, waiting for a hole before them (not handed over) */
    uint64_t reordered;  /* messages that waited for a hole (handed over since) */
    uint64_t holes_given_up; /* holes not filled in time: the program counted a gap */
    uint64_t hellos;     /* HELLOs fetched for a device met mid-stream */
    uint64_t bad;        /* messages that could not be read (acked, dropped) */
};

struct dw_jssub;

/* Connects, creates the consumer when it does not exist (or checks the
 * one that does), subscribes to the inbox its pulls are answered on
 * (jssub.c pulls by hand: libnats 3.4.1's fetch overruns its array).
 * NULL with a one-line reason in why. */
struct dw_jssub *dw_jssub_open(const struct dw_jssub_config *c, char *why, size_t cap);
/* The durable's name ("record-p3"). */
const char *dw_jssub_name(const struct dw_jssub *s);
/* Whether the consumer was there before (this worker resumes). */
bool dw_jssub_resumed(const struct dw_jssub *s);
/* Waits at most timeout_ms for a batch and hands every part of it to sub:
 * the number of messages taken (0 when none came), -errno for a failure
 * (-ENOMEM: out of memory). */
int dw_jssub_fetch(struct dw_jssub *s, int timeout_ms, struct dw_stream_sub *sub);
/* Acks the held messages for which done(device, handled_ns, user) is true
 * (handled_ns: monotonic time the handlers got it); done NULL: all of
 * them. The number acked. */
size_t dw_jssub_ack(struct dw_jssub *s,
                    bool (*done)(const char *device, uint64_t handled_ns, void *user),
                    void *user);
void dw_jssub_counters(const struct dw_jssub *s, struct dw_jssub_counters *out);
/* Frees the subscription without touching the durable (held messages are
 * not acked: the server delivers them again after the ack wait). */
void dw_jssub_close(struct dw_jssub *s);

/* ---- the workers' options (jsopts.c, built with or without libnats) ---- */

struct dw_jssub_options {
    struct dw_jspub_config conn;
    struct dw_jssub_config sub;
    bool on;              /* --nats given */
    bool have_partition;
};

/* getopt_long entries for --nats, --partition, --stream, --creds,
 * --user-file, --tls-ca, --ack-wait, with values base .. base + 6. */
#define DW_JSSUB_LONGOPTS(base)                                   \
    { "nats", required_argument, NULL, (base) },                  \
    { "partition", required_argument, NULL, (base) + 1 },         \
    { "stream", required_argument, NULL, (base) + 2 },            \
    { "creds", required_argument, NULL, (base) + 3 },             \
    { "user-file", required_argument, NULL, (base) + 4 },         \
    { "tls-ca", required_argument, NULL, (base) + 5 },            \
    { "ack-wait", required_argument, NULL, (base) + 6 }
#define DW_JSSUB_NOPTS 7

/* Defaults for role ("record", "detect"); ack_wait_ms its default. */
void dw_jssub_options_init(struct dw_jssub_options *o, const char *role, int64_t ack_wait_ms);
/* Takes option ch when it is one of DW_JSSUB_LONGOPTS(base): true; exits
 * (usage error, status 2) for a bad value. */
bool dw_jssub_option(struct dw_jssub_options *o, int ch, int base, const char *arg,
                     const char *prog);
/* After parsing: --partition and --nats go together. */
void dw_jssub_options_check(struct dw_jssub_options *o, const char *prog);
/* The options' lines of --help. */
void dw_jssub_usage(int64_t ack_wait_ms);
