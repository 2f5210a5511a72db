/* A worker's partition consumer: jssub.h. Everything runs on the caller's
 * thread (pull subscription, synchronous fetches); acks go out without
 * waiting for the server's confirmation: one lost is a redelivery, which
 * the stream sequence drops. */
#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "devtab.h"
#include "dwtime.h"
#include "frame.h"
#include "frame_batch.h"
#include "jssub.h"
#include "log.h"
#include "natsconn.h"
#include "partition.h"

#define NAME_LEN 64
/* After a restart with messages still held by the last worker: their ack
 * wait and this much more, so that they come again first, in order. */
#define RESUME_MARGIN_MS 500
/* A request not answered to its end this long after it expired (a
 * connection lost meanwhile) is replaced. */
#define REQUEST_GRACE_MS 2000
/* A pull request lives this long on the server, whatever the caller's
 * wait: what it brings later is taken by the next call. Short expiries
 * starved the workers on a 3-server cluster (395 frames/s against 28 131
 * on one server: the end of a routed request often never came back). */
#define REQUEST_EXPIRES_MS 5000

/* A hole in a device's sequence not filled within this many ack waits is
 * given up: what waited behind it goes to the program, which counts the
 * gap. One ack wait brings the redelivery; the second is margin. */
#define HOLE_WAITS 2

struct held {
    natsMsg *m;
    char dev[DW_ID_LEN + 1];
    uint64_t t_ns;
};

/* A message that came after a hole in its device's sequence (see take):
 * not handed to the program, not acked, until the hole is filled. */
struct waiting {
    natsMsg *m;
    uint64_t stream, first, last; /* ductwatch stream id, seqs it carries */
};

/* One sequence of a device as handed to the program: acquire's (frames,
 * events, stats share it) or detect's (alerts). */
struct lane {
    bool started;
    uint64_t stream, last;  /* the last seq handed over, of stream */
    uint64_t hole_ns;       /* when the hole before q[0] was seen */
    struct waiting *q;      /* by first seq within a stream, arrival order across */
    size_t n, cap;
};

struct order_dev {
    char id[DW_ID_LEN + 1];
    struct lane lane[2];    /* [0] acquire's stream, [1] detect's */
};

/* Where a message belongs in its device's order. */
struct place {
    enum dw_topic_kind kind;
    char dev[DW_ID_LEN + 1];
    uint64_t stream, first, last;
};

struct dw_jssub {
    struct dw_jssub_config c;
    char stream[NAME_LEN + 1], name[NAME_LEN + 1];
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub;  /* on inbox */
    char inbox[128], next_subj[NAME_LEN * 2 + 64];
    int64_t outstanding;    /* messages the last pull request may still bring */
    int64_t req_end_ms;     /* when that request expires (nats_Now) */
    bool resumed;
    uint64_t reconnects;    /* the connection's, at the last fetch */
    uint64_t not_before_ns; /* the first fetch (see RESUME_MARGIN_MS) */
    struct held *held;
    size_t n_held, cap_held;
    struct dw_devtab order; /* struct order_dev per device met */
    size_t n_waiting;       /* messages waiting for a hole, over all lanes */
    struct dw_jssub_counters n;
};

/* The consumer: checked when it exists (resumed), created otherwise. */
static int consumer(struct dw_jssub *s, const char *filter, char *why, size_t cap)
{
    jsConsumerInfo *ci = NULL;
    jsConsumerConfig cc;
    jsErrCode jerr = 0;
    natsStatus st = js_GetConsumerInfo(&ci, s->js, s->stream, s->name, NULL, &jerr);

    if (st == NATS_OK) {
        bool same = ci->Config->FilterSubject && !strcmp(ci->Config->FilterSubject, filter);
        int64_t pending = ci->NumAckPending;
        jsConsumerInfo_Destroy(ci);
        if (!same) {
            snprintf(why, cap, "consumer %s exists with another filter than %s", s->name,
                     filter);
            return -EEXIST;
        }
        s->resumed = true;
        if (pending > 0) {
            dw_info("%s: %" PRId64 " message(s) the last worker did not ack: they come again "
                    "first, after the ack wait (%" PRId64 " ms)", s->name, pending,
                    s->c.ack_wait_ms);
            s->not_before_ns = dw_now_monotonic_ns() +
                               (uint64_t)(s->c.ack_wait_ms + RESUME_MARGIN_MS) * 1000000;
        }
        return 0;
    }
    if (st != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr) {
        snprintf(why, cap, "consumer %s: %s", s->name, nats_GetLastError(NULL));
        return -EIO;
    }
    jsConsumerConfig_Init(&cc);
    cc.Durable = s->name;
    cc.Name = s->name;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = s->c.ack_wait_ms * 1000000;
    cc.MaxAckPending = s->c.max_ack_pending;
    cc.FilterSubject = filter;
    if (js_AddConsumer(&ci, s->js, s->stream, &cc, NULL, &jerr) != NATS_OK) {
        snprintf(why, cap, "cannot create consumer %s on %s: %s (%d)", s->name, s->stream,
                 nats_GetLastError(NULL), (int)jerr);
        return -EIO;
    }
    jsConsumerInfo_Destroy(ci);
    dw_info("created consumer %s (%s, explicit ack, ack wait %" PRId64 " ms)", s->name, filter,
            s->c.ack_wait_ms);
    return 0;
}

/* The pull subscription: an inbox the consumer's messages come to, asked
 * for by MSG.NEXT requests (see dw_jssub_fetch: not libnats' fetch). */
static int bind_sub(struct dw_jssub *s, char *why, size_t cap)
{
    natsInbox *inbox = NULL;
    snprintf(s->next_subj, sizeof(s->next_subj), "$JS.API.CONSUMER.MSG.NEXT.%s.%s", s->stream,
             s->name);
    if (natsInbox_Create(&inbox) != NATS_OK) {
        snprintf(why, cap, "out of memory");
        return -ENOMEM;
    }
    snprintf(s->inbox, sizeof(s->inbox), "%s", inbox);
    natsInbox_Destroy(inbox);
    if (natsConnection_SubscribeSync(&s->sub, s->nc, s->inbox) != NATS_OK ||
        natsSubscription_SetPendingLimits(s->sub, -1, -1) != NATS_OK) {
        snprintf(why, cap, "cannot subscribe to %s: %s", s->inbox, nats_GetLastError(NULL));
        return -EIO;
    }
    return 0;
}

struct dw_jssub *dw_jssub_open(const struct dw_jssub_config *c, char *why, size_t cap)
{
    struct dw_jssub *s = calloc(1, sizeof(*s));
    char filter[64];
    natsStatus st;

    why[0] = 0;
    if (!s) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    s->c = *c;
    dw_devtab_init(&s->order, sizeof(struct order_dev), offsetof(struct order_dev, id));
    snprintf(s->stream, sizeof(s->stream), "%s", c->stream);
    snprintf(s->name, sizeof(s->name), "%s-p%u", c->role, c->partition);
    snprintf(filter, sizeof(filter), DW_NATS_PREFIX ".%u.>", c->partition);
    if (dw_nats_options(&s->opts, c->conn, why, cap) != NATS_OK)
        goto fail;
    if ((st = natsConnection_Connect(&s->nc, s->opts)) != NATS_OK) {
        snprintf(why, cap, "cannot connect to %s: %s", c->conn->url, dw_nats_why(st));
        goto fail;
    }
    if ((st = natsConnection_JetStream(&s->js, s->nc, NULL)) != NATS_OK) {
        snprintf(why, cap, "JetStream: %s", natsStatus_GetText(st));
        goto fail;
    }
    if (consumer(s, filter, why, cap) < 0 || bind_sub(s, why, cap) < 0)
        goto fail;
    return s;
fail:
    dw_jssub_close(s);
    return NULL;
}

const char *dw_jssub_name(const struct dw_jssub *s)
{
    return s->name;
}

bool dw_jssub_resumed(const struct dw_jssub *s)
{
    return s->resumed;
}

/* The stream id and seq of the first message in a body of kind k; for
 * frames, whether that first frame is a HELLO. -EBADMSG when unreadable. */
static int first_seq(enum dw_topic_kind k, const uint8_t *p, size_t len, uint64_t *stream,
                     uint64_t *seq, bool *hello)
{
    const char *why = NULL, *json = (const char *)p;
    *hello = false;
    if (k == DW_TOPIC_FRAME) {
        struct dw_msg_frame f;
        const uint8_t *b;
        size_t off = 0, blen;
        if (dw_frame_batch_next(p, len, &off, &b, &blen) <= 0 || dw_msg_frame_parse(b, blen, &f) < 0)
            return -EBADMSG;
        *hello = f.type == DW_FRAME_HELLO;
        *stream = f.stream;
        *seq = f.seq;
    } else if (k == DW_TOPIC_EVENT) {
        struct dw_msg_event e;
        if (dw_msg_event_parse(json, len, &e, &why) < 0)
            return -EBADMSG;
        *stream = e.stream;
        *seq = e.seq;
    } else if (k == DW_TOPIC_STATS) {
        struct dw_msg_stats st;
        if (dw_msg_stats_parse(json, len, &st) < 0)
            return -EBADMSG;
        *stream = st.stream;
        *seq = st.seq;
    } else {
        static struct dw_msg_alert a; /* large; one thread */
        if (dw_msg_alert_parse(json, len, &a, &why) < 0)
            return -EBADMSG;
        *stream = a.stream;
        *seq = a.seq;
    }
    return 0;
}

/* The bridge's copy of the device's latest HELLO, handed over as a frame
 * when it belongs to stream (the stream of the message that needs it). */
static void fetch_hello(struct dw_jssub *s, struct dw_stream_sub *sub, const char *id,
                        uint64_t stream)
{
    char subject[DW_TOPIC_MAX + 32], topic[DW_TOPIC_MAX];
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    struct dw_msg_frame f;
    const uint8_t *p;
    size_t len;

    dw_nats_subject(subject, sizeof(subject), s->c.partition, "hello", id);
    if (js_GetLastMsg(&m, s->js, s->stream, subject, NULL, &jerr) != NATS_OK) {
        dw_warn("%s: met mid-stream and no HELLO found on %s", id, subject);
        return;
    }
    p = (const uint8_t *)natsMsg_GetData(m);
    len = (size_t)natsMsg_GetDataLength(m);
    if (dw_msg_frame_parse(p, len, &f) < 0 || f.type != DW_FRAME_HELLO || f.stream != stream) {
        dw_warn("%s: the latest HELLO on %s is not of its stream %016" PRIx64, id, subject,
                stream);
    } else if (dw_topic(topic, sizeof(topic), "frame", id) > 0) {
        dw_stream_sub_handle(sub, topic, strlen(topic), p, len);
        s->n.hellos++;
    }
    natsMsg_Destroy(m);
}

/* The tracker continues just before seq: what came before was done. */
static void seed(struct dw_seq_tracker *t, uint64_t stream, uint64_t seq)
{
    if (!t->started) {
        t->started = true;
        t->stream = stream;
        t->last = seq - 1;
    } else if (t->stream == stream && t->last < seq - 1) {
        t->last = seq - 1;
    }
}

/* A device's first message of a stream in this worker (jssub.h). */
static void first_contact(struct dw_jssub *s, struct dw_stream_sub *sub, enum dw_topic_kind k,
                          const char *id, const uint8_t *p, size_t len)
{
    struct dw_sub_device *d = dw_devtab_find(&sub->devices, id);
    bool alert = k == DW_TOPIC_ALERT, hello;
    uint64_t stream, seq;

    if (d && (alert ? d->det.started : d->acq.started))
        return;
    if (first_seq(k, p, len, &stream, &seq, &hello) < 0 || seq == 0)
        return;
    if (!alert && !hello && !(d && d->have_hello))
        fetch_hello(s, sub, id, stream);
    if (s->resumed && (d = dw_devtab_get(&sub->devices, id)))
        seed(alert ? &d->det : &d->acq, stream, seq);
}

/* Hands the parts of one message to sub: -ENOMEM, or 0. */
static int handle(struct dw_jssub *s, natsMsg *m, struct dw_stream_sub *sub, char *dev)
{
    const char *subject = natsMsg_GetSubject(m), *topic;
    const uint8_t *p = (const uint8_t *)natsMsg_GetData(m), *b;
    size_t len = (size_t)natsMsg_GetDataLength(m), off = 0, blen, tlen;
    int k, r = 0;

    /* dw.p.<K>.<kind>.<device>: the topic is <kind>.<device> */
    if (strncmp(subject, DW_NATS_PREFIX ".", sizeof(DW_NATS_PREFIX)) ||
        !(topic = strchr(subject + sizeof(DW_NATS_PREFIX), '.')))
        return 0;
    topic++;
    tlen = strlen(topic);
    if ((k = dw_topic_parse(topic, tlen, dev, DW_ID_LEN + 1)) < 0)
        return 0; /* another kind (the HELLO copies), or no device id */
    first_contact(s, sub, (enum dw_topic_kind)k, dev, p, len);
    if (k != DW_TOPIC_FRAME) {
        s->n.parts++;
        return dw_stream_sub_handle(sub, topic, tlen, p, len) == -ENOMEM ? -ENOMEM : 0;
    }
    while ((r = dw_frame_batch_next(p, len, &off, &b, &blen)) > 0) {
        s->n.parts++;
        if (dw_stream_sub_handle(sub, topic, tlen, b, blen) == -ENOMEM)
            return -ENOMEM;
    }
    if (r < 0) {
        s->n.bad++;
        dw_warn("%s: a frame message that is no frame batch (rest dropped)", subject);
    }
    return 0;
}

static int hold(struct dw_jssub *s, natsMsg *m, const char *dev)
{
    if (s->n_held == s->cap_held) {
        size_t cap = s->cap_held ? 2 * s->cap_held : 256;
        struct held *n = realloc(s->held, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        s->held = n;
        s->cap_held = cap;
    }
    s->held[s->n_held].m = m;
    snprintf(s->held[s->n_held].dev, sizeof(s->held[0].dev), "%s", dev);
    s->held[s->n_held].t_ns = dw_now_monotonic_ns();
    s->n_held++;
    return 0;
}

static bool redelivered(natsMsg *m)
{
    jsMsgMetaData *md = NULL;
    bool again = false;
    if (natsMsg_GetMetaData(&md, m) == NATS_OK) {
        again = md->NumDelivered > 1;
        jsMsgMetaData_Destroy(md);
    }
    return again;
}

/* A pull request for the batch, expiring on the server after wait_ms. */
static void request(struct dw_jssub *s, int wait_ms)
{
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"batch\":%d,\"expires\":%" PRId64 "}", s->c.batch,
                     (int64_t)wait_ms * 1000000);
    if (natsConnection_PublishRequest(s->nc, s->next_subj, s->inbox, body, n) == NATS_OK) {
        s->outstanding = s->c.batch;
        s->req_end_ms = nats_Now() + wait_ms;
    }
}

/* A status message of the server (no user data): 408 the request
 * expired, 404 nothing, 409 ended otherwise, 100 a heartbeat. */
static bool status(natsMsg *m, const char **code)
{
    return natsMsgHeader_Get(m, "Status", code) == NATS_OK && natsMsg_GetDataLength(m) == 0;
}

/* Messages that may wait for holes at most: half of what the server lets
 * this consumer hold un-acked, so that it goes on delivering (the
 * redeliveries that fill the holes among them). */
static size_t max_waiting(const struct dw_jssub *s)
{
    return s->c.max_ack_pending > 2 ? (size_t)(s->c.max_ack_pending / 2) : 1;
}

static uint64_t hole_bound_ns(const struct dw_jssub *s)
{
    return (uint64_t)(HOLE_WAITS * s->c.ack_wait_ms) * 1000000;
}

/* One message handed to the program and held for its ack, or (out of
 * memory) dropped un-acked: 0 or -ENOMEM. */
static int pass(struct dw_jssub *s, natsMsg *m, struct dw_stream_sub *sub)
{
    char dev[DW_ID_LEN + 1] = "";
    if (handle(s, m, sub, dev) == 0 && hold(s, m, dev) == 0)
        return 0;
    natsMsg_Destroy(m); /* not acked: it comes again after the ack wait */
    return -ENOMEM;
}

/* The device and the ductwatch seqs of m (for a frame batch, its first
 * and last frame's): -1 for what has no place in an order (the HELLO
 * copies, a body that does not parse: handed over as they come). */
static int place_of(natsMsg *m, struct place *pl)
{
    const char *subject = natsMsg_GetSubject(m), *topic;
    const uint8_t *p = (const uint8_t *)natsMsg_GetData(m), *b;
    size_t len = (size_t)natsMsg_GetDataLength(m), off = 0, blen;
    struct dw_msg_frame f;
    bool hello;
    int k;

    if (strncmp(subject, DW_NATS_PREFIX ".", sizeof(DW_NATS_PREFIX)) ||
        !(topic = strchr(subject + sizeof(DW_NATS_PREFIX), '.')))
        return -1;
    topic++;
    if ((k = dw_topic_parse(topic, strlen(topic), pl->dev, sizeof(pl->dev))) < 0)
        return -1;
    pl->kind = (enum dw_topic_kind)k;
    if (first_seq(pl->kind, p, len, &pl->stream, &pl->first, &hello) < 0)
        return -1;
    pl->last = pl->first;
    while (pl->kind == DW_TOPIC_FRAME && dw_frame_batch_next(p, len, &off, &b, &blen) > 0)
        if (dw_msg_frame_parse(b, blen, &f) == 0 && f.stream == pl->stream && f.seq > pl->last)
            pl->last = f.seq;
    return 0;
}

/* Whether a message of stream starting at first follows what the lane
 * handed over without a hole (a repeat, at or below it, does too). */
static bool follows(const struct lane *l, uint64_t stream, uint64_t first)
{
    return l->started && l->stream == stream && first <= l->last + 1;
}

/* The lane's sequence after handing over a message (a new stream id
 * starts it again, as dw_seq_check does). */
static void advance(struct lane *l, uint64_t stream, uint64_t last)
{
    if (!l->started || l->stream != stream) {
        l->started = true;
        l->stream = stream;
        l->last = last;
    } else if (last > l->last) {
        l->last = last;
    }
}

/* Hands over the lane's waiting messages that follow now; with give_up,
 * the first one even if it does not (the program counts the gap). */
static int release(struct dw_jssub *s, struct lane *l, bool give_up, struct dw_stream_sub *sub)
{
    int r = 0;
    while (l->n && r == 0) {
        struct waiting w = l->q[0];
        bool fills = follows(l, w.stream, w.first);
        if (!fills && !give_up)
            break;
        s->n.reordered++;
        if (!fills)
            s->n.holes_given_up++;
        give_up = false;
        memmove(l->q, l->q + 1, (l->n - 1) * sizeof(*l->q));
        l->n--;
        s->n_waiting--;
        advance(l, w.stream, w.last);
        r = pass(s, w.m, sub);
        l->hole_ns = dw_now_monotonic_ns(); /* any hole left is a new one */
    }
    return r;
}

/* Puts m in the lane's queue: by first seq among those of its stream (a
 * redelivery of one already waiting takes its place: the newer delivery
 * is the one to ack). 0 or -ENOMEM (m dropped un-acked). */
static int wait_for_hole(struct dw_jssub *s, struct lane *l, natsMsg *m, const struct place *pl)
{
    size_t i;
    for (i = 0; i < l->n; i++) {
        struct waiting *w = &l->q[i];
        if (w->stream == pl->stream && w->first == pl->first) {
            natsMsg_Destroy(w->m);
            w->m = m;
            return 0;
        }
        if (w->stream == pl->stream && w->first > pl->first)
            break;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct waiting *q = realloc(l->q, cap * sizeof(*q));
        if (!q) {
            natsMsg_Destroy(m);
            return -ENOMEM;
        }
        l->q = q;
        l->cap = cap;
    }
    if (!l->n)
        l->hole_ns = dw_now_monotonic_ns();
    memmove(l->q + i + 1, l->q + i, (l->n - i) * sizeof(*l->q));
    l->q[i] = (struct waiting){ m, pl->stream, pl->first, pl->last };
    l->n++;
    s->n_waiting++;
    return 0;
}

/* One message taken. Per device and sequence, messages go to the program
 * in ductwatch seq order: one that comes after a hole (what was in flight
 * when a consumer's leader died comes again only after the ack wait,
 * after newer ones) waits, un-acked, until the hole is filled, or
 * HOLE_WAITS ack waits, or until too many wait (jssub.h). */
static int take(struct dw_jssub *s, natsMsg *m, struct dw_stream_sub *sub)
{
    struct order_dev *d;
    struct place pl;
    struct lane *l;
    int r;

    s->n.messages++;
    if (redelivered(m))
        s->n.redelivered++;
    if (place_of(m, &pl) < 0 || !(d = dw_devtab_get(&s->order, pl.dev)))
        return pass(s, m, sub);
    l = &d->lane[pl.kind == DW_TOPIC_ALERT];
    if (l->n ? follows(l, pl.stream, pl.first)
             : !l->started || l->stream != pl.stream || pl.first <= l->last + 1) {
        advance(l, pl.stream, pl.last);
        r = pass(s, m, sub);
        return r < 0 ? r : release(s, l, false, sub);
    }
    if ((r = wait_for_hole(s, l, m, &pl)) < 0)
        return r;
    if (s->n_waiting > max_waiting(s))
        return release(s, l, true, sub);
    return 0;
}

/* Gives up the holes older than HOLE_WAITS ack waits. */
static int expire_holes(struct dw_jssub *s, struct dw_stream_sub *sub)
{
    uint64_t now = dw_now_monotonic_ns(), bound = hole_bound_ns(s);
    int r = 0;
    for (unsigned i = 0; s->n_waiting && i < s->order.n && r == 0; i++) {
        struct order_dev *d = dw_devtab_at(&s->order, i);
        for (int k = 0; k < 2 && r == 0; k++)
            if (d->lane[k].n && now - d->lane[k].hole_ns >= bound)
                r = release(s, &d->lane[k], true, sub);
    }
    return r;
}

/* Pulls by hand (MSG.NEXT on the consumer, answers to our inbox) rather
 * than with libnats 3.4.1's natsSubscription_Fetch: its fetch writes past
 * the array it allocated for the batch when answers to an earlier fetch
 * come late (heap corruption seen at 300 garments in a cluster, with a
 * batch as small as 2). One request is out at a time; what it brings
 * after our wait ended is taken by the next call. */
/* After a reconnect: what was on its way to us is lost and un-acked, and
 * the server delivers it again only after the ack wait, while new
 * messages would come at once (out of order: dropped as repeats, lost).
 * So wait as after a restart. */
static void after_reconnect(struct dw_jssub *s)
{
    natsStatistics *st = NULL;
    uint64_t in_msgs, in_bytes, out_msgs, out_bytes, rec = 0;
    if (natsStatistics_Create(&st) != NATS_OK)
        return;
    if (natsConnection_GetStats(s->nc, st) == NATS_OK &&
        natsStatistics_GetCounts(st, &in_msgs, &in_bytes, &out_msgs, &out_bytes, &rec) ==
            NATS_OK && rec > s->reconnects) {
        s->reconnects = rec;
        s->outstanding = 0;
        s->not_before_ns = dw_now_monotonic_ns() +
                           (uint64_t)(s->c.ack_wait_ms + RESUME_MARGIN_MS) * 1000000;
        dw_info("%s: reconnected: waiting the ack wait (%" PRId64 " ms) for what was in flight "
                "to come again first", s->name, s->c.ack_wait_ms);
    }
    natsStatistics_Destroy(st);
}

int dw_jssub_fetch(struct dw_jssub *s, int timeout_ms, struct dw_stream_sub *sub)
{
    int64_t end = nats_Now() + (timeout_ms > 0 ? timeout_ms : 0);
    int got = 0, r = 0;

    after_reconnect(s);
    if ((r = expire_holes(s, sub)) < 0)
        return r;
    if (s->not_before_ns && dw_now_monotonic_ns() < s->not_before_ns) {
        nats_Sleep(timeout_ms);
        return 0;
    }
    s->not_before_ns = 0;
    /* a request whose end was never said (a lost connection): ask again */
    if (!s->outstanding || nats_Now() > s->req_end_ms + REQUEST_GRACE_MS)
        request(s, REQUEST_EXPIRES_MS);
    while (s->outstanding > 0 && r == 0) {
        natsMsg *m = NULL;
        const char *code = NULL;
        int64_t left = end - nats_Now();
        if (natsSubscription_NextMsg(&m, s->sub, left > 0 ? left : 1) != NATS_OK)
            break;
        if (status(m, &code)) {
            if (strcmp(code, "100") != 0)
                s->outstanding = 0; /* this request is over */
            natsMsg_Destroy(m);
            continue;
        }
        s->outstanding--;
        got++;
        r = take(s, m, sub);
        if (nats_Now() >= end)
            break;
    }
    return r < 0 ? r : got;
}

size_t dw_jssub_ack(struct dw_jssub *s,
                    bool (*done)(const char *device, uint64_t handled_ns, void *user),
                    void *user)
{
    size_t i, kept = 0, acked = 0;
    for (i = 0; i < s->n_held; i++) {
        struct held *h = &s->held[i];
        if (done && !done(h->dev, h->t_ns, user)) {
            s->held[kept++] = *h;
            continue;
        }
        /* a lost ack only costs a redelivery, dropped by its seq */
        if (natsMsg_GetReply(h->m))
            natsConnection_PublishString(s->nc, natsMsg_GetReply(h->m), "+ACK");
        natsMsg_Destroy(h->m);
        acked++;
    }
    s->n_held = kept;
    s->n.acked += acked;
    return acked;
}

void dw_jssub_counters(const struct dw_jssub *s, struct dw_jssub_counters *out)
{
    *out = s->n;
    out->held = s->n_held;
    out->waiting = s->n_waiting;
}

static void free_order_dev(void *p)
{
    struct order_dev *d = p;
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < d->lane[k].n; i++)
            natsMsg_Destroy(d->lane[k].q[i].m);
        free(d->lane[k].q);
    }
    free(d);
}

void dw_jssub_close(struct dw_jssub *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_held; i++)
        natsMsg_Destroy(s->held[i].m);
    free(s->held);
    /* waiting for a hole: not acked either */
    dw_devtab_free(&s->order, free_order_dev);
    /* destroy only: an unsubscribe or a drain would delete the durable */
    natsSubscription_Destroy(s->sub);
    jsCtx_Destroy(s->js);
    natsConnection_Destroy(s->nc);
    natsOptions_Destroy(s->opts);
    free(s);
}
