/* Detection config: defaults, a good file, bad values refused with
 * FILE:LINE: reason, and --print-config output that reads back the same. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "dwcmocka.h"

static void test_defaults(void **st)
{
    (void)st;
    struct dw_detect_config c;
    dw_detect_config_default(&c);
    assert_float_equal(c.t1_delta_c, 0.5, 0);
    assert_float_equal(c.t2_delta_c, 1.0, 0);
    assert_float_equal(c.f1_r, 1.30, 0);
    assert_float_equal(c.f1_q, 1.20, 0);
    assert_int_equal(c.baseline_window_us, 72ULL * 3600 * 1000000);
    assert_int_equal(c.t1_sustain_us, 30ULL * 60 * 1000000);
    assert_int_equal(c.d1_sustain_us, 2ULL * 3600 * 1000000);
    assert_int_equal(c.learning_feeds, 3);
    assert_float_equal(c.g2_fever_c, 38.0, 0);
    assert_float_equal(c.g3_high_fever_c, 38.5, 0);
    assert_float_equal(c.p1_kpa, 4.0, 0);
    assert_int_equal(c.episode_close_us, 12ULL * 3600 * 1000000);
}

static void test_good_file(void **st)
{
    (void)st;
    struct dw_detect_config c;
    char err[256];
    dw_detect_config_default(&c);
    const char *ini = "; comment\n[T1]\ndelta_c = 0.6\nsustain = 45m\n\n[learning]\nfeeds = 5\n"
                      "[baseline]\nwindow = 2d\n";
    assert_int_equal(dw_detect_config_load_string(&c, ini, "x.conf", err, sizeof(err)), 0);
    assert_float_equal(c.t1_delta_c, 0.6, 0);
    assert_int_equal(c.t1_sustain_us, 45ULL * 60 * 1000000);
    assert_int_equal(c.learning_feeds, 5);
    assert_int_equal(c.baseline_window_us, 48ULL * 3600 * 1000000);
    assert_float_equal(c.t2_delta_c, 1.0, 0); /* untouched */
}

static void expect_error(const char *ini, const char *want)
{
    struct dw_detect_config c, before;
    char err[256] = "";
    dw_detect_config_default(&c);
    before = c;
    assert_int_equal(dw_detect_config_load_string(&c, ini, "my.conf", err, sizeof(err)), -EINVAL);
    if (!strstr(err, want))
        fprintf(stderr, "got '%s', want '%s'\n", err, want);
    assert_non_null(strstr(err, want));
    assert_memory_equal(&c, &before, sizeof(c)); /* nothing applied */
}

static void test_bad_values(void **st)
{
    (void)st;
    expect_error("[T1]\n\ndelta_c = warm\n", "my.conf:3: [T1] delta_c: 'warm' is not a number");
    expect_error("[T1]\ndelta_c = -1\n", "my.conf:2:");
    expect_error("[F1]\nsustain = 10 minutes\n", "my.conf:2: [F1] sustain: '10 minutes' is not a duration");
    expect_error("[learning]\nfeeds = 2.5\n", "my.conf:2: [learning] feeds");
    /* found by fuzz_config: 200 us was printed as '0ms', which did not load back */
    expect_error("[gating]\nsettle= .20ms\n",
                 "my.conf:2: [gating] settle: '.20ms' is finer than a millisecond");
    expect_error("[T1]\nnonsense = 1\n", "my.conf:2: unknown key 'nonsense' in section [T1]");
    expect_error("[T9]\ndelta_c = 1\n", "my.conf:2: unknown key 'delta_c' in section [T9]");
    expect_error("[T1]\ndelta_c 0.5\n", "my.conf:2: syntax error");
    expect_error("[T1]\ndelta_c = 0.5\n[T2]\ndelta_c = 0.2\n", "my.conf: [T2] delta_c must be at least [T1] delta_c");
}

static void test_missing_file(void **st)
{
    (void)st;
    struct dw_detect_config c;
    char err[256];
    dw_detect_config_default(&c);
    assert_int_equal(dw_detect_config_load(&c, "/nonexistent/x.conf", err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/x.conf: "));
    /* A directory opens, but is no config: refused, not read as empty. */
    assert_int_equal(dw_detect_config_load(&c, "/", err, sizeof(err)), -EISDIR);
    assert_non_null(strstr(err, "/: Is a directory"));
}

static void test_print_roundtrip(void **st)
{
    (void)st;
    struct dw_detect_config c, d;
    char *buf = NULL, *buf2 = NULL, err[256];
    size_t len = 0, len2 = 0;
    dw_detect_config_default(&c);
    c.t1_delta_c = 0.55;
    c.s5_window_us = 90 * 1000000ULL;
    FILE *f = open_memstream(&buf, &len);
    dw_detect_config_print(&c, f);
    fclose(f);
    dw_detect_config_default(&d);
    assert_int_equal(dw_detect_config_load_string(&d, buf, "printed", err, sizeof(err)), 0);
    assert_memory_equal(&c, &d, sizeof(c));
    f = open_memstream(&buf2, &len2);
    dw_detect_config_print(&d, f);
    fclose(f);
    assert_string_equal(buf, buf2);
    free(buf);
    free(buf2);
}

/* The shipped ductwatch.conf sets exactly the built-in defaults. */
static void test_shipped_file(void **st)
{
    (void)st;
    struct dw_detect_config c, d;
    char err[256];
    dw_detect_config_default(&c);
    dw_detect_config_default(&d);
    memset(&c, 0x55, sizeof(c));
    dw_detect_config_default(&c);
    if (dw_detect_config_load(&c, SHIPPED_CONF, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    assert_memory_equal(&c, &d, sizeof(c));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_print_roundtrip),
        cmocka_unit_test(test_shipped_file),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
