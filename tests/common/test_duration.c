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

struct dur_case {
    const char *text;
    uint64_t us;
};

/* Each text parses to its microseconds; each bad one is refused and leaves
 * the result untouched. */
static void check_durations(const struct dur_case *good, size_t n_good,
                            const char *const *bad, size_t n_bad)
{
    for (size_t i = 0; i < n_good; i++) {
        uint64_t us = 12345;
        if (dw_duration_parse_us(good[i].text, &us) != 0 || us != good[i].us)
            fail_msg("'%s': %llu, want %llu", good[i].text, (unsigned long long)us,
                     (unsigned long long)good[i].us);
    }
    for (size_t i = 0; i < n_bad; i++) {
        uint64_t us = 12345;
        if (dw_duration_parse_us(bad[i], &us) != -EINVAL || us != 12345)
            fail_msg("'%s' not refused, or the result touched (%llu)",
                     bad[i] ? bad[i] : "(null)", (unsigned long long)us);
    }
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void test_duration(void **state)
{
    static const struct dur_case good[] = {
        { "90", 90000000ull }, { "90s", 90000000ull }, { "250ms", 250000ull },
        { "15m", 900000000ull }, { "72h", 259200000000ull }, { "1.5d", 129600000000ull },
        { "0", 0 }, { "0.5s", 500000ull }, { "1e3ms", 1000000ull },
        /* 10^19 us fits a u64 (< 1.8e19): must come back exactly, not wrapped */
        { "1e13", 10000000000000000000ull },
        { "115740740d", 115740740ull * 86400000000ull },
    };
    static const char *const bad[] = {
        NULL, "", "-1", "+1", " 1", "1 ", "5x", "5 s", "5S", "5sec", "h", "1e400", "1e20",
        "1e13h", "inf", "nan", "-0",
    };
    (void)state;
    check_durations(good, N_OF(good), bad, N_OF(bad));
}

/* Compound durations, as `ductwatch run --duration 1h30m` takes them. */
static void test_duration_compound(void **state)
{
    static const struct dur_case good[] = {
        { "1h30m", 5400000000ull }, { "1d12h", 129600000000ull }, { "2m30s", 150000000ull },
        { "1h0m5s", 3605000000ull }, { "1d1h1m1s1ms", 90061001000ull },
        { "1.5h30m", 7200000000ull }, { "1s500ms", 1500000ull },
    };
    static const char *const bad[] = {
        "1h30",      /* a bare number only alone: 30 what? */
        "30m1h",     /* largest unit first */
        "1h1h",      /* each unit once */
        "1ms1s", "1h 30m", "1h-30m", "1h+30m", "1hm", "1h30x", "1hinf", "1h.m",
        "100000000d100000000d",
    };
    (void)state;
    check_durations(good, N_OF(good), bad, N_OF(bad));
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
