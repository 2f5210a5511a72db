/* msg_alert.c: the alert body detect writes and record and the tools read. */
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
#include "msg_alert.h"

static void sample(struct dw_msg_alert *a)
{
    memset(a, 0, sizeof(*a));
    a->seq = 7;
    a->stream = 1764000000123456789ull; /* not an exact double */
    snprintf(a->device, sizeof(a->device), "bra-0042");
    a->id = 3;
    snprintf(a->rule, sizeof(a->rule), "D1");
    snprintf(a->level, sizeof(a->level), "L1");
    snprintf(a->state, sizeof(a->state), "raised");
    snprintf(a->side, sizeof(a->side), "left");
    a->zone = 5;
    snprintf(a->zone_name, sizeof(a->zone_name), "left lower-inner outer");
    a->has_value = a->has_threshold = true;
    a->value = 1.4;
    a->threshold = 1.3;
    a->t_device_us = 93784000000ull;
    a->t_host_ns = 1764000000987654321ull;
    snprintf(a->ruleset_version, sizeof(a->ruleset_version), "1");
    a->clinical = true;
    snprintf(a->params, sizeof(a->params), "{\"delta_c\":0.5,\"sustain\":\"4h\"}");
    snprintf(a->message, sizeof(a->message), "Possible blocked duct at left lower-inner outer.");
}

/* The documented members in the documented order (docs/messages.md 9),
 * every 64-bit integer as its plain digits. */
static void test_alert_write(void **state)
{
    struct dw_msg_alert a;
    char buf[DW_MSG_ALERT_JSON_MAX];
    (void)state;
    sample(&a);
    ssize_t n = dw_msg_alert_write(&a, buf, sizeof(buf));
    const char *want =
        "{\"seq\":7,\"stream\":1764000000123456789,\"device\":\"bra-0042\",\"id\":3,"
        "\"rule\":\"D1\",\"level\":\"L1\",\"state\":\"raised\",\"side\":\"left\",\"zone\":5,"
        "\"zone_name\":\"left lower-inner outer\",\"value\":1.4,\"threshold\":1.3,"
        "\"t_device_us\":93784000000,\"t_host_ns\":1764000000987654321,"
        "\"ruleset_version\":\"1\",\"clinical\":true,"
        "\"params\":{\"delta_c\":0.5,\"sustain\":\"4h\"},"
        "\"message\":\"Possible blocked duct at left lower-inner outer.\"}";
    assert_string_equal(buf, want);
    assert_int_equal(n, (ssize_t)strlen(want));
    /* no zone, no value, no threshold, no params */
    a.zone = -1;
    a.has_value = a.has_threshold = false;
    a.params[0] = 0;
    assert_true(dw_msg_alert_write(&a, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"zone\":null,\"zone_name\":null,\"value\":0,\"threshold\":null,"));
    assert_non_null(strstr(buf, "\"params\":{},"));
    /* too small a buffer */
    assert_int_equal(dw_msg_alert_write(&a, buf, 40), -ENOBUFS);
}

static void test_alert_round_trip(void **state)
{
    struct dw_msg_alert a, b;
    char buf[DW_MSG_ALERT_JSON_MAX], again[DW_MSG_ALERT_JSON_MAX];
    const char *why = "x";
    (void)state;
    sample(&a);
    /* the extremes of every 64-bit field come back exactly */
    a.seq = UINT64_MAX;
    a.id = (1ull << 53) + 1;
    a.t_device_us = UINT64_MAX - 1;
    /* the longest message the detector can write, with UTF-8 and escapes */
    memset(a.message, 'x', sizeof(a.message) - 1);
    a.message[sizeof(a.message) - 1] = 0;
    memcpy(a.message, "\"°C\"\n\\", 7);
    ssize_t n = dw_msg_alert_write(&a, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(dw_msg_alert_parse(buf, (size_t)n, &b, &why), 0);
    assert_null(why);
    assert_true(b.seq == UINT64_MAX && b.stream == a.stream && b.id == a.id);
    assert_true(b.t_device_us == a.t_device_us && b.t_host_ns == 1764000000987654321ull);
    assert_string_equal(b.device, a.device);
    assert_string_equal(b.rule, "D1");
    assert_string_equal(b.level, "L1");
    assert_string_equal(b.state, "raised");
    assert_string_equal(b.side, "left");
    assert_int_equal(b.zone, 5);
    assert_string_equal(b.zone_name, a.zone_name);
    assert_true(b.has_value && b.value == 1.4 && b.has_threshold && b.threshold == 1.3);
    assert_string_equal(b.ruleset_version, "1");
    assert_true(b.clinical);
    assert_string_equal(b.params, a.params);
    assert_string_equal(b.message, a.message);
    /* and writes the same bytes again */
    assert_int_equal(dw_msg_alert_write(&b, again, sizeof(again)), n);
    assert_string_equal(again, buf);
}

/* What detect wrote before: 64-bit numbers above 1e15 through a double,
 * with an exponent. They are read at that double's value. */
static void test_alert_parse_old_form(void **state)
{
    struct dw_msg_alert a;
    const char *old = "{\"seq\":3,\"stream\":1.7640000001234568e+18,\"device\":\"bra-1\","
                      "\"id\":2,\"t_host_ns\":1.7640000009876543e+18,\"message\":\"m\"}";
    (void)state;
    assert_int_equal(dw_msg_alert_parse(old, strlen(old), &a, NULL), 0);
    assert_true(a.stream == (uint64_t)1.7640000001234568e+18);
    assert_true(a.t_host_ns == (uint64_t)1.7640000009876543e+18);
    assert_true(a.seq == 3 && a.id == 2);
}

static void test_alert_parse_lenient(void **state)
{
    struct dw_msg_alert a;
    const char *why = NULL;
    char big[4096];
    (void)state;
    /* only seq is required; the rest reads as empty */
    assert_int_equal(dw_msg_alert_parse("{\"seq\":0}", 9, &a, &why), 0);
    assert_true(a.zone == -1 && !a.has_value && !a.has_threshold && !a.clinical);
    assert_string_equal(a.params, "{}");
    assert_string_equal(a.message, "");
    /* wrong types and values out of range: as if absent (never cast) */
    const char *odd = "{\"seq\":1,\"id\":\"a7\",\"t_device_us\":1e300,\"t_host_ns\":-5,"
                      "\"zone\":1e20,\"value\":\"high\",\"threshold\":null,\"rule\":7,"
                      "\"params\":[1],\"clinical\":1}";
    assert_int_equal(dw_msg_alert_parse(odd, strlen(odd), &a, NULL), 0);
    assert_true(a.id == 0 && a.t_device_us == 0 && a.t_host_ns == 0 && a.zone == -1);
    assert_true(!a.has_value && !a.has_threshold && !a.clinical);
    assert_string_equal(a.rule, "");
    assert_string_equal(a.params, "{}");
    /* strings longer than their buffer are cut between characters */
    snprintf(big, sizeof(big), "{\"seq\":1,\"zone_name\":\"");
    size_t k = strlen(big);
    for (int i = 0; i < 40; i++)
        k += (size_t)snprintf(big + k, sizeof(big) - k, "\xc2\xb0"); /* two bytes each */
    snprintf(big + k, sizeof(big) - k, "\"}");
    assert_int_equal(dw_msg_alert_parse(big, strlen(big), &a, NULL), 0);
    assert_int_equal(strlen(a.zone_name), 46); /* 23 whole characters of 2 bytes */
    /* refused: no seq, a bad stream, not an object */
    static const char *const bad[] = {
        "", "[]", "{", "{\"stream\":1}", "{\"seq\":-1}", "{\"seq\":1.5}", "{\"seq\":\"1\"}",
        "{\"seq\":1,\"stream\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        why = NULL;
        assert_int_equal(dw_msg_alert_parse(bad[i], strlen(bad[i]), &a, &why), -EBADMSG);
        assert_non_null(why);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_alert_write),
    cmocka_unit_test(test_alert_round_trip),
    cmocka_unit_test(test_alert_parse_old_form),
    cmocka_unit_test(test_alert_parse_lenient),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
