/* duration.c, layout.c, msg.c: durations and numbers, the default layout,
 * ZeroMQ bodies (binary frame header, event/stats JSON), topics and
 * subscriber-side sequence tracking. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "duration.h"
#include "dwcmocka.h"
#include "layout.h"
#include "msg.h"

/* ---- durations ------------------------------------------------------------ */

static uint64_t dur(const char *s)
{
    uint64_t us = 12345;
    assert_int_equal(dw_duration_parse_us(s, &us), 0);
    return us;
}

static void dur_bad(const char *s)
{
    uint64_t us = 12345;
    assert_int_equal(dw_duration_parse_us(s, &us), -EINVAL);
    assert_int_equal(us, 12345); /* untouched */
}

static void test_duration(void **state)
{
    (void)state;
    assert_int_equal(dur("90"), 90000000ull);
    assert_int_equal(dur("90s"), 90000000ull);
    assert_int_equal(dur("250ms"), 250000ull);
    assert_int_equal(dur("15m"), 900000000ull);
    assert_int_equal(dur("72h"), 259200000000ull);
    assert_int_equal(dur("1.5d"), 129600000000ull);
    assert_int_equal(dur("0"), 0);
    assert_int_equal(dur("0.5s"), 500000ull);
    assert_int_equal(dur("1e3ms"), 1000000ull);
    /* 10^19 us fits a u64 (< 1.8e19): must come back exactly, not wrapped */
    assert_true(dur("1e13") == 10000000000000000000ull);
    assert_true(dur("115740740d") == 115740740ull * 86400000000ull);
    dur_bad(NULL);
    dur_bad("");
    dur_bad("-1");
    dur_bad("+1");
    dur_bad(" 1");
    dur_bad("1 ");
    dur_bad("5x");
    dur_bad("5 s");
    dur_bad("5S");
    dur_bad("5sec");
    dur_bad("h");
    dur_bad("1e400");
    dur_bad("1e20");
    dur_bad("1e13h");
    dur_bad("inf");
    dur_bad("nan");
    dur_bad("-0");
}

static void test_duration_format(void **state)
{
    char buf[32];
    (void)state;
    dw_duration_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "00:00:00");
    dw_duration_format(3723000000ull, buf, sizeof(buf));
    assert_string_equal(buf, "01:02:03");
    dw_duration_format(((3 * 24 + 4) * 3600 + 5 * 60 + 6) * 1000000ull, buf, sizeof(buf));
    assert_string_equal(buf, "3d 04:05:06");
}

static void test_parse_numbers(void **state)
{
    double d;
    uint64_t u;
    (void)state;
    assert_int_equal(dw_parse_double("2.5", 0, 10, &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(dw_parse_double("-1", -5, 5, &d), 0);
    assert_int_equal(dw_parse_double("11", 0, 10, &d), -EINVAL);
    assert_int_equal(dw_parse_double("", 0, 10, &d), -EINVAL);
    assert_int_equal(dw_parse_double("1x", 0, 10, &d), -EINVAL);
    assert_int_equal(dw_parse_double("nan", -1e9, 1e9, &d), -EINVAL);
    assert_int_equal(dw_parse_double("1e400", -INFINITY, INFINITY, &d), -EINVAL);
    assert_int_equal(dw_parse_u64("42", 0, 100, &u), 0);
    assert_int_equal(u, 42);
    assert_int_equal(dw_parse_u64("18446744073709551615", 0, UINT64_MAX, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(dw_parse_u64("18446744073709551616", 0, UINT64_MAX, &u), -EINVAL);
    assert_int_equal(dw_parse_u64("-1", 0, UINT64_MAX, &u), -EINVAL);
    assert_int_equal(dw_parse_u64("101", 0, 100, &u), -EINVAL);
    /* Decimal only: "010" is ten, not eight; "0x10" is refused. */
    assert_int_equal(dw_parse_u64("010", 0, 100, &u), 0);
    assert_int_equal(u, 10);
    assert_int_equal(dw_parse_u64("0x10", 0, 100, &u), -EINVAL);
    assert_int_equal(dw_parse_u64("0", 1, 100, &u), -EINVAL);
    assert_int_equal(dw_parse_u64("", 0, 100, &u), -EINVAL);
    assert_int_equal(dw_parse_u64("5x", 0, 100, &u), -EINVAL);
}

/* ---- layout --------------------------------------------------------------- */

static void test_layout_default(void **state)
{
    struct dw_hello h;
    char name[64];
    unsigned nb[DW_MAX_NEIGHBOURS];
    (void)state;

    dw_layout_default(&h, "DW-0001", "fw", 10);
    assert_string_equal(h.device_id, "DW-0001");
    assert_int_equal(h.n_zones, 16);
    assert_int_equal(h.n_ambient, 2);
    for (unsigned z = 0; z < h.n_zones; z++) {
        const struct dw_zone_desc *d = &h.zone[z];
        /* zone = side*8 + quadrant*2 + ring */
        assert_int_equal(z, d->side * 8u + d->quadrant * 2u + d->ring);
        /* a mirror on the other side, same place, and back */
        const struct dw_zone_desc *m = &h.zone[d->mirror];
        assert_int_not_equal(m->side, d->side);
        assert_int_equal(m->quadrant, d->quadrant);
        assert_int_equal(m->ring, d->ring);
        assert_int_equal(m->mirror, z);
        /* at least two neighbours on its own side, each one listing z back */
        unsigned n = dw_layout_neighbours(&h, z, nb);
        assert_true(n >= 2 && n <= DW_MAX_NEIGHBOURS);
        assert_int_equal(n, 3);
        for (unsigned i = 0; i < n; i++) {
            unsigned back[DW_MAX_NEIGHBOURS], bn, found = 0;
            assert_int_not_equal(nb[i], z);
            assert_int_equal(h.zone[nb[i]].side, d->side);
            for (unsigned k = 0; k < i; k++)
                assert_int_not_equal(nb[k], nb[i]);
            bn = dw_layout_neighbours(&h, nb[i], back);
            for (unsigned k = 0; k < bn; k++)
                found |= back[k] == z;
            assert_true(found);
        }
        /* band flags: outer ring of upper-outer, lower-inner, lower-outer */
        int band = d->ring == DW_RING_OUTER && d->quadrant != DW_Q_UPPER_INNER;
        assert_int_equal(!!(d->flags & DW_ZF_BAND), band);
    }
    /* the table of docs/protocol.md §8 */
    unsigned n = dw_layout_neighbours(&h, 0, nb);
    assert_int_equal(n, 3);
    assert_int_equal(nb[0], 1);
    assert_int_equal(nb[1], 2);
    assert_int_equal(nb[2], 6);
    n = dw_layout_neighbours(&h, 13, nb);
    assert_int_equal(nb[0], 12);
    assert_int_equal(nb[1], 15);
    assert_int_equal(nb[2], 11);
    dw_zone_name(&h, 0, name, sizeof(name));
    assert_string_equal(name, "left upper-outer inner");
    dw_zone_name(&h, 5, name, sizeof(name));
    assert_string_equal(name, "left lower-inner outer");
    dw_zone_name(&h, 15, name, sizeof(name));
    assert_string_equal(name, "right lower-outer outer");
    assert_string_equal(dw_quadrant_name(9), "?");
    assert_string_equal(dw_ring_name(2), "?");
}

/* A layout with missing zones: neighbours that do not exist are skipped,
 * a zone alone on its ring has only its other-ring neighbour. */
static void test_layout_sparse(void **state)
{
    struct dw_hello h;
    unsigned nb[DW_MAX_NEIGHBOURS];
    (void)state;
    memset(&h, 0, sizeof(h));
    h.n_zones = 4;
    /* left: upper-outer inner/outer, lower-inner inner; right: upper-outer inner */
    h.zone[0] = (struct dw_zone_desc){ 0, 0, 0, 3, 0 };
    h.zone[1] = (struct dw_zone_desc){ 0, 0, 1, 3, 0 };
    h.zone[2] = (struct dw_zone_desc){ 0, 2, 0, 3, 0 };
    h.zone[3] = (struct dw_zone_desc){ 1, 0, 0, 0, 0 };
    assert_int_equal(dw_layout_neighbours(&h, 0, nb), 1);
    assert_int_equal(nb[0], 1);
    assert_int_equal(dw_layout_neighbours(&h, 2, nb), 0);
    assert_int_equal(dw_layout_neighbours(&h, 3, nb), 0);
}

static void test_layout_scaling(void **state)
{
    struct dw_hello h;
    struct dw_sample s = { .n_zones = 16 };
    (void)state;
    dw_layout_default(&h, "x", "", 10);
    s.temp[5] = 3712;
    s.temp[6] = -500;
    s.pressure[9] = 65535;
    s.ambient[1] = 2475;
    s.accel[2] = -1002;
    assert_float_equal(dw_sample_temp_c(&h, &s, 5), 37.12, 1e-9);
    assert_float_equal(dw_sample_temp_c(&h, &s, 6), -5.0, 1e-9);
    assert_float_equal(dw_sample_pressure_kpa(&h, &s, 9), 65.535, 1e-9);
    assert_float_equal(dw_sample_ambient_c(&h, &s, 1), 24.75, 1e-9);
    assert_float_equal(dw_sample_accel_g(&h, &s, 2), -1.002, 1e-9);
    h.temp_scale = 0xffffffffu;
    s.temp[0] = 32767;
    assert_float_equal(dw_sample_temp_c(&h, &s, 0), 32767 * 4294.967295, 1e-3);
}

/* ---- msg: frame bodies ------------------------------------------------------- */

static void test_msg_frame(void **state)
{
    uint8_t payload[90], body[DW_MSG_FRAME_HDR + 100];
    struct dw_msg_frame m = {
        .version = DW_MSG_VERSION, .type = DW_FRAME_SAMPLE, .len = sizeof(payload),
        .device_seq = 0xfffffffeu, .seq = 1ull << 40, .stream = 1764000000000000000ull,
        .t_device_us = 123456789012ull, .t_host_ns = 1764000000123456789ull, .payload = payload,
    }, b;
    (void)state;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)i;
    ssize_t n = dw_msg_frame_pack(&m, body, sizeof(body));
    assert_int_equal(n, 40 + 90);
    assert_int_equal(dw_msg_frame_parse(body, (size_t)n, &b), 0);
    assert_int_equal(b.version, 1);
    assert_int_equal(b.type, DW_FRAME_SAMPLE);
    assert_int_equal(b.len, 90);
    assert_int_equal(b.device_seq, 0xfffffffeu);
    assert_true(b.seq == 1ull << 40);
    assert_true(b.stream == 1764000000000000000ull);
    assert_true(b.t_device_us == 123456789012ull);
    assert_true(b.t_host_ns == 1764000000123456789ull);
    assert_ptr_equal(b.payload, body + 40);
    assert_memory_equal(b.payload, payload, 90);
    /* little-endian at the documented offsets */
    assert_int_equal(body[0], 1);
    assert_int_equal(body[1], 2);
    assert_int_equal(dw_get_le16(body + 2), 90);
    assert_true(dw_get_le64(body + 8) == 1ull << 40);
    /* rejects */
    assert_int_equal(dw_msg_frame_parse(body, (size_t)n - 1, &b), -EBADMSG);
    assert_int_equal(dw_msg_frame_parse(body, 39, &b), -EBADMSG);
    body[0] = 2;
    assert_int_equal(dw_msg_frame_parse(body, (size_t)n, &b), -EBADMSG);
    assert_int_equal(dw_msg_frame_pack(&m, body, 129), -ENOBUFS);
    /* empty payload */
    m.len = 0;
    n = dw_msg_frame_pack(&m, body, sizeof(body));
    assert_int_equal(n, 40);
    assert_int_equal(dw_msg_frame_parse(body, 40, &b), 0);
    assert_int_equal(b.len, 0);
}

/* ---- msg: event and stats JSON --------------------------------------------------- */

static void test_msg_event_json(void **state)
{
    struct dw_msg_event e, b;
    const char *why;
    char *json;
    (void)state;

    memset(&e, 0, sizeof(e));
    e.seq = 42;
    e.stream = 1764000000000000000ull; /* an exact double */
    snprintf(e.device, sizeof(e.device), "DW-0001");
    e.t_device_us = 3600000000ull;
    e.t_host_ns = 1764000000000000000ull;
    e.kind = DW_EV_THERMOMETER;
    e.side = DW_SIDE_NONE;
    e.has_value = true;
    e.value = 38.2;
    snprintf(e.source, sizeof(e.source), "garment");
    snprintf(e.text, sizeof(e.text), "oral \"quoted\" \\ ünïcode");
    json = dw_msg_event_to_json(&e);
    assert_non_null(json);
    assert_int_equal(dw_msg_event_parse(json, strlen(json), &b, &why), 0);
    assert_null(why);
    assert_true(b.seq == 42);
    assert_true(b.stream == e.stream);
    assert_string_equal(b.device, "DW-0001");
    assert_true(b.t_device_us == e.t_device_us);
    assert_true(b.t_host_ns == e.t_host_ns);
    assert_int_equal(b.kind, DW_EV_THERMOMETER);
    assert_int_equal(b.side, DW_SIDE_NONE);
    assert_true(b.has_value);
    assert_true(b.value == 38.2);
    assert_string_equal(b.source, "garment");
    assert_string_equal(b.text, e.text);
    assert_non_null(strstr(json, "\"kind\":\"thermometer\""));
    free(json);

    /* no value -> null; gap carries "missing" */
    e.kind = DW_EV_GAP;
    e.side = DW_SIDE_LEFT;
    e.has_value = false;
    e.missing = 17;
    json = dw_msg_event_to_json(&e);
    assert_non_null(strstr(json, "\"value\":null"));
    assert_non_null(strstr(json, "\"missing\":17"));
    assert_int_equal(dw_msg_event_parse(json, strlen(json), &b, NULL), 0);
    assert_false(b.has_value);
    assert_int_equal(b.missing, 17);
    assert_int_equal(b.side, DW_SIDE_LEFT);
    free(json);

    /* what a user sends to the events endpoint (docs: REP request) */
    const char *req = "{\"kind\":\"feed-start\",\"side\":\"left\",\"value\":null,\"text\":\"\"}";
    assert_int_equal(dw_msg_event_parse(req, strlen(req), &b, &why), 0);
    assert_int_equal(b.kind, DW_EV_FEED_START);
    assert_int_equal(b.side, DW_SIDE_LEFT);
    /* side defaults to none */
    req = "{\"kind\":\"shower\"}";
    assert_int_equal(dw_msg_event_parse(req, strlen(req), &b, &why), 0);
    assert_int_equal(b.side, DW_SIDE_NONE);

    /* rejects, each with a reason */
    static const char *const bad[] = {
        "", "not json", "[]", "42", "{", "{\"side\":\"left\"}",
        "{\"kind\":\"feed\"}", "{\"kind\":7}", "{\"kind\":\"feed-start\",\"side\":\"middle\"}",
        "{\"kind\":\"feed-start\",\"side\":1}",
        "{\"kind\":\"feed-start\",\"value\":\"high\"}",
        "{\"kind\":\"feed-start\",\"seq\":-1}", "{\"kind\":\"feed-start\",\"seq\":1.5}",
        "{\"kind\":\"feed-start\",\"device\":\"0123456789abcdefX\"}",
        "{\"kind\":\"feed-start\",\"text\":\"01234567890123456789012345678901234567890123456789012345678901234\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        why = NULL;
        assert_int_equal(dw_msg_event_parse(bad[i], strlen(bad[i]), &b, &why), -EBADMSG);
        assert_non_null(why);
    }
    /* the length given is honoured: a valid prefix of a longer buffer */
    const char *two = "{\"kind\":\"shower\"}garbage";
    assert_int_equal(dw_msg_event_parse(two, 17, &b, NULL), 0);
}

static void test_msg_stats_json(void **state)
{
    struct dw_msg_stats s, b;
    char *json;
    uint64_t seq, stream;
    (void)state;
    memset(&s, 0, sizeof(s));
    s.seq = 9;
    s.stream = 1764000000000000000ull;
    snprintf(s.device, sizeof(s.device), "DW-0001");
    s.bytes = 1ull << 40;
    s.frames = 1000;
    s.crc_errors = 1;
    s.length_errors = 2;
    s.cobs_errors = 3;
    s.version_errors = 4;
    s.resyncs = 5;
    s.device_seq_gaps = 6;
    s.frames_missing = 7;
    s.reconnects = 8;
    s.events_in = 9;
    s.zmq_dropped = 10;
    s.drift_ppm = -12.5;
    s.link_up = true;
    json = dw_msg_stats_to_json(&s);
    assert_non_null(json);
    assert_int_equal(dw_msg_stats_parse(json, strlen(json), &b), 0);
    assert_memory_equal(&b.bytes, &s.bytes, offsetof(struct dw_msg_stats, drift_ppm) - offsetof(struct dw_msg_stats, bytes));
    assert_true(b.seq == 9 && b.stream == s.stream);
    assert_string_equal(b.device, "DW-0001");
    assert_true(b.drift_ppm == -12.5);
    assert_true(b.link_up);
    assert_int_equal(dw_msg_json_seq(json, strlen(json), &seq, &stream), 0);
    assert_true(seq == 9 && stream == s.stream);
    free(json);
    /* NaN drift is written as 0, not as invalid JSON */
    s.drift_ppm = NAN;
    json = dw_msg_stats_to_json(&s);
    assert_int_equal(dw_msg_stats_parse(json, strlen(json), &b), 0);
    assert_true(b.drift_ppm == 0.0);
    free(json);
    static const char *const bad[] = { "", "{}", "{\"seq\":\"1\"}", "{\"seq\":1,\"frames\":-2}", "[1]" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_int_equal(dw_msg_stats_parse(bad[i], strlen(bad[i]), &b), -EBADMSG);
    assert_int_equal(dw_msg_json_seq("{\"stream\":1}", 12, &seq, &stream), -EBADMSG);
    assert_int_equal(dw_msg_json_seq("{\"seq\":3}", 9, &seq, &stream), 0);
    assert_int_equal(seq, 3);
}

/* ---- topics and sequence tracking --------------------------------------------- */

static void test_topic(void **state)
{
    char buf[DW_TOPIC_MAX], kind[16], dev[DW_ID_LEN + 1];
    (void)state;
    assert_int_equal(dw_topic(buf, sizeof(buf), "frame", "DW-0001"), 13);
    assert_string_equal(buf, "frame.DW-0001");
    char small[13];
    assert_int_equal(dw_topic(small, sizeof(small), "frame", "DW-0001"), -ENAMETOOLONG);
    const char *d = dw_topic_split(buf, strlen(buf), kind, sizeof(kind), dev, sizeof(dev));
    assert_ptr_equal(d, dev);
    assert_string_equal(kind, "frame");
    assert_string_equal(dev, "DW-0001");
    /* the device part may hold dots: split at the first one */
    d = dw_topic_split("alert.a.b", 9, kind, sizeof(kind), dev, sizeof(dev));
    assert_non_null(d);
    assert_string_equal(kind, "alert");
    assert_string_equal(dev, "a.b");
    /* length is honoured (topics are not NUL-terminated in ZeroMQ) */
    d = dw_topic_split("stats.DW-1xyz", 10, kind, sizeof(kind), dev, sizeof(dev));
    assert_non_null(d);
    assert_string_equal(dev, "DW-1");
    assert_null(dw_topic_split("frame", 5, kind, sizeof(kind), dev, sizeof(dev)));
    assert_null(dw_topic_split("frame.", 6, kind, sizeof(kind), dev, sizeof(dev)));
    assert_null(dw_topic_split("averyveryverylongkind.x", 23, kind, sizeof(kind), dev, sizeof(dev)));
    assert_null(dw_topic_split("frame.0123456789abcdefX", 23, kind, sizeof(kind), dev, sizeof(dev)));
    /* a NUL inside would make an empty or truncated device id */
    assert_null(dw_topic_split("frame.\0x", 8, kind, sizeof(kind), dev, sizeof(dev)));
    assert_null(dw_topic_split("frame.DW\0x", 10, kind, sizeof(kind), dev, sizeof(dev)));
    assert_null(dw_topic_split("fr\0me.DW", 9, kind, sizeof(kind), dev, sizeof(dev)));
}

static void test_seq_check(void **state)
{
    struct dw_seq_tracker t;
    (void)state;
    memset(&t, 0, sizeof(t));
    /* first message of a stream that starts at 1: nothing missing */
    assert_int_equal(dw_seq_check(&t, 100, 1), 0);
    assert_int_equal(dw_seq_check(&t, 100, 2), 0);
    assert_int_equal(dw_seq_check(&t, 100, 3), 0);
    /* a gap of 4 */
    assert_int_equal(dw_seq_check(&t, 100, 8), 4);
    /* duplicates and replays: dropped */
    assert_int_equal(dw_seq_check(&t, 100, 8), DW_SEQ_DUP);
    assert_int_equal(dw_seq_check(&t, 100, 2), DW_SEQ_DUP);
    assert_int_equal(dw_seq_check(&t, 100, 9), 0);
    assert_int_equal(t.received, 5);
    assert_int_equal(t.gaps, 1);
    assert_int_equal(t.missing, 4);
    assert_int_equal(t.duplicates, 2);
    /* the publisher restarted: new stream id, counting starts again */
    assert_int_equal(dw_seq_check(&t, 200, 1), DW_SEQ_RESTART);
    assert_int_equal(t.restarts, 1);
    assert_int_equal(dw_seq_check(&t, 200, 2), 0);
    /* an old stream's message after the restart is another restart */
    assert_int_equal(dw_seq_check(&t, 100, 10), DW_SEQ_RESTART);
    assert_int_equal(t.restarts, 2);
    assert_int_equal(t.received, 8);

    /* joining late: the first message seen has seq 50 -> 49 missed */
    memset(&t, 0, sizeof(t));
    assert_int_equal(dw_seq_check(&t, 7, 50), 49);
    assert_int_equal(t.gaps, 1);
    assert_int_equal(t.missing, 49);
    assert_int_equal(dw_seq_check(&t, 7, 51), 0);
}

/* The device seq across an acquire restart (struct dw_dseq). */
static void test_dseq_bridge(void **state)
{
    struct dw_dseq d;
    (void)state;
    memset(&d, 0, sizeof(d));
    /* stream 1: frames 0..9, a garment event (10), acquire's gap of 2 */
    dw_dseq_message(&d, 0, 1);
    for (uint32_t s = 0; s < 10; s++)
        assert_int_equal(dw_dseq_frame(&d, s), 0);
    assert_int_equal(dw_dseq_garment_event(&d), 10);
    dw_dseq_gap(&d, 2);
    assert_int_equal(dw_dseq_frame(&d, 13), 0);
    /* acquire restarted; 3 frames (14..16) went with it; the new one
     * counts 1 before its HELLO and has a garment event first */
    dw_dseq_message(&d, DW_SEQ_RESTART, 1);
    dw_dseq_gap(&d, 1);
    assert_int_equal(dw_dseq_garment_event(&d), -1);
    assert_int_equal(dw_dseq_frame(&d, 19), 3);
    assert_int_equal(dw_dseq_frame(&d, 20), 0);
    assert_int_equal(dw_dseq_garment_event(&d), 21);
    /* a new stream this subscriber joined late: nothing can be said */
    dw_dseq_message(&d, DW_SEQ_RESTART, 40);
    assert_int_equal(dw_dseq_frame(&d, 90), 0);
    /* the garment rebooted (its count went back): nothing either */
    dw_dseq_message(&d, DW_SEQ_RESTART, 1);
    assert_int_equal(dw_dseq_frame(&d, 0), 0);
    /* messages of the stream lost: track lost until the next frame */
    dw_dseq_message(&d, 5, 12);
    assert_int_equal(dw_dseq_garment_event(&d), -1);
    dw_dseq_message(&d, DW_SEQ_RESTART, 1);
    assert_int_equal(dw_dseq_frame(&d, 60), 0);
    /* the device seq wraps at 2^32 */
    dw_dseq_message(&d, 0, 2);
    assert_int_equal(dw_dseq_frame(&d, 0xFFFFFFFEu), 0);
    dw_dseq_message(&d, DW_SEQ_RESTART, 1);
    assert_int_equal(dw_dseq_frame(&d, 1), 2);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_layout_default),
        cmocka_unit_test(test_layout_sparse),
        cmocka_unit_test(test_layout_scaling),
        cmocka_unit_test(test_msg_frame),
        cmocka_unit_test(test_msg_event_json),
        cmocka_unit_test(test_msg_stats_json),
        cmocka_unit_test(test_topic),
        cmocka_unit_test(test_seq_check),
        cmocka_unit_test(test_dseq_bridge),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
