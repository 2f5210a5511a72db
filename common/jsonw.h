/* A JSON object writer into a caller's buffer whose bytes are those of
 * cJSON_PrintUnformatted for the same object: the same string escaping
 * and the same number formatting. It exists because building a cJSON
 * tree and printing it cost tens of microseconds per message on the
 * alert path (docs/performance.md); output stays byte-identical. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dw_jsonw {
    char *buf;
    size_t cap, len;
    bool first;    /* no member written yet in the current object */
    bool overflow; /* something did not fit: the text is unusable */
};

void dw_jsonw_init(struct dw_jsonw *w, char *buf, size_t cap);
void dw_jsonw_begin(struct dw_jsonw *w);
void dw_jsonw_end(struct dw_jsonw *w);
/* Members: "key":value. Keys are written as strings are. */
void dw_jsonw_str(struct dw_jsonw *w, const char *key, const char *s);
void dw_jsonw_number(struct dw_jsonw *w, const char *key, double d);
void dw_jsonw_u64(struct dw_jsonw *w, const char *key, uint64_t v); /* exact decimal */
void dw_jsonw_bool(struct dw_jsonw *w, const char *key, bool v);
void dw_jsonw_null(struct dw_jsonw *w, const char *key);
/* The number when the field has one, else null (an unknown value). */
void dw_jsonw_number_or_null(struct dw_jsonw *w, const char *key, bool has, double d);
void dw_jsonw_u64_or_null(struct dw_jsonw *w, const char *key, bool has, uint64_t v);
/* Value text written as it is (an object printed earlier, for example). */
void dw_jsonw_raw(struct dw_jsonw *w, const char *key, const char *json);
/* The text, NUL-terminated, or NULL after an overflow. */
const char *dw_jsonw_text(const struct dw_jsonw *w, size_t *len);
/* A malloc'd copy of the text, or NULL with errno set (EOVERFLOW after an
 * overflow, ENOMEM). */
char *dw_jsonw_dup(const struct dw_jsonw *w);

/* One number as cJSON prints it, into buf (at least 32 bytes); its
 * length. */
size_t dw_json_format_number(double d, char *buf, size_t cap);
