/* ductwatch alerts: follows detection's alerts live. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "cli.h"
#include "dwtime.h"
#include "endpoint.h"
#include "livestate.h"
#include "log.h"
#include "loop.h"
#include "pipewatch.h"
#include "termsafe.h"
#include "tool.h"

static const char *prog = "ductwatch alerts";
static volatile sig_atomic_t stop;

static void usage(void)
{
    printf(
"Usage: ductwatch alerts [--json] [--sub EP]...\n"
"Follows the alerts ductwatch-detect publishes, one line per alert as it is\n"
"raised, updated or cleared, until interrupted (SIGINT/SIGTERM: exit 0).\n"
"\n"
"  -j, --json      print each alert's JSON body as received, one per line\n"
"  -s, --sub EP    detection's publisher (repeatable; default ipc://RUN/detect)\n"
"  -v, --verbose   more log output\n"
"  -q, --quiet     errors only\n"
"  -h, --help      this text\n"
"\n"
"Text lines: UTC time, [t+device time], level, state, rule, where, message.\n");
}

struct alerts_ctx { bool json; };

static void on_msg(struct dw_live *l, enum dw_live_kind k, const uint8_t *body, size_t len,
                   void *user)
{
    struct alerts_ctx *c = user;
    char line[1024];
    if (k != DW_LIVE_ALERT)
        return;
    if (c->json) {
        /* The same JSON, with any raw control character escaped (at most
         * 6 bytes for each byte in). */
        char *safe = len < SIZE_MAX / 6 ? malloc(len * 6 + 1) : NULL;
        if (!safe)
            return;
        dw_term_safe_json((const char *)body, len, safe, len * 6 + 1);
        puts(safe);
        free(safe);
    } else {
        dw_alert_format(&l->last_alert, line, sizeof(line));
        puts(line);
    }
    fflush(stdout);
}

/* Connects sub to every endpoint, saying which have no publisher yet. */
static int connect_all(void *sub, const char *const *eps, int n)
{
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "alert.", 6);
    for (int i = 0; i < n; i++) {
        if (zmq_connect(sub, eps[i]) < 0) {
            fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, eps[i], zmq_strerror(errno));
            return -1;
        }
        if (!dw_tool_endpoint_present(eps[i]))
            dw_warn("nothing publishes on %s yet; waiting for ductwatch-detect", eps[i]);
        else
            dw_info("following alerts on %s", eps[i]);
    }
    return 0;
}

/* Says once, on stderr (stdout stays alerts only), that the pipeline has
 * stopped or runs again. */
static void watch_pipeline(struct dw_pipewatch *w, uint64_t now)
{
    char why[256];
    switch (dw_pipewatch_check(w, now)) {
    case -1:
        dw_pipewatch_describe(w, now, why, sizeof(why));
        dw_warn("%s", why);
        break;
    case 1:
        dw_info("the pipeline is running again");
        break;
    }
}

/* Prints every alert until stopped: an exit status. */
static int follow(void *sub, struct alerts_ctx *c, const char *const *eps, int n_eps)
{
    struct dw_live *live = calloc(1, sizeof(*live));
    struct dw_pipewatch watch;
    struct dw_loop lp;
    int r = 0;
    if (!live) {
        dw_err("%s", strerror(errno));
        return DW_EXIT_FAILURE;
    }
    dw_live_init(live);
    live->any_device = true;
    dw_loop_init(&lp, &stop);
    dw_pipewatch_init(&watch, eps, (unsigned)n_eps, 0);
    while (!dw_loop_stopped(&lp) && r >= 0) {
        zmq_pollitem_t it = { .socket = sub, .events = ZMQ_POLLIN };
        uint64_t now = dw_now_monotonic_ns();
        watch_pipeline(&watch, now);
        if ((r = dw_loop_poll(&lp, &it, 1)) > 0) {
            dw_pipewatch_heard(&watch, now);
            r = dw_live_drain(live, sub, on_msg, c);
        }
    }
    if (r < 0)
        dw_err("receive: %s", zmq_strerror(-r));
    dw_live_fini(live);
    free(live);
    return r < 0 ? DW_EXIT_FAILURE : DW_EXIT_OK;
}

int dw_cmd_alerts(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "sub", required_argument, NULL, 's' },
        DW_CLI_LONGOPTS_VQH,
        { 0 },
    };
    struct alerts_ctx c = { 0 };
    const char *eps[16];
    char ep_default[PATH_MAX + 16];
    int n_eps = 0, level = DW_LOG_INFO, ch, r, status = DW_EXIT_FAILURE;
    void *ctx, *sub = NULL;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":js:vqh", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': c.json = true; break;
        case 's':
            if (n_eps >= 16)
                dw_usage_error(prog, "too many --sub (at most 16)");
            eps[n_eps++] = optarg;
            break;
        default: dw_cli_std_option(prog, ch, argv, &level, usage);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
    dw_log_set_level(level);
    dw_install_stop_signals(&stop);
    if (!n_eps) {
        if ((r = dw_tool_default_endpoint("detect", ep_default, sizeof(ep_default))) < 0) {
            dw_tool_runtime_dir_error(r);
            return DW_EXIT_FAILURE;
        }
        eps[n_eps++] = ep_default;
    }
    ctx = zmq_ctx_new();
    if (!ctx || !(sub = dw_zmq_socket(ctx, ZMQ_SUB)))
        dw_err("zmq: %s", zmq_strerror(errno));
    else if (connect_all(sub, eps, n_eps) == 0)
        status = follow(sub, &c, eps, n_eps);
    dw_zmq_close(sub);
    if (ctx)
        zmq_ctx_term(ctx);
    return status;
}
