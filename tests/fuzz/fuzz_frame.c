/* Fuzz target for the garment frame decoder: dw_decoder_feed and the payload
 * parsers, on arbitrary bytes.
 *
 * Checks, besides memory safety (run it under ASan/UBSan):
 *  - feeding the input whole, byte by byte and in uneven chunks gives the
 *    same frames and the same counters;
 *  - every byte is accounted for, and every delivered frame is a valid one
 *    (version 1, known type, length within bounds);
 *  - a payload that parses packs back to the same bytes (reserved bytes
 *    aside);
 *  - COBS of the input decodes back to the input, and every block between
 *    zeros decodes the same with the stream decoder's COBS as with the
 *    plain one;
 *  - the input itself, taken as a payload of each type (the CRC would keep
 *    random bytes away from the parsers otherwise), parses safely and a
 *    valid one packs back to the same bytes.
 *
 * Built as a libFuzzer target with -Dfuzzing=true (clang), and always as a
 * plain program (fuzz_replay.c) that replays the committed corpus in the
 * 'fuzz' test suite. */
#include <stdlib.h>
#include <string.h>
#include "cobs.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

struct seen {
    size_t n;
    uint32_t hash; /* order-sensitive digest of the frames delivered */
};

static uint32_t mix(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void check_payload(const struct dw_frame *f)
{
    uint8_t re[DW_MAX_PAYLOAD];
    ssize_t n;

    switch (f->type) {
    case DW_FRAME_HELLO: {
        struct dw_hello h;
        if (dw_hello_parse(f->payload, f->len, &h) < 0)
            return;
        CHECK(h.n_zones >= 1 && h.n_zones <= DW_MAX_ZONES && h.device_id[0]);
        n = dw_hello_pack(&h, re, sizeof(re));
        CHECK(n == f->len && !memcmp(re, f->payload, f->len));
        break;
    }
    case DW_FRAME_SAMPLE: {
        struct dw_sample s;
        if (dw_sample_parse(f->payload, f->len, &s) < 0)
            return;
        n = dw_sample_pack(&s, re, sizeof(re));
        CHECK(n == f->len && !memcmp(re, f->payload, f->len));
        break;
    }
    case DW_FRAME_EVENT: {
        struct dw_event e;
        if (dw_event_parse(f->payload, f->len, &e) < 0)
            return;
        CHECK(strlen(e.text) == (size_t)f->len - 8);
        n = dw_event_pack(&e, re, sizeof(re));
        CHECK(n == f->len && !memcmp(re, f->payload, 2) && !memcmp(re + 4, f->payload + 4, (size_t)n - 4));
        break;
    }
    case DW_FRAME_STATUS: {
        struct dw_status s;
        if (dw_status_parse(f->payload, f->len, &s) < 0)
            return;
        n = dw_status_pack(&s, re, sizeof(re));
        CHECK(n == f->len && !memcmp(re, f->payload, 6));
        break;
    }
    default:
        break;
    }
}

static void on_frame(const struct dw_frame *f, void *user)
{
    struct seen *s = user;
    CHECK(f->version == DW_PROTO_VERSION && dw_frame_type_name(f->type) && f->len <= DW_MAX_PAYLOAD);
    s->n++;
    s->hash = mix(s->hash, &f->type, 1);
    s->hash = mix(s->hash, f->payload, f->len);
    check_payload(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dw_decoder a, b, c;
    struct seen sa = { 0, 2166136261u }, sb = sa, sc = sa;

    dw_decoder_init(&a, on_frame, &sa);
    dw_decoder_feed(&a, data, size);

    dw_decoder_init(&b, on_frame, &sb);
    for (size_t i = 0; i < size; i++)
        dw_decoder_feed(&b, data + i, 1);

    dw_decoder_init(&c, on_frame, &sc);
    for (size_t i = 0, k = 1; i < size; i += k, k = k * 5 % 61 + 1)
        dw_decoder_feed(&c, data + i, k < size - i ? k : size - i);

    CHECK(sa.n == sb.n && sa.hash == sb.hash && sa.n == sc.n && sa.hash == sc.hash);
    CHECK(!memcmp(&a.st, &b.st, sizeof(a.st)) && !memcmp(&a.st, &c.st, sizeof(a.st)));
    CHECK(a.st.bytes == size && a.st.frames == sa.n);

    /* The pending partial block is what followed the last delimiter. */
    const uint8_t *last = size ? memrchr(data, 0, size) : NULL;
    size_t tail = last ? size - (size_t)(last - data) - 1 : size;
    CHECK(a.discarding || a.fill == tail);

    /* The input as a payload of every type. */
    if (size <= DW_MAX_PAYLOAD) {
        for (uint8_t type = DW_FRAME_HELLO; type <= DW_FRAME_STATUS; type++) {
            struct dw_frame f = { .version = DW_PROTO_VERSION, .type = type,
                                  .len = (uint16_t)size, .payload = data };
            check_payload(&f);
        }
    }

    /* The stream decoder's COBS (whole pieces, reads up to the end of the
     * input) against the plain one, on every block the zeros cut. */
    for (size_t at = 0; at < size;) {
        static uint8_t fast[4096 + DW_COBS_SLACK], plain[4096];
        const uint8_t *z = memchr(data + at, 0, size - at);
        size_t n = z ? (size_t)(z - data) - at : size - at;
        if (n && n <= 4096) {
            ssize_t f = dw_cobs_decode_block(data + at, n, size - at, fast);
            ssize_t p = dw_cobs_decode(data + at, n, plain, sizeof(plain));
            CHECK(f == p && (f < 0 || !memcmp(fast, plain, (size_t)f)));
        }
        at += n + 1;
    }

    /* COBS round trip of the input itself. */
    if (size <= 4096) {
        static uint8_t enc[DW_COBS_MAX_ENCODED(4096)], dec[4096];
        ssize_t e = dw_cobs_encode(data, size, enc, sizeof(enc));
        CHECK(e > 0 && (size_t)e <= DW_COBS_MAX_ENCODED(size) && !memchr(enc, 0, (size_t)e));
        ssize_t d = dw_cobs_decode(enc, (size_t)e, dec, sizeof(dec));
        CHECK(d == (ssize_t)size && !memcmp(dec, data, size));
    }
    return 0;
}
