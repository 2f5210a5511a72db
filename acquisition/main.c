/* ductwatch-acquire: one garment's serial link -> one ZeroMQ stream. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "acq_options.h"
#include "acquire.h"
#include "cli.h"
#include "contract.h"
#include "dwtime.h"
#include "endpoint.h"
#include "events_rep.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "security.h"

#define STATS_INTERVAL_NS 2000000000ull
#define EP_MAX (PATH_MAX + 16)

/* Everything the program holds open, for one cleanup path. */
struct acq {
    struct dw_acq_options o;
    void *ctx, *pub, *rep;
    struct dw_zap *zap;
    struct dw_curve_keys keys;
    bool use_curve;
    struct dw_link link;
    struct dw_acquire a;
    bool acquire_ready;
    char pub_ep[EP_MAX], events_ep[EP_MAX]; /* as bound (the real tcp port) */
};

/* CURVE applies to tcp:// endpoints only. The key pair is read before
 * anything opens. 0 or -1 (logged). */
static int load_curve(struct acq *q)
{
    const char *why = NULL;
    q->use_curve = q->o.curve_key &&
                   (dw_security_is_tcp(q->o.pub_ep) || dw_security_is_tcp(q->o.events_ep));
    if (q->o.curve_key && !q->use_curve)
        dw_info("--curve-key: no tcp:// endpoint, CURVE not used (ipc:// relies on "
                "the runtime directory's permissions)");
    if (q->use_curve && dw_security_load_keypair(q->o.curve_key, &q->keys, &why) < 0) {
        dw_err("%s: %s", q->o.curve_key, why);
        return -1;
    }
    return 0;
}

/* The ZAP handler first: a CURVE server bound without one lets every client
 * in. Before the port too: a bad allow-list is an error at start, not
 * after the garment was opened. */
static int start_zap(struct acq *q)
{
    const char *why = NULL;
    if (!q->use_curve)
        return 0;
    q->zap = dw_zap_start(q->ctx, q->o.allow, &why);
    if (!q->zap) {
        dw_err("--allow %s: %s", q->o.allow, why);
        return -1;
    }
    dw_info("CURVE on tcp:// endpoints, %zu client keys allowed", dw_zap_allowed(q->zap));
    return 0;
}

/* The XPUB stream and the events REP, bound. 0 or -1 (logged). */
static int open_sockets(struct acq *q)
{
    char why[512];
    const struct dw_curve_keys *keys = q->use_curve ? &q->keys : NULL;
    int r;

    q->pub = dw_zmq_socket(q->ctx, ZMQ_XPUB);
    q->rep = dw_zmq_socket(q->ctx, ZMQ_REP);
    if (!q->pub || !q->rep) {
        dw_err("zmq: %s", zmq_strerror(errno));
        return -1;
    }
    if ((r = dw_acquire_setup_pub(q->pub, (int)q->o.sndhwm)) < 0 ||
        (r = dw_events_rep_setup(q->rep)) < 0) {
        dw_err("zmq: %s", zmq_strerror(-r));
        return -1;
    }
    if (dw_security_bind(q->pub, q->o.pub_ep, keys, q->zap, q->o.insecure, q->pub_ep,
                         sizeof(q->pub_ep), why, sizeof(why)) < 0 ||
        dw_security_bind(q->rep, q->o.events_ep, keys, q->zap, q->o.insecure, q->events_ep,
                         sizeof(q->events_ep), why, sizeof(why)) < 0) {
        dw_err("%s", why);
        return -1;
    }
    explicit_bzero(&q->keys, sizeof(q->keys));
    return 0;
}

/* A garment (or simulator) faster than the backlog is long would run past
 * subscribers that are still connecting: hold the port until they are
 * there. Unread bytes wait in the OS buffer; a pty holds the writer. */
static void wait_subscribers(struct acq *q, volatile sig_atomic_t *stop)
{
    for (uint64_t subs = 0; subs < q->o.wait_subscribers && !*stop;) {
        zmq_pollitem_t it = { .socket = q->pub, .events = ZMQ_POLLIN };
        if (zmq_poll(&it, 1, 1000) > 0)
            subs += (uint64_t)dw_acquire_handle_subscriptions(&q->a, dw_now_monotonic_ns());
    }
}

/* The main loop until stop: 0, or -1 when polling failed. */
static int run(struct acq *q, volatile sig_atomic_t *stop)
{
    uint64_t next_stats = dw_now_monotonic_ns() + STATS_INTERVAL_NS;
    struct dw_loop lp;

    dw_loop_init(&lp, stop);
    while (!dw_loop_stopped(&lp)) {
        int fd = dw_link_fd(&q->link), r;
        zmq_pollitem_t items[3] = {
            { .socket = q->pub, .events = ZMQ_POLLIN },
            { .socket = q->rep, .events = ZMQ_POLLIN },
            { .socket = NULL, .fd = fd, .events = ZMQ_POLLIN },
        };
        uint64_t now;

        dw_loop_begin(&lp);
        dw_loop_wake_at(&lp, dw_link_next_ns(&q->link, &q->a));
        dw_loop_wake_at(&lp, next_stats);
        dw_loop_wake_at(&lp, dw_acquire_replay_due(&q->a));
        if ((r = dw_loop_poll(&lp, items, fd >= 0 ? 3 : 2)) < 0) {
            dw_err("zmq_poll: %s", zmq_strerror(-r));
            return -1;
        }
        /* Subscriptions first: their replay must precede live messages. */
        if (items[0].revents & ZMQ_POLLIN)
            dw_acquire_handle_subscriptions(&q->a, dw_now_monotonic_ns());
        if (fd >= 0 && items[2].revents)
            dw_link_read(&q->link, &q->a, items[2].revents & ZMQ_POLLERR);
        if (items[1].revents & ZMQ_POLLIN)
            dw_events_rep_serve(q->rep, &q->a);
        now = dw_now_monotonic_ns();
        dw_link_tick(&q->link, &q->a, now);
        if (now >= dw_acquire_replay_due(&q->a))
            dw_acquire_replay(&q->a, now);
        if (now >= next_stats) {
            dw_acquire_check_subscriptions(&q->a, now);
            dw_acquire_publish_stats(&q->a, dw_now_realtime_ns(), now);
            next_stats += STATS_INTERVAL_NS;
            if (next_stats < now)
                next_stats = now + STATS_INTERVAL_NS;
        }
    }
    return 0;
}

/* Last word: the final counters, on the stream and in the log. */
static void final_stats(struct dw_acquire *a)
{
    dw_acquire_publish_stats(a, dw_now_realtime_ns(), dw_now_monotonic_ns());
    dw_info("stopped: %llu frames published, %llu missing, %llu dropped before HELLO, "
            "%llu invalid payloads (%llu with a device time out of line), %llu zmq drops, "
            "%llu replays (%llu messages), %llu limited to the HELLO",
            (unsigned long long)a->published_frames, (unsigned long long)a->frames_missing,
            (unsigned long long)a->pre_hello_dropped, (unsigned long long)a->payload_errors,
            (unsigned long long)a->time_suspect, (unsigned long long)a->zmq_dropped,
            (unsigned long long)a->replays, (unsigned long long)a->replayed,
            (unsigned long long)a->replays_hello);
}

static void cleanup(struct acq *q, bool ok)
{
    if (q->pub && ok) {
        /* Give the final stats a moment to leave; bounded, never a hang. */
        int linger = 300;
        zmq_setsockopt(q->pub, ZMQ_LINGER, &linger, sizeof(linger));
    }
    if (q->acquire_ready)
        dw_acquire_free(&q->a);
    dw_link_close(&q->link);
    if (q->pub)
        zmq_close(q->pub);
    if (q->rep)
        zmq_close(q->rep);
    dw_zap_stop(q->zap);
    explicit_bzero(&q->keys, sizeof(q->keys));
    if (q->ctx)
        zmq_ctx_term(q->ctx);
}

int main(int argc, char **argv)
{
    static volatile sig_atomic_t stop;
    char pub_default[EP_MAX], events_default[EP_MAX];
    struct acq q = { 0 };
    int status = DW_EXIT_FAILURE, r;

    dw_log_init(argv[0]);
    dw_acq_options_parse(argc, argv, &q.o);
    if (q.o.list_ports)
        return dw_acq_list_ports(&q.o);
    dw_install_stop_signals(&stop);
    if ((r = dw_acq_options_endpoints(&q.o, pub_default, events_default, EP_MAX)) < 0) {
        dw_err("runtime directory: %s", strerror(-r));
        return DW_EXIT_FAILURE;
    }
    if (load_curve(&q) < 0)
        return DW_EXIT_FAILURE;
    if (q.o.link.so.flow == DW_FLOW_XONXOFF)
        dw_warn("--flow xonxoff: frames that contain 0x11 or 0x13 will be lost");
    q.ctx = zmq_ctx_new();
    if (!q.ctx) {
        dw_err("zmq: %s", zmq_strerror(errno));
        goto out;
    }
    if (start_zap(&q) < 0 || dw_link_open(&q.link, &q.o.link) < 0 || open_sockets(&q) < 0)
        goto out;
    struct dw_acquire_opts ao = { .backlog = q.o.backlog,
                                  .backlog_age_ns = q.o.backlog_age_us * 1000 };
    if ((r = dw_acquire_init(&q.a, q.pub, &ao)) < 0) {
        dw_err("%s", strerror(-r));
        goto out;
    }
    q.acquire_ready = true;
    printf(DW_LINE_PUB "%s\n" DW_LINE_EVENTS "%s\n", q.pub_ep, q.events_ep);
    fflush(stdout);
    wait_subscribers(&q, &stop);
    dw_acquire_link_up(&q.a, dw_now_realtime_ns(), dw_now_monotonic_ns());
    if (run(&q, &stop) < 0)
        goto out;
    final_stats(&q.a);
    status = DW_EXIT_OK;
out:
    cleanup(&q, status == DW_EXIT_OK);
    return status;
}
