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

static int bad(struct dw_stream_sub *s, struct dw_sub_msg *m, enum dw_topic_kind k,
               const char *why)
{
    s->bad++;
    if (s->h.on_bad)
        s->h.on_bad(m, k, why, s->user);
    return 0;
}

static int frame(struct dw_stream_sub *s, struct dw_sub_msg *m)
{
    struct dw_msg_frame f;
    if (dw_msg_frame_parse(m->body, m->len, &f) < 0)
        return bad(s, m, DW_TOPIC_FRAME, "malformed frame body");
    m->seq = dw_seq_check(&m->dev->acq, f.stream, f.seq);
    if (m->seq == DW_SEQ_DUP && (f.type != DW_FRAME_HELLO || m->dev->have_hello)) {
        s->duplicates++;
        return 0;
    }
    if (s->h.on_frame(m, &f, s->user) >= 0 && f.type == DW_FRAME_HELLO)
        m->dev->have_hello = true;
    return 1;
}

static int event(struct dw_stream_sub *s, struct dw_sub_msg *m)
{
    struct dw_msg_event e;
    const char *why = NULL;
    if (dw_msg_event_parse((const char *)m->body, m->len, &e, &why) < 0)
        return bad(s, m, DW_TOPIC_EVENT, why);
    m->seq = dw_seq_check(&m->dev->acq, e.stream, e.seq);
    if (m->seq == DW_SEQ_DUP) {
        s->duplicates++;
        return 0;
    }
    s->h.on_event(m, &e, s->user);
    return 1;
}

static int stats(struct dw_stream_sub *s, struct dw_sub_msg *m)
{
    struct dw_msg_stats st;
    if (dw_msg_stats_parse((const char *)m->body, m->len, &st) < 0)
        return bad(s, m, DW_TOPIC_STATS, "malformed stats body");
    m->seq = dw_seq_check(&m->dev->acq, st.stream, st.seq);
    if (m->seq == DW_SEQ_DUP) {
        s->duplicates++;
        return 0;
    }
    s->h.on_stats(m, &st, s->user);
    return 1;
}

static int alert(struct dw_stream_sub *s, struct dw_sub_msg *m)
{
    struct dw_msg_alert a;
    const char *why = NULL;
    if (dw_msg_alert_parse((const char *)m->body, m->len, &a, &why) < 0)
        return bad(s, m, DW_TOPIC_ALERT, why);
    m->seq = dw_seq_check(&m->dev->det, a.stream, a.seq);
    if (m->seq == DW_SEQ_DUP) {
        s->duplicates++;
        return 0;
    }
    s->h.on_alert(m, &a, s->user);
    return 1;
}

int dw_stream_sub_handle(struct dw_stream_sub *s, const char *topic, size_t tlen,
                         const uint8_t *body, size_t blen)
{
    static int (*const kinds[DW_TOPIC_N])(struct dw_stream_sub *, struct dw_sub_msg *) = {
        [DW_TOPIC_FRAME] = frame, [DW_TOPIC_EVENT] = event,
        [DW_TOPIC_STATS] = stats, [DW_TOPIC_ALERT] = alert,
    };
    const bool handled[DW_TOPIC_N] = {
        [DW_TOPIC_FRAME] = s->h.on_frame, [DW_TOPIC_EVENT] = s->h.on_event,
        [DW_TOPIC_STATS] = s->h.on_stats, [DW_TOPIC_ALERT] = s->h.on_alert,
    };
    struct dw_sub_msg m = { .body = body, .len = blen };
    char id[DW_ID_LEN + 1];
    int k = dw_topic_parse(topic, tlen, id, sizeof(id));
    int r;

    if (k < 0 || !handled[k]) {
        s->ignored++;
        return 0;
    }
    if (!(m.dev = dw_devtab_get(&s->devices, id)))
        return -errno;
    r = kinds[k](s, &m);
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
