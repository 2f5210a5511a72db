/* ductwatch-web: the wearer's page and the JSON API on the hub (docs/web.md).
 *
 * Two threads: this one owns every ZeroMQ socket (the streams, the events
 * REQ socket) and runs --on-alert; libmicrohttpd's own thread serves HTTP.
 * They share the hub under its lock, the event-stream buffers under theirs,
 * and the forwarding queue. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "auth.h"
#include "cli.h"
#include "contract.h"
#include "dwtime.h"
#include "endpoint.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "options.h"
#include "page.h"
#include "security.h"
#include "sessions.h"

#define DRAIN_MAX 2000            /* messages per lock of the hub */
#define TICK_NS 100000000ull      /* values go out within 100 ms of being due */
#define KEEPALIVE_NS 15000000000ull
#define LOG_HOURS 48
#define PEM_MAX (64 * 1024)

static const char *prog = "ductwatch-web";
static volatile sig_atomic_t stop;

struct web {
    struct dw_web_options o;
    char token[DW_WEB_TOKEN_LEN + 1];
    struct dw_hub hub;
    struct dw_notify notify;
    bool notifying;
    struct dw_forward fwd;
    struct dw_http http;
    void *ctx, *sub;
    char *cert, *key;
};

static int read_pem(const char *path, char **out)
{
    FILE *f = fopen(path, "re");
    size_t n;
    if (!f)
        return -errno;
    *out = calloc(1, PEM_MAX + 1);
    n = *out ? fread(*out, 1, PEM_MAX, f) : 0;
    fclose(f);
    if (!*out)
        return -ENOMEM;
    return n > 0 && n < PEM_MAX ? 0 : -EFBIG;
}

/* The token file, and the tap ids kept beside it. */
static int load_token(struct web *w, char *taps, size_t cap)
{
    char path[PATH_MAX + 16], run[PATH_MAX];
    bool created;
    int r;

    if (w->o.token_file) {
        snprintf(path, sizeof(path), "%s", w->o.token_file);
    } else {
        if ((r = dw_runtime_dir(run, sizeof(run))) < 0) {
            dw_err("runtime directory: %s", strerror(-r));
            return r;
        }
        snprintf(path, sizeof(path), "%s/web-token", run);
    }
    snprintf(taps, cap, "%s.taps", path);
    r = dw_web_token_load(path, w->token, &created);
    if (r < 0)
        dw_err("token file %s: %s", path, r == -EPERM ? "not a private file of this user "
               "(chmod 600)" : r == -EBADMSG ? "does not hold a token" : strerror(-r));
    else
        dw_info("%s the access token in %s", created ? "made" : "using", path);
    return r;
}

static int connect_subs(struct web *w)
{
    char eps[2][PATH_MAX + 16], why[256];
    const char *list[DW_WEB_MAX_SUB];
    int n = w->o.n_subs, zero = 0;

    memcpy(list, w->o.subs, sizeof(list));
    if (!n) {
        if (dw_default_endpoint("acquire", eps[0], sizeof(eps[0])) < 0 ||
            dw_default_endpoint("detect", eps[1], sizeof(eps[1])) < 0) {
            dw_err("no runtime directory for the default endpoints (use --sub)");
            return -1;
        }
        list[n++] = eps[0];
        list[n++] = eps[1];
    }
    if (!(w->sub = dw_zmq_socket(w->ctx, ZMQ_SUB)))
        return -1;
    /* never drop: acquire's backlog replay and a fast replay come in bursts */
    zmq_setsockopt(w->sub, ZMQ_RCVHWM, &zero, sizeof(zero));
    zmq_setsockopt(w->sub, ZMQ_SUBSCRIBE, "", 0);
    for (int i = 0; i < n; i++)
        if (dw_security_connect(w->sub, list[i], w->o.curve_key, w->o.server_key,
                                w->o.insecure, why, sizeof(why)) < 0) {
            dw_err("cannot subscribe to %s: %s", list[i], why);
            return -1;
        }
    return 0;
}

static int start_forward(struct web *w, const char *taps)
{
    char ep[PATH_MAX + 16];
    const char *events = w->o.events;
    int r;
    if (!events) {
        if (dw_default_endpoint("events", ep, sizeof(ep)) < 0) {
            dw_err("no runtime directory for the default endpoint (use --events)");
            return -1;
        }
        events = ep;
    }
    if ((r = dw_forward_init(&w->fwd, w->ctx, events, w->o.curve_key, w->o.server_key,
                             w->o.insecure)) < 0)
        return r;
    if ((r = dw_forward_keep_taps(&w->fwd, taps)) < 0)
        dw_err("tap ids file %s: %s", taps, r == -EPERM ? "not a private file of this user "
               "(chmod 600)" : strerror(-r));
    return r;
}

static void print_url(struct web *w)
{
    char host[256] = "", addr[INET6_ADDRSTRLEN] = "";
    const struct sockaddr_storage *a = &w->o.addr;
    bool v6 = a->ss_family == AF_INET6;
    const void *raw = v6 ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
                         : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
    bool any = v6 ? IN6_IS_ADDR_UNSPECIFIED((const struct in6_addr *)raw)
                  : ((const struct in_addr *)raw)->s_addr == INADDR_ANY;

    inet_ntop(a->ss_family, raw, addr, sizeof(addr));
    /* a wildcard address is not one a phone can open: the machine's name */
    if (any && gethostname(host, sizeof(host) - 1) == 0)
        ;
    else
        snprintf(host, sizeof(host), v6 ? "[%s]" : "%s", addr);
    printf(DW_LINE_URL "%s://%s:%u/?token=%s\n", w->o.tls_cert ? "https" : "http", host,
           w->http.port, w->token);
    fflush(stdout);
}

/* The parameters ductwatch-detect runs with, for the hub's own detector. */
static int load_config(struct web *w)
{
    struct dw_detect_config cfg;
    char why[256];
    if (!w->o.config)
        return 0;
    dw_detect_config_default(&cfg);
    if (dw_detect_config_load(&cfg, w->o.config, why, sizeof(why)) < 0) {
        dw_err("--config: %s", why);
        return -1;
    }
    if (dw_hub_detect_config(&w->hub, &cfg) < 0) {
        dw_err("--config: %s", strerror(ENOMEM));
        return -1;
    }
    return 0;
}

static int setup(struct web *w)
{
    struct dw_http_conf hc = { 0 };
    char why[256], taps[PATH_MAX + 32];
    int r;

    if (load_token(w, taps, sizeof(taps)) < 0 || dw_hub_init(&w->hub) < 0 ||
        load_config(w) < 0)
        return -1;
    if (w->o.tls_cert && ((r = read_pem(w->o.tls_cert, &w->cert)) < 0 ||
                          (r = read_pem(w->o.tls_key, &w->key)) < 0)) {
        dw_err("TLS certificate or key: %s", strerror(-r));
        return -1;
    }
    if (w->o.on_alert) {
        if (dw_notify_init(&w->notify, w->o.on_alert, w->o.notify_level,
                           w->o.renotify_us * 1000, w->o.alert_timeout_us * 1000) < 0) {
            dw_err("--on-alert '%s': not a command", w->o.on_alert);
            return -1;
        }
        w->notifying = true;
        w->hub.on_alert = dw_notify_on_alert;
        w->hub.on_alert_user = &w->notify;
    }
    if (w->o.dir && (r = dw_web_sessions_load(&w->hub, w->o.dir, dw_now_realtime_ns(),
                                              LOG_HOURS)) >= 0)
        dw_info("%d events of the last %d h read from %s", r, LOG_HOURS, w->o.dir);
    if (!(w->ctx = zmq_ctx_new()) || connect_subs(w) < 0 || start_forward(w, taps) < 0)
        return -1;
    w->http.api = (struct dw_web_api){ .hub = &w->hub, .token = w->token, .dir = w->o.dir,
                                       .tls = w->o.tls_cert != NULL, .files = dw_web_page };
    w->http.fwd = &w->fwd;
    hc.addr = (const struct sockaddr *)&w->o.addr;
    hc.addr_len = w->o.addr_len;
    hc.tls_cert_pem = w->cert;
    hc.tls_key_pem = w->key;
    if (dw_http_start(&w->http, &hc, why, sizeof(why)) < 0) {
        dw_err("--listen %s: %s", w->o.listen, why);
        return -1;
    }
    return 0;
}

/* Hands what the hub wrote to the open pages (hub locked: a page that
 * opens meanwhile gets its state before anything newer). */
static void flush_out(struct web *w)
{
    if (w->hub.out.len)
        dw_sse_broadcast(&w->http.sse, w->hub.out.p, w->hub.out.len);
    dw_strbuf_reset(&w->hub.out);
}

/* One wake-up per tick (TICK_NS), the notifier's look and the forwarded
 * request's deadline; the keep-alive rides on the ticks. */
static void loop(struct web *w)
{
    uint64_t next_tick = 0, next_ka = dw_now_monotonic_ns() + KEEPALIVE_NS;
    struct dw_loop l;

    dw_loop_init(&l, &stop);
    dw_loop_wake_at(&l, 0); /* the first look without waiting */
    while (!dw_loop_stopped(&l)) {
        zmq_pollitem_t it[3] = { { .socket = w->sub, .events = ZMQ_POLLIN } };
        int n = 1 + dw_forward_pollitems(&w->fwd, &it[1]);
        int r = dw_loop_poll(&l, it, n);
        if (r < 0) {
            dw_err("zmq_poll: %s", zmq_strerror(-r));
            return;
        }
        uint64_t now = dw_now_monotonic_ns();
        dw_loop_begin(&l);
        dw_hub_lock(&w->hub);
        if (it[0].revents & ZMQ_POLLIN)
            dw_hub_drain(&w->hub, w->sub, DRAIN_MAX);
        if (now >= next_tick) {
            dw_hub_tick(&w->hub, now);
            next_tick = now + TICK_NS;
        }
        dw_loop_wake_at(&l, next_tick);
        if (w->notifying) {
            long ms = dw_notify_run(&w->notify, &w->hub, now);
            if (ms >= 0)
                dw_loop_wake_at(&l, now + (uint64_t)ms * 1000000ull);
        }
        flush_out(w);
        dw_hub_unlock(&w->hub);
        dw_loop_wake_at(&l, dw_forward_run(&w->fwd, now));
        if (now >= next_ka) {
            dw_sse_broadcast(&w->http.sse, ": keep-alive\n\n", 14);
            next_ka = now + KEEPALIVE_NS;
        }
        /* more waiting on the socket: no sleep */
        if (it[0].revents & ZMQ_POLLIN)
            dw_loop_wake_at(&l, 0);
    }
}

static void teardown(struct web *w)
{
    dw_http_stop(&w->http);
    if (w->sub)
        zmq_close(w->sub);
    dw_forward_fini(&w->fwd);
    if (w->ctx)
        zmq_ctx_term(w->ctx);
    if (w->notifying)
        dw_notify_fini(&w->notify);
    dw_hub_fini(&w->hub);
    free(w->cert);
    free(w->key);
}

int main(int argc, char **argv)
{
    static struct web w;
    int status = DW_EXIT_FAILURE;

    dw_log_init(prog);
    dw_web_options_parse(argc, argv, &w.o);
    dw_install_stop_signals(&stop);
    umask(077);
    w.fwd.wake_fd = w.fwd.tap_fd = -1;
    if (setup(&w) == 0) {
        print_url(&w);
        dw_info("serving on %s (%s)", w.o.listen, w.o.tls_cert ? "HTTPS" : "HTTP, loopback");
        loop(&w);
        status = stop ? DW_EXIT_OK : DW_EXIT_FAILURE;
    }
    teardown(&w);
    return status;
}
