#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include "jsonw.h"
#include "msg_json.h"

int dw_json_open(struct dw_json_doc *d, const char *json, size_t len)
{
    d->text = json;
    d->len = len;
    d->root = cJSON_ParseWithLength(json, len);
    if (d->root && cJSON_IsObject(d->root))
        return 0;
    cJSON_Delete(d->root);
    d->root = NULL;
    return -EBADMSG;
}

void dw_json_close(struct dw_json_doc *d)
{
    cJSON_Delete(d->root);
    d->root = NULL;
}

const cJSON *dw_json_get(const struct dw_json_doc *d, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(d->root, key);
}

/* ---- the raw text of a member --------------------------------------------- */

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Past the string starting at p (a '"'), or NULL. */
static const char *string_end(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Past the value starting at p, or NULL. */
static const char *value_end(const char *p, const char *e)
{
    unsigned depth = 0;
    while (p < e) {
        char c = *p;
        if (c == '"') {
            if (!(p = string_end(p, e)))
                return NULL;
            if (!depth)
                return p;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (!depth)
                return p;
            if (!--depth)
                return p + 1;
        } else if (!depth && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            return p;
        }
        p++;
    }
    return depth ? NULL : p;
}

int dw_json_member(const char *json, size_t len, const char *key, const char **val,
                   size_t *vlen)
{
    const char *p = skip_ws(json, json + len), *e = json + len;
    size_t kl = strlen(key);
    if (p >= e || *p != '{')
        return -EBADMSG;
    for (p = skip_ws(p + 1, e); p < e && *p == '"';) {
        const char *k = p + 1, *ke = string_end(p, e), *v, *ve;
        if (!ke)
            return -EBADMSG;
        p = skip_ws(ke, e);
        if (p >= e || *p != ':')
            return -EBADMSG;
        v = skip_ws(p + 1, e);
        if (!(ve = value_end(v, e)) || ve == v)
            return -EBADMSG;
        if ((size_t)(ke - 1 - k) == kl && !memcmp(k, key, kl)) {
            *val = v;
            *vlen = (size_t)(ve - v);
            return 0;
        }
        p = skip_ws(ve, e);
        if (p >= e || *p != ',')
            break;
        p = skip_ws(p + 1, e);
    }
    return -ENOENT;
}

/* ---- members ----------------------------------------------------------------- */

/* Decimal digits alone, exactly: 0, or -1 for anything else or 2^64 and up. */
static int digits_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    if (!n || n > 20)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

int dw_json_u64(const struct dw_json_doc *d, const char *key, uint64_t *v)
{
    const cJSON *it = dw_json_get(d, key);
    const char *raw;
    size_t n;
    uint64_t x;
    if (!it)
        return -ENOENT;
    if (!cJSON_IsNumber(it))
        return -EBADMSG;
    /* The digits, when they are the member cJSON found (the same value
     * once rounded: a key written with escapes is another member here). */
    if (dw_json_member(d->text, d->len, key, &raw, &n) == 0 && digits_u64(raw, n, &x) == 0 &&
        (double)x == it->valuedouble) {
        *v = x;
        return 0;
    }
    /* NaN fails every comparison, so it is refused too. */
    if (!(it->valuedouble >= 0) || it->valuedouble >= 18446744073709551616.0 ||
        floor(it->valuedouble) != it->valuedouble)
        return -EBADMSG;
    *v = (uint64_t)it->valuedouble;
    return 0;
}

int dw_json_str(const struct dw_json_doc *d, const char *key, char *buf, size_t cap)
{
    const cJSON *it = dw_json_get(d, key);
    if (!it)
        return 0;
    if (!cJSON_IsString(it) || strlen(it->valuestring) >= cap)
        return -EBADMSG;
    strcpy(buf, it->valuestring);
    return 0;
}

int dw_json_field_u64(const struct dw_json_doc *d, const char *key, uint64_t *v, bool required)
{
    int r = dw_json_u64(d, key, v);
    if (r == -ENOENT)
        return required ? -EBADMSG : 0;
    return r;
}

int dw_json_field_str(const struct dw_json_doc *d, const char *key, char *buf, size_t cap,
                      bool required)
{
    if (required && !dw_json_get(d, key))
        return -EBADMSG;
    return dw_json_str(d, key, buf, cap);
}

int dw_msg_json_seq(const char *json, size_t len, uint64_t *seq, uint64_t *stream)
{
    struct dw_json_doc d;
    int r = dw_json_open(&d, json, len);
    if (r < 0)
        return r;
    *stream = 0;
    if (dw_json_u64(&d, "seq", seq) < 0)
        r = -EBADMSG;
    else if ((r = dw_json_u64(&d, "stream", stream)) == -ENOENT)
        r = 0;
    dw_json_close(&d);
    return r < 0 ? -EBADMSG : 0;
}

void dw_msg_json_begin(struct dw_jsonw *w, char *buf, size_t cap, uint64_t seq, uint64_t stream,
                       const char *device)
{
    dw_jsonw_init(w, buf, cap);
    dw_jsonw_begin(w);
    dw_jsonw_u64(w, "seq", seq);
    dw_jsonw_u64(w, "stream", stream);
    dw_jsonw_str(w, "device", device);
}
