/* msg_stats.c: stats.<dev> JSON, written and read back. */
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
#include "msg_json.h"
#include "msg_stats.h"

static void test_msg_stats_json(void **state)
{
    struct dw_msg_stats s, b;
    char *json;
    uint64_t seq, stream;
    (void)state;
    memset(&s, 0, sizeof(s));
    s.seq = 9;
    s.stream = 1764000000000000000ull;
    snprintf(s.device, sizeof(s.device), "DW-0001");
    s.bytes = 1ull << 40;
    s.frames = 1000;
    s.crc_errors = 1;
    s.length_errors = 2;
    s.cobs_errors = 3;
    s.version_errors = 4;
    s.resyncs = 5;
    s.device_seq_gaps = 6;
    s.frames_missing = 7;
    s.reconnects = 8;
    s.events_in = 9;
    s.zmq_dropped = 10;
    s.drift_ppm = -12.5;
    s.link_up = true;
    json = dw_msg_stats_to_json(&s);
    assert_non_null(json);
    assert_int_equal(dw_msg_stats_parse(json, strlen(json), &b), 0);
    assert_memory_equal(&b.bytes, &s.bytes, offsetof(struct dw_msg_stats, drift_ppm) - offsetof(struct dw_msg_stats, bytes));
    assert_true(b.seq == 9 && b.stream == s.stream);
    assert_string_equal(b.device, "DW-0001");
    assert_true(b.drift_ppm == -12.5);
    assert_true(b.link_up);
    assert_int_equal(dw_msg_json_seq(json, strlen(json), &seq, &stream), 0);
    assert_true(seq == 9 && stream == s.stream);
    free(json);
    /* 64-bit values exact (not through a double) */
    s.t_host_ns = 1764000000123456789ull;
    s.bytes = UINT64_MAX;
    json = dw_msg_stats_to_json(&s);
    assert_int_equal(dw_msg_stats_parse(json, strlen(json), &b), 0);
    assert_true(b.t_host_ns == 1764000000123456789ull && b.bytes == UINT64_MAX);
    free(json);
    /* NaN drift is written as 0, not as invalid JSON */
    s.drift_ppm = NAN;
    json = dw_msg_stats_to_json(&s);
    assert_int_equal(dw_msg_stats_parse(json, strlen(json), &b), 0);
    assert_true(b.drift_ppm == 0.0);
    free(json);
    static const char *const bad[] = { "", "{}", "{\"seq\":\"1\"}", "{\"seq\":1,\"frames\":-2}", "[1]" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_int_equal(dw_msg_stats_parse(bad[i], strlen(bad[i]), &b), -EBADMSG);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_msg_stats_json),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
