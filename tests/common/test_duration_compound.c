/* duration.c: compound durations ("1h30m"), as `ductwatch run --duration`
 * and every other duration option take them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include "duration.h"

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

static void test_compound(void **state)
{
    (void)state;
    assert_int_equal(dur("1h30m"), 5400000000ull);
    assert_int_equal(dur("1d12h"), 129600000000ull);
    assert_int_equal(dur("2m30s"), 150000000ull);
    assert_int_equal(dur("1h0m5s"), 3605000000ull);
    assert_int_equal(dur("1d1h1m1s1ms"), 90061001000ull);
    assert_int_equal(dur("1.5h30m"), 7200000000ull);
    assert_int_equal(dur("1s500ms"), 1500000ull);
}

static void test_compound_bad(void **state)
{
    (void)state;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compound),
        cmocka_unit_test(test_compound_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
