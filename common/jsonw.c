#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonw.h"

void dw_jsonw_init(struct dw_jsonw *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->first = true;
    w->overflow = cap == 0;
    if (cap)
        buf[0] = 0;
}

static void put(struct dw_jsonw *w, const char *s, size_t n)
{
    if (w->overflow || n >= w->cap - w->len) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

static void putc_(struct dw_jsonw *w, char c)
{
    put(w, &c, 1);
}

/* cJSON's print_string_ptr: ", \ and the control characters below 0x20
 * are escaped (\b \f \n \r \t by name, the rest as \u00xx); every other
 * byte, UTF-8 or not, is copied. */
static void put_string(struct dw_jsonw *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    const unsigned char *run = p;
    putc_(w, '"');
    for (; *p; p++) {
        if (*p >= 32 && *p != '"' && *p != '\\')
            continue;
        put(w, (const char *)run, (size_t)(p - run));
        run = p + 1;
        char esc[8];
        switch (*p) {
        case '"': put(w, "\\\"", 2); break;
        case '\\': put(w, "\\\\", 2); break;
        case '\b': put(w, "\\b", 2); break;
        case '\f': put(w, "\\f", 2); break;
        case '\n': put(w, "\\n", 2); break;
        case '\r': put(w, "\\r", 2); break;
        case '\t': put(w, "\\t", 2); break;
        default:
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            put(w, esc, 6);
        }
    }
    put(w, (const char *)run, (size_t)(p - run));
    putc_(w, '"');
}

static void key(struct dw_jsonw *w, const char *k)
{
    if (!w->first)
        putc_(w, ',');
    w->first = false;
    put_string(w, k);
    putc_(w, ':');
}

void dw_jsonw_begin(struct dw_jsonw *w)
{
    putc_(w, '{');
    w->first = true;
}

void dw_jsonw_end(struct dw_jsonw *w)
{
    putc_(w, '}');
    w->first = false;
}

void dw_jsonw_str(struct dw_jsonw *w, const char *k, const char *s)
{
    key(w, k);
    put_string(w, s);
}

static size_t format_u64(uint64_t v, char *out)
{
    char tmp[24];
    size_t n = 0, i;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return n;
}

size_t dw_json_format_number(double d, char *buf, size_t cap)
{
    /* An integral value below 1e15 has at most 15 digits: cJSON's %1.15g
     * prints it as its plain decimal digits (and -0 as "-0"). That is the
     * common case (sequences, ids, device times) and needs no printf. */
    if (cap >= 32 && isfinite(d) && fabs(d) < 1e15 && d == floor(d)) {
        size_t n = 0;
        if (signbit(d))
            buf[n++] = '-';
        n += format_u64((uint64_t)fabs(d), buf + n);
        return n;
    }
    /* Everything else as cJSON 1.7 prints it: NaN and infinities as null,
     * else 15 significant digits if they read back as the same double
     * (within its compare_double tolerance), else 17. strtod reads back
     * what its sscanf("%lg") would, and tests/processing/test_jsonw holds
     * the two printers to the same bytes. */
    if (cap < 32) {
        if (cap)
            buf[0] = 0;
        return 0;
    }
    if (!isfinite(d)) {
        memcpy(buf, "null", 5);
        return 4;
    }
    int n = snprintf(buf, cap, "%1.15g", d);
    double back = strtod(buf, NULL);
    double max = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
    if (!(fabs(back - d) <= max * DBL_EPSILON))
        n = snprintf(buf, cap, "%1.17g", d);
    if (n <= 0 || (size_t)n >= cap)
        return 0;
    /* and with a '.' whatever the locale's decimal point */
    const struct lconv *lc = localeconv();
    char point = lc && lc->decimal_point ? lc->decimal_point[0] : '.';
    if (point != '.')
        for (int i = 0; i < n; i++)
            if (buf[i] == point)
                buf[i] = '.';
    return (size_t)n;
}

void dw_jsonw_number(struct dw_jsonw *w, const char *k, double d)
{
    char num[64];
    size_t n = dw_json_format_number(d, num, sizeof(num));
    key(w, k);
    if (!n) {
        w->overflow = true;
        return;
    }
    put(w, num, n);
}

void dw_jsonw_u64(struct dw_jsonw *w, const char *k, uint64_t v)
{
    char num[24];
    size_t n = format_u64(v, num);
    key(w, k);
    put(w, num, n);
}

void dw_jsonw_bool(struct dw_jsonw *w, const char *k, bool v)
{
    key(w, k);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void dw_jsonw_null(struct dw_jsonw *w, const char *k)
{
    key(w, k);
    put(w, "null", 4);
}

void dw_jsonw_raw(struct dw_jsonw *w, const char *k, const char *json)
{
    key(w, k);
    put(w, json, strlen(json));
}

const char *dw_jsonw_text(const struct dw_jsonw *w, size_t *len)
{
    if (w->overflow)
        return NULL;
    if (len)
        *len = w->len;
    return w->buf;
}

char *dw_jsonw_dup(const struct dw_jsonw *w)
{
    size_t len;
    const char *t = dw_jsonw_text(w, &len);
    char *out = t ? malloc(len + 1) : NULL;
    if (!out) {
        errno = t ? ENOMEM : EOVERFLOW;
        return NULL;
    }
    memcpy(out, t, len + 1);
    return out;
}
