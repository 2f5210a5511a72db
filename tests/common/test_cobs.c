/* COBS: the vectors of Cheshire & Baker / Wikipedia, canonical 254-byte
 * groups, round trips and every decode error; the stream decoder's form
 * (dw_cobs_decode_block) against the input on runs of every length. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cobs.h"
#include "dwcmocka.h"

static void check_vector(const uint8_t *in, size_t in_len, const uint8_t *enc, size_t enc_len)
{
    uint8_t out[1024], back[1024];
    ssize_t n = dw_cobs_encode(in, in_len, out, sizeof(out));
    assert_int_equal(n, (ssize_t)enc_len);
    assert_memory_equal(out, enc, enc_len);
    assert_null(memchr(out, 0, (size_t)n));
    assert_true((size_t)n <= DW_COBS_MAX_ENCODED(in_len));
    n = dw_cobs_decode(enc, enc_len, back, sizeof(back));
    assert_int_equal(n, (ssize_t)in_len);
    if (in_len)
        assert_memory_equal(back, in, in_len);
}

#define V(in, enc) do { \
    static const uint8_t i_[] = in, e_[] = enc; \
    check_vector(i_, sizeof(i_), e_, sizeof(e_)); } while (0)
#define L(...) { __VA_ARGS__ }

static void test_short_vectors(void **state)
{
    uint8_t out[4];
    (void)state;
    /* The empty input. */
    assert_int_equal(dw_cobs_encode(NULL, 0, out, sizeof(out)), 1);
    assert_int_equal(out[0], 0x01);
    assert_int_equal(dw_cobs_decode(out, 1, out, sizeof(out)), 0);

    V(L(0x00), L(0x01, 0x01));
    V(L(0x00, 0x00), L(0x01, 0x01, 0x01));
    V(L(0x00, 0x11, 0x00), L(0x01, 0x02, 0x11, 0x01));
    V(L(0x11, 0x22, 0x00, 0x33), L(0x03, 0x11, 0x22, 0x02, 0x33));
    V(L(0x11, 0x22, 0x33, 0x44), L(0x05, 0x11, 0x22, 0x33, 0x44));
    V(L(0x11, 0x00, 0x00, 0x00), L(0x02, 0x11, 0x01, 0x01, 0x01));
}

/* The long vectors: 254- and 255-byte inputs around the 0xFF group. */
static void test_long_vectors(void **state)
{
    uint8_t in[300], enc[300];
    size_t i;
    (void)state;

    /* 01..FE (254 bytes) -> FF 01..FE: no trailing empty group. */
    for (i = 0; i < 254; i++)
        in[i] = (uint8_t)(i + 1);
    enc[0] = 0xff;
    memcpy(enc + 1, in, 254);
    check_vector(in, 254, enc, 255);

    /* 00 01..FE (255 bytes) -> 01 FF 01..FE */
    in[0] = 0;
    for (i = 1; i < 255; i++)
        in[i] = (uint8_t)i;
    enc[0] = 0x01;
    enc[1] = 0xff;
    memcpy(enc + 2, in + 1, 254);
    check_vector(in, 255, enc, 256);

    /* 01..FF (255 bytes) -> FF 01..FE 02 FF */
    for (i = 0; i < 255; i++)
        in[i] = (uint8_t)(i + 1);
    enc[0] = 0xff;
    memcpy(enc + 1, in, 254);
    enc[255] = 0x02;
    enc[256] = 0xff;
    check_vector(in, 255, enc, 257);

    /* 02..FF 00 (255 bytes) -> FF 02..FF 01 01: a zero right after a full
     * group needs its own group. */
    for (i = 0; i < 254; i++)
        in[i] = (uint8_t)(i + 2);
    in[254] = 0;
    enc[0] = 0xff;
    memcpy(enc + 1, in, 254);
    enc[255] = 0x01;
    enc[256] = 0x01;
    check_vector(in, 255, enc, 257);

    /* 03..FF 00 01 (255 bytes) -> FE 03..FF 02 01 */
    for (i = 0; i < 253; i++)
        in[i] = (uint8_t)(i + 3);
    in[253] = 0;
    in[254] = 1;
    enc[0] = 0xfe;
    memcpy(enc + 1, in, 253);
    enc[254] = 0x02;
    enc[255] = 0x01;
    check_vector(in, 255, enc, 256);
}

/* Runs of non-zero bytes of every length around 254 and 508, alone and
 * followed by a zero: round trip, no 0x00 out, size within the bound. */
static void test_runs(void **state)
{
    uint8_t in[1100], enc[1200], back[1100];
    (void)state;
    for (size_t len = 0; len <= 1030; len++) {
        for (int tail = 0; tail < 2; tail++) {
            size_t n = len + (size_t)tail;
            for (size_t i = 0; i < len; i++)
                in[i] = (uint8_t)(1 + i % 255);
            if (tail)
                in[len] = 0;
            ssize_t e = dw_cobs_encode(in, n, enc, sizeof(enc));
            assert_true(e > 0);
            assert_true((size_t)e <= DW_COBS_MAX_ENCODED(n));
            assert_null(memchr(enc, 0, (size_t)e));
            /* canonical: exactly one code byte per 254-byte run, plus one. */
            if (!tail && len % 254 == 0 && len)
                assert_int_equal(e, (ssize_t)(len + len / 254));
            ssize_t d = dw_cobs_decode(enc, (size_t)e, back, sizeof(back));
            assert_int_equal(d, (ssize_t)n);
            assert_memory_equal(back, in, n);
        }
    }
}

static void test_in_place_decode(void **state)
{
    uint8_t in[600], buf[700];
    (void)state;
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 7 % 5 ? i : 0);
    ssize_t e = dw_cobs_encode(in, sizeof(in), buf, sizeof(buf));
    assert_true(e > 0);
    ssize_t d = dw_cobs_decode(buf, (size_t)e, buf, (size_t)e);
    assert_int_equal(d, (ssize_t)sizeof(in));
    assert_memory_equal(buf, in, sizeof(in));
}

static void test_decode_errors(void **state)
{
    uint8_t out[16];
    (void)state;
    /* A zero code. */
    static const uint8_t zero_code[] = { 0x00 };
    assert_int_equal(dw_cobs_decode(zero_code, 1, out, sizeof(out)), -EBADMSG);
    /* A zero inside a group. */
    static const uint8_t zero_inside[] = { 0x03, 0x11, 0x00 };
    assert_int_equal(dw_cobs_decode(zero_inside, 3, out, sizeof(out)), -EBADMSG);
    /* A zero where the next code would be. */
    static const uint8_t zero_next[] = { 0x02, 0x11, 0x00, 0x01 };
    assert_int_equal(dw_cobs_decode(zero_next, 4, out, sizeof(out)), -EBADMSG);
    /* A code that runs past the end. */
    static const uint8_t past_end[] = { 0x05, 0x11, 0x22 };
    assert_int_equal(dw_cobs_decode(past_end, 3, out, sizeof(out)), -EBADMSG);
    static const uint8_t past_end2[] = { 0x02, 0x11, 0x03, 0x22 };
    assert_int_equal(dw_cobs_decode(past_end2, 4, out, sizeof(out)), -EBADMSG);
    /* Output too small. */
    static const uint8_t ok[] = { 0x05, 0x11, 0x22, 0x33, 0x44 };
    assert_int_equal(dw_cobs_decode(ok, 5, out, 3), -ENOBUFS);
    /* Encoder: output too small, for every capacity short of the need. */
    static const uint8_t raw[] = { 0x11, 0x00, 0x22, 0x33 };
    for (size_t cap = 0; cap < 5; cap++)
        assert_int_equal(dw_cobs_encode(raw, sizeof(raw), out, cap), -ENOBUFS);
    assert_int_equal(dw_cobs_encode(raw, sizeof(raw), out, 5), 5);
}

/* The stream decoder's form, dw_cobs_decode_block: inputs with runs of
 * zeros of every length 0..40 (eight codes of 1 at a time) and non-zero
 * runs of every length 0..300 (pieces of 16), each at the start, in the
 * middle and at the end; the encoded block in a buffer of its exact size
 * (nothing to read after it) and with bytes after it. Same length and
 * bytes as the input. */
static void check_block(const uint8_t *in, size_t n)
{
    uint8_t enc[700], out[700 + DW_COBS_SLACK];
    ssize_t e = dw_cobs_encode(in, n, enc, sizeof(enc));
    assert_true(e > 0);
    uint8_t *exact = malloc((size_t)e);
    assert_non_null(exact);
    memcpy(exact, enc, (size_t)e);
    for (int slack = 0; slack < 2; slack++) {
        const uint8_t *src = slack ? enc : exact;
        memset(out, 0xee, sizeof(out));
        ssize_t d = dw_cobs_decode_block(src, (size_t)e, slack ? sizeof(enc) : (size_t)e, out);
        assert_int_equal(d, (ssize_t)n);
        assert_memory_equal(out, in, n);
    }
    free(exact);
}

static void test_decode_block(void **state)
{
    uint8_t in[400];
    (void)state;
    for (size_t zeros = 0; zeros <= 40; zeros++) {
        for (size_t where = 0; where < 3; where++) {
            size_t n = 0, before = where == 0 ? 0 : where == 1 ? 5 : 30;
            for (size_t i = 0; i < before; i++)
                in[n++] = (uint8_t)(1 + i);
            memset(in + n, 0, zeros);
            n += zeros;
            for (size_t i = 0; where < 2 && i < 7; i++)
                in[n++] = (uint8_t)(0x80 + i);
            check_block(in, n);
        }
    }
    for (size_t run = 0; run <= 300; run++) {
        for (size_t where = 0; where < 3; where++) {
            size_t n = 0;
            if (where)
                in[n++] = 0;
            for (size_t i = 0; i < run; i++)
                in[n++] = (uint8_t)(1 + i % 255);
            if (where == 1)
                in[n++] = 0, in[n++] = 9;
            check_block(in, n);
        }
    }
    /* errors: a code that runs past the end, at the end of what can be read */
    static const uint8_t past_end[] = { 0x05, 0x11, 0x22 }, past_end2[] = { 0x02, 0x11, 0x03, 0x22 };
    uint8_t out[32];
    assert_int_equal(dw_cobs_decode_block(past_end, 3, 3, out), -EBADMSG);
    assert_int_equal(dw_cobs_decode_block(past_end2, 4, 4, out), -EBADMSG);
    static const uint8_t ones[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 9 };
    assert_int_equal(dw_cobs_decode_block(ones, 10, 10, out), -EBADMSG);
    assert_int_equal(dw_cobs_decode_block(ones, 9, 9, out), 8);
    assert_int_equal(dw_cobs_decode_block(ones, 8, 8, out), 7);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_vectors),
        cmocka_unit_test(test_long_vectors),
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_in_place_decode),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_decode_block),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
