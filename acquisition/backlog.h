/* The replay ring that gives late subscribers the first frames.
 *
 * A PUB socket drops whatever it sends before a subscriber has finished
 * subscribing. acquire keeps the last messages it published (bounded by
 * count and by age) and, whenever its XPUB socket reports a new
 * subscription, sends them all again. Subscribers drop what they already
 * have by stream sequence (dw_seq_check). */
#pragma once
#include <stddef.h>
#include <stdint.h>

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
};

int dw_backlog_init(struct dw_backlog *b, size_t cap, uint64_t max_age_ns);
void dw_backlog_free(struct dw_backlog *b);
void dw_backlog_clear(struct dw_backlog *b);
/* Copies [topic, body] in, overwriting the oldest when full. 0 or -ENOMEM. */
int dw_backlog_push(struct dw_backlog *b, const char *topic, const void *body,
                    size_t len, uint64_t now_ns);
/* Sends every message younger than max_age_ns, oldest first, on sock
 * without blocking. Returns the number sent; *dropped gets the number the
 * socket refused (high-water mark). */
size_t dw_backlog_replay(struct dw_backlog *b, void *sock, uint64_t now_ns, uint64_t *dropped);
