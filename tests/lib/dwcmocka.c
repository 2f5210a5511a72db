/* See dwcmocka.h. */
#include <fnmatch.h>
#include <stdio.h>
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
