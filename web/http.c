#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"
#include "dwtime.h"
#include "http.h"
#include "log.h"
#include "report_jobs.h"
#include "strbuf.h"

#define LOG_BURST 20             /* refused requests logged per window */
#define LOG_WINDOW_NS 10000000000ull
#define CONN_LIMIT 512
#define CONN_TIMEOUT_S 120       /* idle keep-alive; event streams send every 15 s */
#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
            "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; " \
            "frame-ancestors 'none'"

struct conn {
    struct dw_http *h;
    struct dw_strbuf body;
    bool too_long;
    bool waiting;                 /* suspended: a job answers it */
    struct dw_forward_job job;
    struct dw_report_job *report;
};

/* The URL as it may go in a log line: printable ASCII only. */
static void log_refused(struct dw_http *h, const char *method, const char *url, unsigned status,
                        const char *why)
{
    char u[128];
    size_t i;
    uint64_t now = dw_now_monotonic_ns();

    if (now - h->log_window_ns > LOG_WINDOW_NS) {
        if (h->log_skipped)
            dw_warn("%u more refused requests were not logged", h->log_skipped);
        h->log_window_ns = now;
        h->log_n = h->log_skipped = 0;
    }
    if (h->log_n++ >= LOG_BURST) {
        h->log_skipped++;
        return;
    }
    for (i = 0; url[i] && i < sizeof(u) - 1; i++)
        u[i] = url[i] > ' ' && url[i] < 0x7f ? url[i] : '?';
    u[i] = 0;
    dw_warn("%.8s %s: %u %s", method, u, status, why ? why : "");
}

static void add_common_headers(struct MHD_Response *r, bool tls, const char *csp)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy", csp ? csp : CSP);
    if (tls)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
}

static enum MHD_Result send_buffer(struct MHD_Connection *c, const struct dw_http *h,
                                   unsigned status, const char *type, const void *body,
                                   size_t len, enum MHD_ResponseMemoryMode mode,
                                   const struct dw_web_resp *rs)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
    enum MHD_Result ok;
    char cookie[256];

    if (!r)
        return MHD_NO;
    add_common_headers(r, h->api.tls, rs ? rs->csp : NULL);
    if (type)
        MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control",
                            rs && !rs->no_store && status == 200 ? "no-cache" : "no-store");
    if (rs && rs->location)
        MHD_add_response_header(r, "Location", rs->location);
    if (rs && rs->allow)
        MHD_add_response_header(r, "Allow", rs->allow);
    if (rs && rs->disposition[0])
        MHD_add_response_header(r, "Content-Disposition", rs->disposition);
    if (rs && rs->set_cookie) {
        snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Max-Age=31536000; HttpOnly; "
                 "SameSite=Strict%s", DW_WEB_COOKIE, h->api.token, h->api.tls ? "; Secure" : "");
        MHD_add_response_header(r, "Set-Cookie", cookie);
    }
    ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct dw_http *h,
                                 struct dw_web_resp *rs, const char *method, const char *url)
{
    enum MHD_Result ok;
    if (rs->status >= 400)
        log_refused(h, method, url, rs->status, rs->error);
    ok = send_buffer(c, h, rs->status, rs->type, rs->body, rs->len,
                     rs->body_static ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_COPY, rs);
    dw_web_resp_free(rs);
    return ok;
}

static const char *query_arg(const void *ctx, const char *key)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)ctx, MHD_GET_ARGUMENT_KIND, key);
}

static void request_of(struct MHD_Connection *c, struct conn *cn, const char *method,
                       const char *url, struct dw_web_req *q)
{
    memset(q, 0, sizeof(*q));
    q->method = method;
    q->path = url;
    q->arg = query_arg;
    q->arg_ctx = c;
    q->cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, DW_WEB_COOKIE);
    q->authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    q->origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    q->host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    q->content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    q->body = cn->body.p;
    q->body_len = cn->body.len;
    q->body_too_long = cn->too_long;
}

static enum MHD_Result open_stream(struct MHD_Connection *c, struct dw_http *h)
{
    struct dw_strbuf first;
    struct MHD_Response *r;
    enum MHD_Result ok;

    dw_strbuf_init(&first);
    /* the state and the registration under one lock: no update between */
    dw_hub_lock(h->api.hub);
    dw_strbuf_puts(&first, "retry: 2000\n\n");
    dw_hub_sse_snapshot(h->api.hub, &first);
    r = first.oom ? NULL : dw_sse_open(&h->sse, c, first.p, first.len);
    dw_hub_unlock(h->api.hub);
    dw_strbuf_free(&first);
    if (!r)
        return MHD_NO;
    add_common_headers(r, h->api.tls, NULL);
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

/* The answer to a request whose job is done (after its resume). */
static enum MHD_Result finish_job(struct MHD_Connection *c, struct conn *cn, const char *method,
                                  const char *url)
{
    struct dw_http *h = cn->h;
    if (cn->report) {
        struct dw_web_resp rs;
        dw_report_job_result(cn->report, &rs);
        dw_report_job_free(cn->report);
        cn->report = NULL;
        return send_resp(c, h, &rs, method, url);
    }
    if (cn->job.status >= 400)
        log_refused(h, method, url, cn->job.status, cn->job.reply);
    return send_buffer(c, h, cn->job.status, "application/json", cn->job.reply,
                       strlen(cn->job.reply), MHD_RESPMEM_MUST_COPY, NULL);
}

static enum MHD_Result dispatch(struct MHD_Connection *c, struct conn *cn, const char *method,
                                const char *url)
{
    struct dw_http *h = cn->h;
    struct dw_web_req q;
    struct dw_web_resp rs;

    request_of(c, cn, method, url, &q);
    dw_web_api_handle(&h->api, &q, &rs);
    switch (rs.action) {
    case DW_WEB_FORWARD:
        cn->job.ev = rs.ev;
        cn->job.conn = c;
        cn->waiting = true;
        MHD_suspend_connection(c);
        dw_forward_submit(h->fwd, &cn->job);
        return MHD_YES;
    case DW_WEB_STREAM:
        return open_stream(c, h);
    case DW_WEB_REPORT:
        cn->report = dw_report_job_start(h->reports, h->api.dir, rs.report, c);
        if (!cn->report) {
            dw_web_resp_error(&rs, 503, "cannot make a report now");
            return send_resp(c, h, &rs, method, url);
        }
        cn->waiting = true;
        return MHD_YES; /* the job suspended the connection */
    case DW_WEB_REPLY:
    default:
        return send_resp(c, h, &rs, method, url);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    struct dw_http *h = cls;
    struct conn *cn = *con_cls;

    if (!cn) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (!(cn = calloc(1, sizeof(*cn))))
            return MHD_NO;
        cn->h = h;
        *con_cls = cn;
        /* refused before the body is read */
        if (cl && strtoull(cl, NULL, 10) > DW_WEB_BODY_MAX) {
            struct dw_web_resp rs = { 0 };
            dw_web_resp_error(&rs, 413, "request too long (at most 4096 bytes)");
            return send_resp(c, h, &rs, method, url);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (cn->body.len + *upload_size > DW_WEB_BODY_MAX)
            cn->too_long = true;
        else
            dw_strbuf_put(&cn->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (cn->waiting) {
        cn->waiting = false;
        return finish_job(c, cn, method, url);
    }
    return dispatch(c, cn, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn *cn = *con_cls;
    if (!cn)
        return;
    dw_strbuf_free(&cn->body);
    free(cn);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = 0;
    dw_info("http: %s", line);
}

static void resume_conn(void *conn, void *user)
{
    MHD_resume_connection(conn);
}

int dw_http_start(struct dw_http *h, const struct dw_http_conf *c, char *why, size_t cap)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;

    dw_sse_init(&h->sse);
    if (!(h->reports = dw_report_jobs_new())) {
        snprintf(why, cap, "out of memory");
        return -ENOMEM;
    }
    h->fwd->done = resume_conn;
    if (c->addr->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (c->tls_cert_pem)
        flags |= MHD_USE_TLS;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
                            MHD_OPTION_SOCK_ADDR, c->addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                            c->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
                            c->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY, c->tls_key_pem,
                            MHD_OPTION_END);
    if (!h->d) {
        snprintf(why, cap, "cannot listen there: %s%s", strerror(errno ? errno : EADDRINUSE),
                 c->tls_cert_pem ? " (or the certificate and key do not go together)" : "");
        return -EIO;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    return 0;
}

void dw_http_stop(struct dw_http *h)
{
    if (!h->d)
        return;
    dw_sse_stop(&h->sse);
    dw_forward_stop(h->fwd);
    dw_report_jobs_stop(h->reports);
    MHD_stop_daemon(h->d);
    h->d = NULL;
    dw_report_jobs_free(h->reports);
    dw_sse_fini(&h->sse);
}
