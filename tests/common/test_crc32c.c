/* CRC-32C: the check value, known vectors, the incremental form, and the
 * CPU instruction against the table code on every file of the fuzz corpus. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Every suffix of f's bytes through both forms; returns how many were compared. */
static size_t agree_on_file(const char *path)
{
    static uint8_t buf[1 << 16];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    for (size_t off = 0; off <= n; off++) {
        uint32_t t = dw_crc32c_update_table(0, buf + off, n - off);
        if (dw_crc32c(buf + off, n - off) != t) {
            fprintf(stderr, "%s from byte %zu: %s form %08x, table %08x\n", path, off,
                    dw_crc32c_impl(), dw_crc32c(buf + off, n - off), t);
            fail();
        }
    }
    return n + 1;
}

/* DW_FUZZ_CORPUS names tests/fuzz/corpus (meson sets it): every frame,
 * HELLO, message and config the fuzzers keep, each at every offset. */
static void test_instruction_agrees_on_corpus(void **state)
{
    (void)state;
    const char *root = getenv("DW_FUZZ_CORPUS");
    assert_non_null(root);
    size_t files = 0, runs = 0;
    static const char *const dirs[] = { "frame", "hello", "msg", "alert", "config", "web" };
    for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        char dir[4096], path[8192];
        snprintf(dir, sizeof(dir), "%s/%s", root, dirs[d]);
        DIR *dp = opendir(dir);
        assert_non_null(dp);
        for (struct dirent *e; (e = readdir(dp));) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            runs += agree_on_file(path);
            files++;
        }
        closedir(dp);
    }
    printf("# %s form against the table on %zu corpus files, %zu runs\n",
           dw_crc32c_impl(), files, runs);
    assert_true(files >= 100);
}

/* Both forms through the public entry point, switched at run time: the
 * check value and every length against the bitwise reference. */
static void test_select(void **state)
{
    (void)state;
    const char *native = dw_crc32c_impl();
    assert_int_equal(dw_crc32c_select("table"), 0);
    assert_string_equal(dw_crc32c_impl(), "table");
    test_check_value(state);
    test_against_bitwise(state);
    assert_int_equal(dw_crc32c_select("no-such-form"), -ENOTSUP);
    assert_int_equal(dw_crc32c_select(native), 0);
    assert_string_equal(dw_crc32c_impl(), native);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_against_bitwise),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_instruction_agrees_on_corpus),
        cmocka_unit_test(test_select),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
