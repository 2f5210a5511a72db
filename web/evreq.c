#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include "evreq.h"
#include "jsonw.h"
#include "msg_json.h"

/* What `ductwatch log` accepts, and the page's undo and acknowledgement.
 * button is a garment's, link and gap events acquisition's own. */
const char *const dw_web_user_kinds[] = {
    "feed-start", "feed-end", "thermometer", "ice-pack", "heat-pack", "shower",
    "garment-on", "garment-off", "symptom", "pump-start", "pump-end", "cancel",
    "alert-seen", NULL,
};

static const char *const members[] = { "device", "kind", "side", "value", "text", "id", NULL };

/* Seq numbers as JSON numbers: exact as doubles up to 2^53. */
#define MAX_EXACT_SEQ 9007199254740992.0

static bool in_list(const char *const *list, const char *k)
{
    for (unsigned i = 0; list[i]; i++)
        if (!strcmp(list[i], k))
            return true;
    return false;
}

/* No control characters in what people type: they would end up in files
 * and terminals (UTF-8 validity is acquisition's check as well). */
static bool text_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static bool device_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > DW_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '/')
            return false;
    return true;
}

static bool tap_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > DW_WEB_TAP_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
            return false;
    return true;
}

/* Members: only known ones, each once, strings where strings go. */
static const char *check_members(const cJSON *root)
{
    for (const cJSON *a = root->child; a; a = a->next) {
        if (!a->string || !in_list(members, a->string))
            return "unknown member (device, kind, side, value, text, id)";
        for (const cJSON *b = a->next; b; b = b->next)
            if (b->string && !strcmp(a->string, b->string))
                return "a member given twice";
    }
    return NULL;
}

static const char *read_strings(const struct dw_json_doc *d, struct dw_web_evreq *r,
                                char *kind, size_t kcap, char *side, size_t scap)
{
    if (dw_json_str(d, "kind", kind, kcap) < 0 || !kind[0] || !in_list(dw_web_user_kinds, kind))
        return "bad or missing \"kind\" (feed-start, feed-end, thermometer, ice-pack, heat-pack, "
               "shower, garment-on, garment-off, symptom, pump-start, pump-end, cancel, "
               "alert-seen)";
    if (dw_json_str(d, "side", side, scap) < 0 || (side[0] && dw_side_from_name(side) < 0))
        return "bad \"side\" (left, right or none)";
    if (dw_json_str(d, "device", r->device, sizeof(r->device)) < 0 ||
        (dw_json_get(d, "device") && !device_ok(r->device)))
        return "bad \"device\" (1 to 16 printable characters)";
    if (dw_json_str(d, "text", r->text, sizeof(r->text)) < 0 || !text_ok(r->text))
        return "bad \"text\" (at most 64 bytes, no control characters)";
    if (dw_json_str(d, "id", r->tap, sizeof(r->tap)) < 0 ||
        (dw_json_get(d, "id") && !tap_ok(r->tap)))
        return "bad \"id\" (1 to 64 letters, digits, '-' or '_')";
    return NULL;
}

/* The value and text each kind needs. */
static const char *check_kind(const cJSON *v, struct dw_web_evreq *r)
{
    bool number = cJSON_IsNumber(v) && isfinite(v->valuedouble);
    if (v && !number && !cJSON_IsNull(v))
        return "bad \"value\" (a number or null)";
    r->has_value = number;
    r->value = number ? v->valuedouble : 0;
    switch (r->kind) {
    case DW_EV_THERMOMETER:
        if (!number || r->value < DW_WEB_THERMO_MIN_C || r->value > DW_WEB_THERMO_MAX_C)
            return "thermometer needs \"value\": degrees C, 30 to 45";
        return NULL;
    case DW_EV_CANCEL:
        if (!number || r->value < 1 || r->value > MAX_EXACT_SEQ || r->value != floor(r->value))
            return "cancel needs \"value\": the seq of the event it cancels";
        return NULL;
    case DW_EV_ALERT_SEEN:
        if (!r->text[0] || strspn(r->text, "0123456789") != strlen(r->text))
            return "alert-seen needs \"text\": the alert's id";
        break;
    case DW_EV_SYMPTOM:
        if (!r->text[0])
            return "symptom needs \"text\": what it is";
        break;
    default:
        break;
    }
    if (number)
        return "this kind takes no \"value\"";
    return NULL;
}

int dw_web_evreq_parse(const char *body, size_t len, struct dw_web_evreq *r, const char **why)
{
    struct dw_json_doc d = { .text = body, .len = len };
    const char *end = NULL, *reason = "not a JSON object";
    char kind[32] = "", side[16] = "";

    memset(r, 0, sizeof(*r));
    r->side = DW_SIDE_NONE;
    if (len > DW_WEB_BODY_MAX) {
        reason = "request too long";
        goto out;
    }
    d.root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!d.root || !cJSON_IsObject(d.root))
        goto out;
    while (end && (size_t)(end - body) < len && *end && strchr(" \t\r\n", *end))
        end++;
    if (!end || (size_t)(end - body) != len) {
        reason = "bytes after the JSON object";
        goto out;
    }
    if ((reason = check_members(d.root)) ||
        (reason = read_strings(&d, r, kind, sizeof(kind), side, sizeof(side))))
        goto out;
    r->kind = dw_event_kind_from_name(kind);
    if (side[0])
        r->side = dw_side_from_name(side);
    reason = check_kind(dw_json_get(&d, "value"), r);
out:
    cJSON_Delete(d.root);
    if (why)
        *why = reason;
    return reason ? -EBADMSG : 0;
}

ssize_t dw_web_evreq_to_acquire(const struct dw_web_evreq *r, char *buf, size_t cap)
{
    struct dw_jsonw w;
    size_t n;

    dw_jsonw_init(&w, buf, cap);
    dw_jsonw_begin(&w);
    if (r->device[0])
        dw_jsonw_str(&w, "device", r->device);
    dw_jsonw_str(&w, "kind", dw_event_kind_name((unsigned)r->kind));
    dw_jsonw_str(&w, "side", dw_side_name((unsigned)r->side));
    if (r->has_value)
        dw_jsonw_number(&w, "value", r->value);
    else
        dw_jsonw_null(&w, "value");
    dw_jsonw_str(&w, "text", r->text);
    dw_jsonw_end(&w);
    return dw_jsonw_text(&w, &n) ? (ssize_t)n : -ENOBUFS;
}
