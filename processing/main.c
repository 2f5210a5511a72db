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
#include "detector.h"
#include "devindex.h"
#include "dwtime.h"
#include "endpoint.h"
#include "frame.h"
#include "ipc_path.h"
#include "jsonw.h"
#include "log.h"
#include "msg.h"

#define MAX_SUB 16

static const char *prog = "ductwatch-detect";
static volatile sig_atomic_t stop;

struct out_stream {
    char device[DW_ID_LEN + 1];
    uint64_t seq;
};

#define MAX_PARAM_SECTIONS 32

struct param_cache {
    char section[16];
    char *json;
};

struct in_stream {
    char device[DW_ID_LEN + 1];
    struct dw_seq_tracker tr;
    bool have_hello;
};

struct app {
    struct dw_detect_config cfg;
    void *pub;            /* NULL: print JSON lines on stdout */
    uint64_t stream_id;   /* 0 in --input mode, so output is reproducible */
    bool host_time;
    struct out_stream *out; /* both grow with the number of devices */
    unsigned n_out, cap_out;
    struct dw_devindex out_index;
    struct in_stream *in;
    unsigned n_in, cap_in;
    struct dw_devindex in_index;
    uint64_t pub_dropped;
    char stream_json[64]; /* stream_id as printed in alerts */
    struct param_cache params[MAX_PARAM_SECTIONS];
    unsigned n_params;
    /* --input */
    struct dw_detector *det;
    char device[DW_ID_LEN + 1];
    bool have_device;
    uint64_t frames_before_hello;
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
"Exit status: 0 ok, 1 runtime failure (a config file that cannot be read), 2 bad\n"
"usage or a bad configuration value.\n",
        prog);
}

/* Room for one more element in a doubling array; 0 or -ENOMEM. */
static int grow(void **arr, unsigned *cap, unsigned n, size_t size)
{
    if (n < *cap)
        return 0;
    unsigned nc = *cap ? 2 * *cap : 64;
    void *na = nc > *cap ? realloc(*arr, (size_t)nc * size) : NULL;
    if (!na)
        return -ENOMEM;
    *arr = na;
    *cap = nc;
    return 0;
}

static const char *out_name(const void *ctx, unsigned pos)
{
    return ((const struct app *)ctx)->out[pos].device;
}

static struct out_stream *out_stream(struct app *a, const char *dev)
{
    long i = dw_devindex_find(&a->out_index, dev, out_name, a);
    if (i >= 0)
        return &a->out[i];
    if (grow((void **)&a->out, &a->cap_out, a->n_out, sizeof(*a->out)) < 0)
        return NULL;
    struct out_stream *o = &a->out[a->n_out];
    memset(o, 0, sizeof(*o));
    snprintf(o->device, sizeof(o->device), "%s", dev);
    if (dw_devindex_add(&a->out_index, o->device, a->n_out, out_name, a) < 0)
        return NULL;
    a->n_out++;
    return o;
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

/* The alert as JSON, the bytes cJSON_PrintUnformatted gave for the same
 * object (the --input output is the reference); NULL if it did not fit. */
static const char *alert_json(struct app *a, struct out_stream *o, const struct dw_alert *al,
                              char *buf, size_t cap, size_t *len)
{
    const char *params = params_json(a, param_section(al->rule));
    struct dw_jsonw w;
    if (!params)
        return NULL;
    dw_jsonw_init(&w, buf, cap);
    dw_jsonw_begin(&w);
    dw_jsonw_number(&w, "seq", (double)o->seq++);
    dw_jsonw_raw(&w, "stream", a->stream_json);
    dw_jsonw_str(&w, "device", al->device);
    dw_jsonw_number(&w, "id", (double)al->id);
    dw_jsonw_str(&w, "rule", al->rule);
    dw_jsonw_str(&w, "level", dw_alert_level_name(al->level));
    dw_jsonw_str(&w, "state", dw_alert_state_name(al->state));
    dw_jsonw_str(&w, "side", dw_side_name((unsigned)al->side));
    if (al->zone >= 0) {
        dw_jsonw_number(&w, "zone", al->zone);
        dw_jsonw_str(&w, "zone_name", al->zone_name);
    } else {
        dw_jsonw_null(&w, "zone");
        dw_jsonw_null(&w, "zone_name");
    }
    dw_jsonw_number(&w, "value", al->value == al->value ? al->value : 0);
    dw_jsonw_number(&w, "threshold", al->threshold);
    dw_jsonw_number(&w, "t_device_us", (double)al->t_device_us);
    dw_jsonw_number(&w, "t_host_ns", a->host_time ? (double)dw_now_realtime_ns() : 0);
    dw_jsonw_str(&w, "ruleset_version", DW_RULESET_VERSION);
    dw_jsonw_bool(&w, "clinical", al->clinical);
    dw_jsonw_raw(&w, "params", params);
    dw_jsonw_str(&w, "message", al->message);
    dw_jsonw_end(&w);
    return dw_jsonw_text(&w, len);
}

static void on_alert(const struct dw_alert *al, void *user)
{
    struct app *a = user;
    struct out_stream *o = out_stream(a, al->device);
    char buf[16384];
    size_t len = 0;
    const char *s = o ? alert_json(a, o, al, buf, sizeof(buf), &len) : NULL;
    if (!s) {
        dw_err("%s: out of memory, alert %s not published", al->device, al->rule);
        return;
    }
    if (a->pub) {
        char topic[DW_TOPIC_MAX];
        if (dw_topic(topic, sizeof(topic), "alert", al->device) > 0 &&
            dw_zmq_send2(a->pub, topic, s, len) < 0)
            a->pub_dropped++;
    } else {
        fwrite(s, 1, len, stdout);
        fputc('\n', stdout);
    }
    dw_info("%s %s %s %s zone %d: %s", al->device, al->rule, dw_alert_level_name(al->level),
            dw_alert_state_name(al->state), al->zone, al->message);
}

/* ---- --input: raw garment bytes -------------------------------------- */

static void on_frame(const struct dw_frame *f, void *user)
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
    static struct dw_decoder dec;
    static uint8_t buf[1 << 16];
    dw_decoder_init(&dec, on_frame, a);
    size_t n;
    while (!stop && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        dw_decoder_feed(&dec, buf, n);
    int err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (err) {
        dw_err("%s: read error", path);
        return DW_EXIT_FAILURE;
    }
    dw_info("%s: %" PRIu64 " frames, %" PRIu64 " CRC errors, %" PRIu64 " length errors",
            path, dec.st.frames, dec.st.crc_errors, dec.st.length_errors);
    fflush(stdout);
    return DW_EXIT_OK;
}

/* ---- live: ZeroMQ ---------------------------------------------------- */

static const char *in_name(const void *ctx, unsigned pos)
{
    return ((const struct app *)ctx)->in[pos].device;
}

static struct in_stream *in_stream(struct app *a, const char *dev)
{
    long i = dw_devindex_find(&a->in_index, dev, in_name, a);
    if (i >= 0)
        return &a->in[i];
    if (grow((void **)&a->in, &a->cap_in, a->n_in, sizeof(*a->in)) < 0)
        return NULL;
    struct in_stream *s = &a->in[a->n_in];
    memset(s, 0, sizeof(*s));
    snprintf(s->device, sizeof(s->device), "%s", dev);
    if (dw_devindex_add(&a->in_index, s->device, a->n_in, in_name, a) < 0)
        return NULL;
    a->n_in++;
    return s;
}

static void handle_message(struct app *a, const char *topic, size_t tlen,
                           const uint8_t *body, size_t blen)
{
    char kind[16], dev[DW_ID_LEN + 1];
    if (!dw_topic_split(topic, tlen, kind, sizeof(kind), dev, sizeof(dev)))
        return;
    struct in_stream *is = in_stream(a, dev);
    if (!is) {
        dw_err("%s: out of memory, message dropped", dev);
        return;
    }
    if (!strcmp(kind, "frame")) {
        struct dw_msg_frame m;
        if (dw_msg_frame_parse(body, blen, &m) < 0)
            return;
        int64_t r = dw_seq_check(&is->tr, m.stream, m.seq);
        /* acquire's backlog replay can reach us after a few live messages
         * (docs/messages.md section 8): its HELLO is then a duplicate by
         * seq, but nothing can be analysed without one. */
        if (r == DW_SEQ_DUP && !(m.type == DW_FRAME_HELLO && !is->have_hello))
            return;
        if (r > 0)
            dw_warn("%s: %" PRId64 " messages missing", dev, r);
        if (m.type == DW_FRAME_HELLO) {
            struct dw_hello h;
            if (dw_hello_parse(m.payload, m.len, &h) == 0 &&
                dw_detector_hello(a->det, dev, &h) == 0)
                is->have_hello = true;
        } else if (m.type == DW_FRAME_SAMPLE) {
            struct dw_sample s;
            if (dw_sample_parse(m.payload, m.len, &s) == 0)
                dw_detector_sample(a->det, dev, m.t_device_us, &s);
        }
    } else if (!strcmp(kind, "event")) {
        struct dw_msg_event e;
        const char *why = NULL;
        if (dw_msg_event_parse((const char *)body, blen, &e, &why) < 0) {
            dw_warn("%s: bad event: %s", dev, why ? why : "?");
            return;
        }
        int64_t r = dw_seq_check(&is->tr, e.stream, e.seq);
        if (r == DW_SEQ_DUP)
            return;
        dw_detector_event(a->det, dev, e.t_device_us, e.kind, e.side, e.has_value, e.value);
    } else if (!strcmp(kind, "stats")) {
        uint64_t seq, stream;
        if (dw_msg_json_seq((const char *)body, blen, &seq, &stream) == 0)
            dw_seq_check(&is->tr, stream, seq);
    }
}

static int run_live(struct app *a, const char **subs, unsigned n_sub, const char *pub_ep)
{
    int rc = DW_EXIT_FAILURE;
    void *ctx = zmq_ctx_new();
    void *sub = NULL;
    char def_sub[512], def_pub[512];
    if (!ctx)
        return DW_EXIT_FAILURE;
    if (n_sub == 0) {
        if (dw_default_endpoint("acquire", def_sub, sizeof(def_sub)) < 0) {
            dw_err("no runtime directory");
            goto out;
        }
        subs[n_sub++] = def_sub;
    }
    if (!pub_ep) {
        if (dw_default_endpoint("detect", def_pub, sizeof(def_pub)) < 0) {
            dw_err("no runtime directory");
            goto out;
        }
        pub_ep = def_pub;
    }
    a->pub = dw_zmq_socket(ctx, ZMQ_PUB);
    sub = dw_zmq_socket(ctx, ZMQ_SUB);
    if (!a->pub || !sub)
        goto out;
    int hwm = 100000;
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(a->pub, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    const char *why = NULL;
    if (dw_ipc_endpoint_check(pub_ep, &why) < 0)
        dw_usage_error(prog, "--pub %s: %s", pub_ep, why); /* as acquire's policy */
    if (zmq_bind(a->pub, pub_ep) < 0) {
        dw_err("bind %s: %s", pub_ep, zmq_strerror(zmq_errno()));
        goto out;
    }
    char last[512];
    size_t ll = sizeof(last);
    if (zmq_getsockopt(a->pub, ZMQ_LAST_ENDPOINT, last, &ll) < 0)
        snprintf(last, sizeof(last), "%s", pub_ep);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    for (unsigned i = 0; i < n_sub; i++)
        if (zmq_connect(sub, subs[i]) < 0) {
            dw_err("connect %s: %s", subs[i], zmq_strerror(zmq_errno()));
            goto out;
        }
    printf("pub: %s\n", last);
    fflush(stdout);

    /* A blocking receive, woken by the message itself: zmq_poll followed
     * by non-blocking receives cost three to four more system calls per
     * message (each a poll of the socket's mailbox), and with many
     * garments at 10 Hz nearly every message arrives on its own. The
     * receive timeout keeps the old 200 ms look at the stop flag. */
    int rcvtimeo = 200;
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &rcvtimeo, sizeof(rcvtimeo));
    while (!stop) {
        zmq_msg_t t, b;
        zmq_msg_init(&t);
        if (zmq_msg_recv(&t, sub, 0) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&t);
            if (e == EAGAIN || e == EINTR)
                continue;
            dw_err("receive: %s", zmq_strerror(e));
            goto out;
        }
        int more = zmq_msg_more(&t);
        zmq_msg_init(&b);
        if (more && zmq_msg_recv(&b, sub, 0) >= 0) {
            while (zmq_msg_more(&b)) { /* ignore extra parts */
                zmq_msg_t x;
                zmq_msg_init(&x);
                zmq_msg_recv(&x, sub, 0);
                int mm = zmq_msg_more(&x);
                zmq_msg_close(&x);
                if (!mm)
                    break;
            }
            handle_message(a, zmq_msg_data(&t), zmq_msg_size(&t),
                           zmq_msg_data(&b), zmq_msg_size(&b));
        }
        zmq_msg_close(&b);
        zmq_msg_close(&t);
    }
    rc = DW_EXIT_OK;
out:
    for (unsigned i = 0; i < a->n_in; i++) {
        struct dw_detector_stats st;
        memset(&st, 0, sizeof(st));
        dw_detector_stats(a->det, a->in[i].device, &st);
        dw_info("%s: %" PRIu64 " received, %" PRIu64 " gaps (%" PRIu64 " missing), %" PRIu64
                " duplicates dropped; %" PRIu64 " samples analysed, %" PRIu64
                " ignored before a HELLO", a->in[i].device, a->in[i].tr.received,
                a->in[i].tr.gaps, a->in[i].tr.missing, a->in[i].tr.duplicates, st.samples,
                st.ignored_before_hello);
    }
    if (sub)
        zmq_close(sub);
    if (a->pub)
        zmq_close(a->pub);
    zmq_ctx_term(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    enum { O_SUB = 256, O_PUB, O_CONFIG, O_PRINT, O_INPUT };
    static const struct option opts[] = {
        { "sub", required_argument, NULL, O_SUB },
        { "pub", required_argument, NULL, O_PUB },
        { "config", required_argument, NULL, O_CONFIG },
        { "print-config", no_argument, NULL, O_PRINT },
        { "input", required_argument, NULL, O_INPUT },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { 0 },
    };
    static struct app app;
    const char *subs[MAX_SUB + 1], *pub_ep = NULL, *config = NULL, *input = NULL;
    unsigned n_sub = 0;
    bool print = false;
    int verbosity = DW_LOG_WARN, ch;

    dw_log_init(prog);
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":vqhV", opts, NULL)) != -1) {
        switch (ch) {
        case O_SUB:
            if (n_sub == MAX_SUB)
                dw_usage_error(prog, "at most %d --sub endpoints", MAX_SUB);
            subs[n_sub++] = optarg;
            break;
        case O_PUB: pub_ep = optarg; break;
        case O_CONFIG: config = optarg; break;
        case O_PRINT: print = true; break;
        case O_INPUT: input = optarg; break;
        case 'v': verbosity++; break;
        case 'q': verbosity = DW_LOG_ERROR; break;
        case 'h': usage(); return DW_EXIT_OK;
        case 'V': dw_print_version(prog); return DW_EXIT_OK;
        default: dw_usage_bad_option(prog, ch, argv);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
    if (input && (n_sub || pub_ep))
        dw_usage_error(prog, "--input reads a file: it does not go with --sub or --pub");
    dw_log_set_level(verbosity);

    dw_detect_config_default(&app.cfg);
    if (config) {
        char err[512];
        int e = dw_detect_config_load(&app.cfg, config, err, sizeof(err));
        if (e == -EINVAL) {
            fprintf(stderr, "%s: %s\n", prog, err);
            return DW_EXIT_USAGE;
        }
        if (e < 0) {
            dw_err("%s", err);
            return DW_EXIT_FAILURE;
        }
    }
    if (print) {
        dw_detect_config_print(&app.cfg, stdout);
        return DW_EXIT_OK;
    }
    dw_install_stop_signals(&stop);
    app.det = dw_detector_new(&app.cfg, on_alert, &app);
    if (!app.det) {
        dw_err("detector: %s", strerror(errno));
        return DW_EXIT_FAILURE;
    }
    int rc;
    app.stream_id = input ? 0 : dw_now_realtime_ns();
    app.host_time = !input;
    dw_json_format_number((double)app.stream_id, app.stream_json, sizeof(app.stream_json));
    if (input)
        rc = run_input(&app, input);
    else
        rc = run_live(&app, subs, n_sub, pub_ep);
    dw_detector_free(app.det);
    for (unsigned i = 0; i < app.n_params; i++)
        free(app.params[i].json);
    free(app.in);
    free(app.out);
    dw_devindex_free(&app.in_index);
    dw_devindex_free(&app.out_index);
    return rc;
}
