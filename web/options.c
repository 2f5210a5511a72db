#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "duration.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "parse_num.h"

static const char *prog = "ductwatch-web";

static void usage(void)
{
    printf(
"Usage: %s [--sub EP]... [--events EP] [--listen ADDR:PORT] [--dir DIR] [options]\n"
"Serves the wearer's web page and a JSON API on the hub: the live garment,\n"
"alerts, one-tap feeding log (see docs/web.md). First stdout line:\n"
"  url: http://ADDR:PORT/?token=TOKEN   (the address to open)\n"
"\n"
"      --sub EP            a stream to follow (repeatable; default\n"
"                          ipc://RUN/acquire and ipc://RUN/detect)\n"
"      --events EP         acquisition's events endpoint (default ipc://RUN/events)\n"
"  -l, --listen ADDR:PORT  where to serve (default %s; port 0: any free\n"
"                          port). Other than loopback needs --tls-cert/--tls-key\n"
"  -d, --dir DIR           the session files: their list, reports, and the\n"
"                          feeding log after a restart\n"
"      --config FILE       ductwatch-detect's parameters (INI), for the zone\n"
"                          colours and the reports (default: built-in values)\n"
"      --on-alert CMD      run CMD (no shell; words split at blanks, quotes\n"
"                          group) with the alert JSON on stdin\n"
"      --notify-level L    L0..L3: the least level for --on-alert (default L1)\n"
"      --renotify D        repeat an unacknowledged L2+ alert every D (default\n"
"                          15m; 0 = never)\n"
"      --on-alert-timeout D  kill a command still running after D (default 60s)\n"
"      --tls-cert FILE     serve HTTPS with this certificate (PEM)...\n"
"      --tls-key FILE      ...and its key (PEM)\n"
"      --token-file FILE   where the access token is kept (default RUN/web-token)\n", prog, DW_WEB_DEFAULT_LISTEN);
    dw_cli_usage_std(26, DW_CLI_HELP_CURVE_CLIENT | DW_CLI_HELP_INSECURE | DW_CLI_HELP_VERSION);
    printf(
"\n"
"Exit status: 0 after SIGINT/SIGTERM, 1 runtime failure, 2 bad usage.\n");
}

int dw_web_listen_parse(const char *s, struct sockaddr_storage *addr, socklen_t *len,
                        bool *loopback)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    uint64_t port;
    size_t hl;

    if (!colon || dw_parse_u64(colon + 1, 0, 65535, &port) < 0)
        return -EINVAL;
    hl = (size_t)(colon - s);
    if (hl >= sizeof(host) || hl == 0)
        return -EINVAL;
    memcpy(host, s, hl);
    host[hl] = 0;
    memset(addr, 0, sizeof(*addr));
    if (host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
        host[hl - 1] = 0;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return -EINVAL;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*a6);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof(host), "127.0.0.1");
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return -EINVAL;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof(*a4);
    *loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    return 0;
}

static void duration_opt(const char *name, const char *v, uint64_t min_us, uint64_t *out)
{
    if (dw_duration_parse_us(v, out) < 0 || *out < min_us)
        dw_usage_error(prog, "bad %s '%s' (a duration such as 15m, 30s)", name, v);
}

static void check(struct dw_web_options *o)
{
    if (!!o->curve_key != !!o->server_key)
        dw_usage_error(prog, "--curve-key and --server-key go together");
    if (!!o->tls_cert != !!o->tls_key)
        dw_usage_error(prog, "--tls-cert and --tls-key go together");
    if (dw_web_listen_parse(o->listen, &o->addr, &o->addr_len, &o->loopback) < 0)
        dw_usage_error(prog, "bad --listen '%s' (ADDR:PORT, e.g. 127.0.0.1:8080 or "
                       "[::1]:8080)", o->listen);
    if (!o->loopback && !o->tls_cert)
        dw_usage_error(prog, "--listen %s is not a loopback address: serving health data "
                       "beyond this machine needs --tls-cert and --tls-key", o->listen);
    if (!o->on_alert && o->notify_level_given)
        dw_usage_error(prog, "--notify-level goes with --on-alert");
}

void dw_web_options_parse(int argc, char **argv, struct dw_web_options *o)
{
    enum { O_SUB = 256, O_EVENTS, O_ON_ALERT, O_LEVEL, O_RENOTIFY, O_TIMEOUT, O_CERT, O_KEY,
           O_TOKEN, O_CURVE, O_SERVER, O_INSECURE, O_CONFIG };
    static const struct option opts[] = {
        { "sub", required_argument, NULL, O_SUB }, { "events", required_argument, NULL, O_EVENTS },
        { "listen", required_argument, NULL, 'l' }, { "dir", required_argument, NULL, 'd' },
        { "on-alert", required_argument, NULL, O_ON_ALERT },
        { "notify-level", required_argument, NULL, O_LEVEL },
        { "renotify", required_argument, NULL, O_RENOTIFY },
        { "on-alert-timeout", required_argument, NULL, O_TIMEOUT },
        { "tls-cert", required_argument, NULL, O_CERT }, { "tls-key", required_argument, NULL, O_KEY },
        { "token-file", required_argument, NULL, O_TOKEN },
        { "config", required_argument, NULL, O_CONFIG },
        { "curve-key", required_argument, NULL, O_CURVE },
        { "server-key", required_argument, NULL, O_SERVER },
        { "insecure", no_argument, NULL, O_INSECURE }, DW_CLI_LONGOPTS_STD, { 0 },
    };
    int level = DW_LOG_INFO, ch, l;

    memset(o, 0, sizeof(*o));
    o->listen = DW_WEB_DEFAULT_LISTEN;
    o->notify_level = 1;
    o->renotify_us = 15 * 60 * 1000000ull;
    o->alert_timeout_us = 60 * 1000000ull;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":l:d:vqhV", opts, NULL)) != -1) {
        switch (ch) {
        case O_SUB:
            dw_cli_check_room(prog, o->n_subs, DW_WEB_MAX_SUB, "--sub endpoints");
            o->subs[o->n_subs++] = optarg;
            break;
        case O_EVENTS: o->events = optarg; break;
        case 'l': o->listen = optarg; break;
        case 'd': o->dir = optarg; break;
        case O_ON_ALERT: o->on_alert = optarg; break;
        case O_LEVEL:
            if ((l = dw_notify_level(optarg)) < 0)
                dw_usage_error(prog, "bad --notify-level '%s' (L0, L1, L2 or L3)", optarg);
            o->notify_level = (unsigned)l;
            o->notify_level_given = true;
            break;
        case O_RENOTIFY: duration_opt("--renotify", optarg, 0, &o->renotify_us); break;
        case O_TIMEOUT: duration_opt("--on-alert-timeout", optarg, 1, &o->alert_timeout_us); break;
        case O_CERT: o->tls_cert = optarg; break;
        case O_KEY: o->tls_key = optarg; break;
        case O_TOKEN: o->token_file = optarg; break;
        case O_CONFIG: o->config = optarg; break;
        case O_CURVE: o->curve_key = optarg; break;
        case O_SERVER: o->server_key = optarg; break;
        case O_INSECURE: o->insecure = true; break;
        default: dw_cli_std_option(prog, ch, argv, &level, usage);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
    check(o);
    dw_log_set_level(level);
}
