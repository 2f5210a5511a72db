#include <errno.h>
#include <string.h>
#include "endpoint.h"
#include "stream_sub.h"

void dw_stream_sub_init(struct dw_stream_sub *s, const struct dw_sub_handlers *h,
                        size_t device_size, void *user)
{
    memset(s, 0, sizeof(*s));
    s->h = *h;
    s->user = user;
    if (device_size < sizeof(struct dw_sub_device))
        device_size = sizeof(struct dw_sub_device);
    dw_devtab_init(&s->devices, device_size, offsetof(struct dw_sub_device, id));
}

void dw_stream_sub_fini(struct dw_stream_sub *s)
{
    dw_devtab_free(&s->devices, NULL);
}

/* A body of any kind, parsed. */
union body {
    struct dw_msg_frame f;
    struct dw_msg_event e;
    struct dw_msg_stats st;
    struct dw_msg_alert a;
};

/* Parses m's body as kind k: 0 with its stream id and seq, or -EBADMSG
 * with a reason. */
static int parse(enum dw_topic_kind k, const struct dw_sub_msg *m, union body *b,
                 uint64_t *stream, uint64_t *seq, const char **why)
{
    const char *json = (const char *)m->body;
    int r;
    switch (k) {
    case DW_TOPIC_FRAME:
        *why = "malformed frame body";
        r = dw_msg_frame_parse(m->body, m->len, &b->f);
        *stream = b->f.stream;
        *seq = b->f.seq;
        break;
    case DW_TOPIC_EVENT:
        r = dw_msg_event_parse(json, m->len, &b->e, why);
        *stream = b->e.stream;
        *seq = b->e.seq;
        break;
    case DW_TOPIC_STATS:
        *why = "malformed stats body";
        r = dw_msg_stats_parse(json, m->len, &b->st);
        *stream = b->st.stream;
        *seq = b->st.seq;
        break;
    default:
        r = dw_msg_alert_parse(json, m->len, &b->a, why);
        *stream = b->a.stream;
        *seq = b->a.seq;
        break;
    }
    return r;
}

/* The handler of kind k; for a frame, whether a HELLO was taken. */
static bool call(struct dw_stream_sub *s, enum dw_topic_kind k, const struct dw_sub_msg *m,
                 const union body *b)
{
    switch (k) {
    case DW_TOPIC_FRAME: return s->h.on_frame(m, &b->f, s->user) >= 0;
    case DW_TOPIC_EVENT: s->h.on_event(m, &b->e, s->user); break;
    case DW_TOPIC_STATS: s->h.on_stats(m, &b->st, s->user); break;
    default: s->h.on_alert(m, &b->a, s->user); break;
    }
    return false;
}

/* Parse, sequence, handler. A repeat is dropped, but a HELLO while the
 * device has none is still taken (a replay that came after a few live
 * messages: docs/messages.md 8). */
static int deliver(struct dw_stream_sub *s, enum dw_topic_kind k, struct dw_sub_msg *m)
{
    union body b;
    uint64_t stream = 0, seq = 0;
    const char *why = NULL;
    if (parse(k, m, &b, &stream, &seq, &why) < 0) {
        s->bad++;
        if (s->h.on_bad)
            s->h.on_bad(m, k, why, s->user);
        return 0;
    }
    m->seq = dw_seq_check(k == DW_TOPIC_ALERT ? &m->dev->det : &m->dev->acq, stream, seq);
    bool hello = k == DW_TOPIC_FRAME && b.f.type == DW_FRAME_HELLO;
    if (m->seq == DW_SEQ_DUP && !(hello && !m->dev->have_hello)) {
        s->duplicates++;
        return 0;
    }
    if (call(s, k, m, &b) && hello)
        m->dev->have_hello = true;
    return 1;
}

int dw_stream_sub_handle(struct dw_stream_sub *s, const char *topic, size_t tlen,
                         const uint8_t *body, size_t blen)
{
    const bool handled[DW_TOPIC_N] = {
        [DW_TOPIC_FRAME] = s->h.on_frame, [DW_TOPIC_EVENT] = s->h.on_event,
        [DW_TOPIC_STATS] = s->h.on_stats, [DW_TOPIC_ALERT] = s->h.on_alert,
    };
    struct dw_sub_msg m = { .body = body, .len = blen };
    char id[DW_ID_LEN + 1];
    int k = dw_topic_parse(topic, tlen, id, sizeof(id)), r;

    if (k == -EBADMSG) {
        /* ours by kind, but the device part names no device */
        s->refused++;
        if (s->h.on_refused)
            s->h.on_refused(topic, tlen, s->user);
        return 0;
    }
    if (k < 0 || !handled[k]) {
        s->ignored++;
        return 0;
    }
    if (!(m.dev = dw_devtab_get(&s->devices, id)))
        return -errno;
    r = deliver(s, (enum dw_topic_kind)k, &m);
    s->delivered += (uint64_t)r;
    return r;
}

int dw_stream_sub_recv(struct dw_stream_sub *s, void *sock, int flags)
{
    struct dw_zmq_msg2 m;
    int r = dw_zmq_recv2(sock, flags, &m);
    if (r == -EPROTO) {
        s->ignored++;
        return 1;
    }
    if (r <= 0)
        return r;
    r = dw_stream_sub_handle(s, zmq_msg_data(&m.topic), zmq_msg_size(&m.topic),
                             zmq_msg_data(&m.body), zmq_msg_size(&m.body));
    dw_zmq_msg2_close(&m);
    return r < 0 ? r : 1;
}

int dw_stream_sub_drain(struct dw_stream_sub *s, void *sock, unsigned max)
{
    unsigned n = 0;
    int r = 0;
    while (n < max && (r = dw_stream_sub_recv(s, sock, ZMQ_DONTWAIT)) > 0)
        n++;
    return r < 0 ? r : (int)n;
}
