/* Routing and replies of the API and the page (api.h, docs/web.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "auth.h"
#include "duration.h"
#include "dwtime.h"
#include "feedlog.h"
#include "jsonw.h"
#include "parse_num.h"
#include "sessions.h"

#define JSON "application/json"
#define LIST_DEFAULT 1000
#define LOG_HOURS 48
#define TREND_HOURS_DEFAULT 6

void dw_web_resp_free(struct dw_web_resp *r)
{
    if (!r->body_static)
        free(r->body);
    r->body = NULL;
}

static void reply_static(struct dw_web_resp *r, unsigned status, const char *type,
                         const char *body, size_t len)
{
    dw_web_resp_free(r);
    r->status = status;
    r->type = type;
    r->body = (char *)body;
    r->len = len;
    r->body_static = true;
}

void dw_web_resp_error(struct dw_web_resp *r, unsigned status, const char *why)
{
    char buf[512];
    struct dw_jsonw w;
    size_t n = 0;
    const char *t;

    dw_jsonw_init(&w, buf, sizeof(buf));
    dw_jsonw_begin(&w);
    dw_jsonw_str(&w, "error", why);
    dw_jsonw_end(&w);
    t = dw_jsonw_text(&w, &n);
    dw_web_resp_free(r);
    r->action = DW_WEB_REPLY;
    r->status = status;
    r->type = JSON;
    r->error = why;
    r->body = t ? strndup(t, n) : NULL;
    r->len = r->body ? n : 0;
    r->body_static = false;
    if (!r->body)
        reply_static(r, status, JSON, "{\"error\":\"out of memory\"}", 25);
}

/* A built body, or 500 when it could not be built. */
static void reply_buf(struct dw_web_resp *r, const char *type, struct dw_strbuf *b)
{
    size_t n;
    char *p = dw_strbuf_take(b, &n);
    if (!p) {
        dw_web_resp_error(r, 500, "out of memory");
        return;
    }
    dw_web_resp_free(r);
    r->status = 200;
    r->type = type;
    r->body = p;
    r->len = n;
    r->body_static = false;
    r->no_store = true;
}

static const char *arg(const struct dw_web_req *q, const char *key)
{
    return q->arg ? q->arg(q->arg_ctx, key) : NULL;
}

/* An optional whole-number argument in [min, max]: false (and a 400 in r)
 * when it is there but not one. */
static bool arg_u64(const struct dw_web_req *q, struct dw_web_resp *r, const char *key,
                    uint64_t min, uint64_t max, uint64_t *v)
{
    const char *s = arg(q, key);
    if (!s)
        return true;
    if (dw_parse_u64(s, min, max, v) == 0)
        return true;
    dw_web_resp_error(r, 400, !strcmp(key, "since") ? "bad \"since\" (an order number, 0 or more)"
                      : !strcmp(key, "limit") ? "bad \"limit\" (1 to 8192)"
                      : !strcmp(key, "hours") ? "bad \"hours\" (1 to 48)"
                      : "bad \"zone\" (a zone index of the garment)");
    return false;
}

/* The garment named (device=, or the path's last part), or the only one
 * when none is named and only one is known; a 404/400 in r otherwise. */
static struct dw_hub_device *garment(const struct dw_web_api *api, const char *id,
                                     bool required, struct dw_web_resp *r)
{
    struct dw_hub_device *d;
    if (id && id[0]) {
        if (!(d = dw_hub_find(api->hub, id)))
            dw_web_resp_error(r, 404, "no such garment");
        return d;
    }
    if (!required)
        return NULL;
    if (dw_hub_count(api->hub) == 1)
        return dw_hub_at(api->hub, 0);
    dw_web_resp_error(r, dw_hub_count(api->hub) ? 400 : 404,
                      dw_hub_count(api->hub) ? "which garment? (device=ID)" : "no garment yet");
    return NULL;
}

static void get_list(const struct dw_web_api *api, const struct dw_web_req *q,
                     struct dw_web_resp *r, bool alerts)
{
    uint64_t since = 0, limit = LIST_DEFAULT;
    const char *dev = arg(q, "device");
    struct dw_hub_device *d = NULL;
    struct dw_strbuf b;

    if (!arg_u64(q, r, "since", 0, UINT64_MAX, &since) ||
        !arg_u64(q, r, "limit", 1, DW_HUB_EVENTS, &limit))
        return;
    dw_strbuf_init(&b);
    dw_hub_lock(api->hub);
    if (!dev || (d = garment(api, dev, false, r))) {
        uint64_t last = alerts ? api->hub->al_order : api->hub->ev_order;
        dw_strbuf_printf(&b, "{\"last\":%llu,\"%s\":", (unsigned long long)last,
                         alerts ? "alerts" : "events");
        if (alerts)
            dw_hub_json_alerts(api->hub, d, since, (unsigned)limit, &b);
        else
            dw_hub_json_events(api->hub, d, since, (unsigned)limit, &b);
        dw_strbuf_puts(&b, "}");
    }
    dw_hub_unlock(api->hub);
    if (r->status)
        dw_strbuf_free(&b);
    else
        reply_buf(r, JSON, &b);
}

static void get_log(const struct dw_web_api *api, const struct dw_web_req *q,
                    struct dw_web_resp *r, bool csv)
{
    uint64_t hours = LOG_HOURS;
    struct dw_feed_row *rows = NULL;
    struct dw_hub_device *d;
    struct dw_strbuf b;
    size_t n = 0;
    int e = 0;

    if (!arg_u64(q, r, "hours", 1, LOG_HOURS, &hours))
        return;
    dw_strbuf_init(&b);
    dw_hub_lock(api->hub);
    if ((d = garment(api, arg(q, "device"), true, r)))
        e = dw_feedlog_rows(api->hub, d, dw_now_realtime_ns(), (unsigned)hours, &rows, &n);
    if (d && !e && csv) {
        dw_feedlog_csv(rows, n, &b);
        snprintf(r->disposition, sizeof(r->disposition),
                 "attachment; filename=\"feeding-log.csv\"");
    } else if (d && !e) {
        dw_strbuf_puts(&b, "{\"rows\":");
        dw_feedlog_json(rows, n, &b);
        dw_strbuf_puts(&b, "}");
    }
    dw_hub_unlock(api->hub);
    free(rows);
    if (e)
        dw_web_resp_error(r, 500, "out of memory");
    if (r->status)
        dw_strbuf_free(&b);
    else
        reply_buf(r, csv ? "text/csv; charset=utf-8" : JSON, &b);
}

static void get_trend(const struct dw_web_api *api, const struct dw_web_req *q,
                      struct dw_web_resp *r, const char *id)
{
    uint64_t zone = 0, hours = TREND_HOURS_DEFAULT;
    struct dw_hub_device *d;
    struct dw_strbuf b;

    if (!arg(q, "zone")) {
        dw_web_resp_error(r, 400, "bad \"zone\" (a zone index of the garment)");
        return;
    }
    if (!arg_u64(q, r, "zone", 0, DW_MAX_ZONES - 1, &zone) ||
        !arg_u64(q, r, "hours", 1, DW_TREND_MINUTES / 60, &hours))
        return;
    dw_strbuf_init(&b);
    dw_hub_lock(api->hub);
    if ((d = garment(api, id, true, r))) {
        if (!d->trend || zone >= d->trend->nz)
            dw_web_resp_error(r, d->trend ? 400 : 404, d->trend ?
                              "bad \"zone\" (a zone index of the garment)" : "no data yet");
        else
            dw_trend_json(d->trend, (unsigned)zone, (unsigned)hours * 60, &b);
    }
    dw_hub_unlock(api->hub);
    if (r->status)
        dw_strbuf_free(&b);
    else
        reply_buf(r, JSON, &b);
}

static void get_state(const struct dw_web_api *api, struct dw_web_resp *r, const char *id)
{
    struct dw_hub_device *d;
    struct dw_strbuf b;

    dw_strbuf_init(&b);
    dw_hub_lock(api->hub);
    if (!id[0])
        dw_web_resp_error(r, 404, "no such garment");
    else if ((d = garment(api, id, true, r)))
        dw_hub_json_state(api->hub, d, &b);
    dw_hub_unlock(api->hub);
    if (r->status)
        dw_strbuf_free(&b);
    else
        reply_buf(r, JSON, &b);
}

static void get_garments(const struct dw_web_api *api, struct dw_web_resp *r)
{
    struct dw_strbuf b;
    dw_strbuf_init(&b);
    dw_hub_lock(api->hub);
    dw_strbuf_puts(&b, "{\"garments\":");
    dw_hub_json_garments(api->hub, &b);
    dw_strbuf_puts(&b, "}");
    dw_hub_unlock(api->hub);
    reply_buf(r, JSON, &b);
}

static void get_sessions(const struct dw_web_api *api, struct dw_web_resp *r)
{
    struct dw_strbuf b;
    dw_strbuf_init(&b);
    dw_strbuf_puts(&b, "{\"sessions\":");
    if (!api->dir || dw_web_sessions_json(api->dir, &b) < 0) {
        dw_strbuf_free(&b);
        if (api->dir)
            dw_web_resp_error(r, 500, "the session directory cannot be read");
        else
            reply_static(r, 200, JSON, "{\"sessions\":[]}", 15);
        return;
    }
    dw_strbuf_puts(&b, "}");
    reply_buf(r, JSON, &b);
}

static void post_event(const struct dw_web_api *api, const struct dw_web_req *q,
                       enum dw_web_auth how, struct dw_web_resp *r)
{
    const char *why = NULL;
    if (!dw_web_same_origin(how, q->origin, q->host, api->tls)) {
        dw_web_resp_error(r, 403, "cross-origin request refused");
        return;
    }
    if (!q->content_type || strncmp(q->content_type, JSON, strlen(JSON))) {
        dw_web_resp_error(r, 415, "send JSON (Content-Type: application/json)");
        return;
    }
    if (q->body_too_long) {
        dw_web_resp_error(r, 413, "request too long (at most 4096 bytes)");
        return;
    }
    if (dw_web_evreq_parse(q->body ? q->body : "", q->body_len, &r->ev, &why) < 0) {
        dw_web_resp_error(r, 400, why);
        return;
    }
    r->action = DW_WEB_FORWARD;
}

static bool method(const struct dw_web_req *q, struct dw_web_resp *r, const char *allow)
{
    bool get = !strcmp(q->method, "GET") || !strcmp(q->method, "HEAD");
    if (get || (strstr(allow, "POST") && !strcmp(q->method, "POST")))
        return true;
    dw_web_resp_error(r, 405, "method not allowed");
    r->allow = allow;
    return false;
}

/* /api/NAME or /api/NAME/ID: NAME matched, *id the rest ("" if none). */
static bool route(const char *path, const char *name, const char **id)
{
    size_t n = strlen(name);
    if (strncmp(path, name, n))
        return false;
    if (!path[n]) {
        *id = "";
        return true;
    }
    if (path[n] != '/' || strchr(path + n + 1, '/'))
        return false;
    *id = path + n + 1;
    return true;
}

static void api_get(const struct dw_web_api *api, const struct dw_web_req *q,
                    struct dw_web_resp *r, enum dw_web_auth how)
{
    const char *p = q->path + 4, *id = ""; /* after "/api" */

    if (!strcmp(p, "/garments") && method(q, r, "GET, HEAD"))
        get_garments(api, r);
    else if (route(p, "/state", &id) && method(q, r, "GET, HEAD"))
        get_state(api, r, id);
    else if (!strcmp(p, "/alerts") && method(q, r, "GET, HEAD"))
        get_list(api, q, r, true);
    else if (!strcmp(p, "/events") && method(q, r, "GET, HEAD, POST")) {
        if (!strcmp(q->method, "POST"))
            post_event(api, q, how, r);
        else
            get_list(api, q, r, false);
    } else if ((!strcmp(p, "/log") || !strcmp(p, "/log.csv")) && method(q, r, "GET, HEAD"))
        get_log(api, q, r, !strcmp(p, "/log.csv"));
    else if (route(p, "/trend", &id) && id[0] && method(q, r, "GET, HEAD"))
        get_trend(api, q, r, id);
    else if (!strcmp(p, "/stream") && method(q, r, "GET"))
        r->action = DW_WEB_STREAM;
    else if (!strcmp(p, "/sessions") && method(q, r, "GET, HEAD"))
        get_sessions(api, r);
    else if (!r->status)
        dw_web_resp_error(r, 404, "no such endpoint");
}

static void session_page(const struct dw_web_api *api, const struct dw_web_req *q,
                         struct dw_web_resp *r)
{
    const char *name = q->path + strlen("/sessions/");
    size_t n = strlen(name);
    char h5[256];

    if (!method(q, r, "GET, HEAD"))
        return;
    if (n < 6 || strcmp(name + n - 5, ".html") || n - 5 + 3 >= sizeof(h5)) {
        dw_web_resp_error(r, 404, "no such session");
        return;
    }
    snprintf(h5, sizeof(h5), "%.*s.h5", (int)(n - 5), name);
    if (!api->dir || !dw_web_session_name_ok(h5)) {
        dw_web_resp_error(r, 404, "no such session");
        return;
    }
    snprintf(r->report, sizeof(r->report), "%s", h5);
    r->action = DW_WEB_REPORT;
}

static void page_file(const struct dw_web_api *api, const struct dw_web_req *q,
                      struct dw_web_resp *r)
{
    const char *path = !strcmp(q->path, "/") ? "/index.html" : q->path;
    const char *token = arg(q, "token");

    if (!method(q, r, "GET, HEAD"))
        return;
    /* the link a person opens: the token becomes a cookie, and the
     * address bar and history lose it */
    if (!strcmp(path, "/index.html") && token && dw_web_token_equal(api->token, token)) {
        reply_static(r, 303, "text/plain; charset=utf-8", "", 0);
        r->location = "/";
        r->set_cookie = true;
        return;
    }
    for (const struct dw_web_file *f = api->files; f && f->path; f++)
        if (!strcmp(f->path, path)) {
            reply_static(r, 200, f->type, (const char *)f->data, f->len);
            r->no_store = !strcmp(path, "/index.html");
            return;
        }
    dw_web_resp_error(r, 404, "no such file");
}

void dw_web_api_handle(const struct dw_web_api *api, const struct dw_web_req *q,
                       struct dw_web_resp *r)
{
    bool is_api = !strncmp(q->path, "/api/", 5) || !strcmp(q->path, "/api");
    bool is_sessions = !strncmp(q->path, "/sessions/", 10);
    enum dw_web_auth how;

    memset(r, 0, sizeof(*r));
    if (!is_api && !is_sessions) {
        page_file(api, q, r);
        return;
    }
    how = dw_web_auth_check(api->token, q->cookie, q->authorization);
    if (how == DW_WEB_AUTH_NONE) {
        dw_web_resp_error(r, 401, "missing or wrong token");
        return;
    }
    if (is_sessions)
        session_page(api, q, r);
    else
        api_get(api, q, r, how);
}
