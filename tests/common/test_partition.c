/* partition.c and frame_batch.c: the fleet's subjects and frame batches.
 * The FNV-1a vectors are the published ones (Fowler/Noll/Vo test suite);
 * tests/nats checks the partitions against a real nats-server mapping. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "dwcmocka.h"
#include "frame.h"
#include "frame_batch.h"
#include "msg_frame.h"
#include "partition.h"

static void test_fnv1a_vectors(void **state)
{
    (void)state;
    assert_int_equal(dw_fnv1a32("", 0), 0x811c9dc5u);
    assert_int_equal(dw_fnv1a32("a", 1), 0xe40c292cu);
    assert_int_equal(dw_fnv1a32("foobar", 6), 0xbf9cf968u);
}

static void test_partition_subject(void **state)
{
    char buf[64], small[16];
    (void)state;
    assert_int_equal(dw_partition("foobar", 1), 0);
    assert_int_equal(dw_partition("", 4), 0x811c9dc5u % 4);
    assert_int_equal(dw_partition("foobar", 7), 0xbf9cf968u % 7);
    assert_int_equal(dw_nats_subject(buf, sizeof(buf), 3, "frame", "tg-0001"), 20);
    assert_string_equal(buf, "dw.p.3.frame.tg-0001");
    assert_int_equal(dw_nats_subject(small, sizeof(small), 3, "frame", "tg-0001"),
                     -ENAMETOOLONG);
}

static size_t frame_body(uint8_t *out, size_t cap, uint64_t seq, uint64_t t_us)
{
    static const uint8_t payload[4] = { 1, 2, 3, 4 };
    struct dw_msg_frame f = {
        .version = DW_MSG_VERSION, .type = DW_FRAME_SAMPLE, .len = sizeof(payload),
        .device_seq = (uint32_t)seq, .seq = seq, .stream = 0xabcdef, .t_device_us = t_us,
        .t_host_ns = 5, .payload = payload,
    };
    ssize_t n = dw_msg_frame_pack(&f, out, cap);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_batch_round_trip(void **state)
{
    struct dw_frame_batch b = { 0 };
    uint8_t body[128], bad[2] = { 9, 0 };
    const uint8_t *p;
    size_t len, off = 0, n = 0;
    struct dw_msg_frame f;
    (void)state;
    for (uint64_t s = 10; s < 20; s++) {
        len = frame_body(body, sizeof(body), s, 7000000 + s * 100000);
        assert_int_equal(dw_frame_batch_add(&b, body, len), 0);
    }
    assert_int_equal(dw_frame_batch_add(&b, bad, sizeof(bad)), -EINVAL);
    assert_int_equal(b.n, 10);
    assert_int_equal(b.first_seq, 10);
    assert_int_equal(b.last_seq, 19);
    assert_int_equal(b.second, 8);
    assert_int_equal(b.stream, 0xabcdef);
    while (dw_frame_batch_next(b.buf, b.len, &off, &p, &len) == 1) {
        assert_int_equal(dw_msg_frame_parse(p, len, &f), 0);
        assert_int_equal(f.seq, 10 + n);
        n++;
    }
    assert_int_equal(n, 10);
    /* cut anywhere inside, it is no batch; a wrong version neither */
    off = 0;
    assert_int_equal(dw_frame_batch_next(b.buf, b.len - 1, &off, &p, &len), 1);
    for (n = 0; n < 9 && dw_frame_batch_next(b.buf, b.len - 1, &off, &p, &len) == 1; n++)
        ;
    assert_int_equal(dw_frame_batch_next(b.buf, b.len - 1, &off, &p, &len), -EBADMSG);
    off = 0;
    assert_int_equal(dw_frame_batch_next(bad, sizeof(bad), &off, &p, &len), -EBADMSG);
    dw_frame_batch_reset(&b);
    assert_int_equal(b.n, 0);
    len = frame_body(body, sizeof(body), 99, 1);
    assert_int_equal(dw_frame_batch_add(&b, body, len), 0);
    assert_int_equal(b.first_seq, 99);
    dw_frame_batch_free(&b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fnv1a_vectors),
    cmocka_unit_test(test_partition_subject),
    cmocka_unit_test(test_batch_round_trip),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
