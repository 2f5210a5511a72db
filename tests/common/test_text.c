/* Text from outside: device ids, UTF-8 checks and repair, and the
 * terminal-safe copy (common/device_id.c, utf8.c, termsafe.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "device_id.h"
#include "dwcmocka.h"
#include "termsafe.h"
#include "utf8.h"

#define S(x) x, sizeof(x) - 1

static void device_ids(void **state)
{
    (void)state;
    assert_true(dw_device_id_valid(S("DW-0001")));
    assert_true(dw_device_id_valid(S("0123456789abcdef")));
    assert_true(dw_device_id_valid(S("..")));          /* a name prefix, not a path */
    assert_false(dw_device_id_valid(S("0123456789abcdefX")));
    assert_false(dw_device_id_valid(S("")));
    assert_false(dw_device_id_valid(S("../../../PWNED")));
    assert_false(dw_device_id_valid(S("a b")));
    assert_false(dw_device_id_valid(S("a\x1b")));
    assert_false(dw_device_id_valid(S("caf\xc3\xa9")));
    assert_false(dw_device_id_valid(NULL, 3));
}

static void utf8_sequences(void **state)
{
    uint32_t cp = 0;
    (void)state;
    assert_int_equal(dw_utf8_next(S("A"), &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(dw_utf8_next(S("\xc3\xa9"), &cp), 2);
    assert_int_equal(cp, 0xe9);
    assert_int_equal(dw_utf8_next(S("\xe2\x82\xac"), &cp), 3);
    assert_int_equal(cp, 0x20ac);
    assert_int_equal(dw_utf8_next(S("\xf0\x9f\x98\x80"), &cp), 4);
    assert_int_equal(cp, 0x1f600);
    assert_int_equal(dw_utf8_next(S("\xf4\x8f\xbf\xbf"), &cp), 4);   /* U+10FFFF */
    /* the bytes of issue 21: none is a valid sequence */
    assert_int_equal(dw_utf8_next(S("\xff"), &cp), 0);
    assert_int_equal(dw_utf8_next(S("\xfe"), &cp), 0);
    assert_int_equal(dw_utf8_next(S("\x80"), &cp), 0);             /* lone continuation */
    assert_int_equal(dw_utf8_next(S("\xc0\xaf"), &cp), 0);         /* overlong '/' */
    assert_int_equal(dw_utf8_next(S("\xe0\x80\xaf"), &cp), 0);     /* overlong, 3 bytes */
    assert_int_equal(dw_utf8_next(S("\xed\xa0\x80"), &cp), 0);     /* surrogate D800 */
    assert_int_equal(dw_utf8_next(S("\xf4\x90\x80\x80"), &cp), 0); /* above U+10FFFF */
    assert_int_equal(dw_utf8_next(S("\xe2\x82"), &cp), 0);         /* cut short */
    assert_int_equal(dw_utf8_next("", 0, &cp), 0);
}

static void utf8_valid_and_repair(void **state)
{
    char out[64];
    (void)state;
    assert_true(dw_utf8_valid(S("feeding \xc3\xa0 gauche \xe2\x9c\x93")));
    assert_true(dw_utf8_valid("", 0));
    assert_false(dw_utf8_valid(S("ok\xff")));
    assert_false(dw_utf8_valid("a\0b", 3));
    assert_int_equal(dw_utf8_repair(S("a\xff\xfe b\x80 \xc0\xaf \xed\xa0\x80"), out, sizeof(out)),
                     8);
    assert_string_equal(out, "a\xef\xbf\xbd\xef\xbf\xbd b\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_true(dw_utf8_valid(out, strlen(out)));
    /* cut at a character boundary, never inside one */
    assert_int_equal(dw_utf8_repair(S("ab\xc3\xa9"), out, 4), 0);
    assert_string_equal(out, "ab");
    assert_int_equal(dw_utf8_repair(S("\xff"), out, 3), 0);
    assert_string_equal(out, "");
}

static void terminal_safe(void **state)
{
    char out[128];
    (void)state;
    assert_int_equal(dw_term_safe(S("plain caf\xc3\xa9"), out, sizeof(out)), 11);
    assert_string_equal(out, "plain caf\xc3\xa9");
    dw_term_safe(S("\x1b]0;TITLE\x07\x1b[2J\xc2\x9b" "2J\x7f\xff" "end\n"), out, sizeof(out));
    assert_string_equal(out, "\\x1b]0;TITLE\\x07\\x1b[2J\\u009b2J\\x7f\\xffend\\x0a");
    dw_term_safe("a\0b", 3, out, sizeof(out));
    assert_string_equal(out, "a\\x00b");
    /* an escape is never cut in half */
    dw_term_safe(S("ab\x1b"), out, 5);
    assert_string_equal(out, "ab");
    dw_term_safe_json(S("{\"m\":\"\x1b[2J\xc2\x9b\x7f\xff\"}"), out, sizeof(out));
    assert_string_equal(out, "{\"m\":\"\\u001b[2J\\u009b\\u007f\\ufffd\"}");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(device_ids),
        cmocka_unit_test(utf8_sequences),
        cmocka_unit_test(utf8_valid_and_repair),
        cmocka_unit_test(terminal_safe),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
