/* stream_sub.c: the shared subscriber, over real ZeroMQ sockets: topic
 * dispatch, parsed bodies, per-device stream sequences, backlog replays
 * dropped, the late HELLO, bad bodies, extra and missing parts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "dwcmocka.h"
#include "endpoint.h"
#include "layout.h"
#include "stream_sub.h"

/* ---- a publisher and a subscriber that is known to be subscribed ---- */

struct link {
    void *ctx, *pub, *sub;
};

static void link_open(struct link *l, const char *name)
{
    char ep[64], s[16];
    int timeout = 5000;
    l->ctx = zmq_ctx_new();
    l->pub = dw_zmq_socket(l->ctx, ZMQ_XPUB);
    l->sub = dw_zmq_socket(l->ctx, ZMQ_SUB);
    snprintf(ep, sizeof(ep), "inproc://%s", name);
    assert_int_equal(zmq_bind(l->pub, ep), 0);
    assert_int_equal(zmq_setsockopt(l->sub, ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(zmq_connect(l->sub, ep), 0);
    zmq_setsockopt(l->pub, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    assert_int_equal(zmq_recv(l->pub, s, sizeof(s), 0), 1); /* the subscription */
    zmq_setsockopt(l->sub, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
}

static void link_close(struct link *l)
{
    zmq_close(l->sub);
    zmq_close(l->pub);
    assert_int_equal(zmq_ctx_term(l->ctx), 0);
}

static void send_frame(struct link *l, const char *dev, uint8_t type, uint64_t stream,
                       uint64_t seq)
{
    uint8_t payload[DW_MAX_PAYLOAD], body[DW_MSG_FRAME_HDR + DW_MAX_PAYLOAD];
    char topic[DW_TOPIC_MAX];
    struct dw_hello h;
    ssize_t n = 0;
    if (type == DW_FRAME_HELLO) {
        dw_layout_default(&h, dev, "fw", 10);
        n = dw_hello_pack(&h, payload, sizeof(payload));
    }
    struct dw_msg_frame m = { .version = DW_MSG_VERSION, .type = type, .len = (uint16_t)n,
                              .device_seq = (uint32_t)seq, .seq = seq, .stream = stream,
                              .t_device_us = seq * 100000, .t_host_ns = 1764000000123456789ull,
                              .payload = payload };
    n = dw_msg_frame_pack(&m, body, sizeof(body));
    assert_true(n > 0);
    dw_topic(topic, sizeof(topic), "frame", dev);
    assert_int_equal(dw_zmq_send2(l->pub, topic, body, (size_t)n), 0);
}

static void send_json(struct link *l, const char *kind, const char *dev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void send_json(struct link *l, const char *kind, const char *dev, const char *fmt, ...)
{
    char topic[DW_TOPIC_MAX], body[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    dw_topic(topic, sizeof(topic), kind, dev);
    assert_int_equal(dw_zmq_send2(l->pub, topic, body, (size_t)n), 0);
}

static void send_event(struct link *l, const char *dev, uint64_t stream, uint64_t seq)
{
    send_json(l, "event", dev, "{\"seq\":%llu,\"stream\":%llu,\"device\":\"%s\",\"t_device_us\":5,"
              "\"t_host_ns\":1764000000123456789,\"kind\":\"thermometer\",\"side\":\"none\","
              "\"value\":38.2,\"source\":\"user\",\"text\":\"\"}",
              (unsigned long long)seq, (unsigned long long)stream, dev);
}

static void send_stats(struct link *l, const char *dev, uint64_t stream, uint64_t seq)
{
    send_json(l, "stats", dev, "{\"seq\":%llu,\"stream\":%llu,\"frames\":1234,\"link_up\":true}",
              (unsigned long long)seq, (unsigned long long)stream);
}

static void send_alert(struct link *l, const char *dev, uint64_t seq, const char *state)
{
    send_json(l, "alert", dev, "{\"seq\":%llu,\"stream\":1764000000123456789,\"device\":\"%s\","
              "\"id\":1,\"rule\":\"D1\",\"level\":\"L1\",\"state\":\"%s\",\"zone\":5,"
              "\"t_host_ns\":1764000000987654321,\"params\":{\"k\":1},\"message\":\"m\"}",
              (unsigned long long)seq, dev, state);
}

/* ---- what the handlers saw ---- */

struct seen {
    int n;
    char kind[64];      /* one letter per delivery: f e s a, b for bad, r refused */
    char dev[DW_ID_LEN + 1];
    int64_t seq;        /* the last dw_sub_msg seq */
    uint8_t frame_type;
    uint64_t frame_seq, t_host_ns;
    double value;
    uint64_t frames;
    char state[16], params[DW_MSG_ALERT_PARAMS_MAX], why[64];
    int hello_result;   /* what on_frame returns for a HELLO */
    size_t body_len;
};

static struct seen *note(void *user, const struct dw_sub_msg *m, char k)
{
    struct seen *s = user;
    if (s->n < (int)sizeof(s->kind) - 1)
        s->kind[s->n] = k;
    s->n++;
    snprintf(s->dev, sizeof(s->dev), "%s", m->dev->id);
    s->seq = m->seq;
    s->body_len = m->len;
    return s;
}

static int on_frame(const struct dw_sub_msg *m, const struct dw_msg_frame *f, void *user)
{
    struct seen *s = note(user, m, 'f');
    s->frame_type = f->type;
    s->frame_seq = f->seq;
    s->t_host_ns = f->t_host_ns;
    return f->type == DW_FRAME_HELLO ? s->hello_result : 0;
}

static void on_event(const struct dw_sub_msg *m, const struct dw_msg_event *e, void *user)
{
    struct seen *s = note(user, m, 'e');
    s->value = e->value;
    s->t_host_ns = e->t_host_ns;
}

static void on_stats(const struct dw_sub_msg *m, const struct dw_msg_stats *st, void *user)
{
    struct seen *s = note(user, m, 's');
    s->frames = st->frames;
}

static void on_alert(const struct dw_sub_msg *m, const struct dw_msg_alert *a, void *user)
{
    struct seen *s = note(user, m, 'a');
    s->t_host_ns = a->t_host_ns;
    snprintf(s->state, sizeof(s->state), "%s", a->state);
    snprintf(s->params, sizeof(s->params), "%s", a->params);
}

static void on_bad(const struct dw_sub_msg *m, enum dw_topic_kind k, const char *why, void *user)
{
    struct seen *s = note(user, m, 'b');
    snprintf(s->why, sizeof(s->why), "%s:%s", dw_topic_kind_name(k), why ? why : "");
}

/* kind gets an 'r'; the topic is kept in why */
static void on_refused(const char *topic, size_t tlen, void *user)
{
    struct seen *s = user;
    if (s->n < (int)sizeof(s->kind) - 1)
        s->kind[s->n] = 'r';
    s->n++;
    snprintf(s->why, sizeof(s->why), "%.*s", (int)tlen, topic);
}

static const struct dw_sub_handlers all = { on_frame, on_event, on_stats, on_alert, on_bad,
                                            on_refused };

static int recv1(struct dw_stream_sub *s, struct link *l)
{
    return dw_stream_sub_recv(s, l->sub, 0);
}

/* Every test: a subscribed link and a subscriber with every handler. */
struct fx {
    struct link l;
    struct dw_stream_sub s;
    struct seen seen;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char name[32];
    if (!f)
        return -1;
    snprintf(name, sizeof(name), "sub-%p", (void *)f);
    link_open(&f->l, name);
    dw_stream_sub_init(&f->s, &all, 0, &f->seen);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    dw_stream_sub_fini(&f->s);
    link_close(&f->l);
    free(f);
    return 0;
}

/* Every kind reaches its handler with the parsed body and the topic's device. */
static void test_dispatch(void **state)
{
    struct fx *f = *state;
    send_frame(&f->l, "bra-1", DW_FRAME_HELLO, 100, 1);
    send_frame(&f->l, "bra-1", DW_FRAME_SAMPLE, 100, 2);
    send_event(&f->l, "bra-1", 100, 3);
    send_stats(&f->l, "bra-1", 100, 4);
    send_alert(&f->l, "bra-1", 0, "raised");
    for (int i = 0; i < 5; i++)
        assert_int_equal(recv1(&f->s, &f->l), 1);
    assert_string_equal(f->seen.kind, "ffesa");
    assert_string_equal(f->seen.dev, "bra-1");
    assert_int_equal(f->seen.seq, 0);
    assert_true(f->seen.t_host_ns == 1764000000987654321ull); /* exact, not via a double */
    assert_string_equal(f->seen.state, "raised");
    assert_string_equal(f->seen.params, "{\"k\":1}");
    assert_int_equal(f->seen.frames, 1234);
    assert_true(f->seen.value == 38.2);
    assert_int_equal(f->s.delivered, 5);
    assert_int_equal(dw_stream_sub_count(&f->s), 1);
    struct dw_sub_device *d = dw_stream_sub_device(&f->s, 0);
    assert_string_equal(d->id, "bra-1");
    assert_true(d->have_hello);
    assert_int_equal(d->acq.received, 4);
    assert_int_equal(d->det.received, 1);
    /* nothing waiting: 0, also when waiting up to the receive timeout */
    assert_int_equal(dw_stream_sub_recv(&f->s, f->l.sub, ZMQ_DONTWAIT), 0);
    int t = 10;
    zmq_setsockopt(f->l.sub, ZMQ_RCVTIMEO, &t, sizeof(t));
    assert_int_equal(recv1(&f->s, &f->l), 0);
}

/* acquire's backlog replay repeats what a subscriber has: dropped; a gap
 * and a restarted publisher are told to the handler. */
static void test_sequences(void **state)
{
    struct fx *f = *state;
    send_frame(&f->l, "bra-1", DW_FRAME_HELLO, 100, 1);
    send_frame(&f->l, "bra-1", DW_FRAME_SAMPLE, 100, 2);
    send_event(&f->l, "bra-1", 100, 3);
    /* the replay: all three again, then a gap of three (4..6) */
    send_frame(&f->l, "bra-1", DW_FRAME_HELLO, 100, 1);
    send_frame(&f->l, "bra-1", DW_FRAME_SAMPLE, 100, 2);
    send_event(&f->l, "bra-1", 100, 3);
    send_stats(&f->l, "bra-1", 100, 7);
    send_frame(&f->l, "bra-1", DW_FRAME_SAMPLE, 200, 1); /* a new acquire */
    assert_true(dw_stream_sub_drain(&f->s, f->l.sub, 100) >= 0); /* what is there already */
    while (f->s.delivered + f->s.duplicates < 8)
        assert_int_equal(recv1(&f->s, &f->l), 1);
    assert_string_equal(f->seen.kind, "ffesf");
    assert_int_equal(f->s.duplicates, 3);
    struct dw_sub_device *d = dw_stream_sub_device(&f->s, 0);
    assert_int_equal(d->acq.duplicates, 3);
    assert_int_equal(d->acq.gaps, 1);
    assert_int_equal(d->acq.missing, 3);
    assert_int_equal(d->acq.restarts, 1);
    assert_int_equal(f->seen.seq, DW_SEQ_RESTART);
}

/* A replay that reaches a new subscriber after a few live messages: the
 * HELLO arrives as a repeat, and is still taken while the device has none
 * (docs/messages.md 8); not once it has one. A HELLO the handler could not
 * use (a negative return) leaves the door open. */
static void test_late_hello(void **state)
{
    struct fx *f = *state;
    f->seen.hello_result = -EINVAL;
    send_frame(&f->l, "bra-1", DW_FRAME_SAMPLE, 100, 5);
    send_frame(&f->l, "bra-1", DW_FRAME_HELLO, 100, 1); /* refused by the handler */
    send_frame(&f->l, "bra-1", DW_FRAME_HELLO, 100, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(recv1(&f->s, &f->l), 1);
    assert_string_equal(f->seen.kind, "fff");
    assert_int_equal(f->seen.seq, DW_SEQ_DUP);
    assert_int_equal(f->seen.frame_type, DW_FRAME_HELLO);
    f->seen.hello_result = 0;
    send_frame(&f->l, "bra-1", DW_FRAME_HELLO, 100, 1); /* taken */
    send_frame(&f->l, "bra-1", DW_FRAME_HELLO, 100, 1); /* a plain repeat now */
    send_frame(&f->l, "bra-1", DW_FRAME_SAMPLE, 100, 3); /* older than 5: a repeat */
    send_frame(&f->l, "bra-1", DW_FRAME_SAMPLE, 100, 6);
    for (int i = 0; i < 4; i++)
        assert_int_equal(recv1(&f->s, &f->l), 1);
    assert_string_equal(f->seen.kind, "fffff");
    assert_int_equal(f->s.duplicates, 2);
    assert_true(dw_stream_sub_device(&f->s, 0)->have_hello);
    assert_int_equal(f->seen.frame_seq, 6);
    assert_int_equal(f->seen.seq, 0);
}

/* Each device has its own streams: two garments' alerts both numbered from
 * 0 by detect are both delivered (one tracker for all would drop one). */
static void test_devices_apart(void **state)
{
    struct fx *f = *state;
    send_alert(&f->l, "bra-1", 0, "raised");
    send_alert(&f->l, "bra-2", 0, "raised");
    send_alert(&f->l, "bra-1", 1, "cleared");
    send_alert(&f->l, "bra-2", 1, "updated");
    send_frame(&f->l, "bra-2", DW_FRAME_HELLO, 100, 1);
    send_frame(&f->l, "bra-1", DW_FRAME_HELLO, 300, 1);
    for (int i = 0; i < 6; i++)
        assert_int_equal(recv1(&f->s, &f->l), 1);
    assert_string_equal(f->seen.kind, "aaaaff");
    assert_int_equal(f->s.duplicates, 0);
    assert_int_equal(dw_stream_sub_count(&f->s), 2);
    assert_string_equal(dw_stream_sub_device(&f->s, 0)->id, "bra-1");
    assert_string_equal(dw_stream_sub_device(&f->s, 1)->id, "bra-2");
    assert_int_equal(dw_stream_sub_device(&f->s, 0)->acq.restarts, 0);
}

/* Bad bodies go to on_bad and leave the sequence alone; other topics, kinds
 * without a handler and one-part messages are ignored; topics naming no
 * valid device id are refused; extra parts are dropped with their message. */
static void test_bad_and_ignored(void **state)
{
    struct fx *f = *state;
    struct dw_sub_handlers h = all;
    h.on_stats = NULL;
    dw_stream_sub_fini(&f->s);
    dw_stream_sub_init(&f->s, &h, 0, &f->seen);
    assert_int_equal(dw_zmq_send2(f->l.pub, "frame.bra-1", "short", 5), 0);
    send_json(&f->l, "event", "bra-1", "{\"seq\":1,\"kind\":\"nonsense\"}");
    send_json(&f->l, "alert", "bra-1", "{\"stream\":1}");
    send_json(&f->l, "stats", "bra-1", "not even JSON"); /* no handler: not looked at */
    send_json(&f->l, "status", "bra-1", "{}");
    send_json(&f->l, "frame", "0123456789abcdefX", "{}");
    send_json(&f->l, "frame", "../../../PWNED", "{}");
    assert_int_equal(zmq_send(f->l.pub, "frame.bra-1", 11, 0), 11); /* one part */
    assert_int_equal(zmq_send(f->l.pub, "event.bra-1", 11, ZMQ_SNDMORE), 11);
    char ev[300];
    int n = snprintf(ev, sizeof(ev), "{\"seq\":4,\"stream\":9,\"kind\":\"shower\"}");
    assert_int_equal(zmq_send(f->l.pub, ev, (size_t)n, ZMQ_SNDMORE), n);
    assert_int_equal(zmq_send(f->l.pub, "extra", 5, 0), 5);
    send_event(&f->l, "bra-1", 9, 5);
    for (int i = 0; i < 10; i++)
        assert_int_equal(recv1(&f->s, &f->l), 1);
    assert_string_equal(f->seen.kind, "bbbrree");
    assert_int_equal(f->s.bad, 3);
    assert_int_equal(f->s.ignored, 3);
    assert_int_equal(f->s.refused, 2); /* a device part too long, one with '/' */
    assert_int_equal(f->s.delivered, 2);
    struct dw_sub_device *d = dw_stream_sub_device(&f->s, 0);
    assert_int_equal(d->acq.received, 2);
    assert_int_equal(d->acq.gaps, 1); /* seq 4 first: 3 missed */
    assert_int_equal(dw_stream_sub_count(&f->s), 1); /* the ignored kinds made none */
}

/* A caller's own device struct, with the subscriber's part first. */
struct my_device {
    struct dw_sub_device sub;
    unsigned samples;
    char big[4096];
};

static int count_samples(const struct dw_sub_msg *m, const struct dw_msg_frame *f, void *user)
{
    struct my_device *d = (struct my_device *)m->dev;
    (void)user;
    d->samples += f->type == DW_FRAME_SAMPLE;
    d->big[sizeof(d->big) - 1] = 1;
    return 0;
}

static void test_own_device_struct(void **state)
{
    struct fx *f = *state;
    struct dw_sub_handlers h = { .on_frame = count_samples };
    char dev[16];
    dw_stream_sub_fini(&f->s);
    dw_stream_sub_init(&f->s, &h, sizeof(struct my_device), NULL);
    for (int i = 0; i < 300; i++) {
        snprintf(dev, sizeof(dev), "bra-%03d", i % 100);
        send_frame(&f->l, dev, DW_FRAME_SAMPLE, 1, (uint64_t)(i / 100 + 1));
    }
    int got = 0;
    while (got < 300) {
        int r = dw_stream_sub_drain(&f->s, f->l.sub, 1000);
        assert_true(r >= 0);
        got += r;
        if (!r)
            assert_int_equal(recv1(&f->s, &f->l), 1), got++;
    }
    assert_int_equal(dw_stream_sub_count(&f->s), 100);
    for (unsigned i = 0; i < 100; i++) {
        struct my_device *d = (struct my_device *)dw_stream_sub_device(&f->s, i);
        assert_int_equal(d->samples, 3);
        assert_int_equal(d->sub.acq.received, 3);
    }
    assert_int_equal(dw_stream_sub_drain(&f->s, f->l.sub, 1000), 0);
}

#define FX_TEST(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

static const struct CMUnitTest tests[] = {
    FX_TEST(test_dispatch),
    FX_TEST(test_sequences),
    FX_TEST(test_late_hello),
    FX_TEST(test_devices_apart),
    FX_TEST(test_bad_and_ignored),
    FX_TEST(test_own_device_struct),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
