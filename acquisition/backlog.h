/* The replay ring that gives late subscribers the first frames.
 *
 * A PUB socket drops whatever it sends before a subscriber has finished
 * subscribing. acquire keeps the last messages it published (bounded by
 * count and by age) and, whenever its XPUB socket reports a new
 * subscription, sends them all again. Subscribers drop what they already
 * have by stream sequence (dw_seq_check).
 *
 * One message can be pinned (acquire pins the latest HELLO): a subscriber
 * that joins after it has left the ring cannot read a single frame without
 * it, so a replay sends it first whenever it is older than everything else
 * the replay sends. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The subscriptions a replay is for: only messages whose topic starts with
 * one of these prefixes are sent. No prefix (or an empty one): all. */
#define DW_BACKLOG_PREFIXES 8
#define DW_BACKLOG_PREFIX_MAX 64
struct dw_backlog_filter {
    size_t n;
    bool all;
    char prefix[DW_BACKLOG_PREFIXES][DW_BACKLOG_PREFIX_MAX];
    size_t len[DW_BACKLOG_PREFIXES];
};

struct dw_backlog_msg {
    char topic[64];
    uint8_t *body;
    size_t len, cap;
    uint64_t t_ns; /* monotonic time it was published */
};

struct dw_backlog {
    struct dw_backlog_msg *ring;
    size_t cap;       /* entries */
    size_t head;      /* next slot to write */
    size_t count;
    uint64_t max_age_ns;
    uint64_t pushed;  /* messages pushed so far: the next one's number */
    /* The pinned message: a copy, with the number it was pushed as. */
    struct dw_backlog_msg pinned;
    uint64_t pinned_no;
    bool have_pinned;
};

int dw_backlog_init(struct dw_backlog *b, size_t cap, uint64_t max_age_ns);
void dw_backlog_free(struct dw_backlog *b);
/* Forgets every message, the pinned one too. */
void dw_backlog_clear(struct dw_backlog *b);
/* Copies [topic, body] in, overwriting the oldest when full. 0 or -ENOMEM. */
int dw_backlog_push(struct dw_backlog *b, const char *topic, const void *body,
                    size_t len, uint64_t now_ns);
/* Pins the message pushed last (replacing any pinned before). 0, -ENOENT
 * (nothing pushed) or -ENOMEM. */
int dw_backlog_pin_last(struct dw_backlog *b);
/* Adds a subscription's prefix to f; a prefix longer than any topic
 * (DW_BACKLOG_PREFIX_MAX) matches nothing and is left out, more prefixes
 * than f holds make it match all. */
void dw_backlog_filter_add(struct dw_backlog_filter *f, const void *prefix, size_t len);
/* Sends the pinned message, unless it is still among those the replay
 * would send, then every message younger than max_age_ns, oldest first,
 * on sock without blocking; of these only the ones f matches (NULL: all).
 * Returns the number sent; *dropped gets the number the socket refused
 * (high-water mark). sock NULL: sends nothing, returns how many it would
 * send. */
size_t dw_backlog_replay(struct dw_backlog *b, void *sock, uint64_t now_ns,
                         const struct dw_backlog_filter *f, uint64_t *dropped);
/* Sends the pinned message alone if f matches it: 1 sent, else 0. */
size_t dw_backlog_replay_pinned(struct dw_backlog *b, void *sock,
                                const struct dw_backlog_filter *f);
