/* Publishing to JetStream with acknowledgements, for ductwatch-bridge
 * (docs/operations.md): asynchronous publishes in a bounded window
 * (jsOptions.PublishAsync.MaxPending), each with its Nats-Msg-Id, so the
 * stream drops what is sent twice; a publish that fails or whose ack does
 * not come in time is sent again with the same id, never dropped (but
 * for a subject the server refuses this user: dropped and counted, see
 * dw_jspub_send); a full window is back-pressure: the send waits.
 * libnats stays behind this
 * header (struct dw_jspub is opaque). */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dw_jspub_config {
    const char *url;        /* nats://HOST:PORT[,...] or tls:// */
    const char *creds;      /* a NATS .creds file (JWT and nkey seed), or NULL */
    const char *user_file;  /* "USER:PASSWORD" on its first line, or NULL */
    const char *tls_ca;     /* CA certificates: TLS required, or NULL (a tls:// url
                             * requires it too, with the system's CAs) */
    const char *domain;     /* JetStream domain (a leaf hub's own), or NULL */
    const char *name;       /* connection name the server shows */
    int64_t max_pending;    /* publishes awaiting their ack at most */
    int64_t ack_wait_ms;    /* an ack later than this: sent again */
};

struct dw_jspub_counters {
    uint64_t published;  /* messages handed over (first sends) */
    uint64_t acked;      /* acks received (duplicates included) */
    uint64_t duplicates; /* acks that said "duplicate": a resend the stream dropped */
    uint64_t retried;    /* sends again after a failure or a late ack */
    uint64_t stalls;     /* sends that waited for room in the window */
    uint64_t pending;    /* handed over, not acked yet */
    uint64_t denied;     /* dropped: the server refuses their subject (permissions) */
};

struct dw_jspub;

/* Connects (and reconnects for ever afterwards). NULL with a one-line
 * reason in why. */
struct dw_jspub *dw_jspub_open(const struct dw_jspub_config *c, char *why, size_t cap);
/* Checks that stream exists; with create, makes it when it does not
 * (subjects dw.p.>, file storage, replicas). 0 or -errno with why. */
int dw_jspub_stream(struct dw_jspub *p, const char *stream, int replicas, bool create,
                    char *why, size_t cap);
/* Publishes data on subject with msg_id. Waits while the window is full
 * (back-pressure) until there is room or *stop is set; a message not
 * handed over then is queued and sent again by dw_jspub_retry. 0, or
 * -errno for a failure that no resend can mend: -EACCES when the server
 * has refused a publish on subject (its permissions for this user), once
 * logged with the server's words; such messages, and those on the subject
 * still waiting for their ack, are dropped and counted as denied. */
int dw_jspub_send(struct dw_jspub *p, const char *subject, const char *msg_id,
                  const void *data, size_t len, volatile sig_atomic_t *stop);
/* Sends again what failed, with the same ids, as long as the window takes
 * them: the number still waiting to be sent again. */
size_t dw_jspub_retry(struct dw_jspub *p);
/* Publishes on a plain NATS subject (no JetStream): 0 or -errno. */
int dw_jspub_plain(struct dw_jspub *p, const char *subject, const void *data, size_t len);
/* The last message stream holds on subject: 1 with a malloc'd copy in
 * *data, 0 when it holds none, -errno. */
int dw_jspub_last(struct dw_jspub *p, const char *stream, const char *subject, uint8_t **data,
                  size_t *len);
/* Sends again and waits until every message is acked or timeout_ms
 * passed: 0, or -ETIMEDOUT with messages still pending. */
int dw_jspub_finish(struct dw_jspub *p, int64_t timeout_ms);
void dw_jspub_counters(struct dw_jspub *p, struct dw_jspub_counters *out);
void dw_jspub_close(struct dw_jspub *p);
/* Ends libnats' threads, once, at the end of the program (valgrind-clean). */
void dw_jspub_library_close(void);
