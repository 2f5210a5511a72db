/* msg_frame.c: frame.<dev> bodies, binary, at the documented offsets. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dwcmocka.h"
#include "frame.h"
#include "msg_frame.h"

static void test_msg_frame(void **state)
{
    uint8_t payload[90], body[DW_MSG_FRAME_HDR + 100];
    struct dw_msg_frame m = {
        .version = DW_MSG_VERSION, .type = DW_FRAME_SAMPLE, .len = sizeof(payload),
        .device_seq = 0xfffffffeu, .seq = 1ull << 40, .stream = 1764000000000000000ull,
        .t_device_us = 123456789012ull, .t_host_ns = 1764000000123456789ull, .payload = payload,
    }, b;
    (void)state;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)i;
    ssize_t n = dw_msg_frame_pack(&m, body, sizeof(body));
    assert_int_equal(n, 40 + 90);
    assert_int_equal(dw_msg_frame_parse(body, (size_t)n, &b), 0);
    assert_int_equal(b.version, 1);
    assert_int_equal(b.type, DW_FRAME_SAMPLE);
    assert_int_equal(b.len, 90);
    assert_int_equal(b.device_seq, 0xfffffffeu);
    assert_true(b.seq == 1ull << 40);
    assert_true(b.stream == 1764000000000000000ull);
    assert_true(b.t_device_us == 123456789012ull);
    assert_true(b.t_host_ns == 1764000000123456789ull);
    assert_ptr_equal(b.payload, body + 40);
    assert_memory_equal(b.payload, payload, 90);
    /* little-endian at the documented offsets */
    assert_int_equal(body[0], 1);
    assert_int_equal(body[1], 2);
    assert_int_equal(dw_get_le16(body + 2), 90);
    assert_true(dw_get_le64(body + 8) == 1ull << 40);
    /* rejects */
    assert_int_equal(dw_msg_frame_parse(body, (size_t)n - 1, &b), -EBADMSG);
    assert_int_equal(dw_msg_frame_parse(body, 39, &b), -EBADMSG);
    body[0] = 2;
    assert_int_equal(dw_msg_frame_parse(body, (size_t)n, &b), -EBADMSG);
    assert_int_equal(dw_msg_frame_pack(&m, body, 129), -ENOBUFS);
    /* empty payload */
    m.len = 0;
    n = dw_msg_frame_pack(&m, body, sizeof(body));
    assert_int_equal(n, 40);
    assert_int_equal(dw_msg_frame_parse(body, 40, &b), 0);
    assert_int_equal(b.len, 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_msg_frame),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
