/* The HTTP side of ductwatch-web on libmicrohttpd (docs/web.md, "Why
 * libmicrohttpd"): one internal thread with epoll serves every request;
 * api.c decides the answer; a forwarded event, an event stream and a
 * report suspend their connection until the answer is there. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "api.h"
#include "forward.h"
#include "sse.h"

struct dw_http_conf {
    const struct sockaddr *addr;   /* where to listen */
    socklen_t addr_len;
    const char *tls_cert_pem, *tls_key_pem; /* both or neither */
};

struct MHD_Daemon;
struct dw_report_jobs;

struct dw_http {
    struct MHD_Daemon *d;
    struct dw_web_api api;
    struct dw_sse sse;
    struct dw_forward *fwd;
    struct dw_report_jobs *reports;
    unsigned port;                  /* the port bound */
    /* rate limit of the log lines about refused requests */
    uint64_t log_window_ns;
    unsigned log_n, log_skipped;
};

/* api, fwd set by the caller first. 0 or -errno, with a reason in why. */
int dw_http_start(struct dw_http *h, const struct dw_http_conf *c, char *why, size_t cap);
/* Ends the event streams and pending answers, then the daemon. */
void dw_http_stop(struct dw_http *h);
