#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonw.h"
#include "strbuf.h"

void dw_strbuf_init(struct dw_strbuf *b)
{
    memset(b, 0, sizeof(*b));
}

void dw_strbuf_free(struct dw_strbuf *b)
{
    free(b->p);
    dw_strbuf_init(b);
}

void dw_strbuf_reset(struct dw_strbuf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->p)
        b->p[0] = 0;
}

static bool reserve(struct dw_strbuf *b, size_t n)
{
    if (b->oom)
        return false;
    if (n < b->cap - b->len && b->p)
        return true;
    if (n > ((size_t)-1) / 2 - b->len) {
        b->oom = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap <= b->len + n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void dw_strbuf_put(struct dw_strbuf *b, const void *s, size_t n)
{
    if (!reserve(b, n))
        return;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void dw_strbuf_puts(struct dw_strbuf *b, const char *s)
{
    dw_strbuf_put(b, s, strlen(s));
}

void dw_strbuf_printf(struct dw_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        dw_strbuf_put(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void dw_strbuf_jsonw(struct dw_strbuf *b, const struct dw_jsonw *w)
{
    size_t n;
    const char *t = dw_jsonw_text(w, &n);
    if (!t) {
        b->oom = true;
        return;
    }
    dw_strbuf_put(b, t, n);
}

void dw_strbuf_sep(struct dw_strbuf *b, bool *first)
{
    if (!*first)
        dw_strbuf_put(b, ",", 1);
    *first = false;
}

char *dw_strbuf_take(struct dw_strbuf *b, size_t *len)
{
    char *p = b->oom ? NULL : b->p;
    if (!p && !b->oom)
        p = calloc(1, 1);
    if (len)
        *len = p ? b->len : 0;
    if (b->oom)
        free(b->p);
    dw_strbuf_init(b);
    return p;
}
