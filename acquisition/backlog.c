#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "backlog.h"
#include "endpoint.h"

int dw_backlog_init(struct dw_backlog *b, size_t cap, uint64_t max_age_ns)
{
    memset(b, 0, sizeof(*b));
    if (cap == 0)
        return -EINVAL;
    b->ring = calloc(cap, sizeof(*b->ring));
    if (!b->ring)
        return -ENOMEM;
    b->cap = cap;
    b->max_age_ns = max_age_ns;
    return 0;
}

void dw_backlog_free(struct dw_backlog *b)
{
    if (b->ring)
        for (size_t i = 0; i < b->cap; i++)
            free(b->ring[i].body);
    free(b->ring);
    free(b->pinned.body);
    memset(b, 0, sizeof(*b));
}

void dw_backlog_clear(struct dw_backlog *b)
{
    b->head = 0;
    b->count = 0;
    b->have_pinned = false;
}

/* Copies [topic, body] into m, growing its buffer if needed. */
static int msg_set(struct dw_backlog_msg *m, const char *topic, const void *body, size_t len,
                   uint64_t now_ns)
{
    size_t tl = strlen(topic);

    if (tl >= sizeof(m->topic))
        return -ENAMETOOLONG;
    if (m->cap < len) {
        /* Slots keep their buffers: steady state allocates nothing. */
        uint8_t *nb = realloc(m->body, len);
        if (!nb)
            return -ENOMEM;
        m->body = nb;
        m->cap = len;
    }
    memcpy(m->topic, topic, tl + 1);
    if (len)
        memcpy(m->body, body, len);
    m->len = len;
    m->t_ns = now_ns;
    return 0;
}

int dw_backlog_push(struct dw_backlog *b, const char *topic, const void *body,
                    size_t len, uint64_t now_ns)
{
    int r = msg_set(&b->ring[b->head], topic, body, len, now_ns);

    if (r < 0)
        return r;
    b->head = (b->head + 1) % b->cap;
    if (b->count < b->cap)
        b->count++;
    b->pushed++;
    return 0;
}

int dw_backlog_pin_last(struct dw_backlog *b)
{
    const struct dw_backlog_msg *m;
    int r;

    if (!b->count)
        return -ENOENT;
    m = &b->ring[(b->head + b->cap - 1) % b->cap];
    if ((r = msg_set(&b->pinned, m->topic, m->body, m->len, m->t_ns)) < 0)
        return r;
    b->pinned_no = b->pushed - 1;
    b->have_pinned = true;
    return 0;
}

void dw_backlog_filter_add(struct dw_backlog_filter *f, const void *prefix, size_t len)
{
    if (len >= DW_BACKLOG_PREFIX_MAX)
        return;
    if (!len || f->n == DW_BACKLOG_PREFIXES) {
        f->all = true;
        return;
    }
    for (size_t i = 0; i < f->n; i++)
        if (f->len[i] == len && !memcmp(f->prefix[i], prefix, len))
            return;
    memcpy(f->prefix[f->n], prefix, len);
    f->len[f->n++] = len;
}

static bool filter_match(const struct dw_backlog_filter *f, const char *topic)
{
    if (!f || f->all || !f->n)
        return true;
    for (size_t i = 0; i < f->n; i++)
        if (!strncmp(topic, f->prefix[i], f->len[i]))
            return true;
    return false;
}

/* Sends m if f matches it (counts it when sock is NULL). */
static void send_one(void *sock, const struct dw_backlog_msg *m, const struct dw_backlog_filter *f,
                     size_t *sent, uint64_t *drop)
{
    if (!filter_match(f, m->topic))
        return;
    if (!sock || dw_zmq_send2(sock, m->topic, m->body, m->len) == 0)
        (*sent)++;
    else
        (*drop)++;
}

size_t dw_backlog_replay(struct dw_backlog *b, void *sock, uint64_t now_ns,
                         const struct dw_backlog_filter *f, uint64_t *dropped)
{
    size_t sent = 0, start = (b->head + b->cap - b->count) % b->cap;
    size_t first = 0;
    uint64_t drop = 0;

    /* Publication times only grow: the young messages are a tail. */
    while (first < b->count && b->max_age_ns &&
           now_ns - b->ring[(start + first) % b->cap].t_ns > b->max_age_ns)
        first++;
    if (b->have_pinned && b->pinned_no < b->pushed - b->count + first)
        send_one(sock, &b->pinned, f, &sent, &drop);
    for (size_t i = first; i < b->count; i++)
        send_one(sock, &b->ring[(start + i) % b->cap], f, &sent, &drop);
    if (dropped)
        *dropped = drop;
    return sent;
}

size_t dw_backlog_replay_pinned(struct dw_backlog *b, void *sock,
                                const struct dw_backlog_filter *f)
{
    size_t sent = 0;
    uint64_t drop = 0;
    if (b->have_pinned)
        send_one(sock, &b->pinned, f, &sent, &drop);
    return sent;
}
