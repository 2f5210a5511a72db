/* See dwcmocka.h. */
#define _XOPEN_SOURCE 700
#include <fnmatch.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwcmocka.h"

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [PATTERN | --list]\n"
            "  PATTERN   run only the tests whose name matches (* and ?)\n"
            "  --list    print the test names\n", argv0);
}

int dw_cmocka_main(const char *group, const struct CMUnitTest *tests, size_t n,
                   CMFixtureFunction setup, CMFixtureFunction teardown, int argc, char **argv)
{
    size_t matched = 0;
    if (argc > 2 || (argc == 2 && argv[1][0] == '-' && strcmp(argv[1], "--list"))) {
        usage(argv[0]);
        return 2;
    }
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    if (argc == 2) {
        for (size_t i = 0; i < n; i++)
            matched += fnmatch(argv[1], tests[i].name, 0) == 0;
        if (!matched) {
            fprintf(stderr, "%s: no test matches '%s' (--list names them)\n", argv[0], argv[1]);
            return 2;
        }
        cmocka_set_test_filter(argv[1]);
    }
    return _cmocka_run_group_tests(group, tests, n, setup, teardown);
}

int dw_test_mkdtemp(char *dir, size_t cap, const char *prefix)
{
    int n = snprintf(dir, cap, "/tmp/%s-XXXXXX", prefix);
    if (n < 0 || (size_t)n >= cap || !mkdtemp(dir))
        return -1;
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int dw_test_rmtree(const char *dir)
{
    /* depth first, never following a symlink out of the tree */
    return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
