/* msg_json.c: JSON bodies read with their 64-bit integers exact. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "dwcmocka.h"
#include "msg_json.h"

static int member(const char *json, const char *key, char *out, size_t cap)
{
    const char *v;
    size_t n;
    int r = dw_json_member(json, strlen(json), key, &v, &n);
    if (r == 0) {
        assert_true(n < cap);
        memcpy(out, v, n);
        out[n] = 0;
    }
    return r;
}

static void test_member(void **state)
{
    const char *j = " { \"a\" : 1 , \"s\":\"x,}\\\"{\" ,\"o\":{\"b\":[1,{\"c\":\"]\"}],\"a\":9},"
                    "\"b\":true,\"n\":null, \"e\":-1.5e+3,\"a\":2}";
    char v[64];
    (void)state;
    assert_int_equal(member(j, "a", v, sizeof(v)), 0);
    assert_string_equal(v, "1"); /* the first of two */
    assert_int_equal(member(j, "s", v, sizeof(v)), 0);
    assert_string_equal(v, "\"x,}\\\"{\"");
    assert_int_equal(member(j, "o", v, sizeof(v)), 0);
    assert_string_equal(v, "{\"b\":[1,{\"c\":\"]\"}],\"a\":9}");
    assert_int_equal(member(j, "b", v, sizeof(v)), 0); /* top level only: not o.b */
    assert_string_equal(v, "true");
    assert_int_equal(member(j, "n", v, sizeof(v)), 0);
    assert_string_equal(v, "null");
    assert_int_equal(member(j, "e", v, sizeof(v)), 0);
    assert_string_equal(v, "-1.5e+3");
    assert_int_equal(member(j, "c", v, sizeof(v)), -ENOENT);
    assert_int_equal(member(j, "", v, sizeof(v)), -ENOENT);
    assert_int_equal(member("{}", "a", v, sizeof(v)), -ENOENT);
    assert_int_equal(member("[1]", "a", v, sizeof(v)), -EBADMSG);
    assert_int_equal(member("", "a", v, sizeof(v)), -EBADMSG);
    assert_int_equal(member("{\"a\"", "a", v, sizeof(v)), -EBADMSG);
    assert_int_equal(member("{\"a\":", "a", v, sizeof(v)), -EBADMSG);
    assert_int_equal(member("{\"a\":\"open", "a", v, sizeof(v)), -EBADMSG);
    assert_int_equal(member("{\"x\":{\"a\":1", "a", v, sizeof(v)), -EBADMSG);
    /* the length given is honoured */
    assert_int_equal(dw_json_member("{\"a\":12}", 6, "a", &(const char *){ NULL },
                                    &(size_t){ 0 }), 0);
}

static int u64_of(const char *json, const char *key, uint64_t *v)
{
    struct dw_json_doc d;
    int r = dw_json_open(&d, json, strlen(json));
    if (r < 0)
        return r;
    r = dw_json_u64(&d, key, v);
    dw_json_close(&d);
    return r;
}

static void test_u64_exact(void **state)
{
    uint64_t v = 0;
    (void)state;
    /* a host time in ns is above 2^53: its double would be ...768 */
    assert_int_equal(u64_of("{\"t\":1764000000123456789}", "t", &v), 0);
    assert_true(v == 1764000000123456789ull);
    assert_int_equal(u64_of("{\"t\": 18446744073709551615 }", "t", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(u64_of("{\"t\":9007199254740993}", "t", &v), 0);
    assert_true(v == 9007199254740993ull); /* 2^53 + 1 */
    assert_int_equal(u64_of("{\"t\":0}", "t", &v), 0);
    assert_true(v == 0);
    /* exponent or fraction forms: their double value, when whole */
    assert_int_equal(u64_of("{\"t\":1.7640000001234568e+18}", "t", &v), 0);
    assert_true(v == (uint64_t)1.7640000001234568e+18);
    assert_int_equal(u64_of("{\"t\":1e3}", "t", &v), 0);
    assert_true(v == 1000);
    assert_int_equal(u64_of("{\"t\":2.0}", "t", &v), 0);
    assert_true(v == 2);
    /* refused: out of range, negative, not whole, not a number */
    assert_int_equal(u64_of("{\"t\":18446744073709551616}", "t", &v), -EBADMSG);
    assert_int_equal(u64_of("{\"t\":1e300}", "t", &v), -EBADMSG);
    assert_int_equal(u64_of("{\"t\":-1}", "t", &v), -EBADMSG);
    assert_int_equal(u64_of("{\"t\":1.5}", "t", &v), -EBADMSG);
    assert_int_equal(u64_of("{\"t\":\"1\"}", "t", &v), -EBADMSG);
    assert_int_equal(u64_of("{\"t\":null}", "t", &v), -EBADMSG);
    assert_int_equal(u64_of("{\"u\":1}", "t", &v), -ENOENT);
    /* a key written with an escape is the member cJSON finds first: its
     * value (rounded as a double), not the plain "t" after it */
    assert_int_equal(u64_of("{\"\\u0074\":5,\"t\":6}", "t", &v), 0);
    assert_true(v == 5);
    assert_int_equal(u64_of("[1]", "t", &v), -EBADMSG);
}

static void test_str_and_seq(void **state)
{
    struct dw_json_doc d;
    char buf[4] = "old";
    uint64_t seq = 1, stream = 1;
    const char *j = "{\"s\":\"abc\",\"l\":\"abcd\",\"n\":1}";
    (void)state;
    assert_int_equal(dw_json_open(&d, j, strlen(j)), 0);
    assert_int_equal(dw_json_str(&d, "none", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "old");
    assert_int_equal(dw_json_str(&d, "s", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "abc");
    assert_int_equal(dw_json_str(&d, "l", buf, sizeof(buf)), -EBADMSG);
    assert_int_equal(dw_json_str(&d, "n", buf, sizeof(buf)), -EBADMSG);
    assert_non_null(dw_json_get(&d, "n"));
    dw_json_close(&d);
    assert_int_equal(dw_json_open(&d, "42", 2), -EBADMSG);

    j = "{\"seq\":9007199254740993,\"stream\":1764000000123456789}";
    assert_int_equal(dw_msg_json_seq(j, strlen(j), &seq, &stream), 0);
    assert_true(seq == 9007199254740993ull && stream == 1764000000123456789ull);
    assert_int_equal(dw_msg_json_seq("{\"seq\":3}", 9, &seq, &stream), 0);
    assert_true(seq == 3 && stream == 0);
    assert_int_equal(dw_msg_json_seq("{\"stream\":1}", 12, &seq, &stream), -EBADMSG);
    assert_int_equal(dw_msg_json_seq("{\"seq\":1,\"stream\":-1}", 21, &seq, &stream), -EBADMSG);
    assert_int_equal(dw_msg_json_seq("nope", 4, &seq, &stream), -EBADMSG);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_member),
    cmocka_unit_test(test_u64_exact),
    cmocka_unit_test(test_str_and_seq),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
