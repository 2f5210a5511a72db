/* The JSON that detect (alerts) and acquire (events) now write without a
 * cJSON tree must be the bytes cJSON_PrintUnformatted gives for the same
 * object: numbers of every kind, every byte in strings, whole events. And
 * events read back without a tree must give what cJSON gives, for the
 * canonical bytes and for damaged ones. */
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dwcmocka.h"
#include "jsonw.h"
#include "msg.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void check_number(double d)
{
    char mine[64], ref[64];
    cJSON *n = cJSON_CreateNumber(d);
    assert_non_null(n);
    assert_true(cJSON_PrintPreallocated(n, ref, sizeof(ref), 0));
    cJSON_Delete(n);
    size_t len = dw_json_format_number(d, mine, sizeof(mine));
    if (strcmp(mine, ref))
        fail_msg("%.17g: jsonw '%s', cJSON '%s'", d, mine, ref);
    assert_int_equal(len, strlen(ref));
}

static void test_numbers(void **st)
{
    (void)st;
    static const double edge[] = {
        0.0, -0.0, 1, -1, 0.1, 38.6, 36.8, 38.5, 1e15 - 1, 1e15, -(1e15 - 1), -1e15,
        2147483647.0, 2147483648.0, -2147483648.0, -2147483649.0, 4294967296.0,
        9007199254740992.0, 9007199254740993.0, 18446744073709551615.0,
        1796164289738981000.0, 114478691648.0, 1e300, -1e-300, DBL_MIN, DBL_MAX,
        DBL_EPSILON, 0.5, 1.5, 2.5, 123456.789, 1.1270637512207031,
    };
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
        check_number(edge[i]);
    check_number(NAN);
    check_number(INFINITY);
    check_number(-INFINITY);
    for (int i = 0; i < 200000; i++) {
        uint64_t r = next();
        double d;
        switch (i % 5) {
        case 0: /* any bit pattern */
            memcpy(&d, &r, sizeof(d));
            break;
        case 1: /* integers of every size */
            d = (double)(r >> (r % 64));
            break;
        case 2: /* negative integers */
            d = -(double)(r >> (r % 64));
            break;
        case 3: /* sensor-like decimals */
            d = (double)(int64_t)(r % 2000001 - 1000000) / 1000.0;
            break;
        default: /* floats widened, as detector values are */
            d = (double)(float)((double)(r % 100000) / 997.0);
        }
        check_number(d);
    }
}

/* Every byte value in a key and a string value. */
static void test_strings(void **st)
{
    (void)st;
    char s[300], buf[4096];
    for (int round = 0; round < 2000; round++) {
        size_t n = 0;
        if (round < 255) {
            s[n++] = 'a';
            s[n++] = (char)(round + 1);
            s[n++] = 'z';
        } else {
            size_t len = next() % 200;
            while (n < len) {
                char c = (char)(next() % 256);
                if (c)
                    s[n++] = c;
            }
        }
        s[n] = 0;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, s, s);
        cJSON_AddStringToObject(o, "empty", "");
        char *ref = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        struct dw_jsonw w;
        dw_jsonw_init(&w, buf, sizeof(buf));
        dw_jsonw_begin(&w);
        dw_jsonw_str(&w, s, s);
        dw_jsonw_str(&w, "empty", "");
        dw_jsonw_end(&w);
        assert_non_null(ref);
        assert_non_null(dw_jsonw_text(&w, NULL));
        assert_string_equal(dw_jsonw_text(&w, NULL), ref);
        free(ref);
    }
}

static void test_overflow(void **st)
{
    (void)st;
    char buf[16];
    struct dw_jsonw w;
    dw_jsonw_init(&w, buf, sizeof(buf));
    dw_jsonw_begin(&w);
    dw_jsonw_str(&w, "message", "longer than sixteen bytes");
    dw_jsonw_end(&w);
    assert_null(dw_jsonw_text(&w, NULL));
}

/* The event JSON as it was built before, through cJSON. */
static char *event_reference(const struct dw_msg_event *e)
{
    char num[24];
    cJSON *o = cJSON_CreateObject();
    snprintf(num, sizeof(num), "%llu", (unsigned long long)e->seq);
    cJSON_AddRawToObject(o, "seq", num);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)e->stream);
    cJSON_AddRawToObject(o, "stream", num);
    cJSON_AddStringToObject(o, "device", e->device);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)e->t_device_us);
    cJSON_AddRawToObject(o, "t_device_us", num);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)e->t_host_ns);
    cJSON_AddRawToObject(o, "t_host_ns", num);
    const char *k = dw_event_kind_name((unsigned)e->kind), *s = dw_side_name((unsigned)e->side);
    cJSON_AddStringToObject(o, "kind", k ? k : "unknown");
    cJSON_AddStringToObject(o, "side", s ? s : "none");
    if (e->has_value)
        cJSON_AddNumberToObject(o, "value", e->value);
    else
        cJSON_AddNullToObject(o, "value");
    if (e->kind == DW_EV_GAP) {
        snprintf(num, sizeof(num), "%llu", (unsigned long long)e->missing);
        cJSON_AddRawToObject(o, "missing", num);
    }
    cJSON_AddStringToObject(o, "source", e->source[0] ? e->source : "acquire");
    cJSON_AddStringToObject(o, "text", e->text);
    char *r = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return r;
}

static void random_text(char *buf, size_t cap)
{
    size_t n = next() % cap, i = 0;
    while (i < n) {
        char c = (char)(next() % 256);
        if (c)
            buf[i++] = c;
    }
    buf[i] = 0;
}

static void test_events(void **st)
{
    (void)st;
    for (int i = 0; i < 20000; i++) {
        struct dw_msg_event e;
        memset(&e, 0, sizeof(e));
        e.seq = next() >> (next() % 64);
        e.stream = next();
        e.t_device_us = next() >> (next() % 64);
        e.t_host_ns = next();
        e.kind = (int)(next() % 20) - 1; /* unknown kinds too */
        e.side = (int)(next() % 5) - 1;
        e.has_value = next() % 2;
        e.value = i % 3 ? (double)(int)(next() % 45000) / 1000.0 : (double)(next() % 7);
        e.missing = next() % 100000;
        random_text(e.device, sizeof(e.device));
        if (next() % 2)
            random_text(e.source, sizeof(e.source));
        random_text(e.text, sizeof(e.text));
        char *mine = dw_msg_event_to_json(&e), *ref = event_reference(&e);
        assert_non_null(mine);
        assert_non_null(ref);
        assert_string_equal(mine, ref);
        free(mine);
        free(ref);
    }
}


/* The event parse as it was, through cJSON only: the reference. */
static void check_parse(const char *json, size_t len)
{
    struct dw_msg_event a, b;
    const char *wa = "unset", *wb = "unset";
    int ra = dw_msg_event_parse(json, len, &a, &wa);
    int rb = dw_msg_event_parse_general(json, len, &b, &wb);
    if ((ra == 0) != (rb == 0) || (wa != wb && (!wa || !wb || strcmp(wa, wb))) ||
        memcmp(&a, &b, sizeof(a)))
        fail_msg("parse differs from cJSON for '%.*s'", (int)len, json);
}

/* Events as acquire writes them, and those bytes damaged: the fast path
 * takes the first, cJSON the rest; the result must not tell which. */
static void test_event_parse(void **st)
{
    (void)st;
    static const char *const fixed[] = {
        "{\"seq\":1,\"stream\":2,\"device\":\"d\",\"t_device_us\":3,\"t_host_ns\":4,"
        "\"kind\":\"thermometer\",\"side\":\"none\",\"value\":38.6,\"source\":\"garment\",\"text\":\"\"}",
        "{\"seq\":1,\"stream\":2,\"device\":\"d\",\"t_device_us\":3,\"t_host_ns\":4,"
        "\"kind\":\"thermometer\",\"side\":\"none\",\"value\":1e999,\"source\":\"g\",\"text\":\"\"}",
        "{\"seq\":1,\"stream\":2,\"device\":\"d\",\"t_device_us\":3,\"t_host_ns\":4,"
        "\"kind\":\"thermometer\",\"side\":\"none\",\"value\":-0,\"source\":\"g\",\"text\":\"\"}",
        "{\"seq\":01,\"stream\":18446744073709551615,\"device\":\"d\",\"t_device_us\":3,"
        "\"t_host_ns\":1796164289738981123,\"kind\":\"gap\",\"side\":\"left\",\"value\":null,"
        "\"missing\":5,\"source\":\"acquire\",\"text\":\"x\"}",
        "{\"seq\":1,\"stream\":2,\"device\":\"d\",\"t_device_us\":3,\"t_host_ns\":4,"
        "\"kind\":\"nosuch\",\"side\":\"none\",\"value\":null,\"source\":\"g\",\"text\":\"\"}",
        "{\"seq\":1,\"stream\":2,\"device\":\"d\",\"t_device_us\":3,\"t_host_ns\":4,"
        "\"kind\":\"thermometer\",\"side\":\"up\",\"value\":null,\"source\":\"g\",\"text\":\"\"}",
        "{\"seq\":1,\"stream\":2,\"device\":\"d\",\"t_device_us\":3,\"t_host_ns\":4,"
        "\"kind\":\"thermometer\",\"side\":\"none\",\"value\":null,\"source\":\"g\",\"text\":\"\"} ",
        "{\"seq\":99999999999999999999,\"stream\":2,\"device\":\"d\",\"t_device_us\":3,"
        "\"t_host_ns\":4,\"kind\":\"thermometer\",\"side\":\"none\",\"value\":null,\"source\":\"g\","
        "\"text\":\"\"}",
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        check_parse(fixed[i], strlen(fixed[i]));
    for (int i = 0; i < 20000; i++) {
        struct dw_msg_event e;
        memset(&e, 0, sizeof(e));
        e.seq = next() >> (next() % 64);
        e.stream = next() >> (next() % 2 ? 0 : 40);
        e.t_device_us = next() >> (next() % 64);
        e.t_host_ns = next();
        e.kind = (int)(next() % 16);
        e.side = (int)(next() % 3);
        e.has_value = next() % 2;
        e.value = i % 3 ? (double)(int)(next() % 45000) / 1000.0 : (double)(int64_t)(next() % 7) - 3;
        e.missing = next() % 100000;
        random_text(e.device, i % 4 ? 8 : sizeof(e.device));
        if (next() % 2)
            random_text(e.source, sizeof(e.source));
        random_text(e.text, i % 4 ? 4 : sizeof(e.text));
        char *js = dw_msg_event_to_json(&e);
        assert_non_null(js);
        size_t len = strlen(js);
        check_parse(js, len);
        /* damaged copies: a byte changed, dropped or cut off */
        for (int k = 0; k < 4; k++) {
            char buf[4200];
            size_t n = len, at = next() % len;
            memcpy(buf, js, len);
            switch (k) {
            case 0: buf[at] = (char)(next() % 256); break;
            case 1: memmove(buf + at, buf + at + 1, len - at - 1); n--; break;
            case 2: n = at; break;
            default: buf[at] = "0123456789-.eE\"\\ ,:}"[next() % 20];
            }
            check_parse(buf, n);
        }
        free(js);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_event_parse),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
