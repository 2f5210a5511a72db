/* Fuzz target for what ductwatch-record does with a [topic, body] message
 * before anything reaches a file (issue 21): the shared subscriber
 * (dw_stream_sub_handle: topic kind and device id, body parse, stream
 * sequences, duplicates), then the recorder's own checks on a HELLO (its
 * id must be the topic's) and the session file name built from the id
 * (dw_session_name). The HDF5 writing itself is not run here.
 *
 * Input: messages one after the other, each [topic length (1 byte)]
 * [topic] [body length (2 bytes, little endian)] [body]; a short tail is
 * one last message with what is left. Several messages per input, so that
 * sequences, duplicates and a HELLO before its frames are reached.
 *
 * Checks besides memory safety: every device a handler sees has a valid id
 * (device_id.h) that its topic named; a refused topic names no valid id; a
 * HELLO taken names the topic's device; the file name of a taken HELLO is
 * one plain name (no '/', no leading '.') that starts with the id; the
 * subscriber's counters add up to the messages given. Plain replay main():
 * fuzz_replay.c. */
#include <stdlib.h>
#include <string.h>
#include "device_id.h"
#include "dwtime.h"
#include "frame.h"
#include "session_file.h"
#include "stream_sub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

struct fz {
    const char *topic; /* the message being handled */
    size_t tlen;
    unsigned hellos;   /* HELLOs taken (a file would open) */
};

/* The device a handler got: valid, and the one the topic names. */
static void check_device(const struct fz *z, const struct dw_sub_msg *m)
{
    const char *dot = memchr(z->topic, '.', z->tlen);
    size_t n = strlen(m->dev->id);
    CHECK(dw_device_id_valid(m->dev->id, n));
    CHECK(dot && (size_t)(z->topic + z->tlen - dot - 1) == n && !memcmp(dot + 1, m->dev->id, n));
}

/* What record's take_hello does before it opens a file: the HELLO must
 * parse and name the topic's device; the file name comes from that id. */
static int take_hello(struct fz *z, const struct dw_sub_msg *m, const struct dw_msg_frame *f)
{
    struct dw_hello h;
    char stamp[32], name[256];
    int n;

    if (dw_hello_parse(f->payload, f->len, &h) < 0)
        return -1;
    if (strcmp(h.device_id, m->dev->id) != 0)
        return -1;
    dw_format_utc(f->t_host_ns, stamp, sizeof(stamp), 1);
    for (int k = 0; k < 2; k++) {
        n = dw_session_name(name, sizeof(name), m->dev->id, stamp, k);
        CHECK(n > 0 && (size_t)n == strlen(name));
        CHECK(!strchr(name, '/') && name[0] != '.');
        CHECK(!strncmp(name, m->dev->id, strlen(m->dev->id)));
    }
    z->hellos++;
    return 0;
}

static int on_frame(const struct dw_sub_msg *m, const struct dw_msg_frame *f, void *user)
{
    struct fz *z = user;
    check_device(z, m);
    CHECK(f->len <= m->len);
    return f->type == DW_FRAME_HELLO ? take_hello(z, m, f) : 0;
}

static void on_event(const struct dw_sub_msg *m, const struct dw_msg_event *e, void *user)
{
    check_device(user, m);
    CHECK(memchr(e->text, 0, sizeof(e->text)) && memchr(e->device, 0, sizeof(e->device)));
}

static void on_stats(const struct dw_sub_msg *m, const struct dw_msg_stats *s, void *user)
{
    (void)s;
    check_device(user, m);
}

static void on_alert(const struct dw_sub_msg *m, const struct dw_msg_alert *a, void *user)
{
    check_device(user, m);
    CHECK(memchr(a->message, 0, sizeof(a->message)) && memchr(a->params, 0, sizeof(a->params)));
}

static void on_bad(const struct dw_sub_msg *m, enum dw_topic_kind k, const char *why, void *user)
{
    (void)k;
    check_device(user, m);
    CHECK(why != NULL);
}

/* A refused topic is one of the four kinds whose device part is no valid
 * device id. */
static void on_refused(const char *topic, size_t tlen, void *user)
{
    const struct fz *z = user;
    const char *dot = memchr(topic, '.', tlen);
    CHECK(topic == z->topic && tlen == z->tlen);
    CHECK(!dot || !dw_device_id_valid(dot + 1, (size_t)(topic + tlen - dot - 1)) ||
          (size_t)(topic + tlen - dot - 1) > DW_ID_LEN);
}

static const struct dw_sub_handlers handlers = {
    .on_frame = on_frame, .on_event = on_event, .on_stats = on_stats, .on_alert = on_alert,
    .on_bad = on_bad, .on_refused = on_refused,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dw_stream_sub s;
    struct fz z = { 0 };
    uint64_t msgs = 0;

    if (size > 65536)
        return 0;
    dw_stream_sub_init(&s, &handlers, 0, &z);
    while (size > 0) {
        size_t tlen = data[0], blen;
        if (tlen > size - 1)
            tlen = size - 1;
        z.topic = (const char *)data + 1;
        z.tlen = tlen;
        data += 1 + tlen;
        size -= 1 + tlen;
        blen = size >= 2 ? (size_t)data[0] | (size_t)data[1] << 8 : 0;
        data += size >= 2 ? 2 : size;
        size -= size >= 2 ? 2 : size;
        if (blen > size)
            blen = size;
        /* the body in a buffer of its own size, so that a read past it is
         * seen by ASan */
        uint8_t *body = malloc(blen ? blen : 1);
        CHECK(body);
        memcpy(body, data, blen);
        CHECK(dw_stream_sub_handle(&s, z.topic, z.tlen, body, blen) >= 0);
        free(body);
        data += blen;
        size -= blen;
        msgs++;
    }
    CHECK(s.delivered + s.ignored + s.bad + s.refused + s.duplicates == msgs);
    CHECK(z.hellos <= s.delivered);
    dw_stream_sub_fini(&s);
    return 0;
}
