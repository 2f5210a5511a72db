/* The frame codec: payload round trips for every type, the streaming
 * decoder against every class of malformed input (each counted in the right
 * counter and never delivered), resynchronisation, byte-at-a-time
 * feeding, and random streams cut at every position against a reference
 * decoder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cobs.h"
#include "crc32c.h"
#include "dwcmocka.h"
#include "frame.h"
#include "layout.h"

/* ---- helpers ---------------------------------------------------------- */

#define MAX_GOT 64

struct got {
    size_t n;
    struct {
        uint8_t type;
        uint32_t seq;
        uint64_t t;
        uint16_t len;
        uint8_t payload[DW_MAX_PAYLOAD];
    } f[MAX_GOT];
};

static void on_frame(const struct dw_frame *f, void *user)
{
    struct got *g = user;
    assert_true(g->n < MAX_GOT);
    assert_int_equal(f->version, DW_PROTO_VERSION);
    g->f[g->n].type = f->type;
    g->f[g->n].seq = f->seq;
    g->f[g->n].t = f->t_device_us;
    g->f[g->n].len = f->len;
    memcpy(g->f[g->n].payload, f->payload, f->len);
    g->n++;
}

/* A raw frame with every header field chosen by the caller; crc_xor != 0
 * damages the CRC. Returns the raw length. */
static size_t make_raw(uint8_t *raw, uint8_t version, uint8_t type, uint16_t len_field,
                       uint32_t seq, uint64_t t, const uint8_t *payload, size_t plen,
                       uint32_t crc_xor)
{
    raw[0] = version;
    raw[1] = type;
    dw_put_le16(raw + 2, len_field);
    dw_put_le32(raw + 4, seq);
    dw_put_le64(raw + 8, t);
    if (plen)
        memcpy(raw + 16, payload, plen);
    dw_put_le32(raw + 16 + plen, dw_crc32c(raw, 16 + plen) ^ crc_xor);
    return 16 + plen + 4;
}

/* COBS + delimiter. */
static size_t wire_of(const uint8_t *raw, size_t n, uint8_t *out, size_t cap)
{
    ssize_t e = dw_cobs_encode(raw, n, out, cap - 1);
    assert_true(e > 0);
    out[e] = 0;
    return (size_t)e + 1;
}

static size_t good_wire(uint8_t *out, size_t cap, uint32_t seq)
{
    uint8_t p[8] = { 0x48, 0x0f, 76, 0, 0x35, 0x0c, 0, 0 };
    ssize_t n = dw_frame_encode(DW_FRAME_STATUS, seq, 1000u * seq, p, sizeof(p), out, cap);
    assert_true(n > 0);
    return (size_t)n;
}

static void feed_all(struct dw_decoder *d, const uint8_t *p, size_t n)
{
    dw_decoder_feed(d, p, n);
}

/* Asserts the decoder's counters: frames and each error class. */
static void assert_stats(const struct dw_decoder *d, uint64_t frames, uint64_t crc,
                         uint64_t length, uint64_t cobs, uint64_t version)
{
    assert_int_equal(d->st.frames, frames);
    assert_int_equal(d->st.crc_errors, crc);
    assert_int_equal(d->st.length_errors, length);
    assert_int_equal(d->st.cobs_errors, cobs);
    assert_int_equal(d->st.version_errors, version);
}

static struct dw_hello ref_hello(void)
{
    struct dw_hello h;
    dw_layout_default(&h, "DW-0001", "fw-1.2.0", 10);
    return h;
}

/* ---- payload round trips ------------------------------------------------ */

static void test_hello_round_trip(void **state)
{
    uint8_t p[DW_MAX_PAYLOAD];
    struct dw_hello h = ref_hello(), back;
    (void)state;

    ssize_t n = dw_hello_pack(&h, p, sizeof(p));
    assert_int_equal(n, 48 + 5 * 16);
    assert_int_equal(n, (ssize_t)dw_hello_payload_size(16));
    assert_int_equal(dw_hello_parse(p, (size_t)n, &back), 0);
    assert_string_equal(back.device_id, "DW-0001");
    assert_string_equal(back.firmware, "fw-1.2.0");
    assert_int_equal(back.sample_rate_hz, 10);
    assert_int_equal(back.n_zones, 16);
    assert_int_equal(back.n_ambient, 2);
    assert_int_equal(back.temp_scale, 10000);
    assert_int_equal(back.pressure_scale, 1000);
    assert_int_equal(back.accel_scale, 1000);
    assert_memory_equal(back.zone, h.zone, sizeof(h.zone[0]) * 16);

    /* Every zone count 1..64, 16-character ids (no terminator on the wire),
     * an empty firmware string. */
    for (unsigned z = 1; z <= DW_MAX_ZONES; z++) {
        memset(&h, 0, sizeof(h));
        snprintf(h.device_id, sizeof(h.device_id), "ABCDEFGHIJKLMNOP");
        h.sample_rate_hz = (uint16_t)(z * 15);
        h.n_zones = (uint8_t)z;
        h.n_ambient = 2;
        h.temp_scale = 1;
        h.pressure_scale = 0xffffffffu;
        h.accel_scale = 3;
        for (unsigned i = 0; i < z; i++) {
            h.zone[i].side = (uint8_t)(i & 1);
            h.zone[i].quadrant = (uint8_t)(i % 4);
            h.zone[i].ring = (uint8_t)(i / 4 % 2);
            h.zone[i].mirror = (uint8_t)((i + 1) % z);
            h.zone[i].flags = (uint8_t)i;
        }
        n = dw_hello_pack(&h, p, sizeof(p));
        assert_int_equal(n, (ssize_t)dw_hello_payload_size(z));
        assert_int_equal(dw_hello_parse(p, (size_t)n, &back), 0);
        assert_string_equal(back.device_id, "ABCDEFGHIJKLMNOP");
        assert_string_equal(back.firmware, "");
        assert_int_equal(back.n_zones, z);
        assert_int_equal(back.sample_rate_hz, z * 15);
        assert_int_equal(back.pressure_scale, 0xffffffffu);
        assert_memory_equal(back.zone, h.zone, sizeof(h.zone[0]) * z);
    }
    /* pack refuses what it cannot represent */
    h.n_zones = 0;
    assert_int_equal(dw_hello_pack(&h, p, sizeof(p)), -EINVAL);
    h.n_zones = 65;
    assert_int_equal(dw_hello_pack(&h, p, sizeof(p)), -EINVAL);
    h = ref_hello();
    assert_int_equal(dw_hello_pack(&h, p, 127), -ENOBUFS);
}

static void test_sample_round_trip(void **state)
{
    uint8_t p[DW_MAX_PAYLOAD];
    struct dw_sample s, back;
    (void)state;
    for (unsigned z = 1; z <= DW_MAX_ZONES; z++) {
        memset(&s, 0, sizeof(s));
        s.n_zones = (uint8_t)z;
        for (unsigned i = 0; i < z; i++) {
            s.temp[i] = (int16_t)(i & 1 ? -32768 + (int)i : 32767 - (int)i);
            s.pressure[i] = (uint16_t)(65535 - i * 1000);
            s.status[i] = (uint8_t)(i % 16);
        }
        s.ambient[0] = -1;
        s.ambient[1] = 2475;
        s.accel[0] = -32768;
        s.accel[1] = 0;
        s.accel[2] = 32767;
        ssize_t n = dw_sample_pack(&s, p, sizeof(p));
        assert_int_equal(n, (ssize_t)(5 * z + 10));
        memset(&back, 0xaa, sizeof(back));
        assert_int_equal(dw_sample_parse(p, (size_t)n, &back), 0);
        assert_int_equal(back.n_zones, z);
        assert_memory_equal(back.temp, s.temp, 2 * z);
        assert_memory_equal(back.pressure, s.pressure, 2 * z);
        assert_memory_equal(back.ambient, s.ambient, sizeof(s.ambient));
        assert_memory_equal(back.accel, s.accel, sizeof(s.accel));
        assert_memory_equal(back.status, s.status, z);
        /* layout on the wire: temps, pressures, ambient, accel, status */
        assert_int_equal((int16_t)dw_get_le16(p), s.temp[0]);
        assert_int_equal(dw_get_le16(p + 2 * z), s.pressure[0]);
        assert_int_equal((int16_t)dw_get_le16(p + 4 * z), -1);
        assert_int_equal((int16_t)dw_get_le16(p + 4 * z + 4), -32768);
        assert_int_equal(p[4 * z + 10], s.status[0]);
    }
    s.n_zones = 0;
    assert_int_equal(dw_sample_pack(&s, p, sizeof(p)), -EINVAL);
    s.n_zones = 65;
    assert_int_equal(dw_sample_pack(&s, p, sizeof(p)), -EINVAL);
    s.n_zones = 16;
    assert_int_equal(dw_sample_pack(&s, p, 89), -ENOBUFS);
}

static void test_event_round_trip(void **state)
{
    uint8_t p[DW_MAX_PAYLOAD];
    struct dw_event e, back;
    (void)state;
    for (unsigned k = DW_EV_FEED_START; k <= DW_EV_PUMP_END; k++) {
        for (unsigned side = 0; side <= DW_SIDE_NONE; side++) {
            memset(&e, 0, sizeof(e));
            e.kind = (uint8_t)k;
            e.side = (uint8_t)side;
            e.value = k & 1 ? -2147483647 - 1 : 38200;
            for (unsigned i = 0; i < k * 5 && i < DW_EVENT_TEXT_MAX; i++)
                e.text[i] = (char)('a' + i % 26);
            ssize_t n = dw_event_pack(&e, p, sizeof(p));
            assert_int_equal(n, (ssize_t)dw_event_payload_size(&e));
            assert_int_equal(n, (ssize_t)(8 + strlen(e.text)));
            assert_int_equal(dw_event_parse(p, (size_t)n, &back), 0);
            assert_int_equal(back.kind, k);
            assert_int_equal(back.side, side);
            assert_int_equal(back.value, e.value);
            assert_string_equal(back.text, e.text);
        }
    }
    /* the longest text: 64 bytes */
    memset(&e, 0, sizeof(e));
    e.kind = DW_EV_SYMPTOM;
    memset(e.text, 'x', DW_EVENT_TEXT_MAX);
    ssize_t n = dw_event_pack(&e, p, sizeof(p));
    assert_int_equal(n, 72);
    assert_int_equal(dw_event_parse(p, 72, &back), 0);
    assert_int_equal(strlen(back.text), 64);
    assert_int_equal(dw_event_pack(&e, p, 71), -ENOBUFS);
}

static void test_status_round_trip(void **state)
{
    uint8_t p[DW_STATUS_PAYLOAD_SIZE];
    struct dw_status s = { .battery_mv = 3912, .battery_pct = 76, .flags = 3, .mcu_temp_cc = -1250 }, back;
    (void)state;
    assert_int_equal(dw_status_pack(&s, p, sizeof(p)), 8);
    assert_int_equal(dw_status_parse(p, 8, &back), 0);
    assert_int_equal(back.battery_mv, 3912);
    assert_int_equal(back.battery_pct, 76);
    assert_int_equal(back.flags, 3);
    assert_int_equal(back.mcu_temp_cc, -1250);
    assert_int_equal(p[6] | p[7], 0);
    assert_int_equal(dw_status_parse(p, 7, &back), -EBADMSG);
    assert_int_equal(dw_status_parse(p, 9, &back), -EBADMSG);
    assert_int_equal(dw_status_pack(&s, p, 7), -ENOBUFS);
}

/* Whole frames of every type through encode -> decoder -> parse. */
static void test_frame_round_trip(void **state)
{
    uint8_t p[DW_MAX_PAYLOAD], wire[8 * DW_MAX_WIRE];
    size_t w = 0;
    struct got g = { 0 };
    struct dw_decoder d;
    struct dw_hello h = ref_hello(), hb;
    struct dw_sample s = { .n_zones = 16 }, sb;
    struct dw_event e = { .kind = DW_EV_THERMOMETER, .side = DW_SIDE_NONE, .value = 38200, .text = "oral" }, eb;
    struct dw_status st = { .battery_mv = 4100, .battery_pct = 99, .flags = 1, .mcu_temp_cc = 3000 }, stb;
    ssize_t n;
    (void)state;

    for (unsigned z = 0; z < 16; z++)
        s.temp[z] = (int16_t)(3400 + z), s.pressure[z] = (uint16_t)(z * 256), s.status[z] = (uint8_t)(z & 8);
    wire[w++] = 0; /* the lone delimiter sent at connect */
    n = dw_hello_pack(&h, p, sizeof(p));
    w += (size_t)dw_frame_encode(DW_FRAME_HELLO, 0, 1500000, p, (size_t)n, wire + w, sizeof(wire) - w);
    n = dw_sample_pack(&s, p, sizeof(p));
    w += (size_t)dw_frame_encode(DW_FRAME_SAMPLE, 1, 1600000, p, (size_t)n, wire + w, sizeof(wire) - w);
    n = dw_event_pack(&e, p, sizeof(p));
    w += (size_t)dw_frame_encode(DW_FRAME_EVENT, 2, 1650000, p, (size_t)n, wire + w, sizeof(wire) - w);
    n = dw_status_pack(&st, p, sizeof(p));
    w += (size_t)dw_frame_encode(DW_FRAME_STATUS, 3, 1700000, p, (size_t)n, wire + w, sizeof(wire) - w);
    w += (size_t)dw_frame_encode(DW_FRAME_HELLO_REQUEST, 0xffffffffu, UINT64_MAX, NULL, 0, wire + w, sizeof(wire) - w);
    /* the largest payload */
    memset(p, 0, DW_MAX_PAYLOAD);
    w += (size_t)dw_frame_encode(DW_FRAME_SAMPLE, 5, 1, p, DW_MAX_PAYLOAD, wire + w, sizeof(wire) - w);
    memset(p, 0x55, DW_MAX_PAYLOAD);
    w += (size_t)dw_frame_encode(DW_FRAME_SAMPLE, 6, 1, p, DW_MAX_PAYLOAD, wire + w, sizeof(wire) - w);

    dw_decoder_init(&d, on_frame, &g);
    feed_all(&d, wire, w);
    assert_stats(&d, 7, 0, 0, 0, 0);
    assert_int_equal(d.st.resyncs, 0);
    assert_int_equal(d.st.bytes, w);
    assert_int_equal(g.n, 7);

    assert_int_equal(g.f[0].type, DW_FRAME_HELLO);
    assert_int_equal(g.f[0].seq, 0);
    assert_int_equal(g.f[0].t, 1500000);
    assert_int_equal(dw_hello_parse(g.f[0].payload, g.f[0].len, &hb), 0);
    assert_string_equal(hb.device_id, "DW-0001");
    assert_memory_equal(hb.zone, h.zone, sizeof(h.zone[0]) * 16);

    assert_int_equal(g.f[1].type, DW_FRAME_SAMPLE);
    assert_int_equal(dw_sample_parse(g.f[1].payload, g.f[1].len, &sb), 0);
    assert_memory_equal(sb.temp, s.temp, 32);
    assert_memory_equal(sb.pressure, s.pressure, 32);
    assert_memory_equal(sb.status, s.status, 16);

    assert_int_equal(g.f[2].type, DW_FRAME_EVENT);
    assert_int_equal(dw_event_parse(g.f[2].payload, g.f[2].len, &eb), 0);
    assert_int_equal(eb.value, 38200);
    assert_string_equal(eb.text, "oral");

    assert_int_equal(g.f[3].type, DW_FRAME_STATUS);
    assert_int_equal(dw_status_parse(g.f[3].payload, g.f[3].len, &stb), 0);
    assert_int_equal(stb.battery_mv, 4100);

    assert_int_equal(g.f[4].type, DW_FRAME_HELLO_REQUEST);
    assert_int_equal(g.f[4].len, 0);
    assert_int_equal(g.f[4].seq, 0xffffffffu);
    assert_true(g.f[4].t == UINT64_MAX);

    assert_int_equal(g.f[5].len, DW_MAX_PAYLOAD);
    assert_int_equal(g.f[6].len, DW_MAX_PAYLOAD);
    assert_int_equal(g.f[6].payload[1023], 0x55);

    /* encode refuses an oversize payload and a short buffer */
    assert_int_equal(dw_frame_encode(DW_FRAME_SAMPLE, 0, 0, p, DW_MAX_PAYLOAD + 1, wire, sizeof(wire)), -EMSGSIZE);
    assert_int_equal(dw_frame_encode(DW_FRAME_STATUS, 0, 0, p, 8, wire, 10), -ENOBUFS);
    assert_int_equal(dw_frame_encode(DW_FRAME_STATUS, 0, 0, p, 8, wire, 0), -ENOBUFS);
}

/* ---- malformed input: counted in the right counter, never delivered ---- */

/* Feeds bad, then a good frame; asserts the bad one was counted as
 * expected and only the good one delivered. */
static void expect_rejected(const uint8_t *bad, size_t n, uint64_t crc, uint64_t length,
                            uint64_t cobs, uint64_t version)
{
    uint8_t good[64];
    size_t gn = good_wire(good, sizeof(good), 77);
    struct got g = { 0 };
    struct dw_decoder d;
    dw_decoder_init(&d, on_frame, &g);
    dw_decoder_feed(&d, bad, n);
    dw_decoder_feed(&d, good, gn);
    assert_stats(&d, 1, crc, length, cobs, version);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.f[0].seq, 77);
}

static void test_bad_crc(void **state)
{
    uint8_t raw[64], wire[80], p[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    (void)state;
    size_t n = make_raw(raw, 1, DW_FRAME_STATUS, 8, 1, 2, p, 8, 0);
    /* every single-bit flip of the raw frame is caught */
    for (size_t bit = 0; bit < n * 8; bit++) {
        uint8_t flip[64];
        memcpy(flip, raw, n);
        flip[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        size_t w = wire_of(flip, n, wire, sizeof(wire));
        struct got g = { 0 };
        struct dw_decoder d;
        dw_decoder_init(&d, on_frame, &g);
        dw_decoder_feed(&d, wire, w);
        assert_int_equal(g.n, 0);
        assert_int_equal(d.st.frames, 0);
        /* a flip in the length field is a length error, elsewhere CRC */
        if (bit / 8 == 2 || bit / 8 == 3)
            assert_int_equal(d.st.length_errors, 1);
        else
            assert_int_equal(d.st.crc_errors, 1);
    }
    n = make_raw(raw, 1, DW_FRAME_STATUS, 8, 1, 2, p, 8, 0x80000000u);
    expect_rejected(wire, wire_of(raw, n, wire, sizeof(wire)), 1, 0, 0, 0);
}

static void test_bad_length(void **state)
{
    uint8_t raw[DW_MAX_RAW + 64], wire[DW_MAX_WIRE + 64], p[DW_MAX_PAYLOAD + 8];
    size_t n;
    (void)state;
    memset(p, 0x11, sizeof(p));
    /* length field says more, or less, than there is (CRC right) */
    n = make_raw(raw, 1, DW_FRAME_STATUS, 9, 1, 2, p, 8, 0);
    expect_rejected(wire, wire_of(raw, n, wire, sizeof(wire)), 0, 1, 0, 0);
    n = make_raw(raw, 1, DW_FRAME_STATUS, 7, 1, 2, p, 8, 0);
    expect_rejected(wire, wire_of(raw, n, wire, sizeof(wire)), 0, 1, 0, 0);
    /* length field above the maximum with a matching body */
    n = make_raw(raw, 1, DW_FRAME_SAMPLE, DW_MAX_PAYLOAD + 1, 1, 2, p, DW_MAX_PAYLOAD + 1, 0);
    expect_rejected(wire, wire_of(raw, n, wire, sizeof(wire)), 0, 1, 0, 0);
    /* too short: fewer than header + CRC bytes */
    for (size_t short_len = 1; short_len < 20; short_len++) {
        n = make_raw(raw, 1, DW_FRAME_STATUS, 0, 1, 2, NULL, 0, 0);
        expect_rejected(wire, wire_of(raw, short_len, wire, sizeof(wire)), 0, 1, 0, 0);
    }
}

static void test_oversize_garbage(void **state)
{
    static uint8_t junk[5000];
    uint8_t good[64];
    size_t gn = good_wire(good, sizeof(good), 9);
    struct got g = { 0 };
    struct dw_decoder d;
    (void)state;
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(1 + i % 250);
    dw_decoder_init(&d, on_frame, &g);
    dw_decoder_feed(&d, junk, sizeof(junk));
    /* counted once, however long */
    assert_stats(&d, 0, 0, 1, 0, 0);
    assert_int_equal(d.st.resyncs, 1);
    dw_decoder_feed(&d, junk, sizeof(junk));
    assert_stats(&d, 0, 0, 1, 0, 0);
    /* the delimiter ends the garbage; the good frame after it survives,
     * but a frame glued to the garbage without a delimiter is lost with it */
    uint8_t zero = 0;
    dw_decoder_feed(&d, &zero, 1);
    dw_decoder_feed(&d, good, gn);
    assert_stats(&d, 1, 0, 1, 0, 0);
    assert_int_equal(g.f[0].seq, 9);
    dw_decoder_feed(&d, junk, sizeof(junk));
    dw_decoder_feed(&d, good, gn);
    assert_stats(&d, 1, 0, 2, 0, 0);
    assert_int_equal(d.st.resyncs, 2);
    dw_decoder_feed(&d, good, gn);
    assert_stats(&d, 2, 0, 2, 0, 0);

    /* a block of exactly the buffer size is decoded (and rejected), one
     * byte more is skipped as oversize */
    dw_decoder_init(&d, on_frame, &g);
    dw_decoder_feed(&d, junk, DW_MAX_WIRE);
    dw_decoder_feed(&d, &zero, 1);
    assert_int_equal(d.st.resyncs, 0);
    assert_int_equal(d.st.frames, 0);
    dw_decoder_feed(&d, junk, DW_MAX_WIRE + 1);
    dw_decoder_feed(&d, &zero, 1);
    assert_int_equal(d.st.resyncs, 1);
    assert_int_equal(d.st.frames, 0);
}

static void test_bad_cobs(void **state)
{
    uint8_t wire[80];
    size_t n = good_wire(wire, sizeof(wire), 1);
    (void)state;
    /* the first code byte claims more bytes than the block has */
    wire[0] = 0xfe;
    expect_rejected(wire, n, 0, 0, 1, 0);
    /* the last code byte runs past the end */
    n = good_wire(wire, sizeof(wire), 1);
    static const uint8_t cut[] = { 0x05, 0x11, 0x22, 0x00 };
    expect_rejected(cut, sizeof(cut), 0, 0, 1, 0);
    (void)n;
}

static void test_unknown_version_and_type(void **state)
{
    uint8_t raw[64], wire[80], p[8] = { 0 };
    size_t n;
    (void)state;
    n = make_raw(raw, 2, DW_FRAME_STATUS, 8, 1, 2, p, 8, 0);
    expect_rejected(wire, wire_of(raw, n, wire, sizeof(wire)), 0, 0, 0, 1);
    n = make_raw(raw, 0, DW_FRAME_STATUS, 8, 1, 2, p, 8, 0);
    expect_rejected(wire, wire_of(raw, n, wire, sizeof(wire)), 0, 0, 0, 1);
    for (unsigned t = 6; t < 256; t += 7) {
        n = make_raw(raw, 1, (uint8_t)t, 8, 1, 2, p, 8, 0);
        expect_rejected(wire, wire_of(raw, n, wire, sizeof(wire)), 0, 0, 0, 1);
    }
    n = make_raw(raw, 1, 0, 8, 1, 2, p, 8, 0);
    expect_rejected(wire, wire_of(raw, n, wire, sizeof(wire)), 0, 0, 0, 1);
    /* a bad CRC wins over a bad version: the header is not trusted */
    n = make_raw(raw, 9, DW_FRAME_STATUS, 8, 1, 2, p, 8, 1);
    expect_rejected(wire, wire_of(raw, n, wire, sizeof(wire)), 1, 0, 0, 0);
    /* the names */
    assert_string_equal(dw_frame_type_name(DW_FRAME_HELLO), "hello");
    assert_string_equal(dw_frame_type_name(DW_FRAME_HELLO_REQUEST), "hello-request");
    assert_null(dw_frame_type_name(0));
    assert_null(dw_frame_type_name(6));
    assert_null(dw_frame_type_name(1000));
}

/* dw_frame_decode_block's return values match the counters. */
static void test_decode_block_errors(void **state)
{
    uint8_t raw[64], blk[80], p[8] = { 0 };
    struct dw_frame f;
    size_t n, w;
    (void)state;
    n = make_raw(raw, 1, DW_FRAME_STATUS, 8, 1, 2, p, 8, 0);
    w = wire_of(raw, n, blk, sizeof(blk)) - 1;
    assert_int_equal(dw_frame_decode_block(blk, w, &f), 0);
    assert_int_equal(f.len, 8);
    n = make_raw(raw, 1, DW_FRAME_STATUS, 8, 1, 2, p, 8, 4);
    w = wire_of(raw, n, blk, sizeof(blk)) - 1;
    assert_int_equal(dw_frame_decode_block(blk, w, &f), -EILSEQ);
    n = make_raw(raw, 1, DW_FRAME_STATUS, 6, 1, 2, p, 8, 0);
    w = wire_of(raw, n, blk, sizeof(blk)) - 1;
    assert_int_equal(dw_frame_decode_block(blk, w, &f), -EMSGSIZE);
    n = make_raw(raw, 3, DW_FRAME_STATUS, 8, 1, 2, p, 8, 0);
    w = wire_of(raw, n, blk, sizeof(blk)) - 1;
    assert_int_equal(dw_frame_decode_block(blk, w, &f), -EPROTO);
    blk[0] = 0x40;
    assert_int_equal(dw_frame_decode_block(blk, 3, &f), -EBADMSG);
}

/* ---- payload validation -------------------------------------------------- */

static void test_hello_rejects(void **state)
{
    uint8_t p[DW_MAX_PAYLOAD], q[DW_MAX_PAYLOAD];
    struct dw_hello h = ref_hello(), b;
    (void)state;
    ssize_t n = dw_hello_pack(&h, p, sizeof(p));
    assert_int_equal(dw_hello_parse(p, (size_t)n, &b), 0);
#define MUTATE(off, val) do { memcpy(q, p, (size_t)n); q[off] = (uint8_t)(val); \
    assert_int_equal(dw_hello_parse(q, (size_t)n, &b), -EBADMSG); } while (0)
    MUTATE(0, 0);       /* empty device id */
    MUTATE(3, 0);       /* NUL in the middle of the id, then more text: bad padding */
    MUTATE(10, 'x');    /* text after the terminator: bad padding */
    MUTATE(20, 0);      /* the same in the firmware string */
    MUTATE(30, 'x');
    MUTATE(1, ' ');     /* spaces and control characters */
    MUTATE(1, 0x7f);
    MUTATE(17, 0x1f);
    MUTATE(2, '/');     /* the id names files: no path separator */
    MUTATE(32, 0);      /* rate 0 */
    MUTATE(34, 0);      /* n_zones 0 */
    MUTATE(34, 65);     /* n_zones > 64 */
    MUTATE(34, 15);     /* n_zones does not match the length */
    MUTATE(35, 1);      /* n_ambient != 2 */
    MUTATE(35, 3);
    MUTATE(48 + 0, 2);  /* zone 0 side */
    MUTATE(48 + 1, 4);  /* zone 0 quadrant */
    MUTATE(48 + 2, 2);  /* zone 0 ring */
    MUTATE(48 + 5 * 15 + 3, 16); /* zone 15 mirror out of range */
    MUTATE(48 + 5 * 15 + 3, 255);
#undef MUTATE
    /* rate > 1000; 1000 and 1 accepted */
    memcpy(q, p, (size_t)n);
    dw_put_le16(q + 32, 1001);
    assert_int_equal(dw_hello_parse(q, (size_t)n, &b), -EBADMSG);
    dw_put_le16(q + 32, 1000);
    assert_int_equal(dw_hello_parse(q, (size_t)n, &b), 0);
    dw_put_le16(q + 32, 1);
    assert_int_equal(dw_hello_parse(q, (size_t)n, &b), 0);
    /* zero scales */
    for (int off = 36; off <= 44; off += 4) {
        memcpy(q, p, (size_t)n);
        dw_put_le32(q + off, 0);
        assert_int_equal(dw_hello_parse(q, (size_t)n, &b), -EBADMSG);
    }
    /* the flags byte is free; reserved bits are ignored */
    memcpy(q, p, (size_t)n);
    q[48 + 4] = 0xff;
    assert_int_equal(dw_hello_parse(q, (size_t)n, &b), 0);
    /* wrong sizes */
    assert_int_equal(dw_hello_parse(p, (size_t)n - 1, &b), -EBADMSG);
    memcpy(q, p, (size_t)n);
    q[n] = 0;
    assert_int_equal(dw_hello_parse(q, (size_t)n + 1, &b), -EBADMSG);
    assert_int_equal(dw_hello_parse(p, 47, &b), -EBADMSG);
    assert_int_equal(dw_hello_parse(p, 0, &b), -EBADMSG);
    /* 64 zones is the maximum that parses */
    h.n_zones = 64;
    for (unsigned z = 16; z < 64; z++)
        h.zone[z] = h.zone[z % 16];
    n = dw_hello_pack(&h, p, sizeof(p));
    assert_int_equal(dw_hello_parse(p, (size_t)n, &b), 0);
}

static void test_sample_rejects(void **state)
{
    uint8_t p[DW_MAX_PAYLOAD] = { 0 };
    struct dw_sample s;
    (void)state;
    for (size_t len = 0; len <= 5 * 64 + 10 + 5; len++) {
        int ok = len >= 15 && (len - 10) % 5 == 0 && (len - 10) / 5 <= 64;
        assert_int_equal(dw_sample_parse(p, len, &s), ok ? 0 : -EBADMSG);
        if (ok)
            assert_int_equal(s.n_zones, (len - 10) / 5);
    }
}

static void test_event_rejects(void **state)
{
    uint8_t p[80];
    struct dw_event e = { .kind = DW_EV_BUTTON, .side = DW_SIDE_LEFT, .value = 1000, .text = "abc" }, b;
    (void)state;
    ssize_t n = dw_event_pack(&e, p, sizeof(p));
    assert_int_equal(dw_event_parse(p, (size_t)n, &b), 0);
    /* NUL inside the text */
    p[9] = 0;
    assert_int_equal(dw_event_parse(p, (size_t)n, &b), -EBADMSG);
    n = dw_event_pack(&e, p, sizeof(p));
    p[n - 1] = 0; /* a C terminator sent along is a NUL in the text too */
    assert_int_equal(dw_event_parse(p, (size_t)n, &b), -EBADMSG);
    n = dw_event_pack(&e, p, sizeof(p));
    /* kinds: 0, 13..63 not on the wire (32, 33: host-side user kinds);
     * 64..66 host-only; 67+ unknown */
    unsigned bad_kinds[] = { 0, 13, DW_EV_CANCEL, DW_EV_ALERT_SEEN, 63, DW_EV_LINK_DOWN,
                             DW_EV_LINK_UP, DW_EV_GAP, 67, 255 };
    for (size_t i = 0; i < sizeof(bad_kinds) / sizeof(*bad_kinds); i++) {
        p[0] = (uint8_t)bad_kinds[i];
        assert_int_equal(dw_event_parse(p, (size_t)n, &b), -EBADMSG);
    }
    p[0] = DW_EV_BUTTON;
    p[1] = 3; /* side */
    assert_int_equal(dw_event_parse(p, (size_t)n, &b), -EBADMSG);
    p[1] = DW_SIDE_NONE;
    assert_int_equal(dw_event_parse(p, (size_t)n, &b), 0);
    /* too short, too long */
    assert_int_equal(dw_event_parse(p, 7, &b), -EBADMSG);
    uint8_t big[80];
    memset(big, 'y', sizeof(big));
    memcpy(big, p, 8);
    assert_int_equal(dw_event_parse(big, 72, &b), 0);
    assert_int_equal(dw_event_parse(big, 73, &b), -EBADMSG);
    /* names */
    assert_int_equal(dw_event_kind_from_name("thermometer"), DW_EV_THERMOMETER);
    assert_int_equal(dw_event_kind_from_name("gap"), DW_EV_GAP);
    assert_int_equal(dw_event_kind_from_name("nope"), -1);
    assert_int_equal(dw_event_kind_from_name(""), -1);
    assert_string_equal(dw_event_kind_name(DW_EV_PUMP_END), "pump-end");
    assert_null(dw_event_kind_name(13));
    assert_null(dw_event_kind_name(500));
    assert_int_equal(dw_side_from_name("right"), DW_SIDE_RIGHT);
    assert_int_equal(dw_side_from_name("Left"), -1);
    assert_null(dw_side_name(3));
}

/* ---- streaming -------------------------------------------------------------- */

/* A stream with good frames, garbage, damaged frames and extra delimiters. */
static size_t messy_stream(uint8_t *out, size_t cap, unsigned *n_good)
{
    size_t w = 0;
    uint8_t p[DW_MAX_PAYLOAD];
    struct dw_hello h = ref_hello();
    struct dw_sample s = { .n_zones = 16 };
    *n_good = 0;
    out[w++] = 0;
    ssize_t n = dw_hello_pack(&h, p, sizeof(p));
    w += (size_t)dw_frame_encode(DW_FRAME_HELLO, 0, 10, p, (size_t)n, out + w, cap - w);
    ++*n_good;
    for (uint32_t i = 1; i < 40; i++) {
        for (unsigned z = 0; z < 16; z++)
            s.temp[z] = (int16_t)(i * 16 + z), s.pressure[z] = (uint16_t)(i ^ z);
        n = dw_sample_pack(&s, p, sizeof(p));
        size_t start = w;
        w += (size_t)dw_frame_encode(DW_FRAME_SAMPLE, i, 10 + i * 100000, p, (size_t)n, out + w, cap - w);
        switch (i % 7) {
        case 1: out[start + 20] ^= 0x10; break;            /* damaged (CRC or COBS) */
        case 3: out[w++] = 0; out[w++] = 0; ++*n_good; break; /* extra delimiters */
        case 5: memcpy(out + w, "\x01\x02\x03garbage", 10); w += 10; out[w++] = 0; ++*n_good; break;
        default: ++*n_good; break;
        }
        if (out[start + 20] == 0) /* a flip must not create a delimiter */
            out[start + 20] = 0x10;
    }
    return w;
}

static void test_byte_at_a_time(void **state)
{
    static uint8_t stream[40 * 200];
    unsigned n_good;
    size_t len = messy_stream(stream, sizeof(stream), &n_good);
    static struct got whole, bytes, chunks;
    struct dw_decoder a, b, c;
    (void)state;

    memset(&whole, 0, sizeof(whole));
    memset(&bytes, 0, sizeof(bytes));
    memset(&chunks, 0, sizeof(chunks));
    dw_decoder_init(&a, on_frame, &whole);
    dw_decoder_feed(&a, stream, len);
    dw_decoder_init(&b, on_frame, &bytes);
    for (size_t i = 0; i < len; i++)
        dw_decoder_feed(&b, stream + i, 1);
    dw_decoder_init(&c, on_frame, &chunks);
    for (size_t i = 0, k = 1; i < len; i += k, k = k * 3 % 97 + 1)
        dw_decoder_feed(&c, stream + i, i + k > len ? len - i : k);

    assert_int_equal(whole.n, n_good);
    assert_true(a.st.crc_errors + a.st.cobs_errors + a.st.length_errors > 0);
    assert_memory_equal(&a.st, &b.st, sizeof(a.st));
    assert_memory_equal(&a.st, &c.st, sizeof(a.st));
    assert_int_equal(bytes.n, whole.n);
    assert_int_equal(chunks.n, whole.n);
    for (size_t i = 0; i < whole.n; i++) {
        assert_int_equal(bytes.f[i].seq, whole.f[i].seq);
        assert_int_equal(chunks.f[i].seq, whole.f[i].seq);
        assert_int_equal(bytes.f[i].len, whole.f[i].len);
        assert_memory_equal(bytes.f[i].payload, whole.f[i].payload, whole.f[i].len);
        assert_memory_equal(chunks.f[i].payload, whole.f[i].payload, whole.f[i].len);
    }
}

/* After garbage in front, in between, and a partial frame cut by a reset,
 * the decoder picks up again at the next delimiter. */
static void test_resync(void **state)
{
    uint8_t good[64], junk[300];
    size_t gn = good_wire(good, sizeof(good), 5);
    struct got g = { 0 };
    struct dw_decoder d;
    (void)state;
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 1);
    dw_decoder_init(&d, on_frame, &g);
    /* garbage then a delimiter: one error, the frame after it is fine */
    dw_decoder_feed(&d, junk, 100);
    dw_decoder_feed(&d, (const uint8_t *)"", 1);
    dw_decoder_feed(&d, good, gn);
    assert_int_equal(g.n, 1);
    /* half a frame, then the link drops: reset forgets it */
    dw_decoder_feed(&d, good, gn / 2);
    dw_decoder_reset(&d);
    assert_int_equal(d.st.resyncs, 1);
    dw_decoder_feed(&d, good, gn);
    assert_int_equal(g.n, 2);
    /* a reset with nothing pending is not a resync */
    dw_decoder_reset(&d);
    assert_int_equal(d.st.resyncs, 1);
    /* half a frame glued to a whole one: that block is lost, the next is not */
    dw_decoder_feed(&d, good, gn / 2);
    dw_decoder_feed(&d, good, gn);
    dw_decoder_feed(&d, good, gn);
    assert_int_equal(g.n, 3);
    /* empty blocks are not errors */
    uint64_t errs = d.st.crc_errors + d.st.cobs_errors + d.st.length_errors + d.st.version_errors;
    static const uint8_t zeros[16] = { 0 };
    dw_decoder_feed(&d, zeros, sizeof(zeros));
    assert_int_equal(d.st.crc_errors + d.st.cobs_errors + d.st.length_errors + d.st.version_errors, errs);
    dw_decoder_feed(&d, good, gn);
    assert_int_equal(g.n, 4);
    /* no callback: counted only */
    dw_decoder_init(&d, NULL, NULL);
    dw_decoder_feed(&d, good, gn);
    assert_int_equal(d.st.frames, 1);
}

/* ---- every split of random streams, against a byte-at-a-time reference -- */

/* The decoder's contract written as plainly as possible: one byte at a
 * time, a block of at most DW_MAX_WIRE bytes handed to
 * dw_frame_decode_block at each delimiter, a longer one counted once and
 * skipped up to the next delimiter. The streaming decoder must deliver the
 * same frames and count the same, whatever pieces the bytes come in. */
struct ref_decoder {
    uint8_t buf[DW_MAX_WIRE];
    size_t fill;
    bool discarding;
    struct dw_decoder_stats st;
};

struct frame_log {
    size_t n;
    struct {
        uint8_t type;
        uint16_t len;
        uint32_t seq;
        uint64_t t;
        uint32_t digest; /* FNV-1a of the payload */
    } f[256];
};

static void log_frame(const struct dw_frame *f, void *user)
{
    struct frame_log *l = user;
    uint32_t h = 2166136261u;
    assert_true(l->n < sizeof(l->f) / sizeof(l->f[0]));
    for (size_t i = 0; i < f->len; i++)
        h = (h ^ f->payload[i]) * 16777619u;
    l->f[l->n].type = f->type;
    l->f[l->n].len = f->len;
    l->f[l->n].seq = f->seq;
    l->f[l->n].t = f->t_device_us;
    l->f[l->n].digest = h;
    l->n++;
}

static void ref_block(struct ref_decoder *r, struct frame_log *l)
{
    struct dw_frame f;
    if (r->fill == 0)
        return;
    int e = dw_frame_decode_block(r->buf, r->fill, &f);
    r->fill = 0;
    if (e == 0) {
        r->st.frames++;
        log_frame(&f, l);
    } else if (e == -EBADMSG) {
        r->st.cobs_errors++;
    } else if (e == -EMSGSIZE) {
        r->st.length_errors++;
    } else if (e == -EILSEQ) {
        r->st.crc_errors++;
    } else {
        r->st.version_errors++;
    }
}

static void ref_feed(struct ref_decoder *r, struct frame_log *l, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r->st.bytes++;
        if (p[i] == 0) {
            if (!r->discarding)
                ref_block(r, l);
            r->discarding = false;
        } else if (r->discarding) {
            continue;
        } else if (r->fill == DW_MAX_WIRE) {
            r->st.length_errors++;
            r->st.resyncs++;
            r->fill = 0;
            r->discarding = true;
        } else {
            r->buf[r->fill++] = p[i];
        }
    }
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* A payload of n bytes: mostly zeros, mostly non-zero, or long non-zero
 * runs (COBS codes of 0xff). */
static void random_payload(uint32_t *s, uint8_t *p, size_t n)
{
    unsigned mode = rnd(s) % 3;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = rnd(s);
        if (mode == 0)
            p[i] = v % 3 ? 0 : (uint8_t)v;
        else if (mode == 1)
            p[i] = v % 5 ? (uint8_t)(1 + v % 255) : 0;
        else
            p[i] = (uint8_t)(1 + v % 255);
    }
}

/* Appends one piece: a good frame of any type and length, a damaged one,
 * a cut one, garbage with and without zeros, an oversize block, a block of
 * exactly DW_MAX_WIRE bytes, or extra delimiters. */
static size_t random_piece(uint32_t *s, uint8_t *out, size_t cap, uint32_t seq)
{
    uint8_t p[DW_MAX_PAYLOAD];
    static const uint16_t lens[] = { 0, 8, 90, 128, 254, 255, 1023, DW_MAX_PAYLOAD };
    size_t plen = rnd(s) % 2 ? lens[rnd(s) % 8] : rnd(s) % (DW_MAX_PAYLOAD + 1);
    unsigned what = rnd(s) % 16;
    size_t n;

    assert_true(cap >= DW_MAX_WIRE + 400);
    if (what >= 14) { /* a block of about DW_MAX_WIRE bytes, delimited */
        n = what == 15 ? DW_MAX_WIRE + 1 + rnd(s) % 300 : DW_MAX_WIRE - 1 + rnd(s) % 3;
        out[0] = 0;
        random_payload(s, out + 1, n);
        for (size_t i = 1; i <= n; i++)
            out[i] |= out[i] ? 0 : 0x42;
        out[n + 1] = 0;
        return n + 2;
    }
    if (what >= 12) { /* garbage, zeros among it */
        n = rnd(s) % 300;
        random_payload(s, out, n);
        return n;
    }
    random_payload(s, p, plen);
    if (what == 8) { /* CRC right, version or type unknown */
        static uint8_t raw[DW_MAX_RAW];
        uint8_t type = rnd(s) % 2 ? 0 : (uint8_t)(6 + rnd(s) % 250);
        n = make_raw(raw, rnd(s) % 2 ? 2 : 1, type, (uint16_t)plen, seq, rnd(s), p, plen, 0);
        return wire_of(raw, n, out, cap);
    }
    ssize_t w = dw_frame_encode((uint8_t)(1 + rnd(s) % 5), seq, (uint64_t)rnd(s) << 20 | rnd(s),
                                p, plen, out, cap);
    assert_true(w > 0);
    n = (size_t)w;
    if (what == 9) /* one byte damaged, a zero possibly among them */
        out[rnd(s) % (n - 1)] ^= (uint8_t)(1 + rnd(s) % 255);
    else if (what == 10) /* cut: no delimiter, the next piece is glued on */
        n = rnd(s) % (n - 1);
    else if (what == 11)
        out[n++] = 0;
    return n;
}

static size_t random_stream(uint32_t seed, uint8_t *out, size_t cap, size_t pieces)
{
    uint32_t s = seed;
    size_t w = 0;
    for (uint32_t i = 0; i < pieces && cap - w >= DW_MAX_WIRE + 400; i++)
        w += random_piece(&s, out + w, cap - w, i);
    return w;
}

/* Feeds the pieces, each from a buffer of its own exact size so that a
 * read past a piece's end is a heap overflow (ASan, valgrind). */
static void feed_copy(struct dw_decoder *d, const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    memcpy(c, p, n);
    dw_decoder_feed(d, c, n);
    free(c);
}

static void assert_same(const struct dw_decoder *d, const struct frame_log *got,
                        const struct ref_decoder *r, const struct frame_log *want)
{
    assert_memory_equal(&d->st, &r->st, sizeof(r->st));
    assert_int_equal(d->discarding, r->discarding);
    if (!r->discarding)
        assert_int_equal(d->fill, r->fill);
    assert_int_equal(got->n, want->n);
    assert_memory_equal(got->f, want->f, want->n * sizeof(want->f[0]));
}

static void test_every_split(void **state)
{
    static uint8_t stream[24000];
    static struct frame_log want, got;
    static struct ref_decoder ref;
    static struct dw_decoder d;
    struct dw_decoder_stats all = { 0 };
    (void)state;

    for (uint32_t seed = 1; seed <= 6; seed++) {
        size_t len = random_stream(seed * 2654435761u, stream, sizeof(stream), seed < 4 ? 12 : 40);
        memset(&ref, 0, sizeof(ref));
        memset(&want, 0, sizeof(want));
        ref_feed(&ref, &want, stream, len);
        assert_true(want.n > 0);
        all.frames += ref.st.frames;
        all.crc_errors += ref.st.crc_errors;
        all.length_errors += ref.st.length_errors;
        all.cobs_errors += ref.st.cobs_errors;
        all.version_errors += ref.st.version_errors;
        all.resyncs += ref.st.resyncs;
        /* whole, then in two pieces at every position */
        for (size_t cut = 0; cut <= len; cut += seed < 4 ? 1 : 7) {
            memset(&got, 0, sizeof(got));
            dw_decoder_init(&d, log_frame, &got);
            feed_copy(&d, stream, cut);
            feed_copy(&d, stream + cut, len - cut);
            assert_same(&d, &got, &ref, &want);
        }
        /* in reads of k bytes, k = 1 .. 130, and of a changing size */
        uint32_t sizes = seed;
        for (size_t k = 1; k <= 131; k++) {
            memset(&got, 0, sizeof(got));
            dw_decoder_init(&d, log_frame, &got);
            for (size_t i = 0, m = k; i < len; i += m) {
                if (k == 131)
                    m = 1 + rnd(&sizes) % 2000;
                feed_copy(&d, stream + i, m < len - i ? m : len - i);
            }
            assert_same(&d, &got, &ref, &want);
        }
    }
    /* the streams hold every class of error */
    assert_true(all.crc_errors && all.length_errors && all.cobs_errors && all.version_errors);
    assert_true(all.resyncs && all.frames > 40);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_round_trip),
        cmocka_unit_test(test_sample_round_trip),
        cmocka_unit_test(test_event_round_trip),
        cmocka_unit_test(test_status_round_trip),
        cmocka_unit_test(test_frame_round_trip),
        cmocka_unit_test(test_bad_crc),
        cmocka_unit_test(test_bad_length),
        cmocka_unit_test(test_oversize_garbage),
        cmocka_unit_test(test_bad_cobs),
        cmocka_unit_test(test_unknown_version_and_type),
        cmocka_unit_test(test_decode_block_errors),
        cmocka_unit_test(test_hello_rejects),
        cmocka_unit_test(test_sample_rejects),
        cmocka_unit_test(test_event_rejects),
        cmocka_unit_test(test_byte_at_a_time),
        cmocka_unit_test(test_resync),
        cmocka_unit_test(test_every_split),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
