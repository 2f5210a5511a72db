/* The acquisition state machine without a serial port: wire bytes in,
 * messages read back from a real (inproc) ZeroMQ subscriber. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "acquire.h"
#include "dwcmocka.h"
#include "endpoint.h"

struct fixture {
    void *ctx, *pub, *sub;
    struct dw_acquire a;
    uint64_t mono;
};

struct got {
    char topic[64];
    uint8_t body[2048];
    size_t len;
};

static int setup(void **state)
{
    static int n;
    char ep[64];
    struct fixture *f = calloc(1, sizeof(*f));
    int timeout = 2000;

    snprintf(ep, sizeof(ep), "inproc://acq-%d", n++);
    f->ctx = zmq_ctx_new();
    f->pub = dw_zmq_socket(f->ctx, ZMQ_XPUB);
    f->sub = dw_zmq_socket(f->ctx, ZMQ_SUB);
    assert_int_equal(dw_acquire_setup_pub(f->pub, 100000), 0);
    zmq_setsockopt(f->pub, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    zmq_setsockopt(f->sub, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    assert_int_equal(zmq_bind(f->pub, ep), 0);
    assert_int_equal(zmq_connect(f->sub, ep), 0);
    assert_int_equal(zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(dw_acquire_init(&f->a, f->pub, NULL), 0);
    /* The subscription has arrived and is applied: nothing sent from now on
     * is lost. */
    zmq_pollitem_t it = { .socket = f->pub, .events = ZMQ_POLLIN };
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    assert_int_equal(dw_acquire_handle_subscriptions(&f->a, 0), 1);
    f->mono = 1000000000ull;
    dw_acquire_link_up(&f->a, 1, f->mono);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    dw_acquire_free(&f->a);
    zmq_close(f->pub);
    zmq_close(f->sub);
    zmq_ctx_term(f->ctx);
    free(f);
    return 0;
}

static bool next_msg(struct fixture *f, struct got *g)
{
    int flags = ZMQ_DONTWAIT, n = zmq_recv(f->sub, g->topic, sizeof(g->topic) - 1, flags);
    if (n < 0)
        return false;
    g->topic[n] = 0;
    n = zmq_recv(f->sub, g->body, sizeof(g->body) - 1, 0);
    assert_true(n >= 0);
    g->len = (size_t)n;
    g->body[n] = 0;
    return true;
}

static void feed(struct fixture *f, uint8_t type, uint32_t seq, uint64_t t_us,
                 const uint8_t *p, size_t len)
{
    uint8_t wire[DW_MAX_WIRE];
    ssize_t n = dw_frame_encode(type, seq, t_us, p, len, wire, sizeof(wire));
    assert_true(n > 0);
    dw_acquire_feed(&f->a, wire, (size_t)n, 1700000000000000000ull + f->mono, f->mono);
}

static void hello(struct fixture *f, const char *id, unsigned zones, uint32_t seq, uint64_t t_us)
{
    struct dw_hello h;
    uint8_t p[DW_MAX_PAYLOAD];
    memset(&h, 0, sizeof(h));
    snprintf(h.device_id, sizeof(h.device_id), "%s", id);
    h.sample_rate_hz = 10;
    h.n_zones = (uint8_t)zones;
    h.n_ambient = 2;
    h.temp_scale = h.pressure_scale = h.accel_scale = 1000;
    for (unsigned z = 0; z < zones; z++)
        h.zone[z].mirror = (uint8_t)z;
    ssize_t n = dw_hello_pack(&h, p, sizeof(p));
    assert_true(n > 0);
    feed(f, DW_FRAME_HELLO, seq, t_us, p, (size_t)n);
}

static void sample(struct fixture *f, unsigned zones, uint32_t seq, uint64_t t_us)
{
    struct dw_sample s;
    uint8_t p[DW_MAX_PAYLOAD];
    memset(&s, 0, sizeof(s));
    s.n_zones = (uint8_t)zones;
    s.temp[0] = (int16_t)seq;
    ssize_t n = dw_sample_pack(&s, p, sizeof(p));
    assert_true(n > 0);
    feed(f, DW_FRAME_SAMPLE, seq, t_us, p, (size_t)n);
}

/* Collects everything published so far: frame device seqs and events. */
struct seen {
    int frames, events;
    uint32_t dseq[64];
    uint64_t seq[64];
    struct dw_msg_event ev[16];
};

static void drain(struct fixture *f, struct seen *s)
{
    struct got g;
    memset(s, 0, sizeof(*s));
    while (next_msg(f, &g)) {
        if (strncmp(g.topic, "frame.", 6) == 0) {
            struct dw_msg_frame m;
            assert_int_equal(dw_msg_frame_parse(g.body, g.len, &m), 0);
            assert_int_equal(m.stream, f->a.stream);
            s->seq[s->frames] = m.seq;
            s->dseq[s->frames++] = m.device_seq;
        } else if (strncmp(g.topic, "event.", 6) == 0) {
            assert_int_equal(dw_msg_event_parse((char *)g.body, g.len, &s->ev[s->events], NULL), 0);
            assert_int_equal(s->ev[s->events].stream, f->a.stream);
            s->events++;
        }
    }
}

/* A replay as a new subscription triggers it, at host time mono; s gets
 * what it sent. */
static void replay_at(struct fixture *f, uint64_t mono, struct seen *s)
{
    f->a.replay_pending = true;
    dw_acquire_replay(&f->a, mono);
    drain(f, s);
}

/* replay_at, and the frames it sent are stream seqs want[0..n-1] in order. */
static void check_replay(struct fixture *f, uint64_t mono, struct seen *s, const uint64_t *want,
                         int n)
{
    replay_at(f, mono, s);
    assert_int_equal(s->frames, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(s->seq[i], want[i]);
}

static void test_in_order(void **state)
{
    struct fixture *f = *state;
    struct seen s;
    hello(f, "dev-a", 16, 0, 100);
    for (uint32_t i = 1; i <= 3; i++)
        sample(f, 16, i, 100 + i * 100000);
    drain(f, &s);
    assert_int_equal(s.frames, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(s.dseq[i], (uint32_t)i);
        assert_int_equal(s.seq[i], (uint64_t)i + 1);
    }
    assert_int_equal(s.events, 0);
    assert_int_equal(f->a.frames_missing, 0);
    assert_string_equal(f->a.device, "dev-a");
}

static void test_pre_hello_and_bad_payload(void **state)
{
    struct fixture *f = *state;
    struct seen s;
    sample(f, 16, 5, 1);           /* no HELLO yet: dropped */
    sample(f, 16, 6, 2);
    hello(f, "dev-a", 16, 7, 3);   /* gap of 2 before it */
    sample(f, 8, 8, 4);            /* wrong zone count: dropped */
    sample(f, 16, 9, 5);           /* gap of 1 */
    drain(f, &s);
    assert_int_equal(s.frames, 2);
    assert_int_equal(s.dseq[0], 7);
    assert_int_equal(s.dseq[1], 9);
    assert_int_equal(f->a.pre_hello_dropped, 2);
    assert_int_equal(f->a.payload_errors, 1);
    assert_int_equal(f->a.frames_missing, 3);
    assert_int_equal(f->a.device_seq_gaps, 2);
    assert_int_equal(s.events, 2);
    assert_int_equal(s.ev[0].kind, DW_EV_GAP);
    assert_int_equal(s.ev[0].missing, 2);
    assert_int_equal(s.ev[1].missing, 1);
    struct dw_msg_stats st;
    dw_acquire_fill_stats(&f->a, &st);
    assert_int_equal(st.length_errors, 1);
    assert_int_equal(st.frames, 2);
}

static void test_wrap_and_reboot(void **state)
{
    struct fixture *f = *state;
    struct seen s;
    hello(f, "dev-a", 16, 0xfffffffd, 10);
    sample(f, 16, 0xfffffffe, 11);
    sample(f, 16, 0xffffffff, 12);
    sample(f, 16, 0, 13);
    sample(f, 16, 2, 14);           /* 1 missing across the wrap */
    hello(f, "dev-a", 16, 0, 5);    /* restarted garment: not a gap */
    sample(f, 16, 1, 6);
    drain(f, &s);
    assert_int_equal(s.frames, 7);
    assert_int_equal(f->a.frames_missing, 1);
    assert_int_equal(f->a.device_seq_gaps, 1);
    assert_int_equal(f->a.reboots, 1);
}

static void test_new_device_new_stream(void **state)
{
    struct fixture *f = *state;
    struct seen s;
    uint64_t first = f->a.stream;
    hello(f, "dev-a", 16, 0, 10);
    sample(f, 16, 1, 11);
    hello(f, "dev-b", 4, 50, 20);
    sample(f, 4, 51, 21);
    assert_int_not_equal(f->a.stream, first);
    assert_int_equal(f->a.seq, 2);   /* dev-b's stream starts at 1 again */
    assert_int_equal(f->a.frames_missing, 0);
    assert_string_equal(f->a.device, "dev-b");
    (void)s;
}

static void test_user_event_stamp(void **state)
{
    struct fixture *f = *state;
    struct seen s;
    char reply[256];
    const char *ev = "{\"kind\":\"feed-start\",\"side\":\"left\",\"value\":null,\"text\":\"\"}";

    dw_acquire_user_event(&f->a, ev, strlen(ev), 1, f->mono, reply, sizeof(reply));
    assert_string_equal(reply, "{\"ok\":false,\"error\":\"no garment data yet\"}");
    hello(f, "dev-a", 16, 0, 5000000);
    /* 1.5 s of host time after the frame that said 5 s. */
    dw_acquire_user_event(&f->a, ev, strlen(ev), 2, f->mono + 1500000000ull, reply, sizeof(reply));
    assert_string_equal(reply, "{\"ok\":true,\"seq\":2}");
    const char *other = "{\"kind\":\"shower\",\"device\":\"dev-b\"}";
    dw_acquire_user_event(&f->a, other, strlen(other), 3, f->mono, reply, sizeof(reply));
    assert_string_equal(reply, "{\"ok\":false,\"error\":\"wrong device for this acquisition\"}");
    const char *bad = "{\"kind\":\"gap\"}";
    dw_acquire_user_event(&f->a, bad, strlen(bad), 3, f->mono, reply, sizeof(reply));
    assert_non_null(strstr(reply, "\"ok\":false"));
    drain(f, &s);
    assert_int_equal(s.events, 1);
    assert_int_equal(s.ev[0].t_device_us, 6500000);
    assert_string_equal(s.ev[0].source, "user");
    assert_int_equal(s.ev[0].side, DW_SIDE_LEFT);
    assert_false(s.ev[0].has_value);
    assert_int_equal(f->a.events_in, 1);
}

static void test_link_events(void **state)
{
    struct fixture *f = *state;
    struct seen s;
    hello(f, "dev-a", 16, 0, 1000);
    assert_false(dw_acquire_want_hello_request(&f->a, f->mono));
    dw_acquire_link_down(&f->a, "gone", 2, f->mono + 1000000);
    dw_acquire_link_up(&f->a, 3, f->mono + 2000000);
    assert_true(dw_acquire_want_hello_request(&f->a, f->mono + 2000000));
    assert_false(dw_acquire_want_hello_request(&f->a, f->mono + 2500000));
    assert_true(dw_acquire_want_hello_request(&f->a, f->mono + 1002000000ull));
    drain(f, &s);
    assert_int_equal(s.events, 2);
    assert_int_equal(s.ev[0].kind, DW_EV_LINK_DOWN);
    assert_int_equal(s.ev[0].t_device_us, 2000);
    assert_int_equal(s.ev[1].kind, DW_EV_LINK_UP);
    assert_int_equal(f->a.reconnects, 1);
}

static void test_drift(void **state)
{
    struct fixture *f = *state;
    hello(f, "dev-a", 16, 0, 0);
    /* Device clock 150 ppm fast, one frame per 100 ms for 30 s, with a
     * receive-latency wobble of up to 2 ms. */
    for (uint32_t i = 1; i <= 300; i++) {
        f->mono += 100000000ull;
        uint64_t dev = (uint64_t)(i * 100000.0 * 1.00015);
        f->mono += (i % 3) * 1000000ull;
        sample(f, 16, i, dev);
        f->mono -= (i % 3) * 1000000ull;
    }
    double ppm = dw_acquire_drift_ppm(&f->a);
    assert_true(fabs(ppm - 150.0) < 10.0);
}

static void test_replay(void **state)
{
    struct fixture *f = *state;
    struct seen s;
    hello(f, "dev-a", 16, 0, 1);
    sample(f, 16, 1, 2);
    drain(f, &s);
    assert_int_equal(s.frames, 2);
    check_replay(f, f->mono, &s, (const uint64_t[]){ 1, 2 }, 2); /* the same two again */
    /* Older than the backlog age: not replayed, except the HELLO, without
     * which a subscriber that joins now could not read the frames to come. */
    check_replay(f, f->mono + 11000000000ull, &s, (const uint64_t[]){ 1 }, 1);
    assert_int_equal(s.dseq[0], 0);
}

/* A HELLO still inside the replayed window goes out in its place only:
 * sending it first would make subscribers drop the older messages after it
 * as duplicates. Once it has aged out it goes first. */
static void test_replay_pinned_hello(void **state)
{
    struct fixture *f = *state;
    struct seen s;
    hello(f, "dev-a", 16, 0, 1);
    sample(f, 16, 1, 2);
    f->mono += 5000000000ull;
    hello(f, "dev-a", 16, 2, 3);    /* a repeated HELLO (after a reconnect, say) */
    sample(f, 16, 3, 4);
    drain(f, &s);
    assert_int_equal(s.frames, 4);
    check_replay(f, f->mono, &s, (const uint64_t[]){ 1, 2, 3, 4 }, 4);
    /* 6 s on: the first two aged out, the second HELLO is still in the window. */
    check_replay(f, f->mono + 6000000000ull, &s, (const uint64_t[]){ 3, 4 }, 2);
    /* 11 s on: everything aged out; the latest HELLO alone. */
    check_replay(f, f->mono + 11000000000ull, &s, (const uint64_t[]){ 3 }, 1);
    assert_int_equal(s.dseq[0], 2);
    /* A sample after that window: the HELLO first, then the sample. */
    f->mono += 11000000000ull;
    sample(f, 16, 4, 5);
    drain(f, &s);
    check_replay(f, f->mono, &s, (const uint64_t[]){ 3, 5 }, 2);
}

/* A subscriber that joins late gets the backlog before anything live:
 * seq 1, 2, 3 in order, no duplicates, nothing missing. */
static void test_late_subscriber(void **state)
{
    struct fixture *f = *state;
    struct seen s;
    char ep[128];
    size_t len = sizeof(ep);
    uint64_t seq[8];
    int n = 0, timeout = 2000;

    hello(f, "dev-a", 16, 0, 1);
    sample(f, 16, 1, 2);
    drain(f, &s);
    assert_int_equal(zmq_getsockopt(f->pub, ZMQ_LAST_ENDPOINT, ep, &len), 0);
    void *late = dw_zmq_socket(f->ctx, ZMQ_SUB);
    zmq_setsockopt(late, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    assert_int_equal(zmq_setsockopt(late, ZMQ_SUBSCRIBE, "frame.", 6), 0);
    assert_int_equal(zmq_connect(late, ep), 0);
    zmq_pollitem_t it = { .socket = f->pub, .events = ZMQ_POLLIN };
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    assert_int_equal(dw_acquire_handle_subscriptions(&f->a, f->mono), 1);
    sample(f, 16, 2, 3);
    for (;;) {
        char topic[64];
        uint8_t body[512];
        struct dw_msg_frame m;
        if (zmq_recv(late, topic, sizeof(topic), ZMQ_DONTWAIT) < 0)
            break;
        int bl = zmq_recv(late, body, sizeof(body), 0);
        assert_int_equal(dw_msg_frame_parse(body, (size_t)bl, &m), 0);
        seq[n++] = m.seq;
        assert_true(n < 8);
    }
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(seq[i], (uint64_t)i + 1);
    zmq_close(late);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pre_hello_and_bad_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_and_reboot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_device_new_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_event_stamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drift, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_pinned_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_subscriber, setup, teardown),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
