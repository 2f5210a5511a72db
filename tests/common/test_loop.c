/* loop.c: deadlines rounded up to whole ms once, a real zmq_poll that is
 * woken by a message and never returns before its deadline. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zmq.h>
#include "dwcmocka.h"
#include "dwtime.h"
#include "endpoint.h"
#include "loop.h"

static void test_timeout(void **state)
{
    struct dw_loop l;
    volatile sig_atomic_t stop = 0;
    const uint64_t now = 5000000000ull;
    (void)state;
    dw_loop_init(&l, NULL);
    assert_int_equal(dw_loop_timeout_ms(&l, now), -1);  /* nothing due: no limit */
    dw_loop_wake_at(&l, now + 1);
    assert_int_equal(dw_loop_timeout_ms(&l, now), 1);   /* never early: 1 ns is 1 ms */
    dw_loop_wake_at(&l, now + 3000000);                  /* later: the earliest counts */
    assert_int_equal(dw_loop_timeout_ms(&l, now), 1);
    dw_loop_begin(&l);
    dw_loop_wake_at(&l, now + 3000000);
    assert_int_equal(dw_loop_timeout_ms(&l, now), 3);   /* whole ms: exact */
    dw_loop_wake_at(&l, now + 2000001);
    assert_int_equal(dw_loop_timeout_ms(&l, now), 3);   /* 2.000001 ms: 3 */
    assert_int_equal(dw_loop_timeout_ms(&l, now + 2000001), 0); /* due */
    assert_int_equal(dw_loop_timeout_ms(&l, now + 9000000000ull), 0); /* long past */
    dw_loop_begin(&l);
    dw_loop_wake_at(&l, now + 86400ull * 1000000000 * 365);
    assert_int_equal(dw_loop_timeout_ms(&l, now), INT32_MAX);
    /* with a stop flag the wait is cut so that the flag is looked at */
    dw_loop_init(&l, &stop);
    assert_int_equal(dw_loop_timeout_ms(&l, now), DW_LOOP_STOP_CHECK_MS);
    dw_loop_wake_at(&l, now + 10000000000ull);
    assert_int_equal(dw_loop_timeout_ms(&l, now), DW_LOOP_STOP_CHECK_MS);
    dw_loop_begin(&l);
    dw_loop_wake_at(&l, now + 7000000);
    assert_int_equal(dw_loop_timeout_ms(&l, now), 7);
    assert_false(dw_loop_stopped(&l));
    stop = 1;
    assert_true(dw_loop_stopped(&l));
}

static void test_poll(void **state)
{
    void *ctx = zmq_ctx_new();
    void *a = dw_zmq_socket(ctx, ZMQ_PAIR), *b = dw_zmq_socket(ctx, ZMQ_PAIR);
    zmq_pollitem_t it = { .socket = b, .events = ZMQ_POLLIN };
    struct dw_loop l;
    (void)state;
    assert_int_equal(zmq_bind(a, "inproc://loop"), 0);
    assert_int_equal(zmq_connect(b, "inproc://loop"), 0);
    dw_loop_init(&l, NULL);
    /* nothing comes: it returns 0, not before the deadline */
    uint64_t t0 = dw_now_monotonic_ns();
    dw_loop_wake_at(&l, t0 + 20000000);
    assert_int_equal(dw_loop_poll(&l, &it, 1), 0);
    assert_true(dw_now_monotonic_ns() >= t0 + 20000000);
    /* a message wakes it whatever the deadline */
    assert_int_equal(zmq_send(a, "x", 1, 0), 1);
    dw_loop_begin(&l);
    assert_int_equal(dw_loop_poll(&l, &it, 1), 1);
    assert_true(it.revents & ZMQ_POLLIN);
    /* a due deadline does not wait */
    dw_loop_begin(&l);
    dw_loop_wake_at(&l, 0);
    assert_int_equal(dw_loop_poll(&l, &it, 1), 1);
    dw_zmq_close(a);
    dw_zmq_close(b);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_timeout),
    cmocka_unit_test(test_poll),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
