/* endpoint.c and dwtime.c: the private runtime directory, default
 * endpoints, sockets that never hang at exit, [topic, body] sends and
 * receives over a real ZeroMQ PUB/SUB pair, and UTC formatting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "dwcmocka.h"
#include "dwtime.h"
#include "endpoint.h"

static char base[256];

static int setup(void **state)
{
    (void)state;
    return dw_test_mkdtemp(base, sizeof(base), "dw-test-endpoint");
}

static int teardown(void **state)
{
    (void)state;
    return dw_test_rmtree(base);
}

static void test_runtime_dir(void **state)
{
    char dir[700], want[300], buf[700];
    struct stat st;
    (void)state;

    snprintf(want, sizeof(want), "%s/run", base);
    setenv("DUCTWATCH_RUNTIME_DIR", want, 1);
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), 0);
    assert_string_equal(dir, want);
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    /* again: it exists, fine */
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), 0);
    /* group/other access is refused */
    assert_int_equal(chmod(want, 0755), 0);
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), -EPERM);
    assert_int_equal(chmod(want, 0700), 0);
    /* a symlink (even to a good directory) is refused */
    snprintf(buf, sizeof(buf), "%s/link", base);
    assert_int_equal(symlink(want, buf), 0);
    setenv("DUCTWATCH_RUNTIME_DIR", buf, 1);
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), -EPERM);
    /* a missing parent is an error, not a crash */
    snprintf(buf, sizeof(buf), "%s/no/such", base);
    setenv("DUCTWATCH_RUNTIME_DIR", buf, 1);
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), -ENOENT);
    /* too long for the buffer */
    setenv("DUCTWATCH_RUNTIME_DIR", want, 1);
    assert_int_equal(dw_runtime_dir(dir, 8), -ENAMETOOLONG);
    /* XDG_RUNTIME_DIR when ours is unset or empty */
    setenv("DUCTWATCH_RUNTIME_DIR", "", 1);
    setenv("XDG_RUNTIME_DIR", base, 1);
    assert_int_equal(dw_runtime_dir(dir, sizeof(dir)), 0);
    snprintf(buf, sizeof(buf), "%s/ductwatch", base);
    assert_string_equal(dir, buf);

    setenv("DUCTWATCH_RUNTIME_DIR", want, 1);
    assert_int_equal(dw_default_endpoint("acquire", buf, sizeof(buf)), 0);
    snprintf(dir, sizeof(dir), "ipc://%s/acquire", want);
    assert_string_equal(buf, dir);
    assert_int_equal(dw_default_endpoint("acquire", buf, 10), -ENAMETOOLONG);
}

static void test_pub_sub(void **state)
{
    void *ctx = zmq_ctx_new();
    void *pub = dw_zmq_socket(ctx, ZMQ_PUB), *sub = dw_zmq_socket(ctx, ZMQ_SUB);
    int linger = -1;
    size_t sz = sizeof(linger);
    char ep[512], topic[64], body[64];
    (void)state;

    assert_non_null(pub);
    assert_non_null(sub);
    assert_int_equal(zmq_getsockopt(pub, ZMQ_LINGER, &linger, &sz), 0);
    assert_int_equal(linger, 0);
    snprintf(ep, sizeof(ep), "ipc://%s/pubsub", base);
    assert_int_equal(zmq_bind(pub, ep), 0);
    assert_int_equal(zmq_connect(sub, ep), 0);
    assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "frame.", 6), 0);
    /* a PUB drops what it sends before the subscription arrives: send until
     * the first message gets through (no absolute time is assumed) */
    int got = 0;
    for (int i = 0; i < 2000 && !got; i++) {
        assert_int_equal(dw_zmq_send2(pub, "stats.DW-1", "x", 1), 0); /* filtered out */
        assert_int_equal(dw_zmq_send2(pub, "frame.DW-1", "hello", 5), 0);
        zmq_pollitem_t it = { sub, 0, ZMQ_POLLIN, 0 };
        got = zmq_poll(&it, 1, 10) == 1;
    }
    assert_true(got);
    int n = zmq_recv(sub, topic, sizeof(topic), 0);
    assert_int_equal(n, 10);
    assert_memory_equal(topic, "frame.DW-1", 10);
    int more = 0;
    sz = sizeof(more);
    zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &sz);
    assert_true(more);
    n = zmq_recv(sub, body, sizeof(body), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(body, "hello", 5);
    /* LINGER 0: closing with messages queued and terminating never hangs */
    for (int i = 0; i < 100; i++)
        dw_zmq_send2(pub, "frame.DW-1", "queued", 6);
    zmq_close(sub);
    zmq_close(pub);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

/* dw_zmq_recv2: [topic, body] without copies or size limit, extra parts
 * dropped, a one-part message refused, nothing waiting is not an error. */
static void test_recv2(void **state)
{
    void *ctx = zmq_ctx_new();
    void *pub = dw_zmq_socket(ctx, ZMQ_XPUB), *sub = dw_zmq_socket(ctx, ZMQ_SUB);
    struct dw_zmq_msg2 m;
    char sub_msg[16];
    static char big[1 << 17]; /* more than any fixed buffer the tools had */
    int timeout = 2000;
    (void)state;

    assert_int_equal(zmq_bind(pub, "inproc://recv2"), 0);
    assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), 0);
    assert_int_equal(zmq_connect(sub, "inproc://recv2"), 0);
    /* the XPUB sees the subscription: from now on nothing is dropped */
    zmq_setsockopt(pub, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    assert_int_equal(zmq_recv(pub, sub_msg, sizeof(sub_msg), 0), 1);
    assert_int_equal(dw_zmq_recv2(sub, ZMQ_DONTWAIT, &m), 0);

    memset(big, 'b', sizeof(big));
    assert_int_equal(dw_zmq_send2(pub, "frame.DW-1", big, sizeof(big)), 0);
    assert_int_equal(zmq_send(pub, "one part", 8, 0), 8);
    assert_int_equal(zmq_send(pub, "event.DW-2", 10, ZMQ_SNDMORE), 10);
    assert_int_equal(zmq_send(pub, "{}", 2, ZMQ_SNDMORE), 2);
    assert_int_equal(zmq_send(pub, "extra", 5, ZMQ_SNDMORE), 5);
    assert_int_equal(zmq_send(pub, "more", 4, 0), 4);
    assert_int_equal(dw_zmq_send2(pub, "stats.DW-3", "x", 1), 0);

    assert_int_equal(dw_zmq_recv2(sub, 0, &m), 1);
    assert_int_equal(zmq_msg_size(&m.topic), 10);
    assert_memory_equal(zmq_msg_data(&m.topic), "frame.DW-1", 10);
    assert_int_equal(zmq_msg_size(&m.body), sizeof(big));
    assert_memory_equal(zmq_msg_data(&m.body), big, sizeof(big));
    dw_zmq_msg2_close(&m);
    assert_int_equal(dw_zmq_recv2(sub, 0, &m), -EPROTO);
    assert_int_equal(dw_zmq_recv2(sub, 0, &m), 1);
    assert_memory_equal(zmq_msg_data(&m.topic), "event.DW-2", 10);
    assert_int_equal(zmq_msg_size(&m.body), 2);
    dw_zmq_msg2_close(&m);
    /* the extra parts went with their message: the next one is whole */
    assert_int_equal(dw_zmq_recv2(sub, 0, &m), 1);
    assert_memory_equal(zmq_msg_data(&m.topic), "stats.DW-3", 10);
    assert_memory_equal(zmq_msg_data(&m.body), "x", 1);
    dw_zmq_msg2_close(&m);
    /* a receive timeout is "nothing came" */
    timeout = 20;
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    assert_int_equal(dw_zmq_recv2(sub, 0, &m), 0);
    zmq_close(sub);
    zmq_close(pub);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

static void test_time(void **state)
{
    char buf[32];
    (void)state;
    /* 2026-11-24T18:19:44Z */
    uint64_t ns = 1795544384ull * 1000000000ull + 999999999ull;
    dw_format_utc(ns, buf, sizeof(buf), 0);
    assert_string_equal(buf, "2026-11-24T18:19:44Z");
    dw_format_utc(ns, buf, sizeof(buf), 1);
    assert_string_equal(buf, "20261124T181944Z");
    dw_format_utc(0, buf, sizeof(buf), 0);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    uint64_t a = dw_now_monotonic_ns(), b = dw_now_monotonic_ns();
    assert_true(b >= a);
    assert_true(dw_now_realtime_ns() > 1500000000ull * 1000000000ull);
    /* a deadline in the past returns at once */
    dw_sleep_until_monotonic(a, NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_dir),
        cmocka_unit_test(test_pub_sub),
        cmocka_unit_test(test_recv2),
        cmocka_unit_test(test_time),
    };
    return dw_cmocka_run(tests, setup, teardown, argc, argv);
}
