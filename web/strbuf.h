/* A growable byte buffer for HTTP and event-stream bodies of any size. A
 * failed allocation is remembered (oom) instead of returned at every call,
 * so that a body is built straight through and checked once at the end. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct dw_jsonw;

struct dw_strbuf {
    char *p;      /* NUL-terminated while not oom */
    size_t len, cap;
    bool oom;
};

void dw_strbuf_init(struct dw_strbuf *b);
void dw_strbuf_free(struct dw_strbuf *b);
void dw_strbuf_reset(struct dw_strbuf *b);
void dw_strbuf_put(struct dw_strbuf *b, const void *s, size_t n);
void dw_strbuf_puts(struct dw_strbuf *b, const char *s);
void dw_strbuf_printf(struct dw_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The text of a finished JSON writer; an overflowed one marks b oom. */
void dw_strbuf_jsonw(struct dw_strbuf *b, const struct dw_jsonw *w);
/* ',' before every element of a list but the first. */
void dw_strbuf_sep(struct dw_strbuf *b, bool *first);
/* The buffer handed over (the caller frees it), or NULL after oom; b is
 * empty again either way. */
char *dw_strbuf_take(struct dw_strbuf *b, size_t *len);
