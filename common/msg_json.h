/* The JSON bodies of messages (events, stats, alerts) as the codecs read
 * them: a cJSON tree together with the text it was parsed from, so that
 * 64-bit integers are read exactly from their digits; and the members
 * every body starts with, written. cJSON holds numbers
 * as doubles, which round above 2^53: a host time in ns or a stream id
 * would come back off by up to 256. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct dw_jsonw;

struct dw_json_doc {
    struct cJSON *root; /* a JSON object */
    const char *text;   /* what it was parsed from (not copied) */
    size_t len;
};

/* Parses the first JSON value in (json, len): 0 when it is an object,
 * -EBADMSG otherwise (nothing to close then). */
int dw_json_open(struct dw_json_doc *d, const char *json, size_t len);
void dw_json_close(struct dw_json_doc *d);
/* The member key of the object, or NULL. */
const struct cJSON *dw_json_get(const struct dw_json_doc *d, const char *key);
/* Member key as an unsigned 64-bit integer: 0, -ENOENT (absent) or
 * -EBADMSG (not a whole number in [0, 2^64)). Digits are read exactly; a
 * number written with a fraction or an exponent is taken at its double
 * value (converting a double outside that range would be undefined
 * behaviour: it is refused). */
int dw_json_u64(const struct dw_json_doc *d, const char *key, uint64_t *v);
/* A string member copied into buf: 0 (also when absent: buf untouched) or
 * -EBADMSG (not a string, or cap bytes or longer). */
int dw_json_str(const struct dw_json_doc *d, const char *key, char *buf, size_t cap);
/* The same for a member that a body may leave out (*v or buf untouched
 * then), or must have (required: absent is -EBADMSG): 0 or -EBADMSG. */
int dw_json_field_u64(const struct dw_json_doc *d, const char *key, uint64_t *v, bool required);
int dw_json_field_str(const struct dw_json_doc *d, const char *key, char *buf, size_t cap,
                      bool required);
/* The raw text of the first member key of the top-level object of
 * (json, len), as written (a number's digits, a string with its quotes):
 * 0, -ENOENT or -EBADMSG. Keys are compared as written, byte for byte. */
int dw_json_member(const char *json, size_t len, const char *key, const char **val,
                   size_t *vlen);
/* "seq" (required) and "stream" (0 when absent) of a JSON body, exactly:
 * 0 or -EBADMSG. */
int dw_msg_json_seq(const char *json, size_t len, uint64_t *seq, uint64_t *stream);
/* Starts a body in buf with the members every one begins with: "seq",
 * "stream" (as digits) and "device" (dw_jsonw_init and dw_jsonw_begin
 * included). */
void dw_msg_json_begin(struct dw_jsonw *w, char *buf, size_t cap, uint64_t seq, uint64_t stream,
                       const char *device);
