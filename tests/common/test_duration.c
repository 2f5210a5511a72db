/* duration.c: durations given by people, and printed for them. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "duration.h"
#include "dwcmocka.h"

static uint64_t dur(const char *s)
{
    uint64_t us = 12345;
    assert_int_equal(dw_duration_parse_us(s, &us), 0);
    return us;
}

static void dur_bad(const char *s)
{
    uint64_t us = 12345;
    assert_int_equal(dw_duration_parse_us(s, &us), -EINVAL);
    assert_int_equal(us, 12345); /* untouched */
}

static void test_duration(void **state)
{
    (void)state;
    assert_int_equal(dur("90"), 90000000ull);
    assert_int_equal(dur("90s"), 90000000ull);
    assert_int_equal(dur("250ms"), 250000ull);
    assert_int_equal(dur("15m"), 900000000ull);
    assert_int_equal(dur("72h"), 259200000000ull);
    assert_int_equal(dur("1.5d"), 129600000000ull);
    assert_int_equal(dur("0"), 0);
    assert_int_equal(dur("0.5s"), 500000ull);
    assert_int_equal(dur("1e3ms"), 1000000ull);
    /* 10^19 us fits a u64 (< 1.8e19): must come back exactly, not wrapped */
    assert_true(dur("1e13") == 10000000000000000000ull);
    assert_true(dur("115740740d") == 115740740ull * 86400000000ull);
    dur_bad(NULL);
    dur_bad("");
    dur_bad("-1");
    dur_bad("+1");
    dur_bad(" 1");
    dur_bad("1 ");
    dur_bad("5x");
    dur_bad("5 s");
    dur_bad("5S");
    dur_bad("5sec");
    dur_bad("h");
    dur_bad("1e400");
    dur_bad("1e20");
    dur_bad("1e13h");
    dur_bad("inf");
    dur_bad("nan");
    dur_bad("-0");
}

/* Compound durations, as `ductwatch run --duration 1h30m` takes them. */
static void test_duration_compound(void **state)
{
    (void)state;
    assert_int_equal(dur("1h30m"), 5400000000ull);
    assert_int_equal(dur("1d12h"), 129600000000ull);
    assert_int_equal(dur("2m30s"), 150000000ull);
    assert_int_equal(dur("1h0m5s"), 3605000000ull);
    assert_int_equal(dur("1d1h1m1s1ms"), 90061001000ull);
    assert_int_equal(dur("1.5h30m"), 7200000000ull);
    assert_int_equal(dur("1s500ms"), 1500000ull);
    dur_bad("1h30");      /* a bare number only alone: 30 what? */
    dur_bad("30m1h");     /* largest unit first */
    dur_bad("1h1h");      /* each unit once */
    dur_bad("1ms1s");
    dur_bad("1h 30m");
    dur_bad("1h-30m");
    dur_bad("1h+30m");
    dur_bad("1hm");
    dur_bad("1h30x");
    dur_bad("1hinf");
    dur_bad("1h.m");
    dur_bad("100000000d100000000d");
}

static void test_duration_format(void **state)
{
    char buf[32];
    (void)state;
    dw_duration_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "00:00:00");
    dw_duration_format(3723000000ull, buf, sizeof(buf));
    assert_string_equal(buf, "01:02:03");
    dw_duration_format(((3 * 24 + 4) * 3600 + 5 * 60 + 6) * 1000000ull, buf, sizeof(buf));
    assert_string_equal(buf, "3d 04:05:06");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_duration),
    cmocka_unit_test(test_duration_compound),
    cmocka_unit_test(test_duration_format),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
