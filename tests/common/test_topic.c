/* topic.c: building and reading "<kind>.<device>" topics. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "dwcmocka.h"
#include "frame.h"
#include "topic.h"

static void test_topic_build(void **state)
{
    char buf[DW_TOPIC_MAX], small[13];
    (void)state;
    assert_int_equal(dw_topic(buf, sizeof(buf), "frame", "DW-0001"), 13);
    assert_string_equal(buf, "frame.DW-0001");
    assert_int_equal(dw_topic(small, sizeof(small), "frame", "DW-0001"), -ENAMETOOLONG);
    assert_string_equal(dw_topic_kind_name(DW_TOPIC_ALERT), "alert");
    assert_null(dw_topic_kind_name(DW_TOPIC_N));
    assert_null(dw_topic_kind_name(-1));
}

static int parse(const char *t, size_t len, char *dev)
{
    return dw_topic_parse(t, len, dev, DW_ID_LEN + 1);
}

static void test_topic_parse(void **state)
{
    char dev[DW_ID_LEN + 1], buf[DW_TOPIC_MAX];
    static const char *const names[] = { "frame", "event", "stats", "alert" };
    (void)state;
    /* every kind, and back from what dw_topic builds */
    for (int k = 0; k < DW_TOPIC_N; k++) {
        int n = dw_topic(buf, sizeof(buf), names[k], "DW-0001");
        assert_int_equal(parse(buf, (size_t)n, dev), k);
        assert_string_equal(dev, "DW-0001");
    }
    /* the device part may hold dots: the kind ends at the first one */
    assert_int_equal(parse("alert.a.b", 9, dev), DW_TOPIC_ALERT);
    assert_string_equal(dev, "a.b");
    /* the length is honoured (ZeroMQ topics are not NUL-terminated) */
    assert_int_equal(parse("stats.DW-1xyz", 10, dev), DW_TOPIC_STATS);
    assert_string_equal(dev, "DW-1");
    /* the longest id fits, one more does not */
    assert_int_equal(parse("frame.0123456789abcdef", 22, dev), DW_TOPIC_FRAME);
    assert_string_equal(dev, "0123456789abcdef");
    assert_int_equal(parse("frame.0123456789abcdefX", 23, dev), -EBADMSG);
    /* ours but without a device, or with a NUL inside */
    assert_int_equal(parse("frame.", 6, dev), -EBADMSG);
    assert_int_equal(parse("frame.\0x", 8, dev), -EBADMSG);
    assert_int_equal(parse("frame.DW\0x", 10, dev), -EBADMSG);
    /* a device part that would climb out of the recorder's directory */
    assert_int_equal(parse("frame.../../../PWNED", 20, dev), -EBADMSG);
    assert_int_equal(parse("frame.a b", 9, dev), -EBADMSG);
    assert_int_equal(parse("event.\x7f", 7, dev), -EBADMSG);
    /* not one of the four kinds */
    assert_int_equal(parse("", 0, dev), -ENOENT);
    assert_int_equal(parse("frame", 5, dev), -ENOENT);
    assert_int_equal(parse("frames.x", 8, dev), -ENOENT);
    assert_int_equal(parse("fr\0me.DW", 8, dev), -ENOENT);
    assert_int_equal(parse("Frame.DW", 8, dev), -ENOENT);
    assert_int_equal(parse("status.DW", 9, dev), -ENOENT);
    assert_int_equal(parse("averyveryverylongkind.x", 23, dev), -ENOENT);
    /* a small device buffer is respected */
    assert_int_equal(dw_topic_parse("alert.abcd", 10, dev, 4), -EBADMSG);
    assert_int_equal(dw_topic_parse("alert.abc", 9, dev, 4), DW_TOPIC_ALERT);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_topic_build),
    cmocka_unit_test(test_topic_parse),
};

int main(int argc, char **argv)
{
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
