/* The replay budget and the replay filter (acquisition/replay_budget.c,
 * backlog.c, acquire.c): what a churning peer can make acquire send, and
 * that a new subscriber still gets the HELLO when the budget is spent. A
 * real inproc XPUB/SUB pair, no serial port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "acquire.h"
#include "dwcmocka.h"
#include "endpoint.h"
#include "replay_budget.h"

#define SEC 1000000000ull

static void budget_bucket(void **state)
{
    struct dw_replay_budget b;
    (void)state;
    dw_replay_budget_init(&b, 100, 10 * SEC, 0);
    assert_true(dw_replay_budget_take(&b, 60, SEC));
    assert_false(dw_replay_budget_take(&b, 60, SEC));      /* 40 left */
    assert_true(dw_replay_budget_take(&b, 40, SEC));
    assert_false(dw_replay_budget_take(&b, 1, SEC));
    assert_false(dw_replay_budget_take(&b, 30, 3 * SEC));  /* 20 back after 2 s */
    assert_true(dw_replay_budget_take(&b, 20, 3 * SEC));
    /* larger than the bucket: only from a full bucket */
    assert_false(dw_replay_budget_take(&b, 500, 5 * SEC));
    assert_true(dw_replay_budget_take(&b, 500, 100 * SEC));
    assert_false(dw_replay_budget_take(&b, 1, 100 * SEC));
    /* the HELLO alone: at most once per 10 ms */
    assert_true(dw_replay_budget_hello(&b, 100 * SEC));
    assert_false(dw_replay_budget_hello(&b, 100 * SEC + DW_REPLAY_HELLO_GAP_NS - 1));
    assert_true(dw_replay_budget_hello(&b, 100 * SEC + DW_REPLAY_HELLO_GAP_NS));
}

struct fx {
    void *ctx, *pub, *sub;
    struct dw_acquire a;
};

static void feed(struct fx *f, uint8_t type, uint32_t seq, const uint8_t *p, size_t len)
{
    uint8_t wire[DW_MAX_WIRE];
    ssize_t n = dw_frame_encode(type, seq, 1000 + seq * 100000ull, p, len, wire, sizeof(wire));
    assert_true(n > 0);
    dw_acquire_feed(&f->a, wire, (size_t)n, 1700000000000000000ull, SEC);
}

/* HELLO and n SAMPLEs in the backlog, with a subscriber that has read
 * them all. */
static void stream(struct fx *f, unsigned n)
{
    struct dw_hello h;
    struct dw_sample s;
    uint8_t p[DW_MAX_PAYLOAD];
    ssize_t k;
    memset(&h, 0, sizeof(h));
    snprintf(h.device_id, sizeof(h.device_id), "REP-1");
    h.sample_rate_hz = 10;
    h.n_zones = 2;
    h.n_ambient = 2;
    h.temp_scale = h.pressure_scale = h.accel_scale = 1000;
    h.zone[0].mirror = 1;
    h.zone[1].side = 1;
    k = dw_hello_pack(&h, p, sizeof(p));
    assert_true(k > 0);
    feed(f, DW_FRAME_HELLO, 0, p, (size_t)k);
    memset(&s, 0, sizeof(s));
    s.n_zones = 2;
    k = dw_sample_pack(&s, p, sizeof(p));
    for (unsigned i = 1; i <= n; i++)
        feed(f, DW_FRAME_SAMPLE, i, p, (size_t)k);
}

/* Messages the subscriber has, and how many of them are HELLOs. */
static int drain(struct fx *f, int *hellos)
{
    char topic[64];
    uint8_t body[2048];
    int n = 0;
    *hellos = 0;
    while (zmq_recv(f->sub, topic, sizeof(topic), ZMQ_DONTWAIT) >= 0) {
        int bl = zmq_recv(f->sub, body, sizeof(body), 0);
        assert_true(bl >= 2);
        *hellos += body[1] == DW_FRAME_HELLO;
        n++;
    }
    return n;
}

/* A subscription notice as a peer sends it, handled by acquire at mono. */
static void notice(struct fx *f, const char *prefix, uint64_t mono)
{
    f->a.replay_pending = true;
    dw_backlog_filter_add(&f->a.want, prefix, strlen(prefix));
    dw_acquire_replay(&f->a, mono);
}

static void replay_budget_and_filter(void **state)
{
    struct fx f;
    struct dw_acquire_opts o = { .backlog = 100, .backlog_age_ns = 10 * SEC };
    int hellos;
    (void)state;
    f.ctx = zmq_ctx_new();
    f.pub = dw_zmq_socket(f.ctx, ZMQ_XPUB);
    f.sub = dw_zmq_socket(f.ctx, ZMQ_SUB);
    assert_int_equal(dw_acquire_setup_pub(f.pub, 100000), 0);
    assert_int_equal(zmq_bind(f.pub, "inproc://replay"), 0);
    assert_int_equal(zmq_connect(f.sub, "inproc://replay"), 0);
    assert_int_equal(zmq_setsockopt(f.sub, ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(dw_acquire_init(&f.a, f.pub, &o), 0);
    zmq_pollitem_t it = { .socket = f.pub, .events = ZMQ_POLLIN };
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    dw_acquire_handle_subscriptions(&f.a, SEC);
    dw_acquire_link_up(&f.a, 1, SEC);
    stream(&f, 59);
    assert_int_equal(drain(&f, &hellos), 60);

    /* a prefix that matches nothing replays nothing, whatever its rate */
    for (int i = 0; i < 1000; i++)
        notice(&f, "zz", SEC + (uint64_t)i);
    assert_int_equal(drain(&f, &hellos), 0);
    assert_int_equal(f.a.replays + f.a.replays_hello, 0);
    /* the budget is 101 messages: one full replay of 60 */
    notice(&f, "", 2 * SEC);
    assert_int_equal(drain(&f, &hellos), 60);
    /* then the HELLO alone */
    notice(&f, "frame.", 2 * SEC);
    assert_int_equal(drain(&f, &hellos), 1);
    assert_int_equal(hellos, 1);
    /* within 10 ms of it: pending, then sent when due */
    notice(&f, "", 2 * SEC + 1);
    assert_int_equal(drain(&f, &hellos), 0);
    assert_int_equal(dw_acquire_replay_due(&f.a), 2 * SEC + DW_REPLAY_HELLO_GAP_NS);
    dw_acquire_replay(&f.a, dw_acquire_replay_due(&f.a));
    assert_int_equal(drain(&f, &hellos), 1);
    assert_int_equal(dw_acquire_replay_due(&f.a), UINT64_MAX);
    /* a prefix for events only: the stream has none, nothing goes */
    notice(&f, "event.", 3 * SEC);
    assert_int_equal(drain(&f, &hellos), 0);
    /* not yet enough back for 60 (41 left, one per 99 ms)... */
    notice(&f, "", 3 * SEC + 1);
    assert_int_equal(drain(&f, &hellos), 1);
    /* ...two seconds later there is */
    notice(&f, "", 5 * SEC);
    assert_int_equal(drain(&f, &hellos), 60);
    assert_int_equal(f.a.replays, 2);
    assert_int_equal(f.a.replays_hello, 3);

    dw_acquire_free(&f.a);
    zmq_close(f.pub);
    zmq_close(f.sub);
    zmq_ctx_term(f.ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(budget_bucket),
        cmocka_unit_test(replay_budget_and_filter),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
