/* ductwatch-detect: streams of garment frames and events -> alerts.
 *
 * Live: SUB to acquisition streams, PUB alert.<device> JSON.
 * --input FILE: a raw garment byte stream (what ductwatch-sim --out FILE
 * writes) straight into the detector at full speed; alerts as JSON lines
 * on stdout. Either way the detector sees device time only. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "cli.h"
#include "config.h"
#include "contract.h"
#include "defaults.h"
#include "detector.h"
#include "devtab.h"
#include "dwtime.h"
#include "endpoint.h"
#include "frame.h"
#include "ipc_path.h"
#include "jspub.h"
#include "jssub.h"
#include "log.h"
#include "loop.h"
#include "msg_alert.h"
#include "partition.h"
#include "stream_sub.h"

#define MAX_SUB 16
/* --nats: a message is acked once processed, so the ack wait only has to
 * cover one batch. */
#define NATS_ACK_WAIT_MS 10000
/* --nats with --sub too: the longest a fetch waits while ZeroMQ may have
 * messages queued. */
#define NATS_SHARE_MS 20
/* --nats: at the end, wait this long for the last alerts' acks. */
#define NATS_FINISH_MS 5000
/* --nats: after a fetch that raised alerts, wait this long for their acks
 * before the next fetch (the input stays un-acked until they come). */
#define NATS_ALERT_WAIT_MS 1000
static const char *prog = "ductwatch-detect";
static volatile sig_atomic_t stop;

/* detect's own stream of alerts, per device (docs/messages.md 9). */
struct out_stream {
    char device[DW_ID_LEN + 1];
    uint64_t seq;
};

#define MAX_PARAM_SECTIONS 32

struct param_cache {
    char section[16];
    char *json;
};

struct app {
    struct dw_detect_config cfg;
    void *pub;            /* NULL: print JSON lines on stdout */
    uint64_t stream_id;   /* 0 in --input mode, so output is reproducible */
    bool host_time;
    struct dw_devtab out; /* struct out_stream per device */
    struct dw_stream_sub sub;
    uint64_t pub_dropped;
    struct dw_jssub *js;     /* --nats: the partition's consumer */
    struct dw_jspub *jspub;  /* --nats: alerts back to JetStream */
    unsigned partition;
    int nats_failed;         /* an alert that no resend can mend */
    struct param_cache params[MAX_PARAM_SECTIONS];
    unsigned n_params;
    struct dw_msg_alert alert;              /* the one being published */
    char alert_json[DW_MSG_ALERT_JSON_MAX];
    /* --input */
    struct dw_detector *det;
    char device[DW_ID_LEN + 1];
    bool have_device;
    uint64_t frames_before_hello;
    struct dw_decoder dec;
    uint8_t in_buf[1 << 16];
};

static void usage(void)
{
    printf(
"Usage: %s [options]\n"
"Watches garment streams for localized warmth and firmness and publishes\n"
"alerts (see docs/detection.md).\n"
"\n"
"      --sub EP         subscribe to an acquisition stream (repeatable;\n"
"                       default ipc://RUN/acquire)\n"
"      --pub EP         where alerts are published (default ipc://RUN/detect)\n"
"      --config FILE    detection parameters (INI; default: built-in values)\n"
"      --print-config   print the effective parameters as an INI file and exit\n"
"      --input FILE     read a raw garment byte stream ('-' = stdin) at full\n"
"                       speed and print alerts as JSON lines on stdout\n"
"  -v, --verbose        more log output (repeat for debug)\n"
"  -q, --quiet          errors only\n"
"  -h, --help           this help\n"
"  -V, --version        version\n"
"\n"
"\n"
"A fleet worker (--nats): frames and events of partition K from JetStream,\n"
"each message acked once processed; alerts go back to JetStream on\n"
"dw.p.K.alert.<device> (and to --pub only when given; --sub likewise).\n"
"\n"
"Exit status: 0 ok, 1 runtime failure (a config file that cannot be read), 2 bad\n"
"usage or a bad configuration value.\n",
        prog);
    dw_jssub_usage(NATS_ACK_WAIT_MS);
}

struct params_ctx { cJSON *obj; };

static void add_param(const char *key, const char *value, void *u)
{
    struct params_ctx *p = u;
    char *end;
    double v = strtod(value, &end);
    if (end != value && !*end)
        cJSON_AddNumberToObject(p->obj, key, v);
    else
        cJSON_AddStringToObject(p->obj, key, value);
}

static const char *param_section(const char *rule)
{
    if (!strcmp(rule, "G3")) return "G2";
    return rule;
}

/* The "params" object of a rule's alerts, printed once: the configuration
 * does not change while detect runs. NULL when out of memory. */
static const char *params_json(struct app *a, const char *section)
{
    for (unsigned i = 0; i < a->n_params; i++)
        if (!strcmp(a->params[i].section, section))
            return a->params[i].json;
    if (a->n_params == MAX_PARAM_SECTIONS)
        return NULL;
    struct params_ctx pc = { cJSON_CreateObject() };
    if (!pc.obj)
        return NULL;
    dw_detect_config_section(&a->cfg, section, add_param, &pc);
    char *s = cJSON_PrintUnformatted(pc.obj);
    cJSON_Delete(pc.obj);
    if (!s)
        return NULL;
    struct param_cache *c = &a->params[a->n_params++];
    snprintf(c->section, sizeof(c->section), "%s", section);
    c->json = s;
    return s;
}

/* The detector's alert as the message body (struct dw_msg_alert); NULL
 * when out of memory. */
static const struct dw_msg_alert *alert_msg(struct app *a, const struct dw_alert *al)
{
    struct out_stream *o = dw_devtab_get(&a->out, al->device);
    const char *params = params_json(a, param_section(al->rule));
    struct dw_msg_alert *m = &a->alert;
    if (!o || !params)
        return NULL;
    memset(m, 0, sizeof(*m));
    m->seq = o->seq++;
    m->stream = a->stream_id;
    snprintf(m->device, sizeof(m->device), "%s", al->device);
    m->id = al->id;
    snprintf(m->rule, sizeof(m->rule), "%s", al->rule);
    snprintf(m->level, sizeof(m->level), "%s", dw_alert_level_name(al->level));
    snprintf(m->state, sizeof(m->state), "%s", dw_alert_state_name(al->state));
    snprintf(m->side, sizeof(m->side), "%s", dw_side_name((unsigned)al->side));
    m->zone = al->zone >= 0 ? al->zone : -1;
    snprintf(m->zone_name, sizeof(m->zone_name), "%s", al->zone_name);
    m->has_value = al->value == al->value;
    m->value = al->value;
    m->has_threshold = true;
    m->threshold = al->threshold;
    m->t_device_us = al->t_device_us;
    m->t_host_ns = a->host_time ? dw_now_realtime_ns() : 0;
    snprintf(m->ruleset_version, sizeof(m->ruleset_version), "%s", DW_RULESET_VERSION);
    m->clinical = al->clinical;
    snprintf(m->params, sizeof(m->params), "%s", params);
    snprintf(m->message, sizeof(m->message), "%s", al->message);
    return m;
}

/* --nats: the alert's Nats-Msg-Id. What the alert is, not who sent it:
 * a restarted worker (a new stream id, its seqs from 0 again) that takes
 * the un-acked input again raises the same alert at the same sample, and
 * the stream drops the second copy within its duplicate window. The
 * detector's alert id is left out: a fresh detector counts from 1. '/'
 * cannot be in a device id. */
static void alert_msg_id(char *id, size_t cap, const struct dw_msg_alert *m)
{
    snprintf(id, cap, "%s/%" PRIu64 "/%s/%s/%s/%s/%d", m->device, m->t_device_us, m->rule,
             m->state, m->level, m->side, m->zone);
}

/* --nats: the alert in a->alert_json to dw.p.K.alert.<device> (acked,
 * sent again with the same id until it is). */
static void alert_to_nats(struct app *a, const char *device, size_t len)
{
    char subject[DW_TOPIC_MAX + 32], id[DW_ID_LEN + 128];
    int r;
    dw_nats_subject(subject, sizeof(subject), a->partition, "alert", device);
    alert_msg_id(id, sizeof(id), &a->alert);
    if ((r = dw_jspub_send(a->jspub, subject, id, a->alert_json, len, &stop)) < 0) {
        dw_err("%s: alert not published to NATS: %s", device, strerror(-r));
        a->nats_failed = r;
    }
}

static void on_alert(const struct dw_alert *al, void *user)
{
    struct app *a = user;
    const struct dw_msg_alert *m = alert_msg(a, al);
    ssize_t len = m ? dw_msg_alert_write(m, a->alert_json, sizeof(a->alert_json)) : -ENOMEM;
    if (len < 0) {
        dw_err("%s: %s, alert %s not published", al->device, strerror((int)-len), al->rule);
        return;
    }
    if (a->jspub)
        alert_to_nats(a, al->device, (size_t)len);
    if (a->pub) {
        char topic[DW_TOPIC_MAX];
        if (dw_topic(topic, sizeof(topic), "alert", al->device) > 0 &&
            dw_zmq_send2(a->pub, topic, a->alert_json, (size_t)len) < 0)
            a->pub_dropped++;
    } else if (!a->jspub) {
        fwrite(a->alert_json, 1, (size_t)len, stdout);
        fputc('\n', stdout);
    }
    dw_info("%s %s %s %s zone %d: %s", al->device, al->rule, dw_alert_level_name(al->level),
            dw_alert_state_name(al->state), al->zone, al->message);
}

/* ---- --input: raw garment bytes -------------------------------------- */

static void on_raw_frame(const struct dw_frame *f, void *user)
{
    struct app *a = user;
    switch (f->type) {
    case DW_FRAME_HELLO: {
        struct dw_hello h;
        if (dw_hello_parse(f->payload, f->len, &h) < 0)
            return;
        snprintf(a->device, sizeof(a->device), "%s", h.device_id);
        a->have_device = true;
        dw_detector_hello(a->det, a->device, &h);
        break;
    }
    case DW_FRAME_SAMPLE: {
        struct dw_sample s;
        if (!a->have_device) {
            a->frames_before_hello++;
            return;
        }
        if (dw_sample_parse(f->payload, f->len, &s) == 0)
            dw_detector_sample(a->det, a->device, f->t_device_us, &s);
        break;
    }
    case DW_FRAME_EVENT: {
        struct dw_event e;
        if (!a->have_device || dw_event_parse(f->payload, f->len, &e) < 0)
            return;
        /* wire values are milli-units: a thermometer reading in m°C */
        dw_detector_event(a->det, a->device, f->t_device_us, e.kind, e.side, true,
                          e.value / 1000.0);
        break;
    }
    default:
        break;
    }
}

static int run_input(struct app *a, const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        dw_err("%s: %s", path, strerror(errno));
        return DW_EXIT_FAILURE;
    }
    dw_decoder_init(&a->dec, on_raw_frame, a);
    size_t n;
    while (!stop && (n = fread(a->in_buf, 1, sizeof(a->in_buf), f)) > 0)
        dw_decoder_feed(&a->dec, a->in_buf, n);
    int err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (err) {
        dw_err("%s: read error", path);
        return DW_EXIT_FAILURE;
    }
    dw_info("%s: %" PRIu64 " frames, %" PRIu64 " CRC errors, %" PRIu64 " length errors",
            path, a->dec.st.frames, a->dec.st.crc_errors, a->dec.st.length_errors);
    fflush(stdout);
    return DW_EXIT_OK;
}

/* ---- live: ZeroMQ ---------------------------------------------------- */

static void warn_gap(const struct dw_sub_msg *m)
{
    if (m->seq > 0)
        dw_warn("%s: %" PRId64 " messages missing", m->dev->id, m->seq);
}

static int on_frame(const struct dw_sub_msg *m, const struct dw_msg_frame *f, void *user)
{
    struct app *a = user;
    warn_gap(m);
    if (f->type == DW_FRAME_HELLO) {
        struct dw_hello h;
        int r = dw_hello_parse(f->payload, f->len, &h);
        return r < 0 ? r : dw_detector_hello(a->det, m->dev->id, &h);
    }
    if (f->type == DW_FRAME_SAMPLE) {
        struct dw_sample s;
        if (dw_sample_parse(f->payload, f->len, &s) == 0)
            dw_detector_sample(a->det, m->dev->id, f->t_device_us, &s);
    }
    return 0;
}

static void on_event(const struct dw_sub_msg *m, const struct dw_msg_event *e, void *user)
{
    struct app *a = user;
    warn_gap(m);
    dw_detector_event(a->det, m->dev->id, e->t_device_us, e->kind, e->side, e->has_value,
                      e->value);
}

/* Stats only keep acquire's stream sequence whole (they share it). */
static void on_stats(const struct dw_sub_msg *m, const struct dw_msg_stats *st, void *user)
{
    (void)st;
    (void)user;
    warn_gap(m);
}

static void on_bad(const struct dw_sub_msg *m, enum dw_topic_kind k, const char *why, void *user)
{
    (void)user;
    dw_warn("%s: bad %s message dropped: %s", m->dev->id, dw_topic_kind_name(k), why);
}

static void log_streams(struct app *a)
{
    for (unsigned i = 0; i < dw_stream_sub_count(&a->sub); i++) {
        const struct dw_sub_device *d = dw_stream_sub_device(&a->sub, i);
        struct dw_detector_stats st;
        memset(&st, 0, sizeof(st));
        dw_detector_stats(a->det, d->id, &st);
        dw_info("%s: %" PRIu64 " received, %" PRIu64 " gaps (%" PRIu64 " missing), %" PRIu64
                " duplicates dropped; %" PRIu64 " samples analysed, %" PRIu64
                " ignored before a HELLO", d->id, d->acq.received, d->acq.gaps, d->acq.missing,
                d->acq.duplicates, st.samples, st.ignored_before_hello);
    }
}

/* A blocking receive, woken by the message itself, not common/loop.h's
 * poll: zmq_poll followed by non-blocking receives cost three to four more
 * system calls per message (each a poll of the socket's mailbox), and with
 * many garments at 10 Hz nearly every message arrives on its own. The
 * receive timeout is the loops' look at the stop flag. */
static int receive_loop(struct app *a, void *sub)
{
    int rcvtimeo = DW_LOOP_STOP_CHECK_MS;
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &rcvtimeo, sizeof(rcvtimeo));
    while (!stop) {
        int r = dw_stream_sub_recv(&a->sub, sub, 0);
        if (r == -ENOMEM) {
            dw_err("out of memory, message dropped");
        } else if (r < 0) {
            dw_err("receive: %s", zmq_strerror(-r));
            return -1;
        }
    }
    return 0;
}

/* --nats: whether the alerts raised so far are in the stream (acked by
 * JetStream), waiting NATS_ALERT_WAIT_MS at most. Until they are, the
 * input that raised them is not acked: a worker killed meanwhile leaves
 * it to the next one, which raises the same alerts again (the stream
 * drops them by their id) instead of losing them. */
static bool alerts_stored(struct app *a)
{
    struct dw_jspub_counters c;
    bool done;
    dw_jspub_counters(a->jspub, &c);
    done = c.pending == 0 || dw_jspub_finish(a->jspub, NATS_ALERT_WAIT_MS) == 0;
    /* an alert the server refused this user (its permissions) is not
     * stored: the input stays un-acked and the worker stops */
    dw_jspub_counters(a->jspub, &c);
    if (c.denied) {
        a->nats_failed = -EACCES;
        return false;
    }
    return done;
}

/* --nats: fetch, process, ack once the alerts are stored; ZeroMQ's --sub
 * between the fetches. */
static int nats_loop(struct app *a, void *sub)
{
    while (!stop && !a->nats_failed) {
        int r = dw_jssub_fetch(a->js, sub ? NATS_SHARE_MS : DW_LOOP_STOP_CHECK_MS, &a->sub);
        if (r == -ENOMEM) {
            dw_err("out of memory: messages not acked (they come again)");
        } else if (r < 0) {
            dw_err("NATS: %s", strerror(-r));
            return -1;
        }
        if (alerts_stored(a))
            dw_jssub_ack(a->js, NULL, NULL);
        while (sub && dw_stream_sub_recv(&a->sub, sub, ZMQ_DONTWAIT) > 0)
            ;
    }
    return a->nats_failed ? -1 : 0;
}

/* The ZeroMQ sockets: sub connected to subs (none: NULL), the alerts'
 * PUB bound to pub_ep (NULL: none). 0, or -1 with the reason said. */
static int zmq_side(struct app *a, void *ctx, const char **subs, unsigned n_sub,
                    const char *pub_ep, void **sub)
{
    int hwm = DW_HWM_DEFAULT;
    const char *why = NULL;
    if (pub_ep) {
        if (!(a->pub = dw_zmq_socket(ctx, ZMQ_PUB)))
            return -1;
        int64_t max = DW_SUBSCRIPTION_MAX; /* as acquire's XPUB */
        zmq_setsockopt(a->pub, ZMQ_SNDHWM, &hwm, sizeof(hwm));
        zmq_setsockopt(a->pub, ZMQ_MAXMSGSIZE, &max, sizeof(max));
        if (dw_ipc_endpoint_check(pub_ep, &why) < 0)
            dw_usage_error(prog, "--pub %s: %s", pub_ep, why); /* as acquire's policy */
        if (zmq_bind(a->pub, pub_ep) < 0) {
            dw_err("bind %s: %s", pub_ep, zmq_strerror(zmq_errno()));
            return -1;
        }
    }
    if (!n_sub)
        return 0;
    if (!(*sub = dw_zmq_socket(ctx, ZMQ_SUB)))
        return -1;
    zmq_setsockopt(*sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(*sub, ZMQ_SUBSCRIBE, "", 0);
    for (unsigned i = 0; i < n_sub; i++)
        if (zmq_connect(*sub, subs[i]) < 0) {
            dw_err("connect %s: %s", subs[i], zmq_strerror(zmq_errno()));
            return -1;
        }
    return 0;
}

/* The 'pub:' line (ZeroMQ) or the 'nats:' line: what the caller waits for. */
static void ready_line(struct app *a, const struct dw_jssub_options *nats)
{
    char last[512];
    size_t ll = sizeof(last);
    if (a->pub) {
        if (zmq_getsockopt(a->pub, ZMQ_LAST_ENDPOINT, last, &ll) < 0)
            snprintf(last, sizeof(last), "?");
        printf(DW_LINE_PUB "%s\n", last);
    }
    if (a->js)
        printf(DW_LINE_NATS "%s %s%s\n", nats->conn.url, dw_jssub_name(a->js),
               dw_jssub_resumed(a->js) ? " (resumed)" : "");
    fflush(stdout);
}

/* --nats: the consumer and the alerts' publisher; -1 with the reason said. */
static int nats_open(struct app *a, const struct dw_jssub_options *o)
{
    char why[512];
    a->partition = o->sub.partition;
    if (!(a->js = dw_jssub_open(&o->sub, why, sizeof(why))) ||
        !(a->jspub = dw_jspub_open(&o->conn, why, sizeof(why)))) {
        dw_err("%s", why);
        return -1;
    }
    return 0;
}

/* --nats: the last alerts' acks, the counters; then everything is freed. */
static int nats_close(struct app *a)
{
    struct dw_jssub_counters c;
    int r = 0;
    if (a->jspub && dw_jspub_finish(a->jspub, NATS_FINISH_MS) < 0) {
        dw_err("alerts not acked by JetStream after %d ms", NATS_FINISH_MS);
        r = -1;
    }
    if (a->jspub) {
        struct dw_jspub_counters pc;
        dw_jspub_counters(a->jspub, &pc);
        dw_info("alerts to JetStream: %" PRIu64 " published, %" PRIu64 " acked, %" PRIu64
                " dropped by the stream as duplicates, %" PRIu64 " sent again, %" PRIu64
                " refused by the server", pc.published, pc.acked, pc.duplicates, pc.retried,
                pc.denied);
    }
    if (a->js) {
        dw_jssub_counters(a->js, &c);
        dw_info("%s: %" PRIu64 " messages (%" PRIu64 " redelivered), %" PRIu64 " parts, %"
                PRIu64 " acked, %" PRIu64 " HELLOs fetched, %" PRIu64 " waited for a hole, %"
                PRIu64 " holes given up", dw_jssub_name(a->js), c.messages, c.redelivered,
                c.parts, c.acked, c.hellos, c.reordered, c.holes_given_up);
    }
    dw_jssub_close(a->js);
    dw_jspub_close(a->jspub);
    if (a->js || a->jspub)
        dw_jspub_library_close();
    a->js = NULL;
    a->jspub = NULL;
    return r;
}

/* Live: ZeroMQ (default endpoints unless --nats), NATS with --nats. */
static int run_live(struct app *a, const char **subs, unsigned n_sub, const char *pub_ep,
                    const struct dw_jssub_options *nats)
{
    int rc = DW_EXIT_FAILURE;
    void *ctx = zmq_ctx_new(), *sub = NULL;
    char def_sub[512], def_pub[512];
    if (!ctx)
        return DW_EXIT_FAILURE;
    if (!nats->on && ((n_sub == 0 && dw_default_endpoint("acquire", def_sub,
                                                          sizeof(def_sub)) < 0) ||
                      (!pub_ep && dw_default_endpoint("detect", def_pub, sizeof(def_pub)) < 0))) {
        dw_err("no runtime directory");
        goto out;
    }
    if (!nats->on && n_sub == 0)
        subs[n_sub++] = def_sub;
    if (!nats->on && !pub_ep)
        pub_ep = def_pub;
    if (zmq_side(a, ctx, subs, n_sub, pub_ep, &sub) < 0 || (nats->on && nats_open(a, nats) < 0))
        goto out;
    ready_line(a, nats);
    if ((a->js ? nats_loop(a, sub) : receive_loop(a, sub)) == 0)
        rc = DW_EXIT_OK;
out:
    if (nats_close(a) < 0)
        rc = DW_EXIT_FAILURE;
    log_streams(a);
    dw_zmq_close(sub);
    dw_zmq_close(a->pub);
    zmq_ctx_term(ctx);
    return rc;
}

struct options {
    const char *subs[MAX_SUB + 1], *pub_ep, *config, *input;
    unsigned n_sub;
    bool print;
    struct dw_jssub_options nats;
};

/* Exits on --help, --version and bad usage. */
static void parse_args(int argc, char **argv, struct options *o)
{
    enum { O_SUB = 256, O_PUB, O_CONFIG, O_PRINT, O_INPUT, O_NATS };
    static const struct option opts[] = {
        { "sub", required_argument, NULL, O_SUB },
        { "pub", required_argument, NULL, O_PUB },
        { "config", required_argument, NULL, O_CONFIG },
        { "print-config", no_argument, NULL, O_PRINT },
        { "input", required_argument, NULL, O_INPUT },
        DW_JSSUB_LONGOPTS(O_NATS),
        DW_CLI_LONGOPTS_STD,
        { 0 },
    };
    int verbosity = DW_LOG_WARN, ch;

    dw_jssub_options_init(&o->nats, "detect", NATS_ACK_WAIT_MS);
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":vqhV", opts, NULL)) != -1) {
        switch (ch) {
        case O_SUB:
            dw_cli_check_room(prog, o->n_sub, MAX_SUB, "--sub endpoints");
            o->subs[o->n_sub++] = optarg;
            break;
        case O_PUB: o->pub_ep = optarg; break;
        case O_CONFIG: o->config = optarg; break;
        case O_PRINT: o->print = true; break;
        case O_INPUT: o->input = optarg; break;
        default:
            if (!dw_jssub_option(&o->nats, ch, O_NATS, optarg, prog))
                dw_cli_std_option(prog, ch, argv, &verbosity, usage);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
    if (o->input && (o->n_sub || o->pub_ep || o->nats.on))
        dw_usage_error(prog, "--input reads a file: it does not go with --sub, --pub or --nats");
    dw_jssub_options_check(&o->nats, prog);
    dw_log_set_level(verbosity);
}

/* The built-in parameters, or those of --config: an exit status, or -1
 * to go on. */
static int load_config(struct app *a, const char *config)
{
    char err[512];
    int e;
    dw_detect_config_default(&a->cfg);
    if (!config)
        return -1;
    e = dw_detect_config_load(&a->cfg, config, err, sizeof(err));
    if (e == -EINVAL) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return DW_EXIT_USAGE;
    }
    if (e < 0) {
        dw_err("%s", err);
        return DW_EXIT_FAILURE;
    }
    return -1;
}

int main(int argc, char **argv)
{
    static const struct dw_sub_handlers handlers = {
        .on_frame = on_frame, .on_event = on_event, .on_stats = on_stats, .on_bad = on_bad,
    };
    static struct app app;
    struct options o = { 0 };
    int rc;

    dw_log_init(prog);
    parse_args(argc, argv, &o);
    if ((rc = load_config(&app, o.config)) >= 0)
        return rc;
    if (o.print) {
        dw_detect_config_print(&app.cfg, stdout);
        return DW_EXIT_OK;
    }
    dw_install_stop_signals(&stop);
    app.det = dw_detector_new(&app.cfg, on_alert, &app);
    if (!app.det) {
        dw_err("detector: %s", strerror(errno));
        return DW_EXIT_FAILURE;
    }
    /* Start time in ns, rounded to a double as acquire's stream ids are
     * (docs/messages.md 2): exact for readers that hold numbers as doubles. */
    app.stream_id = o.input ? 0 : (uint64_t)(double)dw_now_realtime_ns();
    app.host_time = !o.input;
    dw_devtab_init(&app.out, sizeof(struct out_stream), offsetof(struct out_stream, device));
    dw_stream_sub_init(&app.sub, &handlers, 0, &app);
    if (o.input)
        rc = run_input(&app, o.input);
    else
        rc = run_live(&app, o.subs, o.n_sub, o.pub_ep, &o.nats);
    dw_detector_free(app.det);
    for (unsigned i = 0; i < app.n_params; i++)
        free(app.params[i].json);
    dw_stream_sub_fini(&app.sub);
    dw_devtab_free(&app.out, NULL);
    return rc;
}
