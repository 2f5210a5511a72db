#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "acq_options.h"
#include "cli.h"
#include "defaults.h"
#include "duration.h"
#include "endpoint.h"
#include "log.h"
#include "parse_num.h"
#include "security.h"

#define DEFAULT_BAUD 115200
#define DEFAULT_USB_VID 0x1209
#define DEFAULT_USB_PID 0xd0c7
#define DEFAULT_BACKLOG DW_BACKLOG_DEFAULT
#define DEFAULT_BACKLOG_AGE_S DW_BACKLOG_AGE_S_DEFAULT
#define SNDHWM DW_HWM_DEFAULT

static const char *prog = "ductwatch-acquire";

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
"                         files, or a file with one Z85 key per line\n", prog, DEFAULT_BAUD, DEFAULT_USB_VID, DEFAULT_USB_PID, DEFAULT_BACKLOG, DEFAULT_BACKLOG_AGE_S, SNDHWM);
    dw_cli_usage_std(25, DW_CLI_HELP_INSECURE | DW_CLI_HELP_VERSION);
    printf(
"\n"
"RUN is $DUCTWATCH_RUNTIME_DIR, else $XDG_RUNTIME_DIR/ductwatch, else\n"
"/tmp/ductwatch-UID. At start it prints 'pub: EP' and 'events: EP'. A port\n"
"missing at start is an error (exit 1); a link lost later is reconnected\n"
"forever (100 ms backoff doubling to 2 s), re-resolving symlinks each time;\n"
"a /dev/pts/N given directly is not (a pty never comes back).\n"
"tcp:// endpoints need --curve-key and --allow, or --insecure on 127.0.0.1/::1\n"
"(see docs/security.md).\n");
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

enum { O_FLOW = 256, O_USB_ID, O_LIST, O_PUB, O_EVENTS, O_BACKLOG, O_BACKLOG_AGE, O_SNDHWM,
       O_WAIT_SUBS, O_CURVE_KEY, O_ALLOW, O_INSECURE };

/* The options that say which link to open and how; false for any other. */
static bool link_option(int ch, struct dw_link_opts *l)
{
    uint64_t u;

    switch (ch) {
    case 'p':
        l->port = optarg;
        l->auto_port = strcmp(optarg, "auto") == 0;
        break;
    case 'b':
        if (dw_parse_u64(optarg, 50, 4000000, &u) < 0)
            dw_usage_error(prog, "bad baud rate '%s' (50..4000000)", optarg);
        l->so.baud = (int)u;
        break;
    case O_FLOW:
        if (!strcmp(optarg, "none"))
            l->so.flow = DW_FLOW_NONE;
        else if (!strcmp(optarg, "rtscts"))
            l->so.flow = DW_FLOW_RTSCTS;
        else if (!strcmp(optarg, "xonxoff"))
            l->so.flow = DW_FLOW_XONXOFF;
        else
            dw_usage_error(prog, "bad --flow '%s' (none, rtscts or xonxoff)", optarg);
        break;
    case O_USB_ID:
        if (parse_usb_id(optarg, &l->vid, &l->pid) < 0)
            dw_usage_error(prog, "bad --usb-id '%s' (VVVV:PPPP, hex)", optarg);
        break;
    default:
        return false;
    }
    return true;
}

void dw_acq_options_parse(int argc, char **argv, struct dw_acq_options *c)
{
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
        DW_CLI_LONGOPTS_STD,
        { 0 },
    };
    int level = DW_LOG_INFO, ch;

    *c = (struct dw_acq_options){
        .link = { .so = { .baud = DEFAULT_BAUD, .flow = DW_FLOW_NONE },
                  .vid = DEFAULT_USB_VID, .pid = DEFAULT_USB_PID },
        .backlog = DEFAULT_BACKLOG, .backlog_age_us = DEFAULT_BACKLOG_AGE_S * 1000000ull,
        .sndhwm = SNDHWM,
    };

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":p:b:vqhV", opts, NULL)) != -1) {
        if (link_option(ch, &c->link))
            continue;
        switch (ch) {
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
        default: dw_cli_std_option(prog, ch, argv, &level, usage);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
    if (!c->link.port && !c->list_ports)
        dw_usage_error(prog, "missing --port PATH|auto");
    if (!c->curve_key != !c->allow)
        dw_usage_error(prog, "--curve-key and --allow go together");
    dw_log_set_level(level);
}

int dw_acq_options_endpoints(struct dw_acq_options *o, char *pub_buf, char *events_buf,
                             size_t cap)
{
    const char *why = NULL;
    int r;

    if (!o->pub_ep || !o->events_ep) {
        if ((r = dw_default_endpoint("acquire", pub_buf, cap)) < 0 ||
            (r = dw_default_endpoint("events", events_buf, cap)) < 0)
            return r;
        if (!o->pub_ep)
            o->pub_ep = pub_buf;
        if (!o->events_ep)
            o->events_ep = events_buf;
    }
    if (dw_security_check_bind(o->pub_ep, o->curve_key, o->insecure, &why) < 0)
        dw_usage_error(prog, "--pub %s: %s", o->pub_ep, why);
    if (dw_security_check_bind(o->events_ep, o->curve_key, o->insecure, &why) < 0)
        dw_usage_error(prog, "--events %s: %s", o->events_ep, why);
    return 0;
}

int dw_acq_list_ports(const struct dw_acq_options *o)
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
        bool match = p->usb && p->vid == o->link.vid && p->pid == o->link.pid;
        if (p->usb)
            printf("%s\tusb %04x:%04x\tserial=%s\t%s%s\n", p->name, p->vid, p->pid,
                   p->serial[0] ? p->serial : "-", p->description,
                   match ? "\t(garment)" : "");
        else
            printf("%s\t-\t-\t%s\n", p->name, p->description);
    }
    return DW_EXIT_OK;
}
