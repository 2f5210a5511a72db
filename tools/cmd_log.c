/* ductwatch log: one user event to acquisition's events endpoint (REQ/REP). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "cli.h"
#include "duration.h"
#include "dwtime.h"
#include "endpoint.h"
#include "event_value.h"
#include "frame.h"
#include "log.h"
#include "parse_num.h"
#include "tool.h"

#define LOG_TIMEOUT_MS 2000

static const char *prog = "ductwatch log";

/* What a person may log; link and gap events come from acquisition only,
 * button presses from the garment. */
static const char *const user_kinds[] = {
    "feed-start", "feed-end", "thermometer", "ice-pack", "heat-pack", "shower",
    "garment-on", "garment-off", "symptom", "pump-start", "pump-end",
};

static void usage(void)
{
    printf(
"Usage: ductwatch log KIND [--side left|right] [VALUE] [--text T] [--events EP]\n"
"Logs an event on the garment's stream through ductwatch-acquire.\n"
"\n"
"KIND: feed-start, feed-end, thermometer, ice-pack, heat-pack, shower,\n"
"      garment-on, garment-off, symptom, pump-start, pump-end\n"
"VALUE: for thermometer only, and required there: core temperature in degrees C\n"
"      (%.0f..%.0f), e.g. 'ductwatch log thermometer 38.4'\n"
"\n"
"  -s, --side SIDE   left or right (default: none)\n"
"  -t, --text T      free text, at most %d bytes (e.g. a symptom)\n"
"  -e, --events EP   acquisition's events endpoint (default ipc://RUN/events)\n"
"  -v, --verbose     more log output\n"
"  -q, --quiet       errors only; print nothing on success\n"
"  -h, --help        this text\n"
"\n"
"Waits up to %d s for the reply. Exit 0 logged, 1 not logged (nothing\n"
"listening, or acquisition refused it), 2 bad usage.\n",
        DW_THERMO_MIN_C, DW_THERMO_MAX_C, DW_EVENT_TEXT_MAX, LOG_TIMEOUT_MS / 1000);
}

static bool user_kind(const char *k)
{
    for (size_t i = 0; i < sizeof(user_kinds) / sizeof(*user_kinds); i++)
        if (!strcmp(user_kinds[i], k))
            return true;
    return false;
}

static char *build_request(const char *kind, const char *side, bool has_value,
                           double value, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    char *s;
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddStringToObject(o, "side", side);
    if (has_value)
        cJSON_AddNumberToObject(o, "value", value);
    else
        cJSON_AddNullToObject(o, "value");
    cJSON_AddStringToObject(o, "text", text);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Sends the request and waits for the reply. 0 ok, -ETIMEDOUT, -errno. */
static int request(const char *ep, const char *req, char *reply, size_t cap)
{
    void *ctx = zmq_ctx_new(), *sock = NULL;
    int timeout = LOG_TIMEOUT_MS, r = -EIO, n;

    if (!ctx || !(sock = dw_zmq_socket(ctx, ZMQ_REQ)))
        goto out;
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout, sizeof(timeout));
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    if (zmq_connect(sock, ep) < 0) {
        r = -errno;
        goto out;
    }
    if (zmq_send(sock, req, strlen(req), 0) < 0) {
        r = errno == EAGAIN ? -ETIMEDOUT : -errno;
        goto out;
    }
    n = zmq_recv(sock, reply, cap - 1, 0);
    if (n < 0) {
        r = errno == EAGAIN ? -ETIMEDOUT : -errno;
        goto out;
    }
    reply[(size_t)n < cap - 1 ? (size_t)n : cap - 1] = 0;
    r = 0;
out:
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return r;
}

/* The command line of `ductwatch log`. */
struct log_args {
    const char *kind, *side, *text, *ep, *value_str;
    bool has_value;
    double value;
    int level;
};

static void parse_args(int argc, char **argv, struct log_args *a)
{
    static const struct option opts[] = {
        { "side", required_argument, NULL, 's' },
        { "text", required_argument, NULL, 't' },
        { "events", required_argument, NULL, 'e' },
        DW_CLI_LONGOPTS_VQH,
        { 0 },
    };
    int ch;

    opterr = 0;
    /* '+' keeps getopt from reordering, but KIND may come first or last:
     * collect positionals by hand. "-" allows negative values to reach us. */
    while ((ch = getopt_long(argc, argv, "-:s:t:e:vqh", opts, NULL)) != -1) {
        switch (ch) {
        case 1:
            if (!a->kind)
                a->kind = optarg;
            else if (!a->value_str)
                a->value_str = optarg;
            else
                dw_usage_error(prog, "unexpected argument '%s'", optarg);
            break;
        case 's':
            if (strcmp(optarg, "left") && strcmp(optarg, "right") && strcmp(optarg, "none"))
                dw_usage_error(prog, "bad --side '%s' (left or right)", optarg);
            a->side = optarg;
            break;
        case 't':
            if (strlen(optarg) > DW_EVENT_TEXT_MAX)
                dw_usage_error(prog, "--text is longer than %d bytes", DW_EVENT_TEXT_MAX);
            a->text = optarg;
            break;
        case 'e': a->ep = optarg; break;
        default: dw_cli_std_option(prog, ch, argv, &a->level, usage);
        }
    }
}

/* KIND must be one a person may log, and VALUE is there for thermometer
 * only. */
static void check_kind_and_value(struct log_args *a)
{
    if (!a->kind)
        dw_usage_error(prog, "missing KIND (e.g. feed-start, thermometer 38.2)");
    if (!user_kind(a->kind))
        dw_usage_error(prog, "unknown kind '%s' (feed-start, feed-end, thermometer, ice-pack, "
                       "heat-pack, shower, garment-on, garment-off, symptom, pump-start, "
                       "pump-end)", a->kind);
    if (!strcmp(a->kind, "thermometer")) {
        if (!a->value_str)
            dw_usage_error(prog, "thermometer needs a VALUE in degrees C, e.g. 38.2");
        if (dw_parse_double(a->value_str, DW_THERMO_MIN_C, DW_THERMO_MAX_C, &a->value) < 0)
            dw_usage_error(prog, "bad thermometer value '%s' (degrees C, %.0f..%.0f)",
                           a->value_str, DW_THERMO_MIN_C, DW_THERMO_MAX_C);
        a->has_value = true;
    } else if (a->value_str) {
        dw_usage_error(prog, "%s takes no value (got '%s'); use --text for notes", a->kind,
                       a->value_str);
    }
}

/* Says what acquisition answered: DW_EXIT_OK when it logged the event. */
static int report_reply(const struct log_args *a, const char *reply)
{
    cJSON *o = cJSON_Parse(reply);
    const cJSON *ok = o ? cJSON_GetObjectItemCaseSensitive(o, "ok") : NULL;
    const cJSON *seq = o ? cJSON_GetObjectItemCaseSensitive(o, "seq") : NULL;
    const cJSON *err = o ? cJSON_GetObjectItemCaseSensitive(o, "error") : NULL;
    int status = DW_EXIT_FAILURE;

    if (cJSON_IsTrue(ok)) {
        if (a->level > DW_LOG_ERROR) {
            printf("logged %s", a->kind);
            if (strcmp(a->side, "none"))
                printf(" (%s)", a->side);
            if (a->has_value)
                printf(" %.1f C", a->value);
            if (cJSON_IsNumber(seq))
                printf(", stream seq %.0f", seq->valuedouble);
            printf("\n");
        }
        status = DW_EXIT_OK;
    } else {
        fprintf(stderr, "%s: ductwatch-acquire refused the event: %s\n", prog,
                cJSON_IsString(err) ? err->valuestring : "malformed reply");
    }
    cJSON_Delete(o);
    return status;
}

int dw_cmd_log(int argc, char **argv)
{
    struct log_args a = { .side = "none", .text = "", .level = DW_LOG_INFO };
    char ep_default[PATH_MAX + 16], reply[1024];
    int r, status = DW_EXIT_FAILURE;
    const char *ep;
    char *req;

    parse_args(argc, argv, &a);
    dw_log_set_level(a.level);
    check_kind_and_value(&a);
    ep = a.ep;
    if (!ep) {
        if ((r = dw_tool_default_endpoint("events", ep_default, sizeof(ep_default))) < 0) {
            dw_tool_runtime_dir_error(r);
            return DW_EXIT_FAILURE;
        }
        ep = ep_default;
    }
    if (!dw_tool_endpoint_present(ep)) {
        fprintf(stderr, "%s: no ductwatch-acquire is listening on %s\n", prog, ep);
        return DW_EXIT_FAILURE;
    }
    req = build_request(a.kind, a.side, a.has_value, a.value, a.text);
    if (!req) {
        dw_err("out of memory");
        return DW_EXIT_FAILURE;
    }
    dw_debug("request to %s: %s", ep, req);
    r = request(ep, req, reply, sizeof(reply));
    if (r == -ETIMEDOUT) {
        fprintf(stderr, "%s: no ductwatch-acquire is listening on %s (no reply in %d s)\n",
                prog, ep, LOG_TIMEOUT_MS / 1000);
    } else if (r < 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, ep, zmq_strerror(-r));
    } else {
        status = report_reply(&a, reply);
    }
    free(req);
    return status;
}
