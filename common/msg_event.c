#include <cjson/cJSON.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonw.h"
#include "msg_event.h"
#include "msg_json.h"

/* Written directly rather than through a cJSON tree: every garment EVENT
 * passes here on its way to an alert, and the tree cost more than the rest
 * of acquisition's work for it. The bytes are the same (jsonw.h). */
char *dw_msg_event_to_json(const struct dw_msg_event *e)
{
    char buf[4096];
    struct dw_jsonw w;
    const char *kind = dw_event_kind_name((unsigned)e->kind);
    const char *side = dw_side_name((unsigned)e->side);

    dw_msg_json_begin(&w, buf, sizeof(buf), e->seq, e->stream, e->device);
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
    return dw_jsonw_dup(&w);
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

/* Past one or more decimal digits at q, or NULL when there is none. */
static const char *digits(const char *q, const char *end)
{
    const char *d0 = q;
    while (q < end && *q >= '0' && *q <= '9')
        q++;
    return q == d0 ? NULL : q;
}

/* A number token as cJSON takes it: the same characters to strtod. */
static bool fast_token(struct cursor *c, char *tok, size_t cap, bool digits_only)
{
    const char *q = c->p;
    if (!digits_only && q < c->end && *q == '-')
        q++;
    if (!(q = digits(q, c->end)))
        return false;
    if (!digits_only && q < c->end && *q == '.' && !(q = digits(q + 1, c->end)))
        return false;
    if (!digits_only && q < c->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < c->end && (*q == '+' || *q == '-'))
            q++;
        if (!(q = digits(q, c->end)))
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
    if (dw_json_field_str(d, "kind", kind, sizeof(kind), true) ||
        (e->kind = dw_event_kind_from_name(kind)) < 0)
        return -EBADMSG;
    *reason = "bad \"side\" (left, right or none)";
    if (dw_json_field_str(d, "side", side, sizeof(side), false) || (e->side = dw_side_from_name(side)) < 0)
        return -EBADMSG;
    *reason = "bad \"device\", \"source\" or \"text\"";
    if (dw_json_field_str(d, "device", e->device, sizeof(e->device), false) ||
        dw_json_field_str(d, "source", e->source, sizeof(e->source), false) ||
        dw_json_field_str(d, "text", e->text, sizeof(e->text), false))
        return -EBADMSG;
    *reason = "bad \"seq\", \"stream\", \"missing\" or time field";
    if (dw_json_field_u64(d, "seq", &e->seq, false) || dw_json_field_u64(d, "stream", &e->stream, false) ||
        dw_json_field_u64(d, "t_device_us", &e->t_device_us, false) ||
        dw_json_field_u64(d, "t_host_ns", &e->t_host_ns, false) || dw_json_field_u64(d, "missing", &e->missing, false))
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
