/* parse_num.c: strict number parsers for options and config values. */
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
#include "parse_num.h"

static void test_parse_numbers(void **state)
{
    double d;
    uint64_t u;
    (void)state;
    assert_int_equal(dw_parse_double("2.5", 0, 10, &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(dw_parse_double("-1", -5, 5, &d), 0);
    assert_int_equal(dw_parse_double("11", 0, 10, &d), -EINVAL);
    assert_int_equal(dw_parse_double("", 0, 10, &d), -EINVAL);
    assert_int_equal(dw_parse_double("1x", 0, 10, &d), -EINVAL);
    assert_int_equal(dw_parse_double("nan", -1e9, 1e9, &d), -EINVAL);
    assert_int_equal(dw_parse_double("1e400", -INFINITY, INFINITY, &d), -EINVAL);
    assert_int_equal(dw_parse_u64("42", 0, 100, &u), 0);
    assert_int_equal(u, 42);
    assert_int_equal(dw_parse_u64("18446744073709551615", 0, UINT64_MAX, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(dw_parse_u64("18446744073709551616", 0, UINT64_MAX, &u), -EINVAL);
    assert_int_equal(dw_parse_u64("-1", 0, UINT64_MAX, &u), -EINVAL);
    assert_int_equal(dw_parse_u64("101", 0, 100, &u), -EINVAL);
    /* Decimal only: "010" is ten, not eight; "0x10" is refused. */
    assert_int_equal(dw_parse_u64("010", 0, 100, &u), 0);
    assert_int_equal(u, 10);
    assert_int_equal(dw_parse_u64("0x10", 0, 100, &u), -EINVAL);
    assert_int_equal(dw_parse_u64("0", 1, 100, &u), -EINVAL);
    assert_int_equal(dw_parse_u64("", 0, 100, &u), -EINVAL);
    assert_int_equal(dw_parse_u64("5x", 0, 100, &u), -EINVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_numbers),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
