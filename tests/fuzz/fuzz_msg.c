/* Fuzz target for the parsers of what arrives over ZeroMQ and the command
 * line: event JSON (the events REP socket takes it from any local client),
 * stats JSON, the seq/stream probe, binary frame bodies, topics, durations
 * and numbers (msg_event, msg_stats, msg_json, msg_frame, topic, duration,
 * parse_num).
 *
 * Besides memory safety: an event that parses is printed back to JSON and
 * that JSON parses to the same event; a frame body that parses packs back to
 * the same bytes. Plain replay main(): fuzz_replay.c. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "duration.h"
#include "msg_event.h"
#include "msg_frame.h"
#include "msg_json.h"
#include "msg_stats.h"
#include "parse_num.h"
#include "topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void event_round_trip(const char *json, size_t len)
{
    struct dw_msg_event e, b;
    const char *why = NULL;
    char *out;

    if (dw_msg_event_parse(json, len, &e, &why) < 0) {
        CHECK(why != NULL);
        return;
    }
    CHECK(why == NULL);
    CHECK(dw_event_kind_name((unsigned)e.kind) && dw_side_name((unsigned)e.side));
    out = dw_msg_event_to_json(&e);
    CHECK(out);
    CHECK(dw_msg_event_parse(out, strlen(out), &b, &why) == 0);
    CHECK(b.kind == e.kind && b.side == e.side && b.has_value == e.has_value);
    /* cJSON prints 15 significant digits when they read back within an
     * ulp or so: values survive to ~1e-15, not bit for bit. */
    CHECK(!e.has_value || fabs(b.value - e.value) <= 4e-15 * fabs(e.value));
    CHECK(!strcmp(b.text, e.text) && !strcmp(b.device, e.device));
    CHECK(b.seq == e.seq && b.stream == e.stream && b.t_device_us == e.t_device_us);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    struct dw_msg_stats st;
    struct dw_msg_frame m;
    uint64_t a, b;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;

    event_round_trip(s, size);
    if (dw_msg_stats_parse(s, size, &st) == 0) {
        char *out = dw_msg_stats_to_json(&st);
        struct dw_msg_stats back;
        CHECK(out && dw_msg_stats_parse(out, strlen(out), &back) == 0);
        CHECK(back.seq == st.seq && back.frames == st.frames && back.crc_errors == st.crc_errors);
        free(out);
    }
    (void)dw_msg_json_seq(s, size, &a, &b);

    if (dw_msg_frame_parse(data, size, &m) == 0) {
        uint8_t *re = malloc(size);
        CHECK(re && dw_msg_frame_pack(&m, re, size) == (ssize_t)size && !memcmp(re, data, size));
        free(re);
    }

    char dev[DW_ID_LEN + 1];
    int k = dw_topic_parse(s, size, dev, sizeof(dev));
    CHECK(k == -ENOENT || k == -EBADMSG ||
          (k >= 0 && k < DW_TOPIC_N && strlen(dev) > 0 && strlen(dev) == size - 6));

    uint64_t us;
    double x;
    (void)dw_duration_parse_us(s, &us);
    (void)dw_parse_u64(s, 0, UINT64_MAX, &a);
    (void)dw_parse_double(s, -1e9, 1e9, &x);
    free(s);
    return 0;
}
