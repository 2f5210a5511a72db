/* ductwatch-acquire: one garment's serial link -> one ZeroMQ stream. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "acquire.h"
#include "cli.h"
#include "contract.h"
#include "defaults.h"
#include "duration.h"
#include "dwtime.h"
#include "endpoint.h"
#include "log.h"
#include "security.h"
#include "serial.h"

#define DEFAULT_BAUD 115200
#define DEFAULT_USB_VID 0x1209
#define DEFAULT_USB_PID 0xd0c7
#define DEFAULT_BACKLOG DW_BACKLOG_DEFAULT
#define DEFAULT_BACKLOG_AGE_S DW_BACKLOG_AGE_S_DEFAULT
#define STATS_INTERVAL_NS 2000000000ull
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define SNDHWM DW_HWM_DEFAULT
#define READ_BUDGET (1u << 20) /* bytes per wake-up before serving sockets */

static const char *prog = "ductwatch-acquire";
static volatile sig_atomic_t stop;

struct config {
    const char *port;    /* path, or NULL for auto */
    bool auto_port;
    struct dw_serial_opts so;
    int vid, pid;
    char usb_serial[128];
    const char *pub_ep, *events_ep;
    uint64_t backlog;
    uint64_t backlog_age_us;
    uint64_t sndhwm;
    uint64_t wait_subscribers;
    bool list_ports;
    const char *curve_key, *allow; /* CURVE on tcp:// endpoints */
    bool insecure;
};

static void usage(void)
{
    printf(
"Usage: %s --port PATH|auto [options]\n"
"Reads a ductwatch garment's serial link and publishes one ordered stream of\n"
"frames, events and stats on ZeroMQ (see docs/messages.md).\n"
"\n"
"  -p, --port PATH|auto   serial device, pseudo-terminal, FIFO or symlink to one;\n"
"                         'auto' finds the garment by its USB id (required)\n"
"  -b, --baud N           baud rate for real serial ports (default %d; 8N1)\n"
"      --flow MODE        none, rtscts or xonxoff (default none; xonxoff eats\n"
"                         0x11/0x13 bytes inside frames, see docs/protocol.md)\n"
"      --usb-id VID:PID   USB id for --port auto, hex (default %04x:%04x)\n"
"      --list-ports       list serial ports with their USB identity and exit\n"
"      --pub EP           XPUB endpoint (default ipc://RUN/acquire)\n"
"      --events EP        REP endpoint for user events (default ipc://RUN/events)\n"
"      --backlog N        messages replayed to each new subscriber (default %d)\n"
"      --backlog-age D    ...and only those younger than D (default %ds)\n"
"      --sndhwm N         messages queued for each subscriber before it loses\n"
"                         them (a stream gap on its side; default %d, 0 = no\n"
"                         limit: a stalled subscriber then costs memory)\n"
"      --wait-subscribers N  read the port only once N subscriptions arrived\n"
"                         (for --fast simulators; default 0)\n"
"      --curve-key FILE   this process's secret key (ductwatch-keygen): tcp://\n"
"                         endpoints become CURVE servers (needs --allow)\n"
"      --allow DIR|FILE   client public keys let in: a directory of *.pub\n"
"                         files, or a file with one Z85 key per line\n"
"      --insecure         allow tcp:// without CURVE, on loopback addresses only\n"
"  -v, --verbose          debug log output\n"
"  -q, --quiet            errors only\n"
"  -h, --help             this text\n"
"  -V, --version          print the version\n"
"\n"
"RUN is $DUCTWATCH_RUNTIME_DIR, else $XDG_RUNTIME_DIR/ductwatch, else\n"
"/tmp/ductwatch-UID. At start it prints 'pub: EP' and 'events: EP'. A port\n"
"missing at start is an error (exit 1); a link lost later is reconnected\n"
"forever (100 ms backoff doubling to 2 s), re-resolving symlinks each time;\n"
"a /dev/pts/N given directly is not (a pty never comes back).\n"
"tcp:// endpoints need --curve-key and --allow, or --insecure on 127.0.0.1/::1\n"
"(see docs/security.md).\n",
        prog, DEFAULT_BAUD, DEFAULT_USB_VID, DEFAULT_USB_PID, DEFAULT_BACKLOG,
        DEFAULT_BACKLOG_AGE_S, SNDHWM);
}

static int parse_usb_id(const char *s, int *vid, int *pid)
{
    unsigned v, p;
    int n = 0;
    if (sscanf(s, "%4x:%4x%n", &v, &p, &n) != 2 || s[n] != 0)
        return -EINVAL;
    *vid = (int)v;
    *pid = (int)p;
    return 0;
}

static void parse_args(int argc, char **argv, struct config *c)
{
    enum { O_FLOW = 256, O_USB_ID, O_LIST, O_PUB, O_EVENTS, O_BACKLOG, O_BACKLOG_AGE, O_SNDHWM, O_WAIT_SUBS,
           O_CURVE_KEY, O_ALLOW, O_INSECURE };
    static const struct option opts[] = {
        { "port", required_argument, NULL, 'p' },
        { "baud", required_argument, NULL, 'b' },
        { "flow", required_argument, NULL, O_FLOW },
        { "usb-id", required_argument, NULL, O_USB_ID },
        { "list-ports", no_argument, NULL, O_LIST },
        { "pub", required_argument, NULL, O_PUB },
        { "events", required_argument, NULL, O_EVENTS },
        { "backlog", required_argument, NULL, O_BACKLOG },
        { "backlog-age", required_argument, NULL, O_BACKLOG_AGE },
        { "sndhwm", required_argument, NULL, O_SNDHWM },
        { "wait-subscribers", required_argument, NULL, O_WAIT_SUBS },
        { "curve-key", required_argument, NULL, O_CURVE_KEY },
        { "allow", required_argument, NULL, O_ALLOW },
        { "insecure", no_argument, NULL, O_INSECURE },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { 0 },
    };
    uint64_t u;
    int level = DW_LOG_INFO, ch;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":p:b:vqhV", opts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            c->port = optarg;
            c->auto_port = strcmp(optarg, "auto") == 0;
            break;
        case 'b':
            if (dw_parse_u64(optarg, 50, 4000000, &u) < 0)
                dw_usage_error(prog, "bad baud rate '%s' (50..4000000)", optarg);
            c->so.baud = (int)u;
            break;
        case O_FLOW:
            if (!strcmp(optarg, "none"))
                c->so.flow = DW_FLOW_NONE;
            else if (!strcmp(optarg, "rtscts"))
                c->so.flow = DW_FLOW_RTSCTS;
            else if (!strcmp(optarg, "xonxoff"))
                c->so.flow = DW_FLOW_XONXOFF;
            else
                dw_usage_error(prog, "bad --flow '%s' (none, rtscts or xonxoff)", optarg);
            break;
        case O_USB_ID:
            if (parse_usb_id(optarg, &c->vid, &c->pid) < 0)
                dw_usage_error(prog, "bad --usb-id '%s' (VVVV:PPPP, hex)", optarg);
            break;
        case O_LIST: c->list_ports = true; break;
        case O_PUB: c->pub_ep = optarg; break;
        case O_EVENTS: c->events_ep = optarg; break;
        case O_BACKLOG:
            if (dw_parse_u64(optarg, 1, 1000000, &c->backlog) < 0)
                dw_usage_error(prog, "bad --backlog '%s' (1..1000000)", optarg);
            break;
        case O_BACKLOG_AGE:
            if (dw_duration_parse_us(optarg, &c->backlog_age_us) < 0 || !c->backlog_age_us)
                dw_usage_error(prog, "bad --backlog-age '%s' (e.g. 10s, 2m)", optarg);
            break;
        case O_SNDHWM:
            if (dw_parse_u64(optarg, 0, 100000000, &c->sndhwm) < 0)
                dw_usage_error(prog, "bad --sndhwm '%s' (0..100000000)", optarg);
            break;
        case O_WAIT_SUBS:
            if (dw_parse_u64(optarg, 0, 1000, &c->wait_subscribers) < 0)
                dw_usage_error(prog, "bad --wait-subscribers '%s' (0..1000)", optarg);
            break;
        case O_CURVE_KEY: c->curve_key = optarg; break;
        case O_ALLOW: c->allow = optarg; break;
        case O_INSECURE: c->insecure = true; break;
        case 'v': level = level < DW_LOG_INFO ? DW_LOG_INFO : DW_LOG_DEBUG; break;
        case 'q': level = DW_LOG_ERROR; break;
        case 'h': usage(); exit(0);
        case 'V': dw_print_version(prog); exit(0);
        default: dw_usage_bad_option(prog, ch, argv);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
    if (!c->port && !c->list_ports)
        dw_usage_error(prog, "missing --port PATH|auto");
    if (!c->curve_key != !c->allow)
        dw_usage_error(prog, "--curve-key and --allow go together");
    dw_log_set_level(level);
}

static int list_ports(const struct config *c)
{
    struct dw_port_info info[64];
    int n = dw_serial_list(info, 64);
    if (n < 0) {
        fprintf(stderr, "%s: cannot list serial ports: %s\n", prog, strerror(-n));
        return DW_EXIT_FAILURE;
    }
    if (n == 0)
        fprintf(stderr, "%s: no serial ports found\n", prog);
    for (int i = 0; i < n && i < 64; i++) {
        const struct dw_port_info *p = &info[i];
        bool match = p->usb && p->vid == c->vid && p->pid == c->pid;
        if (p->usb)
            printf("%s\tusb %04x:%04x\tserial=%s\t%s%s\n", p->name, p->vid, p->pid,
                   p->serial[0] ? p->serial : "-", p->description,
                   match ? "\t(garment)" : "");
        else
            printf("%s\t-\t-\t%s\n", p->name, p->description);
    }
    return DW_EXIT_OK;
}

/* Resolves --port (auto: by USB id, and by serial number once known) and
 * opens it. */
static struct dw_serial *open_port(struct config *c, bool quiet)
{
    char found[256];
    const char *path = c->port, *why = NULL;
    struct dw_serial *s;

    if (c->auto_port) {
        int r = dw_serial_find_usb(c->vid, c->pid, c->usb_serial, found, sizeof(found),
                                   c->usb_serial, sizeof(c->usb_serial));
        if (r < 0) {
            if (!quiet)
                dw_err("no serial port with USB id %04x:%04x%s%s found", c->vid, c->pid,
                       c->usb_serial[0] ? " serial " : "", c->usb_serial);
            errno = -r;
            return NULL;
        }
        path = found;
    }
    s = dw_serial_open(path, &c->so, &why);
    if (!s) {
        if (!quiet)
            dw_err("cannot open %s: %s", path, why ? why : strerror(errno));
        return NULL;
    }
    dw_info("opened %s (%s)", dw_serial_path(s),
            dw_serial_kind(s) == DW_SERIAL_DEVICE ? "serial port"
            : dw_serial_kind(s) == DW_SERIAL_TTY ? "terminal" : "FIFO");
    return s;
}

static int bind_socket(void *sock, const char *ep, char *actual, size_t cap)
{
    size_t len = cap;
    if (zmq_bind(sock, ep) < 0) {
        dw_err("cannot bind %s: %s", ep, zmq_strerror(errno));
        return -1;
    }
    /* Shows the real port when a wildcard TCP port was asked for. */
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, actual, &len) < 0 || !actual[0])
        snprintf(actual, cap, "%s", ep);
    return 0;
}

/* A pseudo-terminal named directly (not through a symlink) cannot come
 * back once its master closed: a later /dev/pts/N with the same number
 * belongs to someone else, and reading it would steal their bytes. */
static bool is_direct_pty(const struct config *c)
{
    struct stat st;
    char real[PATH_MAX];
    if (c->auto_port || lstat(c->port, &st) < 0 || S_ISLNK(st.st_mode))
        return false;
    return realpath(c->port, real) && strncmp(real, "/dev/pts/", 9) == 0;
}

static void send_hello_request(struct dw_serial *s)
{
    uint8_t wire[32];
    /* A leading delimiter ends whatever the garment's reader had pending. */
    ssize_t n = dw_frame_encode(DW_FRAME_HELLO_REQUEST, 0, 0, NULL, 0, wire + 1, sizeof(wire) - 1);
    int r;
    wire[0] = 0;
    if (n < 0)
        return;
    r = dw_serial_write(s, wire, (size_t)n + 1);
    if (r < 0 && r != -ENOTSUP)
        dw_debug("HELLO_REQUEST: %s", strerror(-r));
    else if (r == 0)
        dw_debug("sent HELLO_REQUEST");
}

/* Reads what is there; returns false when the link is gone (*why set). */
static bool read_link(struct dw_acquire *a, struct dw_serial *s, bool hup, uint64_t *since_open,
                      const char **why)
{
    uint8_t buf[65536];
    size_t total = 0;
    int fd = dw_serial_fd(s);

    while (total < READ_BUDGET) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            uint64_t mono = dw_now_monotonic_ns();
            /* A subscriber that arrived meanwhile gets its replay before
             * these frames go out live. */
            dw_acquire_check_subscriptions(a, mono);
            dw_acquire_feed(a, buf, (size_t)n, dw_now_realtime_ns(), mono);
            total += (size_t)n;
            *since_open += (size_t)n;
            continue;
        }
        if (n == 0) {
            /* A FIFO nobody has written to yet also reads 0: not a loss. */
            if (dw_serial_kind(s) == DW_SERIAL_FIFO && !*since_open && !hup)
                return true;
            *why = "end of file";
            return false;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            if (hup && total == 0) {
                *why = "hang-up";
                return false;
            }
            return true;
        }
        *why = strerror(errno);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    struct config c = {
        .so = { .baud = DEFAULT_BAUD, .flow = DW_FLOW_NONE },
        .vid = DEFAULT_USB_VID, .pid = DEFAULT_USB_PID,
        .backlog = DEFAULT_BACKLOG, .backlog_age_us = DEFAULT_BACKLOG_AGE_S * 1000000ull,
        .sndhwm = SNDHWM,
    };
    char pub_default[PATH_MAX + 16], events_default[PATH_MAX + 16];
    char pub_actual[PATH_MAX + 16] = "", events_actual[PATH_MAX + 16] = "";
    struct dw_acquire a;
    struct dw_serial *s = NULL;
    void *ctx = NULL, *pub = NULL, *rep = NULL;
    struct dw_zap *zap = NULL;
    struct dw_curve_keys keys;
    bool use_curve = false;
    int status = DW_EXIT_FAILURE, r;
    unsigned backoff_ms = BACKOFF_MIN_MS;
    uint64_t next_stats, next_try = 0, since_open = 0;
    bool acquire_ready = false, down_logged = false, pty_direct;

    dw_log_init(argv[0]);
    parse_args(argc, argv, &c);
    if (c.list_ports)
        return list_ports(&c);
    dw_install_stop_signals(&stop);

    if (!c.pub_ep || !c.events_ep) {
        if ((r = dw_default_endpoint("acquire", pub_default, sizeof(pub_default))) < 0 ||
            (r = dw_default_endpoint("events", events_default, sizeof(events_default))) < 0) {
            dw_err("runtime directory: %s", strerror(-r));
            return DW_EXIT_FAILURE;
        }
        if (!c.pub_ep)
            c.pub_ep = pub_default;
        if (!c.events_ep)
            c.events_ep = events_default;
    }
    /* Who may connect is decided from the arguments, before anything opens. */
    {
        const char *why = NULL;
        if (dw_security_check_bind(c.pub_ep, c.curve_key, c.insecure, &why) < 0)
            dw_usage_error(prog, "--pub %s: %s", c.pub_ep, why);
        if (dw_security_check_bind(c.events_ep, c.curve_key, c.insecure, &why) < 0)
            dw_usage_error(prog, "--events %s: %s", c.events_ep, why);
        use_curve = c.curve_key &&
                    (dw_security_is_tcp(c.pub_ep) || dw_security_is_tcp(c.events_ep));
        if (c.curve_key && !use_curve)
            dw_info("--curve-key: no tcp:// endpoint, CURVE not used (ipc:// relies on "
                    "the runtime directory's permissions)");
        if (use_curve && dw_security_load_keypair(c.curve_key, &keys, &why) < 0) {
            dw_err("%s: %s", c.curve_key, why);
            return DW_EXIT_FAILURE;
        }
    }

    if (c.so.flow == DW_FLOW_XONXOFF)
        dw_warn("--flow xonxoff: frames that contain 0x11 or 0x13 will be lost");
    ctx = zmq_ctx_new();
    if (!ctx) {
        dw_err("zmq: %s", zmq_strerror(errno));
        goto out;
    }
    if (use_curve) {
        const char *why = NULL;
        /* The ZAP handler first: a CURVE server bound without one lets
         * every client in. Before the port too: a bad allow-list is an
         * error at start, not after the garment was opened. */
        zap = dw_zap_start(ctx, c.allow, &why);
        if (!zap) {
            dw_err("--allow %s: %s", c.allow, why);
            goto out;
        }
        dw_info("CURVE on tcp:// endpoints, %zu client keys allowed", dw_zap_allowed(zap));
    }
    s = open_port(&c, false);
    if (!s)
        goto out;
    pty_direct = is_direct_pty(&c);

    pub = dw_zmq_socket(ctx, ZMQ_XPUB);
    rep = dw_zmq_socket(ctx, ZMQ_REP);
    if (!pub || !rep) {
        dw_err("zmq: %s", zmq_strerror(errno));
        goto out;
    }
    if ((r = dw_acquire_setup_pub(pub, (int)c.sndhwm)) < 0) {
        dw_err("zmq: %s", zmq_strerror(-r));
        goto out;
    }
    if (use_curve) {
        if ((dw_security_is_tcp(c.pub_ep) && (r = dw_security_server(pub, &keys, zap)) < 0) ||
            (dw_security_is_tcp(c.events_ep) && (r = dw_security_server(rep, &keys, zap)) < 0)) {
            dw_err("CURVE server setup: %s", zmq_strerror(-r));
            goto out;
        }
        explicit_bzero(&keys, sizeof(keys));
    }
    if (bind_socket(pub, c.pub_ep, pub_actual, sizeof(pub_actual)) < 0 ||
        bind_socket(rep, c.events_ep, events_actual, sizeof(events_actual)) < 0)
        goto out;

    struct dw_acquire_opts ao = { .backlog = c.backlog, .backlog_age_ns = c.backlog_age_us * 1000 };
    if ((r = dw_acquire_init(&a, pub, &ao)) < 0) {
        dw_err("%s", strerror(-r));
        goto out;
    }
    acquire_ready = true;
    printf(DW_LINE_PUB "%s\n" DW_LINE_EVENTS "%s\n", pub_actual, events_actual);
    fflush(stdout);

    /* A garment (or simulator) faster than the backlog is long would run
     * past subscribers that are still connecting: hold the port until they
     * are there. Unread bytes wait in the OS buffer; a pty holds the writer. */
    for (uint64_t subs = 0; subs < c.wait_subscribers && !stop;) {
        zmq_pollitem_t it = { .socket = pub, .events = ZMQ_POLLIN };
        if (zmq_poll(&it, 1, 1000) > 0)
            subs += (uint64_t)dw_acquire_handle_subscriptions(&a, dw_now_monotonic_ns());
    }
    dw_acquire_link_up(&a, dw_now_realtime_ns(), dw_now_monotonic_ns());
    next_stats = dw_now_monotonic_ns() + STATS_INTERVAL_NS;

    while (!stop) {
        zmq_pollitem_t items[3] = {
            { .socket = pub, .events = ZMQ_POLLIN },
            { .socket = rep, .events = ZMQ_POLLIN },
            { .socket = NULL, .fd = s ? dw_serial_fd(s) : -1, .events = ZMQ_POLLIN },
        };
        uint64_t now = dw_now_monotonic_ns(), wake = next_stats;
        long timeout_ms;

        if (s && a.need_hello && a.last_request_ns + DW_ACQ_HELLO_RETRY_NS < wake)
            wake = a.last_request_ns + DW_ACQ_HELLO_RETRY_NS;
        if (!s && next_try < wake)
            wake = next_try;
        timeout_ms = wake > now ? (long)((wake - now + 999999) / 1000000) : 0;
        if (timeout_ms > 1000)
            timeout_ms = 1000;
        if (zmq_poll(items, s ? 3 : 2, timeout_ms) < 0) {
            if (errno == EINTR)
                continue;
            dw_err("zmq_poll: %s", zmq_strerror(errno));
            goto out;
        }

        /* Subscriptions first: their replay must precede live messages. */
        if (items[0].revents & ZMQ_POLLIN)
            dw_acquire_handle_subscriptions(&a, dw_now_monotonic_ns());
        if (s && items[2].revents) {
            const char *why = NULL;
            if (!read_link(&a, s, items[2].revents & ZMQ_POLLERR, &since_open, &why)) {
                dw_warn("link down: %s: %s", dw_serial_path(s), why);
                dw_acquire_link_down(&a, why, dw_now_realtime_ns(), dw_now_monotonic_ns());
                dw_serial_close(s);
                s = NULL;
                backoff_ms = BACKOFF_MIN_MS;
                next_try = dw_now_monotonic_ns() + backoff_ms * 1000000ull;
                down_logged = false;
                if (pty_direct) {
                    dw_warn("%s is gone for good (a pseudo-terminal never comes back); "
                            "not reconnecting. Give a symlink to follow a new one.", c.port);
                    next_try = UINT64_MAX;
                }
            }
        }
        if (items[1].revents & ZMQ_POLLIN) {
            dw_acquire_check_subscriptions(&a, dw_now_monotonic_ns());
            char req[4096], reply[512];
            int n = zmq_recv(rep, req, sizeof(req) - 1, ZMQ_DONTWAIT);
            if (n >= 0) {
                int more = 0;
                size_t ml = sizeof(more);
                /* Only the first part counts; REP must still read them all. */
                while (zmq_getsockopt(rep, ZMQ_RCVMORE, &more, &ml) == 0 && more) {
                    char junk[64];
                    zmq_recv(rep, junk, sizeof(junk), ZMQ_DONTWAIT);
                }
                if ((size_t)n > sizeof(req) - 1)
                    snprintf(reply, sizeof(reply), "{\"ok\":false,\"error\":\"request too long\"}");
                else
                    dw_acquire_user_event(&a, req, (size_t)n, dw_now_realtime_ns(),
                                          dw_now_monotonic_ns(), reply, sizeof(reply));
                zmq_send(rep, reply, strlen(reply), ZMQ_DONTWAIT);
            }
        }
        now = dw_now_monotonic_ns();
        if (s && dw_acquire_want_hello_request(&a, now))
            send_hello_request(s);
        if (!s && now >= next_try) {
            s = open_port(&c, true);
            if (s) {
                dw_info("link up again");
                since_open = 0;
                dw_acquire_link_up(&a, dw_now_realtime_ns(), dw_now_monotonic_ns());
                if (dw_acquire_want_hello_request(&a, dw_now_monotonic_ns()))
                    send_hello_request(s);
            } else {
                if (!down_logged)
                    dw_info("waiting for %s to come back", c.auto_port ? "the garment" : c.port);
                down_logged = true;
                backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
                next_try = now + backoff_ms * 1000000ull;
            }
        }
        if (now >= next_stats) {
            dw_acquire_check_subscriptions(&a, now);
            dw_acquire_publish_stats(&a, dw_now_realtime_ns(), now);
            next_stats += STATS_INTERVAL_NS;
            if (next_stats < now)
                next_stats = now + STATS_INTERVAL_NS;
        }
    }
    /* Last word: the final counters. */
    dw_acquire_publish_stats(&a, dw_now_realtime_ns(), dw_now_monotonic_ns());
    dw_info("stopped: %llu frames published, %llu missing, %llu dropped before HELLO, "
            "%llu invalid payloads, %llu zmq drops",
            (unsigned long long)a.published_frames, (unsigned long long)a.frames_missing,
            (unsigned long long)a.pre_hello_dropped, (unsigned long long)a.payload_errors,
            (unsigned long long)a.zmq_dropped);
    status = DW_EXIT_OK;
out:
    if (pub && status == DW_EXIT_OK) {
        /* Give the final stats a moment to leave; bounded, never a hang. */
        int linger = 300;
        zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof(linger));
    }
    if (acquire_ready)
        dw_acquire_free(&a);
    dw_serial_close(s);
    if (pub)
        zmq_close(pub);
    if (rep)
        zmq_close(rep);
    dw_zap_stop(zap);
    explicit_bzero(&keys, sizeof(keys));
    if (ctx)
        zmq_ctx_term(ctx);
    return status;
}
