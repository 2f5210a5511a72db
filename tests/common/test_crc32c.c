/* CRC-32C: the check value, known vectors, and the incremental form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "crc32c.h"
#include "dwcmocka.h"

/* Bitwise reference, as docs/protocol.md §2.3 gives it. */
static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

static void test_check_value(void **state)
{
    (void)state;
    assert_int_equal(dw_crc32c("123456789", 9), 0xE3069283u);
    assert_int_equal(dw_crc32c("", 0), 0);
    /* RFC 3720 (iSCSI) B.4 vectors. */
    uint8_t buf[32];
    memset(buf, 0, sizeof(buf));
    assert_int_equal(dw_crc32c(buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(dw_crc32c(buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(dw_crc32c(buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(dw_crc32c(buf, 32), 0x113FDB5Cu);
}

/* Every length and alignment against the bitwise form (slicing-by-8 has
 * separate paths for 8-byte blocks and the tail). */
static void test_against_bitwise(void **state)
{
    uint8_t buf[300];
    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof(buf); n += 1 + n / 16)
            assert_int_equal(dw_crc32c(buf + off, n), crc_bitwise(buf + off, n));
}

static void test_incremental(void **state)
{
    uint8_t buf[200];
    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i ^ 0x5a);
    uint32_t whole = dw_crc32c(buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut++) {
        uint32_t c = dw_crc32c_update(0, buf, cut);
        c = dw_crc32c_update(c, buf + cut, sizeof(buf) - cut);
        assert_int_equal(c, whole);
    }
    /* byte at a time */
    uint32_t c = 0;
    for (size_t i = 0; i < sizeof(buf); i++)
        c = dw_crc32c_update(c, buf + i, 1);
    assert_int_equal(c, whole);
    assert_int_equal(dw_crc32c_update(dw_crc32c_update(0, "1234", 4), "56789", 5), 0xE3069283u);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_against_bitwise),
        cmocka_unit_test(test_incremental),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
