#include <cjson/cJSON.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonw.h"
#include "msg.h"

ssize_t dw_msg_frame_pack(const struct dw_msg_frame *m, uint8_t *out, size_t cap)
{
    size_t n = DW_MSG_FRAME_HDR + m->len;
    if (cap < n)
        return -ENOBUFS;
    out[0] = DW_MSG_VERSION;
    out[1] = m->type;
    dw_put_le16(out + 2, m->len);
    dw_put_le32(out + 4, m->device_seq);
    dw_put_le64(out + 8, m->seq);
    dw_put_le64(out + 16, m->stream);
    dw_put_le64(out + 24, m->t_device_us);
    dw_put_le64(out + 32, m->t_host_ns);
    if (m->len)
        memcpy(out + DW_MSG_FRAME_HDR, m->payload, m->len);
    return (ssize_t)n;
}

int dw_msg_frame_parse(const uint8_t *b, size_t len, struct dw_msg_frame *m)
{
    if (len < DW_MSG_FRAME_HDR || b[0] != DW_MSG_VERSION)
        return -EBADMSG;
    m->version = b[0];
    m->type = b[1];
    m->len = dw_get_le16(b + 2);
    if (len != DW_MSG_FRAME_HDR + (size_t)m->len)
        return -EBADMSG;
    m->device_seq = dw_get_le32(b + 4);
    m->seq = dw_get_le64(b + 8);
    m->stream = dw_get_le64(b + 16);
    m->t_device_us = dw_get_le64(b + 24);
    m->t_host_ns = dw_get_le64(b + 32);
    m->payload = b + DW_MSG_FRAME_HDR;
    return 0;
}

/* 64-bit counters as exact decimal integers (cJSON would print large
 * doubles in exponent form); msg_json reads them back exactly. */
static void add_u64(cJSON *o, const char *k, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    cJSON_AddRawToObject(o, k, num);
}

int dw_msg_json_u64(const cJSON *o, const char *key, uint64_t *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it)
        return -ENOENT;
    /* NaN fails every comparison, so it is refused too. */
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0) ||
        it->valuedouble >= 18446744073709551616.0 || floor(it->valuedouble) != it->valuedouble)
        return -EBADMSG;
    *v = (uint64_t)it->valuedouble;
    return 0;
}

static int get_u64(const struct dw_json_doc *d, const char *k, uint64_t *v, bool required)
{
    int r = dw_json_u64(d, k, v);
    if (r == -ENOENT)
        return required ? -EBADMSG : 0;
    return r;
}

static int get_str(const struct dw_json_doc *d, const char *k, char *buf, size_t cap,
                   bool required)
{
    if (required && !dw_json_get(d, k))
        return -EBADMSG;
    return dw_json_str(d, k, buf, cap);
}

static char *print_and_free(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        errno = ENOMEM;
    return s;
}

/* Written directly rather than through a cJSON tree: every garment EVENT
 * passes here on its way to an alert, and the tree cost more than the rest
 * of acquisition's work for it. The bytes are the same (jsonw.h). */
char *dw_msg_event_to_json(const struct dw_msg_event *e)
{
    char buf[4096];
    struct dw_jsonw w;
    const char *kind = dw_event_kind_name((unsigned)e->kind);
    const char *side = dw_side_name((unsigned)e->side);
    size_t len;

    dw_jsonw_init(&w, buf, sizeof(buf));
    dw_jsonw_begin(&w);
    dw_jsonw_u64(&w, "seq", e->seq);
    dw_jsonw_u64(&w, "stream", e->stream);
    dw_jsonw_str(&w, "device", e->device);
    dw_jsonw_u64(&w, "t_device_us", e->t_device_us);
    dw_jsonw_u64(&w, "t_host_ns", e->t_host_ns);
    dw_jsonw_str(&w, "kind", kind ? kind : "unknown");
    dw_jsonw_str(&w, "side", side ? side : "none");
    if (e->has_value)
        dw_jsonw_number(&w, "value", e->value);
    else
        dw_jsonw_null(&w, "value");
    if (e->kind == DW_EV_GAP)
        dw_jsonw_u64(&w, "missing", e->missing);
    dw_jsonw_str(&w, "source", e->source[0] ? e->source : "acquire");
    dw_jsonw_str(&w, "text", e->text);
    dw_jsonw_end(&w);
    const char *t = dw_jsonw_text(&w, &len);
    char *out = t ? malloc(len + 1) : NULL;
    if (!out) {
        errno = t ? ENOMEM : EOVERFLOW;
        return NULL;
    }
    memcpy(out, t, len + 1);
    return out;
}

/* ---- the event JSON this code writes, read without a cJSON tree ----------
 *
 * Every garment EVENT reaches detect (and record) as the JSON that
 * dw_msg_event_to_json writes, and parsing it with cJSON cost about 20 000
 * instructions before the alert could be raised. fast_event_parse reads
 * only that exact form: the keys in that order, no white space, plain
 * printable ASCII strings, digits-only integers. Anything else, and any
 * value the checks below would refuse, goes to the cJSON path, so every
 * input gives the same result as before. */

struct cursor {
    const char *p, *end;
};

static bool lit(struct cursor *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n))
        return false;
    c->p += n;
    return true;
}

/* "..." of printable ASCII without escapes into buf (cap as get_str). */
static bool fast_str(struct cursor *c, char *buf, size_t cap)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    const char *q = ++c->p;
    while (q < c->end && *q != '"') {
        unsigned char ch = (unsigned char)*q;
        if (ch < 0x20 || ch > 0x7e || ch == '\\')
            return false;
        q++;
    }
    if (q >= c->end || (size_t)(q - c->p) >= cap)
        return false;
    memcpy(buf, c->p, (size_t)(q - c->p));
    buf[q - c->p] = 0;
    c->p = q + 1;
    return true;
}

/* A number token as cJSON takes it: the same characters to strtod. */
static bool fast_token(struct cursor *c, char *tok, size_t cap, bool digits_only)
{
    const char *q = c->p;
    if (!digits_only && q < c->end && *q == '-')
        q++;
    const char *d0 = q;
    while (q < c->end && *q >= '0' && *q <= '9')
        q++;
    if (q == d0)
        return false;
    if (!digits_only && q < c->end && *q == '.') {
        const char *f0 = ++q;
        while (q < c->end && *q >= '0' && *q <= '9')
            q++;
        if (q == f0)
            return false;
    }
    if (!digits_only && q < c->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < c->end && (*q == '+' || *q == '-'))
            q++;
        const char *e0 = q;
        while (q < c->end && *q >= '0' && *q <= '9')
            q++;
        if (q == e0)
            return false;
    }
    /* cJSON reads at most 63 characters of a number */
    if ((size_t)(q - c->p) >= cap || q - c->p > 63)
        return false;
    memcpy(tok, c->p, (size_t)(q - c->p));
    tok[q - c->p] = 0;
    c->p = q;
    return true;
}

/* Digits alone, exactly, as msg_json reads them; 2^64 and more go to the
 * general path, which refuses them. */
static bool fast_u64(struct cursor *c, uint64_t *v)
{
    char tok[64];
    uint64_t x = 0;
    if (!fast_token(c, tok, sizeof(tok), true))
        return false;
    for (const char *p = tok; *p; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

static bool fast_event_parse(const char *json, size_t len, struct dw_msg_event *e)
{
    struct cursor c = { json, json + len };
    char kind[32], side[16], tok[64];
    const struct lconv *lc = localeconv();

    /* cJSON turns '.' into the locale's decimal point before strtod */
    if (!lc || !lc->decimal_point || strcmp(lc->decimal_point, "."))
        return false;
    memset(e, 0, sizeof(*e));
    if (!lit(&c, "{\"seq\":") || !fast_u64(&c, &e->seq) ||
        !lit(&c, ",\"stream\":") || !fast_u64(&c, &e->stream) ||
        !lit(&c, ",\"device\":") || !fast_str(&c, e->device, sizeof(e->device)) ||
        !lit(&c, ",\"t_device_us\":") || !fast_u64(&c, &e->t_device_us) ||
        !lit(&c, ",\"t_host_ns\":") || !fast_u64(&c, &e->t_host_ns) ||
        !lit(&c, ",\"kind\":") || !fast_str(&c, kind, sizeof(kind)) ||
        !lit(&c, ",\"side\":") || !fast_str(&c, side, sizeof(side)) ||
        !lit(&c, ",\"value\":"))
        return false;
    if (!lit(&c, "null")) {
        if (!fast_token(&c, tok, sizeof(tok), false))
            return false;
        e->value = strtod(tok, NULL);
        if (!isfinite(e->value))
            return false;
        e->has_value = true;
    }
    if (lit(&c, ",\"missing\":") && !fast_u64(&c, &e->missing))
        return false;
    if (!lit(&c, ",\"source\":") || !fast_str(&c, e->source, sizeof(e->source)) ||
        !lit(&c, ",\"text\":") || !fast_str(&c, e->text, sizeof(e->text)) || !lit(&c, "}") ||
        c.p != c.end)
        return false;
    e->kind = dw_event_kind_from_name(kind);
    e->side = dw_side_from_name(side);
    return e->kind >= 0 && e->side >= 0;
}

int dw_msg_event_parse(const char *json, size_t len, struct dw_msg_event *e, const char **why)
{
    if (fast_event_parse(json, len, e)) {
        if (why)
            *why = NULL;
        return 0;
    }
    return dw_msg_event_parse_general(json, len, e, why);
}

static int event_fields(const struct dw_json_doc *d, struct dw_msg_event *e, const char **reason)
{
    char kind[32] = "", side[16] = "none";
    *reason = "bad or missing \"kind\"";
    if (get_str(d, "kind", kind, sizeof(kind), true) ||
        (e->kind = dw_event_kind_from_name(kind)) < 0)
        return -EBADMSG;
    *reason = "bad \"side\" (left, right or none)";
    if (get_str(d, "side", side, sizeof(side), false) || (e->side = dw_side_from_name(side)) < 0)
        return -EBADMSG;
    *reason = "bad \"device\", \"source\" or \"text\"";
    if (get_str(d, "device", e->device, sizeof(e->device), false) ||
        get_str(d, "source", e->source, sizeof(e->source), false) ||
        get_str(d, "text", e->text, sizeof(e->text), false))
        return -EBADMSG;
    *reason = "bad \"seq\", \"stream\", \"missing\" or time field";
    if (get_u64(d, "seq", &e->seq, false) || get_u64(d, "stream", &e->stream, false) ||
        get_u64(d, "t_device_us", &e->t_device_us, false) ||
        get_u64(d, "t_host_ns", &e->t_host_ns, false) || get_u64(d, "missing", &e->missing, false))
        return -EBADMSG;
    const cJSON *v = dw_json_get(d, "value");
    *reason = "bad \"value\" (a number or null)";
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return -EBADMSG;
        e->has_value = true;
        e->value = v->valuedouble;
    }
    *reason = NULL;
    return 0;
}

int dw_msg_event_parse_general(const char *json, size_t len, struct dw_msg_event *e,
                               const char **why)
{
    const char *reason = "not a JSON object";
    struct dw_json_doc d;
    int r = -EBADMSG;

    memset(e, 0, sizeof(*e));
    if (dw_json_open(&d, json, len) == 0) {
        r = event_fields(&d, e, &reason);
        dw_json_close(&d);
    }
    if (why)
        *why = reason;
    return r;
}

#define STATS_FIELDS(X) \
    X(bytes) X(frames) X(crc_errors) X(length_errors) X(cobs_errors) X(version_errors) \
    X(resyncs) X(device_seq_gaps) X(frames_missing) X(reconnects) X(events_in) X(zmq_dropped)

char *dw_msg_stats_to_json(const struct dw_msg_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_u64(o, "seq", s->seq);
    add_u64(o, "stream", s->stream);
    cJSON_AddStringToObject(o, "device", s->device);
    add_u64(o, "t_device_us", s->t_device_us);
    add_u64(o, "t_host_ns", s->t_host_ns);
#define X(f) add_u64(o, #f, s->f);
    STATS_FIELDS(X)
#undef X
    cJSON_AddNumberToObject(o, "drift_ppm", isfinite(s->drift_ppm) ? s->drift_ppm : 0.0);
    cJSON_AddBoolToObject(o, "link_up", s->link_up);
    return print_and_free(o);
}

int dw_msg_stats_parse(const char *json, size_t len, struct dw_msg_stats *s)
{
    struct dw_json_doc d;
    int r = -EBADMSG;
    memset(s, 0, sizeof(*s));
    if (dw_json_open(&d, json, len) < 0)
        return r;
    if (get_u64(&d, "seq", &s->seq, true) || get_u64(&d, "stream", &s->stream, false) ||
        get_str(&d, "device", s->device, sizeof(s->device), false) ||
        get_u64(&d, "t_device_us", &s->t_device_us, false) ||
        get_u64(&d, "t_host_ns", &s->t_host_ns, false))
        goto out;
#define X(f) if (get_u64(&d, #f, &s->f, false)) goto out;
    STATS_FIELDS(X)
#undef X
    const cJSON *dr = dw_json_get(&d, "drift_ppm");
    if (cJSON_IsNumber(dr))
        s->drift_ppm = dr->valuedouble;
    s->link_up = cJSON_IsTrue(dw_json_get(&d, "link_up"));
    r = 0;
out:
    dw_json_close(&d);
    return r;
}

const char *dw_topic_split(const char *topic, size_t len, char *kind_buf, size_t kcap,
                           char *dev_buf, size_t dcap)
{
    const char *dot = memchr(topic, '.', len);
    if (!dot)
        return NULL;
    size_t kl = (size_t)(dot - topic), dl = len - kl - 1;
    if (kl >= kcap || dl >= dcap || dl == 0)
        return NULL;
    /* ZeroMQ topics are bytes: a NUL would cut the copies short (an empty or
     * truncated device id past the dl == 0 check). */
    if (memchr(topic, 0, len))
        return NULL;
    memcpy(kind_buf, topic, kl);
    kind_buf[kl] = 0;
    memcpy(dev_buf, dot + 1, dl);
    dev_buf[dl] = 0;
    return dev_buf;
}

int64_t dw_seq_check(struct dw_seq_tracker *t, uint64_t stream, uint64_t seq)
{
    int64_t missing;

    if (!t->started || stream != t->stream) {
        int restart = t->started;
        t->started = true;
        t->stream = stream;
        t->last = seq;
        t->received++;
        if (restart) {
            t->restarts++;
            return DW_SEQ_RESTART;
        }
        /* The first message seen: anything before it (seq starts at 1) was
         * missed by this subscriber. */
        missing = seq > 1 ? (int64_t)(seq - 1) : 0;
        if (missing) {
            t->gaps++;
            t->missing += (uint64_t)missing;
        }
        return missing;
    }
    if (seq <= t->last) {
        t->duplicates++;
        return DW_SEQ_DUP;
    }
    missing = (int64_t)(seq - t->last - 1);
    if (missing) {
        t->gaps++;
        t->missing += (uint64_t)missing;
    }
    t->last = seq;
    t->received++;
    return missing;
}

void dw_dseq_message(struct dw_dseq *d, int64_t res, uint64_t seq)
{
    if (res == DW_SEQ_RESTART) {
        d->bridging = d->known && seq == 1;
        d->bridge_from = d->next;
        d->bridge_known = 0;
        d->known = false;
    } else if (res > 0) {
        /* messages of the stream lost here: the device seq cannot be followed */
        d->known = false;
        d->bridging = false;
    }
}

uint32_t dw_dseq_frame(struct dw_dseq *d, uint32_t device_seq)
{
    uint32_t lost = 0;
    if (d->bridging) {
        /* Negative when the garment restarted its count (a reboot): nothing
         * can be said then. */
        int64_t rel = (int64_t)(int32_t)(device_seq - d->bridge_from) - d->bridge_known;
        lost = rel > 0 ? (uint32_t)rel : 0;
        d->bridging = false;
    }
    d->known = true;
    d->next = device_seq + 1;
    return lost;
}

int64_t dw_dseq_garment_event(struct dw_dseq *d)
{
    if (d->known)
        return d->next++;
    if (d->bridging)
        d->bridge_known++;
    return -1;
}

void dw_dseq_gap(struct dw_dseq *d, uint64_t missing)
{
    if (d->known)
        d->next += (uint32_t)missing;
    else if (d->bridging)
        /* the new acquire's own count (frames before its first HELLO) */
        d->bridge_known += (uint32_t)missing;
}
