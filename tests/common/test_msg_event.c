/* msg_event.c: event.<dev> JSON, written and read back (both parsers). */
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
#include "msg_event.h"

/* A thermometer reading with every field set. */
static void thermometer_event(struct dw_msg_event *ep)
{
    struct dw_msg_event e;

    memset(&e, 0, sizeof(e));
    e.seq = 42;
    e.stream = 1764000000000000000ull; /* an exact double */
    snprintf(e.device, sizeof(e.device), "DW-0001");
    e.t_device_us = 3600000000ull;
    e.t_host_ns = 1764000000000000000ull;
    e.kind = DW_EV_THERMOMETER;
    e.side = DW_SIDE_NONE;
    e.has_value = true;
    e.value = 38.2;
    snprintf(e.source, sizeof(e.source), "garment");
    snprintf(e.text, sizeof(e.text), "oral \"quoted\" \\ ünïcode");
    *ep = e;
}

static void test_msg_event_json(void **state)
{
    struct dw_msg_event e, b;
    const char *why;
    char *json;
    (void)state;

    thermometer_event(&e);
    json = dw_msg_event_to_json(&e);
    assert_non_null(json);
    assert_int_equal(dw_msg_event_parse(json, strlen(json), &b, &why), 0);
    assert_null(why);
    assert_true(b.seq == 42);
    assert_true(b.stream == e.stream);
    assert_string_equal(b.device, "DW-0001");
    assert_true(b.t_device_us == e.t_device_us);
    assert_true(b.t_host_ns == e.t_host_ns);
    assert_int_equal(b.kind, DW_EV_THERMOMETER);
    assert_int_equal(b.side, DW_SIDE_NONE);
    assert_true(b.has_value);
    assert_true(b.value == 38.2);
    assert_string_equal(b.source, "garment");
    assert_string_equal(b.text, e.text);
    assert_non_null(strstr(json, "\"kind\":\"thermometer\""));
    free(json);

    /* no value -> null; gap carries "missing" */
    e.kind = DW_EV_GAP;
    e.side = DW_SIDE_LEFT;
    e.has_value = false;
    e.missing = 17;
    json = dw_msg_event_to_json(&e);
    assert_non_null(strstr(json, "\"value\":null"));
    assert_non_null(strstr(json, "\"missing\":17"));
    assert_int_equal(dw_msg_event_parse(json, strlen(json), &b, NULL), 0);
    assert_false(b.has_value);
    assert_int_equal(b.missing, 17);
    assert_int_equal(b.side, DW_SIDE_LEFT);
    free(json);

    /* 64-bit times above 2^53 come back exactly through both parsers (a
     * double would give ...768): the recorder stores these */
    e.kind = DW_EV_THERMOMETER;
    e.t_host_ns = 1764000000123456789ull;
    e.stream = 18446744073709551615ull;
    json = dw_msg_event_to_json(&e);
    assert_int_equal(dw_msg_event_parse(json, strlen(json), &b, NULL), 0);
    assert_true(b.t_host_ns == 1764000000123456789ull && b.stream == UINT64_MAX);
    assert_int_equal(dw_msg_event_parse_general(json, strlen(json), &b, NULL), 0);
    assert_true(b.t_host_ns == 1764000000123456789ull && b.stream == UINT64_MAX);
    free(json);
}

static void test_msg_event_requests(void **state)
{
    struct dw_msg_event b;
    const char *why;
    (void)state;

    /* what a user sends to the events endpoint (docs: REP request) */
    const char *req = "{\"kind\":\"feed-start\",\"side\":\"left\",\"value\":null,\"text\":\"\"}";
    assert_int_equal(dw_msg_event_parse(req, strlen(req), &b, &why), 0);
    assert_int_equal(b.kind, DW_EV_FEED_START);
    assert_int_equal(b.side, DW_SIDE_LEFT);
    /* side defaults to none */
    req = "{\"kind\":\"shower\"}";
    assert_int_equal(dw_msg_event_parse(req, strlen(req), &b, &why), 0);
    assert_int_equal(b.side, DW_SIDE_NONE);

    /* rejects, each with a reason */
    static const char *const bad[] = {
        "", "not json", "[]", "42", "{", "{\"side\":\"left\"}",
        "{\"kind\":\"feed\"}", "{\"kind\":7}", "{\"kind\":\"feed-start\",\"side\":\"middle\"}",
        "{\"kind\":\"feed-start\",\"side\":1}",
        "{\"kind\":\"feed-start\",\"value\":\"high\"}",
        "{\"kind\":\"feed-start\",\"seq\":-1}", "{\"kind\":\"feed-start\",\"seq\":1.5}",
        "{\"kind\":\"feed-start\",\"device\":\"0123456789abcdefX\"}",
        "{\"kind\":\"feed-start\",\"text\":\"01234567890123456789012345678901234567890123456789012345678901234\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        why = NULL;
        assert_int_equal(dw_msg_event_parse(bad[i], strlen(bad[i]), &b, &why), -EBADMSG);
        assert_non_null(why);
    }
    /* the length given is honoured: a valid prefix of a longer buffer */
    const char *two = "{\"kind\":\"shower\"}garbage";
    assert_int_equal(dw_msg_event_parse(two, 17, &b, NULL), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_msg_event_json),
    cmocka_unit_test(test_msg_event_requests),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
