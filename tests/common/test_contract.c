/* contract.c: the stdout lines one program writes and another reads. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contract.h"
#include "dwcmocka.h"

static void test_line_value(void **state)
{
    (void)state;
    assert_string_equal(dw_line_value("pub: ipc:///run/x", DW_LINE_PUB), "ipc:///run/x");
    assert_string_equal(dw_line_value("file: ", DW_LINE_FILE), "");
    assert_null(dw_line_value("pub:x", DW_LINE_PUB));
    assert_null(dw_line_value("events: x", DW_LINE_PUB));
    assert_null(dw_line_value("", DW_LINE_PTY));
}

/* What the recorder prints is what `ductwatch run` reads back. */
static void test_lost_round_trip(void **state)
{
    char buf[256], dev[17];
    uint64_t n = 0;
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    (void)state;
    assert_non_null(f);
    dw_line_print_lost(f, 3, "bra-0042", 22);
    fclose(f);
    assert_string_equal(buf, "lost: 3 garment frame(s) of bra-0042 while acquire restarted "
                             "(device seq 22 to 24)\n");
    assert_int_equal(dw_line_parse_lost(buf, &n, dev, sizeof(dev)), 0);
    assert_int_equal(n, 3);
    assert_string_equal(dev, "bra-0042");
    /* a device id longer than the buffer is cut, not overrun */
    assert_int_equal(dw_line_parse_lost(buf, &n, dev, 4), 0);
    assert_string_equal(dev, "bra");
    static const char *const bad[] = {
        "lost:", "lost: x garment frame(s) of d while", "lost: 3 frames of d while",
        "lost: 3 garment frame(s) of ", "lost: 3 garment frame(s) of d", "file: 3",
        "lost: -3 garment frame(s) of d while",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_int_equal(dw_line_parse_lost(bad[i], &n, dev, sizeof(dev)), -EINVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_line_value),
    cmocka_unit_test(test_lost_round_trip),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
