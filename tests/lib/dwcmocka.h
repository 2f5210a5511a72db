/* One way to run a cmocka unit for every test binary: all of it, one test
 * or a few by name, or the list of names (docs/testing.md).
 *
 *   test_x               every test
 *   test_x PATTERN       the tests whose name matches PATTERN (* and ?)
 *   test_x --list        the test names, one a line
 *
 * `meson test -C build NAME --test-args PATTERN` passes the pattern.
 * cmocka 1.1.5 has cmocka_set_test_filter() but reads no environment
 * variable for it, hence this. */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* In main(argc, argv): return dw_cmocka_run(tests, setup, teardown, argc, argv);
 * Exit status: cmocka's (0 when every selected test passed), 2 on bad usage
 * or a pattern that names no test (a typo must not pass as "0 run"). */
#define dw_cmocka_run(tests, setup, teardown, argc, argv)                                 \
    dw_cmocka_main(#tests, (tests), sizeof(tests) / sizeof((tests)[0]), (setup), (teardown), \
                   (argc), (argv))

int dw_cmocka_main(const char *group, const struct CMUnitTest *tests, size_t n,
                   CMFixtureFunction setup, CMFixtureFunction teardown, int argc, char **argv);

/* A private directory for a unit's files: /tmp/PREFIX-XXXXXX into dir.
 * 0, or -1 (too long, or mkdtemp failed). */
int dw_test_mkdtemp(char *dir, size_t cap, const char *prefix);
/* Removes dir and everything below it (symlinks not followed). 0 or -1. */
int dw_test_rmtree(const char *dir);
