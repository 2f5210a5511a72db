#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "acquire.h"
#include "defaults.h"
#include "dwtime.h"
#include "endpoint.h"
#include "event_value.h"
#include "log.h"
#include "utf8.h"

static void on_frame(const struct dw_frame *f, void *user);

/* Start time in ns, rounded to the nearest double so that the id is exact in
 * JSON bodies too (cJSON numbers are doubles; this costs < 512 ns). */
static uint64_t new_stream_id(void)
{
    return (uint64_t)(double)dw_now_realtime_ns();
}

int dw_acquire_init(struct dw_acquire *a, void *pub_sock, const struct dw_acquire_opts *o)
{
    int r;
    memset(a, 0, sizeof(*a));
    a->pub = pub_sock;
    a->stream = new_stream_id();
    r = dw_backlog_init(&a->backlog, o && o->backlog ? o->backlog : DW_BACKLOG_DEFAULT,
                        o && o->backlog_age_ns ? o->backlog_age_ns
                                               : DW_BACKLOG_AGE_S_DEFAULT * 1000000000ull);
    if (r < 0)
        return r;
    /* A full backlog (and the pinned HELLO) at once, one more per backlog
     * age on average. */
    dw_replay_budget_init(&a->budget, a->backlog.cap + 1, a->backlog.max_age_ns, 0);
    dw_decoder_init(&a->dec, on_frame, a);
    return 0;
}

void dw_acquire_free(struct dw_acquire *a)
{
    dw_backlog_free(&a->backlog);
}

/* ---- publishing ------------------------------------------------------- */

static void publish(struct dw_acquire *a, const char *kind, const void *body, size_t len,
                    bool pin)
{
    char topic[DW_TOPIC_MAX];
    int r;

    if (dw_topic(topic, sizeof(topic), kind, a->device) < 0)
        return;
    /* Sent first, kept for replay after: the copy (and, when a bigger
     * message lands in a slot, its realloc) is not on the latency path.
     * Nothing can replay in between, so the order subscribers see is the
     * same. */
    r = dw_zmq_send2(a->pub, topic, body, len);
    if (r < 0) {
        /* Never wait for a slow subscriber: the stream seq shows it the gap. */
        a->zmq_dropped++;
        if (r != -EAGAIN)
            dw_debug("send %s: %s", topic, strerror(-r));
    }
    if (dw_backlog_push(&a->backlog, topic, body, len, a->rx_mono_ns) < 0 ||
        (pin && dw_backlog_pin_last(&a->backlog) < 0))
        dw_warn("backlog: out of memory");
}

static void publish_event(struct dw_acquire *a, struct dw_msg_event *e)
{
    char *json;
    e->seq = ++a->seq;
    e->stream = a->stream;
    snprintf(e->device, sizeof(e->device), "%s", a->device);
    json = dw_msg_event_to_json(e);
    if (!json) {
        dw_err("event: out of memory");
        return;
    }
    publish(a, "event", json, strlen(json), false);
    free(json);
}

static void publish_frame(struct dw_acquire *a, const struct dw_frame *f)
{
    uint8_t body[DW_MSG_FRAME_HDR + DW_MAX_PAYLOAD];
    struct dw_msg_frame m = {
        .version = DW_MSG_VERSION, .type = f->type, .len = f->len,
        .device_seq = f->seq, .seq = ++a->seq, .stream = a->stream,
        .t_device_us = f->t_device_us, .t_host_ns = a->rx_real_ns,
        .payload = f->payload,
    };
    ssize_t n = dw_msg_frame_pack(&m, body, sizeof(body));
    /* The latest HELLO stays replayable after it leaves the backlog: a
     * subscriber that (re)starts later cannot read a frame without it. */
    if (n > 0)
        publish(a, "frame", body, (size_t)n, f->type == DW_FRAME_HELLO);
}

/* ---- host events (link, gap) ------------------------------------------ */

bool dw_acquire_device_now(const struct dw_acquire *a, uint64_t mono_ns, uint64_t *dev_us)
{
    if (!a->have_frame)
        return false;
    *dev_us = a->last_dev_us + (mono_ns > a->last_mono_ns ? (mono_ns - a->last_mono_ns) / 1000 : 0);
    return true;
}

static void host_event(struct dw_acquire *a, int kind, uint64_t missing, const char *text,
                       uint64_t t_dev_us, uint64_t real_ns)
{
    struct dw_msg_event e;
    if (!a->device[0])
        return; /* no topic before the first HELLO: logged only */
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.side = DW_SIDE_NONE;
    e.missing = missing;
    e.t_device_us = t_dev_us;
    e.t_host_ns = real_ns;
    snprintf(e.source, sizeof(e.source), "acquire");
    snprintf(e.text, sizeof(e.text), "%s", text);
    publish_event(a, &e);
}

void dw_acquire_link_up(struct dw_acquire *a, uint64_t real_ns, uint64_t mono_ns)
{
    uint64_t t = 0;
    a->rx_real_ns = real_ns;
    a->rx_mono_ns = mono_ns;
    a->link_up = true;
    a->need_hello = true;
    a->last_request_ns = 0;
    dw_decoder_reset(&a->dec);
    if (a->ever_up) {
        a->reconnects++;
        dw_acquire_device_now(a, mono_ns, &t);
        host_event(a, DW_EV_LINK_UP, 0, "link up", t, real_ns);
    }
    a->ever_up = true;
}

void dw_acquire_link_down(struct dw_acquire *a, const char *why, uint64_t real_ns,
                          uint64_t mono_ns)
{
    uint64_t t = 0;
    if (!a->link_up)
        return;
    a->rx_real_ns = real_ns;
    a->rx_mono_ns = mono_ns;
    a->link_up = false;
    /* A partial frame cannot be completed by bytes from a new connection. */
    dw_decoder_reset(&a->dec);
    dw_acquire_device_now(a, mono_ns, &t);
    host_event(a, DW_EV_LINK_DOWN, 0, why ? why : "link down", t, real_ns);
}

bool dw_acquire_want_hello_request(struct dw_acquire *a, uint64_t mono_ns)
{
    if (!a->link_up || !a->need_hello)
        return false;
    if (a->last_request_ns && mono_ns - a->last_request_ns < DW_ACQ_HELLO_RETRY_NS)
        return false;
    a->last_request_ns = mono_ns;
    return true;
}

/* ---- drift ------------------------------------------------------------ */

static void drift_reset(struct dw_acquire *a)
{
    a->drift_n = 0;
    a->drift_head = 0;
}

static void drift_add(struct dw_acquire *a, uint64_t mono_ns, uint64_t dev_us)
{
    if (a->drift_n) {
        size_t last = (a->drift_head + DW_ACQ_DRIFT_POINTS - 1) % DW_ACQ_DRIFT_POINTS;
        if (mono_ns - a->drift[last].mono_ns < DW_ACQ_DRIFT_STEP_NS)
            return;
        if (dev_us < a->drift[last].dev_us) {
            drift_reset(a); /* device clock restarted */
        }
    }
    a->drift[a->drift_head].mono_ns = mono_ns;
    a->drift[a->drift_head].dev_us = dev_us;
    a->drift_head = (a->drift_head + 1) % DW_ACQ_DRIFT_POINTS;
    if (a->drift_n < DW_ACQ_DRIFT_POINTS)
        a->drift_n++;
}

double dw_acquire_drift_ppm(const struct dw_acquire *a)
{
    size_t n = a->drift_n, start = (a->drift_head + DW_ACQ_DRIFT_POINTS - n) % DW_ACQ_DRIFT_POINTS;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    uint64_t x0, y0, last_x;

    if (n < 3)
        return 0.0;
    x0 = a->drift[start].mono_ns;
    y0 = a->drift[start].dev_us;
    last_x = a->drift[(start + n - 1) % DW_ACQ_DRIFT_POINTS].mono_ns;
    if (last_x - x0 < DW_ACQ_DRIFT_MIN_SPAN_NS)
        return 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t k = (start + i) % DW_ACQ_DRIFT_POINTS;
        /* Offsets from the first point keep the doubles exact. */
        double x = (double)(a->drift[k].mono_ns - x0) / 1e3; /* us */
        double y = (double)(a->drift[k].dev_us - y0);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    double den = (double)n * sxx - sx * sx;
    if (den <= 0)
        return 0.0;
    double slope = ((double)n * sxy - sx * sy) / den;
    return (slope - 1.0) * 1e6;
}

/* ---- garment frames ------------------------------------------------------ */

static void new_device(struct dw_acquire *a, const char *id)
{
    if (a->device[0]) {
        /* Another garment behind the same port: its own stream. */
        dw_warn("garment changed from %s to %s: starting a new stream", a->device, id);
        a->stream = new_stream_id();
        a->seq = 0;
        dw_backlog_clear(&a->backlog);
        a->have_base = false;
        a->have_frame = false;
        drift_reset(a);
    } else {
        dw_info("garment %s", id);
    }
    snprintf(a->device, sizeof(a->device), "%s", id);
}

/* Device sequence accounting over the frames that reach the stream: every
 * garment frame that did not (lost on the link, corrupted, invalid
 * payload, before the first HELLO) shows up as a gap. */
static void check_device_seq(struct dw_acquire *a, const struct dw_frame *f)
{
    int32_t rel;

    if (!a->have_base) {
        a->have_base = true;
        a->expected = f->seq;
    }
    rel = (int32_t)(f->seq - a->expected);
    if (rel > 0) {
        a->device_seq_gaps++;
        a->frames_missing += (uint64_t)rel;
        dw_debug("device seq gap: %d frame(s) missing before %u", rel, f->seq);
        host_event(a, DW_EV_GAP, (uint64_t)rel, "garment frames lost", f->t_device_us, a->rx_real_ns);
    } else if (rel < 0) {
        if (f->type == DW_FRAME_HELLO) {
            a->reboots++;
            dw_info("garment restarted (device seq %u, expected %u)", f->seq, a->expected);
        } else {
            dw_warn("device seq went back from %u to %u: counting from there", a->expected, f->seq);
        }
        drift_reset(a);
    }
    a->expected = f->seq + 1;
}

/* How far t is ahead of the time line at host time mono_ns, extended from
 * (ref_us at ref_mono_ns) at the host's pace; 0 when it is not ahead. A
 * faster pace (a simulator at N times real time) moves each frame only a
 * frame's period ahead of the one before. */
static uint64_t ahead_of(uint64_t t, uint64_t ref_us, uint64_t ref_mono_ns, uint64_t mono_ns)
{
    uint64_t line = ref_us + (mono_ns > ref_mono_ns ? (mono_ns - ref_mono_ns) / 1000 : 0);
    if (line < ref_us)
        line = UINT64_MAX; /* wrapped: nothing is ahead of it */
    return t > line ? t - line : 0;
}

/* false when the frame's device time jumped ahead (DW_ACQ_TIME_JUMP_US)
 * and the frame must be dropped. A HELLO starts a time line of its own (a
 * garment that restarted counts from 0 again); DW_ACQ_TIME_RESYNC suspect
 * frames in a row, each after the one before, start a new one too. A
 * device time that goes back is a garment restart (drift_add). */
static bool time_in_line(struct dw_acquire *a, const struct dw_frame *f)
{
    uint64_t t = f->t_device_us, now = a->rx_mono_ns, ahead;

    ahead = a->have_frame ? ahead_of(t, a->last_dev_us, a->last_mono_ns, now) : 0;
    if (ahead <= DW_ACQ_TIME_JUMP_US || f->type == DW_FRAME_HELLO) {
        if (ahead > DW_ACQ_TIME_JUMP_US)
            drift_reset(a);
        a->suspect_n = 0;
        return true;
    }
    if (a->suspect_n && (t <= a->suspect_dev_us ||
                         ahead_of(t, a->suspect_dev_us, a->suspect_mono_ns, now) >
                             DW_ACQ_TIME_JUMP_US))
        a->suspect_n = 0;
    a->suspect_n++;
    a->suspect_dev_us = t;
    a->suspect_mono_ns = now;
    if (a->suspect_n >= DW_ACQ_TIME_RESYNC) {
        dw_warn("garment clock jumped from t=%llu us to t=%llu us: following it",
                (unsigned long long)a->last_dev_us, (unsigned long long)t);
        drift_reset(a);
        a->suspect_n = 0;
        return true;
    }
    if (!a->time_suspect++)
        dw_warn("dropped a %s frame %llu us ahead of the device time line (t=%llu us); "
                "further ones are counted (stats length_errors)", dw_frame_type_name(f->type),
                (unsigned long long)ahead, (unsigned long long)t);
    return false;
}

/* A garment EVENT as published: its text made valid UTF-8 (each invalid
 * byte becomes U+FFFD), its value in whole units. false for a value no
 * sender should send (event_value.h). */
static bool garment_event(struct dw_acquire *a, const struct dw_frame *f, const struct dw_event *ev,
                          struct dw_msg_event *e)
{
    char why[128];
    memset(e, 0, sizeof(*e));
    e->kind = ev->kind;
    e->side = ev->side;
    e->has_value = true;
    e->value = ev->value / 1000.0; /* milli-units on the wire */
    e->t_device_us = f->t_device_us;
    e->t_host_ns = a->rx_real_ns;
    snprintf(e->source, sizeof(e->source), "garment");
    if (dw_utf8_repair(ev->text, strlen(ev->text), e->text, sizeof(e->text)) &&
        !a->text_repaired++)
        dw_warn("garment EVENT text is not UTF-8: invalid bytes replaced by U+FFFD");
    if (dw_event_value_check(e->kind, e->has_value, e->value, why, sizeof(why)) < 0) {
        dw_debug("dropped garment EVENT %u: %s", f->seq, why);
        return false;
    }
    return true;
}

/* Why a frame is not published. */
enum frame_verdict { FRAME_OK, FRAME_BAD_PAYLOAD, FRAME_PRE_HELLO };

/* Parses f's payload and checks it against the HELLO; a HELLO is taken
 * (a new device id starts a new device). ev is filled for an EVENT. */
static enum frame_verdict check_frame(struct dw_acquire *a, const struct dw_frame *f,
                                      struct dw_msg_event *ev)
{
    union {
        struct dw_hello h;
        struct dw_sample s;
        struct dw_event e;
        struct dw_status st;
    } u;

    if (!a->have_hello &&
        (f->type == DW_FRAME_SAMPLE || f->type == DW_FRAME_STATUS || f->type == DW_FRAME_EVENT))
        return FRAME_PRE_HELLO;
    switch (f->type) {
    case DW_FRAME_HELLO:
        if (dw_hello_parse(f->payload, f->len, &u.h) < 0)
            return FRAME_BAD_PAYLOAD;
        if (strcmp(u.h.device_id, a->device) != 0) {
            new_device(a, u.h.device_id);
        }
        a->hello = u.h;
        a->have_hello = true;
        a->need_hello = false;
        break;
    case DW_FRAME_SAMPLE:
        if (dw_sample_parse(f->payload, f->len, &u.s) < 0 || u.s.n_zones != a->hello.n_zones)
            return FRAME_BAD_PAYLOAD;
        break;
    case DW_FRAME_STATUS:
        if (dw_status_parse(f->payload, f->len, &u.st) < 0)
            return FRAME_BAD_PAYLOAD;
        break;
    case DW_FRAME_EVENT:
        if (dw_event_parse(f->payload, f->len, &u.e) < 0 || !garment_event(a, f, &u.e, ev))
            return FRAME_BAD_PAYLOAD;
        break;
    default: /* HELLO_REQUEST is host -> garment only */
        return FRAME_BAD_PAYLOAD;
    }
    return time_in_line(a, f) ? FRAME_OK : FRAME_BAD_PAYLOAD;
}

static void on_frame(const struct dw_frame *f, void *user)
{
    struct dw_acquire *a = user;
    struct dw_msg_event ev;

    /* The first CRC-valid frame fixes where counting starts. */
    if (!a->have_base) {
        a->have_base = true;
        a->expected = f->seq;
    }
    switch (check_frame(a, f, &ev)) {
    case FRAME_OK:
        break;
    case FRAME_BAD_PAYLOAD:
        a->payload_errors++;
        dw_debug("dropped %s frame %u: invalid payload (%u bytes)",
                 dw_frame_type_name(f->type) ? dw_frame_type_name(f->type) : "?", f->seq,
                 f->len);
        return;
    case FRAME_PRE_HELLO:
        a->pre_hello_dropped++;
        dw_debug("dropped %s frame %u: no HELLO yet", dw_frame_type_name(f->type), f->seq);
        return;
    }
    check_device_seq(a, f);
    if (f->type == DW_FRAME_EVENT) {
        publish_event(a, &ev);
    } else {
        publish_frame(a, f);
    }
    a->published_frames++;
    a->have_frame = true;
    a->last_dev_us = f->t_device_us;
    a->last_mono_ns = a->rx_mono_ns;
    drift_add(a, a->rx_mono_ns, f->t_device_us);
}

void dw_acquire_feed(struct dw_acquire *a, const uint8_t *data, size_t len,
                     uint64_t real_ns, uint64_t mono_ns)
{
    a->rx_real_ns = real_ns;
    a->rx_mono_ns = mono_ns;
    dw_decoder_feed(&a->dec, data, len);
}

/* ---- user events ------------------------------------------------------------ */

static void reply_json(char *reply, size_t cap, bool ok, uint64_t seq, const char *error)
{
    cJSON *o = cJSON_CreateObject();
    char *s;
    cJSON_AddBoolToObject(o, "ok", ok);
    if (ok)
        cJSON_AddNumberToObject(o, "seq", (double)seq);
    else
        cJSON_AddStringToObject(o, "error", error);
    s = cJSON_PrintUnformatted(o);
    snprintf(reply, cap, "%s", s ? s : "{\"ok\":false,\"error\":\"out of memory\"}");
    free(s);
    cJSON_Delete(o);
}

void dw_acquire_user_event(struct dw_acquire *a, const char *json, size_t len,
                           uint64_t real_ns, uint64_t mono_ns, char *reply, size_t cap)
{
    struct dw_msg_event e;
    const char *why = NULL;
    char range[128];
    uint64_t t;

    if (dw_msg_event_parse(json, len, &e, &why) < 0) {
        reply_json(reply, cap, false, 0, why ? why : "bad event");
        return;
    }
    if (e.kind >= DW_EV_LINK_DOWN) {
        reply_json(reply, cap, false, 0, "this kind is published by acquisition only");
        return;
    }
    if (!dw_utf8_valid(e.text, strlen(e.text))) {
        reply_json(reply, cap, false, 0, "\"text\" is not valid UTF-8");
        return;
    }
    if (dw_event_value_check(e.kind, e.has_value, e.value, range, sizeof(range)) < 0) {
        reply_json(reply, cap, false, 0, range);
        return;
    }
    if (!dw_acquire_device_now(a, mono_ns, &t)) {
        reply_json(reply, cap, false, 0, "no garment data yet");
        return;
    }
    if (e.device[0] && strcmp(e.device, a->device) != 0) {
        reply_json(reply, cap, false, 0, "wrong device for this acquisition");
        return;
    }
    a->rx_real_ns = real_ns;
    a->rx_mono_ns = mono_ns;
    /* Onto the device time line; whatever seq/stream/time the client sent
     * is replaced. */
    e.t_device_us = t;
    e.t_host_ns = real_ns;
    e.missing = 0;
    snprintf(e.source, sizeof(e.source), "user");
    a->events_in++;
    publish_event(a, &e);
    reply_json(reply, cap, true, a->seq, NULL);
}

/* ---- stats and subscriptions -------------------------------------------------- */

void dw_acquire_fill_stats(const struct dw_acquire *a, struct dw_msg_stats *s)
{
    memset(s, 0, sizeof(*s));
    s->stream = a->stream;
    snprintf(s->device, sizeof(s->device), "%s", a->device);
    s->bytes = a->dec.st.bytes;
    s->frames = a->published_frames;
    s->crc_errors = a->dec.st.crc_errors;
    s->length_errors = a->dec.st.length_errors + a->payload_errors;
    s->cobs_errors = a->dec.st.cobs_errors;
    s->version_errors = a->dec.st.version_errors;
    s->resyncs = a->dec.st.resyncs;
    s->device_seq_gaps = a->device_seq_gaps;
    s->frames_missing = a->frames_missing;
    s->reconnects = a->reconnects;
    s->events_in = a->events_in;
    s->zmq_dropped = a->zmq_dropped;
    s->drift_ppm = dw_acquire_drift_ppm(a);
    s->link_up = a->link_up;
}

void dw_acquire_publish_stats(struct dw_acquire *a, uint64_t real_ns, uint64_t mono_ns)
{
    struct dw_msg_stats s;
    char *json;

    if (!a->device[0])
        return;
    a->rx_real_ns = real_ns;
    a->rx_mono_ns = mono_ns;
    dw_acquire_fill_stats(a, &s);
    s.seq = ++a->seq;
    dw_acquire_device_now(a, mono_ns, &s.t_device_us);
    s.t_host_ns = real_ns;
    json = dw_msg_stats_to_json(&s);
    if (!json)
        return;
    publish(a, "stats", json, strlen(json), false);
    free(json);
}

int dw_acquire_setup_pub(void *sock, int sndhwm)
{
    int one = 1;
    int64_t max = DW_SUBSCRIPTION_MAX;
    if (zmq_setsockopt(sock, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm)) < 0 ||
        zmq_setsockopt(sock, ZMQ_XPUB_VERBOSE, &one, sizeof(one)) < 0 ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof(max)) < 0)
        return -errno;
    return 0;
}

int dw_acquire_handle_subscriptions(struct dw_acquire *a, uint64_t mono_ns)
{
    uint8_t buf[1 + DW_BACKLOG_PREFIX_MAX];
    int subs = 0;
    for (;;) {
        int n = zmq_recv(a->pub, buf, sizeof(buf), ZMQ_DONTWAIT);
        if (n < 0)
            break;
        /* 1 = subscribe, 0 = unsubscribe; one replay per batch, for the
         * prefixes of the batch. */
        if (n >= 1 && buf[0] == 1) {
            if ((size_t)n <= sizeof(buf))
                dw_backlog_filter_add(&a->want, buf + 1, (size_t)n - 1);
            a->replay_pending = true;
            subs++;
        }
    }
    dw_acquire_replay(a, mono_ns);
    return subs;
}

void dw_acquire_check_subscriptions(struct dw_acquire *a, uint64_t mono_ns)
{
    int ev = 0;
    size_t len = sizeof(ev);
    if (zmq_getsockopt(a->pub, ZMQ_EVENTS, &ev, &len) == 0 && (ev & ZMQ_POLLIN))
        dw_acquire_handle_subscriptions(a, mono_ns);
    else if (a->replay_pending)
        dw_acquire_replay(a, mono_ns);
}

void dw_acquire_replay(struct dw_acquire *a, uint64_t mono_ns)
{
    uint64_t dropped = 0;
    size_t n;
    if (!a->replay_pending)
        return;
    n = dw_backlog_replay(&a->backlog, NULL, mono_ns, &a->want, NULL);
    if (n && dw_replay_budget_take(&a->budget, n, mono_ns)) {
        n = dw_backlog_replay(&a->backlog, a->pub, mono_ns, &a->want, &dropped);
        a->replays++;
        if (n || dropped)
            dw_debug("new subscriber: replayed %zu message(s), %llu refused", n,
                     (unsigned long long)dropped);
    } else if (!n) {
        /* nothing the new subscriptions match (yet) */
    } else if (dw_replay_budget_hello(&a->budget, mono_ns)) {
        n = dw_backlog_replay_pinned(&a->backlog, a->pub, &a->want);
        a->replays_hello++;
        dw_debug("new subscriber: replay budget spent, sent the HELLO alone");
    } else {
        return; /* the HELLO alone, a moment later (dw_acquire_replay_due) */
    }
    a->replayed += n;
    a->replay_pending = false;
    memset(&a->want, 0, sizeof(a->want));
}

uint64_t dw_acquire_replay_due(const struct dw_acquire *a)
{
    return a->replay_pending ? a->budget.next_hello_ns : UINT64_MAX;
}
