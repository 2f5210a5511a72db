/* The HTTP API and the page's files as a function of the request
 * (docs/web.md): routing, the token check, the same-origin check, the
 * checks of every argument and body, and the JSON replies. What needs the
 * network (forwarding an event, an event stream, a report) is returned as
 * an action for the HTTP layer (http.c), so that this part runs and is
 * fuzzed without sockets. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "evreq.h"
#include "hub.h"

struct dw_web_file {
    const char *path;     /* "/app.js" */
    const char *type;     /* Content-Type */
    const unsigned char *data;
    size_t len;
};

struct dw_web_api {
    struct dw_hub *hub;
    const char *token;
    const char *dir;                   /* session files; NULL: none */
    bool tls;
    const struct dw_web_file *files;   /* the page; path NULL ends it */
};

struct dw_web_req {
    const char *method, *path;         /* path without the query */
    /* a query argument, or NULL */
    const char *(*arg)(const void *ctx, const char *key);
    const void *arg_ctx;
    const char *cookie;                /* the dw_token cookie's value */
    const char *authorization, *origin, *host, *content_type;
    const char *body;
    size_t body_len;
    bool body_too_long;                /* more than DW_WEB_BODY_MAX came */
};

enum dw_web_action {
    DW_WEB_REPLY = 0,  /* send status, type, body */
    DW_WEB_FORWARD,    /* send ev to acquisition, reply with its answer */
    DW_WEB_STREAM,     /* open an event stream */
    DW_WEB_REPORT,     /* the report of session file `report` */
};

struct dw_web_resp {
    enum dw_web_action action;
    unsigned status;
    const char *type;
    char *body;                        /* malloc'd unless body_static */
    size_t len;
    bool body_static;
    const char *location;              /* a redirect */
    bool set_cookie;                   /* hand the token over as a cookie */
    bool no_store;                     /* Cache-Control: no-store */
    const char *allow;                 /* 405: the methods allowed */
    const char *csp;                   /* another Content-Security-Policy */
    char disposition[96];              /* Content-Disposition */
    const char *error;                 /* 4xx/5xx: the reason, for the log */
    struct dw_web_evreq ev;            /* DW_WEB_FORWARD */
    char report[256];                  /* DW_WEB_REPORT: file name in dir */
};

/* Fills r; the hub is locked inside when needed. */
void dw_web_api_handle(const struct dw_web_api *api, const struct dw_web_req *q,
                       struct dw_web_resp *r);
void dw_web_resp_free(struct dw_web_resp *r);
/* A JSON error reply {"error": why} (also used by the HTTP layer). */
void dw_web_resp_error(struct dw_web_resp *r, unsigned status, const char *why);
