/* ductwatch-broker: relays ductwatch streams between machines through
 * libzmq's own proxy (XSUB in from publishers, XPUB out to subscribers),
 * with CURVE on both sides. No message is looked at or changed here. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "cli.h"
#include "defaults.h"
#include "endpoint.h"
#include "log.h"
#include "parse_num.h"
#include "security.h"

#define MAX_EP 16
#define DEFAULT_HWM DW_HWM_DEFAULT
#define CONTROL_EP "inproc://dw-broker-control"

static const char *prog = "ductwatch-broker";

struct ep { const char *addr; bool bind; };

struct config {
    struct ep front[MAX_EP], back[MAX_EP];
    int n_front, n_back;
    const char *curve_key, *allow, *upstream_key;
    const char *upstream_server[MAX_EP];
    int n_upstream_server;
    bool insecure;
    int hwm;
};

static void usage(void)
{
    printf(
"Usage: %s --frontend EP... --backend EP... [options]\n"
"Relays ductwatch streams with libzmq's zmq_proxy: an XSUB socket takes the\n"
"publishers' messages (frontend), an XPUB socket serves the subscribers\n"
"(backend). Subscriptions travel upstream, so acquire replays its backlog to\n"
"every new subscriber behind the broker too.\n"
"\n"
"  -f, --frontend EP      a publisher to connect to (repeatable); '@EP' binds\n"
"                         EP instead, for publishers that connect\n"
"  -b, --backend EP       where subscribers connect (repeatable; bound);\n"
"                         '>EP' connects instead\n"
"      --curve-key FILE   the broker's secret key (ductwatch-keygen): CURVE\n"
"                         server on every bound tcp:// endpoint\n"
"      --allow DIR|FILE   client public keys let in on those endpoints: a\n"
"                         directory of *.pub files or one Z85 key per line\n"
"      --upstream-key FILE  the broker's client key for connected tcp:// endpoints\n"
"      --upstream-server-key PUB  the public key of the server it connects to;\n"
"                         one for all connected endpoints, or one per endpoint\n"
"                         in the order of the connected endpoints\n"
"      --insecure         allow tcp:// without CURVE, on loopback addresses only\n"
"      --hwm N            high-water mark on both sides (default %d)\n"
"  -v, --verbose          debug log output\n"
"  -q, --quiet            errors only\n"
"  -h, --help             this text\n"
"  -V, --version          print the version\n"
"\n"
"At start it prints 'frontend: EP' and 'backend: EP' for every endpoint (with\n"
"the port the system chose for tcp://HOST:0). SIGINT/SIGTERM stop it cleanly.\n"
"See docs/security.md.\n", prog, DEFAULT_HWM);
}

static struct ep parse_ep(const char *s, bool default_bind)
{
    struct ep e = { s, default_bind };
    if (s[0] == '@' || s[0] == '>') {
        e.bind = s[0] == '@';
        e.addr = s + 1;
    }
    if (!*e.addr)
        dw_usage_error(prog, "empty endpoint '%s'", s);
    return e;
}

/* The policy is a function of the arguments: refused (exit 2) before any
 * socket exists. */
static void check_policy(const struct config *c)
{
    int n_connect = 0;
    bool any_bind_tcp = false;
    for (int side = 0; side < 2; side++) {
        const struct ep *eps = side ? c->back : c->front;
        int n = side ? c->n_back : c->n_front;
        for (int i = 0; i < n; i++) {
            const char *why = NULL;
            bool tcp = dw_security_is_tcp(eps[i].addr);
            int r;
            if (eps[i].bind) {
                any_bind_tcp |= tcp;
                r = dw_security_check_bind(eps[i].addr, c->curve_key != NULL, c->insecure, &why);
            } else {
                n_connect += tcp;
                r = dw_security_check_connect(eps[i].addr, c->upstream_key != NULL, c->insecure,
                                              &why);
            }
            if (r < 0)
                dw_usage_error(prog, "%s: %s", eps[i].addr, why);
        }
    }
    if (c->n_upstream_server > 1 && c->n_upstream_server != n_connect)
        dw_usage_error(prog, "%d --upstream-server-key for %d connected tcp:// endpoints",
                       c->n_upstream_server, n_connect);
    if (c->curve_key && !any_bind_tcp)
        dw_log(DW_LOG_WARN, "--curve-key: no bound tcp:// endpoint uses it");
}

static void parse_args(int argc, char **argv, struct config *c)
{
    enum { O_CURVE_KEY = 256, O_ALLOW, O_UP_KEY, O_UP_SERVER, O_INSECURE, O_HWM };
    static const struct option opts[] = {
        { "frontend", required_argument, NULL, 'f' },
        { "backend", required_argument, NULL, 'b' },
        { "curve-key", required_argument, NULL, O_CURVE_KEY },
        { "allow", required_argument, NULL, O_ALLOW },
        { "upstream-key", required_argument, NULL, O_UP_KEY },
        { "upstream-server-key", required_argument, NULL, O_UP_SERVER },
        { "insecure", no_argument, NULL, O_INSECURE },
        { "hwm", required_argument, NULL, O_HWM },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { 0 },
    };
    int ch, level = DW_LOG_INFO;
    uint64_t u;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":f:b:vqhV", opts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            if (c->n_front == MAX_EP)
                dw_usage_error(prog, "at most %d --frontend endpoints", MAX_EP);
            c->front[c->n_front++] = parse_ep(optarg, false);
            break;
        case 'b':
            if (c->n_back == MAX_EP)
                dw_usage_error(prog, "at most %d --backend endpoints", MAX_EP);
            c->back[c->n_back++] = parse_ep(optarg, true);
            break;
        case O_CURVE_KEY: c->curve_key = optarg; break;
        case O_ALLOW: c->allow = optarg; break;
        case O_UP_KEY: c->upstream_key = optarg; break;
        case O_UP_SERVER:
            if (c->n_upstream_server == MAX_EP)
                dw_usage_error(prog, "at most %d --upstream-server-key", MAX_EP);
            c->upstream_server[c->n_upstream_server++] = optarg;
            break;
        case O_INSECURE: c->insecure = true; break;
        case O_HWM:
            if (dw_parse_u64(optarg, 0, 10000000, &u) < 0)
                dw_usage_error(prog, "bad --hwm '%s' (0..10000000)", optarg);
            c->hwm = (int)u;
            break;
        default: dw_cli_std_option(prog, ch, argv, &level, usage);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
    if (!c->n_front)
        dw_usage_error(prog, "missing --frontend EP");
    if (!c->n_back)
        dw_usage_error(prog, "missing --backend EP");
    if (!c->curve_key != !c->allow)
        dw_usage_error(prog, "--curve-key and --allow go together");
    if (!c->upstream_key != !c->n_upstream_server)
        dw_usage_error(prog, "--upstream-key and --upstream-server-key go together");
    check_policy(c);
    dw_log_set_level(level);
}

/* Waits for SIGINT/SIGTERM (blocked in every other thread) and tells the
 * proxy to stop through its control socket. */
static void *signal_thread(void *arg)
{
    void *ctx = arg;
    sigset_t set;
    int sig = 0;
    void *ctl = dw_zmq_socket(ctx, ZMQ_PAIR);

    if (ctl)
        zmq_connect(ctl, CONTROL_EP);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigwait(&set, &sig);
    if (ctl) {
        zmq_send(ctl, "TERMINATE", 9, 0);
        zmq_close(ctl);
    }
    return NULL;
}

static int setup_side(void *sock, const struct ep *eps, int n, const char *label,
                      const struct config *c, const struct dw_curve_keys *server_keys,
                      struct dw_zap *zap, const struct dw_curve_keys *client_keys,
                      const char (*upstream)[DW_Z85_KEY_LEN + 1], int *next_upstream)
{
    bool curve_server_set = false;
    int zero = 0, r;

    if (zmq_setsockopt(sock, ZMQ_SNDHWM, &c->hwm, sizeof(c->hwm)) < 0 ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &c->hwm, sizeof(c->hwm)) < 0)
        return -errno;
    /* Binds first, with the server options; then connects, with the
     * client options: libzmq copies the options at each bind/connect. */
    for (int i = 0; i < n; i++) {
        char actual[512];
        size_t len = sizeof(actual);
        if (!eps[i].bind)
            continue;
        if (dw_security_is_tcp(eps[i].addr) && server_keys) {
            if ((r = dw_security_server(sock, server_keys, zap)) < 0)
                return r;
            curve_server_set = true;
        } else if (curve_server_set) {
            zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &zero, sizeof(zero));
            curve_server_set = false;
        }
        if (zmq_bind(sock, eps[i].addr) < 0) {
            dw_err("cannot bind %s: %s", eps[i].addr, zmq_strerror(errno));
            return -errno;
        }
        if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, actual, &len) < 0 || !actual[0])
            snprintf(actual, sizeof(actual), "%s", eps[i].addr);
        printf("%s: %s\n", label, actual);
    }
    if (curve_server_set)
        zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &zero, sizeof(zero));
    for (int i = 0; i < n; i++) {
        if (eps[i].bind)
            continue;
        if (dw_security_is_tcp(eps[i].addr) && client_keys) {
            const char *server = upstream[c->n_upstream_server == 1 ? 0 : (*next_upstream)++];
            if ((r = dw_security_client(sock, client_keys, server)) < 0)
                return r;
        } else {
            zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &zero, sizeof(zero));
        }
        if (zmq_connect(sock, eps[i].addr) < 0) {
            dw_err("cannot connect to %s: %s", eps[i].addr, zmq_strerror(errno));
            return -errno;
        }
        printf("%s: %s\n", label, eps[i].addr);
    }
    return 0;
}

/* What the broker holds while it runs. */
struct broker {
    struct config c;
    struct dw_curve_keys server_keys, client_keys;
    char upstream[MAX_EP][DW_Z85_KEY_LEN + 1];
    struct dw_zap *zap;
    void *ctx, *front, *back, *ctl;
};

static int load_keys(struct broker *b)
{
    const struct config *c = &b->c;
    const char *why = NULL;
    if (c->curve_key && dw_security_load_keypair(c->curve_key, &b->server_keys, &why) < 0) {
        dw_err("%s: %s", c->curve_key, why);
        return -1;
    }
    if (c->upstream_key && dw_security_load_keypair(c->upstream_key, &b->client_keys, &why) < 0) {
        dw_err("%s: %s", c->upstream_key, why);
        return -1;
    }
    for (int i = 0; i < c->n_upstream_server; i++)
        if (dw_security_load_public(c->upstream_server[i], b->upstream[i], &why) < 0) {
            dw_err("%s: %s", c->upstream_server[i], why);
            return -1;
        }
    return 0;
}

/* The ZAP handler (before any CURVE server binds: without it libzmq lets
 * everyone in), the two sides and the control socket. */
static int open_sockets(struct broker *b)
{
    const struct config *c = &b->c;
    const char *why = NULL;
    int one = 1, next_upstream = 0;
    if (c->curve_key) {
        if (!(b->zap = dw_zap_start(b->ctx, c->allow, &why))) {
            dw_err("ZAP handler: %s: %s", why, strerror(errno));
            return -1;
        }
        dw_info("%zu client keys allowed", dw_zap_allowed(b->zap));
    }
    b->front = dw_zmq_socket(b->ctx, ZMQ_XSUB);
    b->back = dw_zmq_socket(b->ctx, ZMQ_XPUB);
    b->ctl = dw_zmq_socket(b->ctx, ZMQ_PAIR);
    if (!b->front || !b->back || !b->ctl || zmq_bind(b->ctl, CONTROL_EP) < 0) {
        dw_err("zmq: %s", zmq_strerror(errno));
        return -1;
    }
    const struct dw_curve_keys *server = c->curve_key ? &b->server_keys : NULL;
    const struct dw_curve_keys *client = c->upstream_key ? &b->client_keys : NULL;
    /* Every subscription goes upstream, so a publisher with a backlog
     * (acquire) replays it for each subscriber that joins. */
    if (zmq_setsockopt(b->back, ZMQ_XPUB_VERBOSE, &one, sizeof(one)) < 0 ||
        setup_side(b->front, c->front, c->n_front, "frontend", c, server, b->zap, client,
                   b->upstream, &next_upstream) < 0 ||
        setup_side(b->back, c->back, c->n_back, "backend", c, server, b->zap, client,
                   b->upstream, &next_upstream) < 0)
        return -1;
    fflush(stdout);
    return 0;
}

static void close_all(struct broker *b)
{
    explicit_bzero(&b->server_keys, sizeof(b->server_keys));
    explicit_bzero(&b->client_keys, sizeof(b->client_keys));
    dw_zmq_close(b->front);
    dw_zmq_close(b->back);
    dw_zmq_close(b->ctl);
    dw_zap_stop(b->zap);
    if (b->ctx)
        zmq_ctx_term(b->ctx);
}

int main(int argc, char **argv)
{
    static struct broker b = { .c = { .hwm = DEFAULT_HWM } };
    sigset_t set;
    pthread_t sig_thread;
    bool sig_started = false;
    int status = DW_EXIT_FAILURE, r;

    dw_log_init(argv[0]);
    parse_args(argc, argv, &b.c);
    signal(SIGPIPE, SIG_IGN);
    if (load_keys(&b) < 0)
        goto out;
    /* Every thread from here on (libzmq's too) inherits the blocked
     * signals; only the signal thread takes them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (!(b.ctx = zmq_ctx_new())) {
        dw_err("zmq: %s", zmq_strerror(errno));
        goto out;
    }
    if (open_sockets(&b) < 0)
        goto out;
    explicit_bzero(&b.server_keys, sizeof(b.server_keys));
    explicit_bzero(&b.client_keys, sizeof(b.client_keys));
    if ((r = pthread_create(&sig_thread, NULL, signal_thread, b.ctx))) {
        dw_err("cannot start the signal thread: %s", strerror(r));
        goto out;
    }
    sig_started = true;
    if (zmq_proxy_steerable(b.front, b.back, NULL, b.ctl) < 0) {
        dw_err("proxy: %s", zmq_strerror(errno));
        goto out;
    }
    dw_info("stopped");
    status = DW_EXIT_OK;
out:
    if (sig_started) {
        pthread_kill(sig_thread, SIGTERM); /* no-op if it already took one */
        pthread_join(sig_thread, NULL);
    }
    close_all(&b);
    return status;
}
