/* POST /api/events: the body the page (or a script) sends, checked before
 * anything reaches acquisition's events endpoint (docs/web.md, API;
 * docs/messages.md section 7). Untrusted bytes: every path out of the
 * parser is a 0 or a -EBADMSG with a reason, never a read past the body. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "frame.h"

#define DW_WEB_TAP_MAX 64     /* a tap id: 1..64 of [A-Za-z0-9_-] */
#define DW_WEB_BODY_MAX 4096  /* bytes of a request body */
#define DW_WEB_THERMO_MIN_C 30.0
#define DW_WEB_THERMO_MAX_C 45.0

struct dw_web_evreq {
    char device[DW_ID_LEN + 1]; /* "" = whichever garment acquisition has */
    int kind;                   /* enum dw_event_kind, a user kind */
    int side;                   /* enum dw_side */
    bool has_value;
    double value;               /* thermometer: deg C; cancel: the seq cancelled */
    char text[DW_EVENT_TEXT_MAX + 1];
    char tap[DW_WEB_TAP_MAX + 1]; /* the page's id for this tap ("" = none) */
};

/* 0, or -EBADMSG with a reason for the person in *why (a static string). */
int dw_web_evreq_parse(const char *body, size_t len, struct dw_web_evreq *r, const char **why);
/* The request for acquisition (docs/messages.md section 7) as JSON in buf:
 * its length, or -ENOBUFS. */
ssize_t dw_web_evreq_to_acquire(const struct dw_web_evreq *r, char *buf, size_t cap);
/* The kinds a person may log from the page, in the order of the API
 * documentation; NULL-terminated. */
extern const char *const dw_web_user_kinds[];
