/* ductwatch-bridge: a hub's ZeroMQ streams (frames, events, stats, alerts)
 * into NATS JetStream on dw.p.<K>.<kind>.<device> (docs/operations.md).
 * Frames go one garment-second per message; everything is published with
 * acks and a Nats-Msg-Id, sent again with the same id when an ack does not
 * come, and waits (back-pressure) when the window of unacked messages is
 * full. On its first frame of a device it asks the stream for the last
 * frame message of that device and leaves out what the stream holds, so a
 * restarted bridge resumes where the last one stopped. Each HELLO is also
 * published alone on dw.p.<K>.hello.<device>, for the workers (jssub.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "cli.h"
#include "contract.h"
#include "device_id.h"
#include "dwtime.h"
#include "endpoint.h"
#include "frame_batch.h"
#include "jspub.h"
#include "log.h"
#include "loop.h"
#include "parse_num.h"
#include "partition.h"
#include "security.h"
#include "stream_sub.h"

#define MAX_SUBS 16
#define NAME_MAX_LEN 64
/* A batch still open this long (a garment that stopped mid-second) goes out. */
#define BATCH_MAX_AGE_NS 2000000000ull
#define DRAIN_BUDGET 4096
/* A garment-second larger than this (a fast garment with many zones) goes
 * in several messages: NATS refuses payloads over max_payload (1 MB). */
#define BATCH_MAX_BYTES (256 * 1024)
#define RETRY_EVERY_NS 250000000ull

static const char *prog = "ductwatch-bridge";
static volatile sig_atomic_t stop;

struct config {
    const char *subs[MAX_SUBS];
    int n_subs;
    const char *curve_key, *server_key;
    bool insecure;
    struct dw_jspub_config nats;
    const char *stream;
    bool create_stream;
    int replicas;
    unsigned partitions;
    char name[NAME_MAX_LEN + 1];
    uint64_t stats_ms, drain_ms;
};

struct bdev {
    struct dw_sub_device sub; /* first: the id and its streams */
    bool ready;               /* part and the resume point are known */
    bool usable;              /* its id is one NATS subject token */
    unsigned part;
    bool have_done;           /* the stream holds this device's frames up to: */
    uint64_t done_stream, done_seq;
    struct dw_frame_batch batch;
    uint64_t opened_ns;
};

struct bridge {
    struct config c;
    struct dw_stream_sub sub; /* entries: struct bdev */
    struct dw_jspub *pub;
    uint64_t frames, batches, events, stats, alerts, gaps, resumed, refused;
    int fatal;
};

static void usage(void)
{
    printf(
"Usage: %s --nats URL [--sub EP]... [options]\n"
"Publishes a hub's ductwatch streams (frames, events, stats, alerts) to NATS\n"
"JetStream on dw.p.<K>.<kind>.<device>, K = FNV-1a of the device id modulo\n"
"the partitions; frames one message per garment-second (see\n"
"docs/operations.md). Every message is acked, carries a Nats-Msg-Id and is\n"
"sent again with it until acked.\n"
"\n"
"      --sub EP           endpoint to subscribe to, repeatable (default\n"
"                         ipc://RUN/acquire and ipc://RUN/detect)\n"
"      --nats URL         the NATS server(s), comma-separated (nats://, tls://)\n"
"      --creds FILE       NATS credentials file (JWT and nkey seed; mode 0600)\n"
"      --user-file FILE   'USER:PASSWORD' on the first line (mode 0600)\n"
"      --tls-ca FILE      CA certificates of the server: TLS required\n"
"      --domain D         the JetStream domain to publish to (a leaf hub's own)\n"
"      --stream NAME      the stream that holds dw.p.> (default DW)\n"
"      --create-stream    create it when missing (file storage)\n"
"      --replicas N       its replicas when created, 1..5 (default 1)\n"
"      --partitions N     partitions, 1..%d (default 1)\n"
"      --max-pending N    messages awaiting their ack at most (default 4096)\n"
"      --ack-wait MS      an ack later than this: sent again (default 5000)\n"
"      --name NAME        this hub's name in its stats (default: the host name)\n"
"      --stats-interval MS  counters to dw.bridge.NAME.stats this often\n"
"                         (default 5000)\n"
"      --drain-timeout MS at the end, wait this long for the last acks\n"
"                         (default 10000)\n", prog, DW_PARTITIONS_MAX);
    dw_cli_usage_std(25, DW_CLI_HELP_CURVE_CLIENT | DW_CLI_HELP_INSECURE | DW_CLI_HELP_VERSION);
    printf(
"\n"
"Prints 'nats: URL' once connected and subscribed, and at the end a line\n"
"'bridged: published=N acked=N ...' with its counters; exits 1 when\n"
"messages are still unacked after --drain-timeout or the server refused\n"
"some (denied: this user may not publish their subjects).\n");
}

static uint64_t num_arg(const char *opt, uint64_t min, uint64_t max)
{
    uint64_t u;
    if (dw_parse_u64(optarg, min, max, &u) < 0)
        dw_usage_error(prog, "bad %s '%s' (%" PRIu64 "..%" PRIu64 ")", opt, optarg, min, max);
    return u;
}

/* A NATS subject token: no '.', '*', '>', nor white space. */
static bool subject_token(const char *s)
{
    return *s && !strpbrk(s, ".*> \t\r\n");
}

static void check_args(struct config *c)
{
    if (!c->nats.url)
        dw_usage_error(prog, "missing --nats URL");
    if (!!c->curve_key != !!c->server_key)
        dw_usage_error(prog, "--curve-key and --server-key go together");
    if (!c->name[0] && gethostname(c->name, sizeof(c->name) - 1) < 0)
        snprintf(c->name, sizeof(c->name), "hub");
    if (!subject_token(c->name) || !dw_device_id_valid(c->name, strlen(c->name)))
        dw_usage_error(prog, "bad --name '%s' (one word: no '.', '*', '>', '/')", c->name);
}

static void parse_args(int argc, char **argv, struct config *c)
{
    enum { O_SUB = 256, O_CURVE_KEY, O_SERVER_KEY, O_INSECURE, O_NATS, O_CREDS, O_USER_FILE,
           O_TLS_CA, O_DOMAIN, O_STREAM, O_CREATE, O_REPLICAS, O_PARTS, O_MAX_PENDING,
           O_ACK_WAIT, O_NAME, O_STATS, O_DRAIN };
    static const struct option opts[] = {
        { "sub", required_argument, NULL, O_SUB },
        { "curve-key", required_argument, NULL, O_CURVE_KEY },
        { "server-key", required_argument, NULL, O_SERVER_KEY },
        { "insecure", no_argument, NULL, O_INSECURE },
        { "nats", required_argument, NULL, O_NATS },
        { "creds", required_argument, NULL, O_CREDS },
        { "user-file", required_argument, NULL, O_USER_FILE },
        { "tls-ca", required_argument, NULL, O_TLS_CA },
        { "domain", required_argument, NULL, O_DOMAIN },
        { "stream", required_argument, NULL, O_STREAM },
        { "create-stream", no_argument, NULL, O_CREATE },
        { "replicas", required_argument, NULL, O_REPLICAS },
        { "partitions", required_argument, NULL, O_PARTS },
        { "max-pending", required_argument, NULL, O_MAX_PENDING },
        { "ack-wait", required_argument, NULL, O_ACK_WAIT },
        { "name", required_argument, NULL, O_NAME },
        { "stats-interval", required_argument, NULL, O_STATS },
        { "drain-timeout", required_argument, NULL, O_DRAIN },
        DW_CLI_LONGOPTS_STD,
        { 0 },
    };
    int ch, level = DW_LOG_INFO;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":vqhV", opts, NULL)) != -1) {
        switch (ch) {
        case O_SUB:
            dw_cli_check_room(prog, c->n_subs, MAX_SUBS, "--sub endpoints");
            c->subs[c->n_subs++] = optarg;
            break;
        case O_CURVE_KEY: c->curve_key = optarg; break;
        case O_SERVER_KEY: c->server_key = optarg; break;
        case O_INSECURE: c->insecure = true; break;
        case O_NATS: c->nats.url = optarg; break;
        case O_CREDS: c->nats.creds = optarg; break;
        case O_USER_FILE: c->nats.user_file = optarg; break;
        case O_TLS_CA: c->nats.tls_ca = optarg; break;
        case O_DOMAIN: c->nats.domain = optarg; break;
        case O_STREAM:
            if (!subject_token(optarg))
                dw_usage_error(prog, "bad --stream '%s'", optarg);
            c->stream = optarg;
            break;
        case O_CREATE: c->create_stream = true; break;
        case O_REPLICAS: c->replicas = (int)num_arg("--replicas", 1, 5); break;
        case O_PARTS: c->partitions = (unsigned)num_arg("--partitions", 1, DW_PARTITIONS_MAX); break;
        case O_MAX_PENDING: c->nats.max_pending = (int64_t)num_arg("--max-pending", 1, 1000000); break;
        case O_ACK_WAIT: c->nats.ack_wait_ms = (int64_t)num_arg("--ack-wait", 100, 600000); break;
        case O_NAME:
            if (strlen(optarg) > NAME_MAX_LEN)
                dw_usage_error(prog, "--name is longer than %d characters", NAME_MAX_LEN);
            snprintf(c->name, sizeof(c->name), "%s", optarg);
            break;
        case O_STATS: c->stats_ms = num_arg("--stats-interval", 100, 3600000); break;
        case O_DRAIN: c->drain_ms = num_arg("--drain-timeout", 0, 3600000); break;
        default: dw_cli_std_option(prog, ch, argv, &level, usage);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
    check_args(c);
    dw_log_set_level(level);
}

static void fail(struct bridge *b, int r, const char *what)
{
    if (!b->fatal)
        dw_err("%s: %s", what, strerror(-r));
    b->fatal = r;
    stop = 1;
}

/* What the stream holds of d's frames already: the last frame of its last
 * frame message. A failed look-up only costs duplicates, never frames. */
static void resume_point(struct bridge *b, struct bdev *d)
{
    char subject[DW_TOPIC_MAX + 32];
    uint8_t *data = NULL;
    const uint8_t *body;
    size_t len = 0, off = 0, blen;
    struct dw_msg_frame f;
    int r;

    dw_nats_subject(subject, sizeof(subject), d->part, "frame", d->sub.id);
    r = dw_jspub_last(b->pub, b->c.stream, subject, &data, &len);
    if (r < 0)
        dw_warn("%s: cannot ask stream %s for its last frames (%s): resent frames may repeat",
                d->sub.id, b->c.stream, strerror(-r));
    while (r > 0 && (r = dw_frame_batch_next(data, len, &off, &body, &blen)) > 0)
        if (dw_msg_frame_parse(body, blen, &f) == 0) {
            d->have_done = true;
            d->done_stream = f.stream;
            d->done_seq = f.seq;
        }
    if (d->have_done)
        dw_info("%s: the stream holds its frames up to seq %" PRIu64 " of stream %016" PRIx64,
                d->sub.id, d->done_seq, d->done_stream);
    free(data);
}

/* The device's partition and resume point, on its first message: false
 * for an id that cannot be a subject token (refused, counted). */
static bool device_ready(struct bridge *b, struct bdev *d)
{
    if (!d->ready) {
        d->ready = true;
        d->usable = subject_token(d->sub.id);
        if (d->usable) {
            d->part = dw_partition(d->sub.id, b->c.partitions);
            resume_point(b, d);
        } else {
            dw_warn("device '%s': its id cannot be a NATS subject token; not bridged",
                    d->sub.id);
        }
    }
    if (!d->usable)
        b->refused++;
    return d->usable;
}

static void publish(struct bridge *b, struct bdev *d, const char *kind, const char *msg_id,
                    const void *data, size_t len)
{
    char subject[DW_TOPIC_MAX + 32];
    int r;
    dw_nats_subject(subject, sizeof(subject), d->part, kind, d->sub.id);
    /* -EACCES: the server refuses this hub the subject, said and counted */
    if ((r = dw_jspub_send(b->pub, subject, msg_id, data, len, &stop)) < 0 && r != -EACCES)
        fail(b, r, subject);
}

static void flush_batch(struct bridge *b, struct bdev *d)
{
    char id[64];
    if (!d->batch.n)
        return;
    snprintf(id, sizeof(id), "%016" PRIx64 "-%" PRIu64 "-%" PRIu64, d->batch.stream,
             d->batch.first_seq, d->batch.last_seq);
    publish(b, d, "frame", id, d->batch.buf, d->batch.len);
    dw_frame_batch_reset(&d->batch);
    b->batches++;
}

/* A HELLO also goes alone on dw.p.<K>.hello.<device>: a worker that meets
 * the device mid-stream (a restart) takes the latest one from there. */
static void hello_copy(struct bridge *b, struct bdev *d, const struct dw_sub_msg *m,
                       const struct dw_msg_frame *f)
{
    char id[64];
    snprintf(id, sizeof(id), "%016" PRIx64 "-%" PRIu64 "-hello", f->stream, f->seq);
    publish(b, d, "hello", id, m->body, m->len);
}

static int on_frame(const struct dw_sub_msg *m, const struct dw_msg_frame *f, void *user)
{
    struct bridge *b = user;
    struct bdev *d = (struct bdev *)m->dev;
    int r;

    if (m->seq > 0)
        b->gaps += (uint64_t)m->seq;
    if (!device_ready(b, d))
        return 0;
    if (d->have_done && f->stream == d->done_stream && f->seq <= d->done_seq) {
        b->resumed++;
        return 0;
    }
    if (d->batch.n && (f->stream != d->batch.stream ||
                       f->t_device_us / 1000000 != d->batch.second ||
                       d->batch.len + 4 + m->len > BATCH_MAX_BYTES))
        flush_batch(b, d);
    if (f->type == DW_FRAME_HELLO)
        hello_copy(b, d, m, f);
    if (!d->batch.n)
        d->opened_ns = dw_now_monotonic_ns();
    if ((r = dw_frame_batch_add(&d->batch, m->body, m->len)) < 0)
        fail(b, r, "frame batch");
    b->frames++;
    return 0;
}

/* Events, stats and alerts: one message each, id = stream and seq. */
static void one(struct bridge *b, const struct dw_sub_msg *m, const char *kind, uint64_t stream,
                uint64_t seq)
{
    char id[64];
    struct bdev *d = (struct bdev *)m->dev;
    if (m->seq > 0)
        b->gaps += (uint64_t)m->seq;
    if (!device_ready(b, d))
        return;
    /* Events and stats share acquire's seq with the frames: the open
     * batch goes first, so that the stream holds the device's messages in
     * that seq's order (a worker hands them over in it: jssub.h). */
    if (strcmp(kind, "alert") != 0)
        flush_batch(b, d);
    snprintf(id, sizeof(id), "%016" PRIx64 "-%" PRIu64, stream, seq);
    publish(b, d, kind, id, m->body, m->len);
}

static void on_event(const struct dw_sub_msg *m, const struct dw_msg_event *e, void *user)
{
    struct bridge *b = user;
    one(b, m, "event", e->stream, e->seq);
    b->events++;
}

static void on_stats(const struct dw_sub_msg *m, const struct dw_msg_stats *s, void *user)
{
    struct bridge *b = user;
    one(b, m, "stats", s->stream, s->seq);
    b->stats++;
}

static void on_alert(const struct dw_sub_msg *m, const struct dw_msg_alert *a, void *user)
{
    struct bridge *b = user;
    one(b, m, "alert", a->stream, a->seq);
    b->alerts++;
}

/* The counters as one JSON object (no newline); its length. */
static int counters_json(struct bridge *b, char *buf, size_t cap)
{
    struct dw_jspub_counters c;
    dw_jspub_counters(b->pub, &c);
    return snprintf(buf, cap,
        "{\"bridge\":\"%s\",\"published\":%" PRIu64 ",\"acked\":%" PRIu64
        ",\"duplicates\":%" PRIu64 ",\"retried\":%" PRIu64 ",\"stalls\":%" PRIu64
        ",\"pending\":%" PRIu64 ",\"frames\":%" PRIu64 ",\"batches\":%" PRIu64
        ",\"events\":%" PRIu64 ",\"stats\":%" PRIu64 ",\"alerts\":%" PRIu64
        ",\"gaps\":%" PRIu64 ",\"resumed\":%" PRIu64 ",\"refused\":%" PRIu64
        ",\"denied\":%" PRIu64 "}",
        b->c.name, c.published, c.acked, c.duplicates, c.retried, c.stalls, c.pending,
        b->frames, b->batches, b->events, b->stats, b->alerts, b->gaps, b->resumed,
        b->refused, c.denied);
}

static void send_stats(struct bridge *b)
{
    char subject[NAME_MAX_LEN + 32], json[1024];
    int n = counters_json(b, json, sizeof(json));
    snprintf(subject, sizeof(subject), "dw.bridge.%s.stats", b->c.name);
    if (n > 0 && (size_t)n < sizeof(json))
        dw_jspub_plain(b->pub, subject, json, (size_t)n);
}

/* Batches open too long go out; the earliest deadline of the others. */
static uint64_t flush_aged(struct bridge *b, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (unsigned i = 0; i < dw_stream_sub_count(&b->sub); i++) {
        struct bdev *d = (struct bdev *)dw_stream_sub_device(&b->sub, i);
        if (!d->batch.n)
            continue;
        if (now >= d->opened_ns + BATCH_MAX_AGE_NS || stop)
            flush_batch(b, d);
        else if (d->opened_ns + BATCH_MAX_AGE_NS < next)
            next = d->opened_ns + BATCH_MAX_AGE_NS;
    }
    return next;
}

static int relay(struct bridge *b, void *sock)
{
    struct dw_loop l;
    uint64_t now = dw_now_monotonic_ns(), next_stats = now + b->c.stats_ms * 1000000;
    uint64_t next_retry = now;
    size_t waiting = 0;

    dw_loop_init(&l, &stop);
    while (!dw_loop_stopped(&l) && !b->fatal) {
        zmq_pollitem_t it = { .socket = sock, .events = ZMQ_POLLIN };
        int r;

        now = dw_now_monotonic_ns();
        if (now >= next_retry) {
            /* what failed goes again, not faster than RETRY_EVERY_NS:
             * a stream without a leader refuses at once */
            waiting = dw_jspub_retry(b->pub);
            next_retry = now + RETRY_EVERY_NS;
        }
        dw_loop_begin(&l);
        dw_loop_wake_at(&l, flush_aged(b, now));
        dw_loop_wake_at(&l, next_stats);
        if (waiting)
            dw_loop_wake_at(&l, next_retry);
        if ((r = dw_loop_poll(&l, &it, 1)) < 0) {
            fail(b, r, "poll");
            break;
        }
        if (r > 0 && (r = dw_stream_sub_drain(&b->sub, sock, DRAIN_BUDGET)) < 0)
            fail(b, r, "receive");
        if ((now = dw_now_monotonic_ns()) >= next_stats) {
            send_stats(b);
            next_stats = now + b->c.stats_ms * 1000000;
        }
    }
    flush_aged(b, UINT64_MAX);
    return b->fatal;
}

static void *subscribe(const struct config *c, void *ctx)
{
    void *s = dw_zmq_socket(ctx, ZMQ_SUB);
    char eps[2][512];
    const char *list[MAX_SUBS];
    int n = c->n_subs, hwm = 0;

    if (!s || zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0 ||
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) < 0) {
        dw_err("cannot make a ZeroMQ subscriber: %s", zmq_strerror(errno));
        dw_zmq_close(s);
        return NULL;
    }
    memcpy(list, c->subs, sizeof(list));
    if (!n) {
        if (dw_default_endpoint("acquire", eps[0], sizeof(eps[0])) < 0 ||
            dw_default_endpoint("detect", eps[1], sizeof(eps[1])) < 0) {
            dw_err("no runtime directory for the default endpoints (set DUCTWATCH_RUNTIME_DIR "
                   "or use --sub)");
            dw_zmq_close(s);
            return NULL;
        }
        list[0] = eps[0];
        list[1] = eps[1];
        n = 2;
    }
    for (int i = 0; i < n; i++) {
        char why[256];
        if (dw_security_connect(s, list[i], c->curve_key, c->server_key, c->insecure, why,
                                sizeof(why)) < 0) {
            dw_err("cannot subscribe to %s: %s", list[i], why);
            dw_zmq_close(s);
            return NULL;
        }
    }
    return s;
}

/* Sends what is left, prints the counters: the exit status. */
static int finish(struct bridge *b)
{
    char json[1024];
    struct dw_jspub_counters c;
    int r = dw_jspub_finish(b->pub, (int64_t)b->c.drain_ms);

    dw_jspub_counters(b->pub, &c);
    send_stats(b);
    if (r < 0)
        dw_err("%" PRIu64 " message(s) not acked after %" PRIu64 " ms: not known to be stored",
               c.pending, b->c.drain_ms);
    if (c.denied)
        dw_err("%" PRIu64 " message(s) refused by the NATS server (this user's permissions): "
               "not stored", c.denied);
    if (counters_json(b, json, sizeof(json)) > 0)
        printf(DW_LINE_BRIDGED "%s\n", json);
    fflush(stdout);
    return r < 0 || c.denied || b->fatal ? DW_EXIT_FAILURE : DW_EXIT_OK;
}

static int run(struct bridge *b)
{
    char why[512];
    void *ctx = zmq_ctx_new(), *sock = NULL;
    int status = DW_EXIT_FAILURE;

    if (!ctx || !(sock = subscribe(&b->c, ctx)))
        goto out;
    if (!(b->pub = dw_jspub_open(&b->c.nats, why, sizeof(why)))) {
        dw_err("%s", why);
        goto out;
    }
    if (dw_jspub_stream(b->pub, b->c.stream, b->c.replicas, b->c.create_stream, why,
                        sizeof(why)) < 0) {
        dw_err("%s", why);
        goto out;
    }
    printf(DW_LINE_NATS "%s\n", b->c.nats.url);
    fflush(stdout);
    relay(b, sock);
    status = finish(b);
out:
    dw_jspub_close(b->pub);
    dw_zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return status;
}

int main(int argc, char **argv)
{
    static const struct dw_sub_handlers handlers = {
        .on_frame = on_frame, .on_event = on_event, .on_stats = on_stats, .on_alert = on_alert,
    };
    struct bridge b;
    int status;

    memset(&b, 0, sizeof(b));
    b.c.stream = "DW";
    b.c.replicas = 1;
    b.c.partitions = 1;
    b.c.nats.max_pending = 4096;
    b.c.nats.ack_wait_ms = 5000;
    b.c.stats_ms = 5000;
    b.c.drain_ms = 10000;
    dw_log_init(prog);
    parse_args(argc, argv, &b.c);
    b.c.nats.name = b.c.name;
    dw_install_stop_signals(&stop);
    dw_stream_sub_init(&b.sub, &handlers, sizeof(struct bdev), &b);
    status = run(&b);
    for (unsigned i = 0; i < dw_stream_sub_count(&b.sub); i++)
        dw_frame_batch_free(&((struct bdev *)dw_stream_sub_device(&b.sub, i))->batch);
    dw_stream_sub_fini(&b.sub);
    dw_jspub_library_close();
    return status;
}
