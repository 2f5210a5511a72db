/* `ductwatch run`: its command line, and the arguments each stage gets. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"
#include "duration.h"
#include "log.h"
#include "parse_num.h"
#include "run.h"
#include "tool.h"

/* Subscriptions acquire waits for before it reads the simulator (which
 * would otherwise, at --fast, run past consumers still connecting): our own
 * three (stats., event., frame.), at least one from detect and one from
 * record. */
#define SIM_WAIT_SUBSCRIBERS "5"

static const char *prog = "ductwatch run";

static void usage(void)
{
    printf(
"Usage: ductwatch run [--scenario NAME [--seed N] | --port PATH|auto] [options]\n"
"Starts the whole pipeline -- the garment simulator on a pseudo-terminal (or a\n"
"real garment with --port), ductwatch-acquire, ductwatch-detect and\n"
"ductwatch-record, and ductwatch-web for the page -- shows live status and\n"
"every alert, prints 'web: URL' (the page to open), and at the end prints\n"
"the session file(s), an alert summary and the loss counters, and writes an\n"
"HTML report of the whole run (ductwatch report over all its session files)\n"
"beside the first session file.\n"
"\n"
"  -s, --scenario NAME  simulator scenario (default %s)\n"
"      --seed N         simulator seed (default: the simulator's)\n"
"  -p, --port PATH|auto a real garment instead of the simulator\n"
"  -d, --duration D     simulated time to run (default %s); with --port, wall\n"
"                       time (default: until interrupted)\n"
"      --speed X        simulation speed, x real time (default %s)\n"
"      --fast           simulate as fast as the pipeline takes it\n"
"      --rate HZ        simulated sample rate (default: the simulator's)\n"
"      --labels FILE    write the simulator's ground-truth labels to FILE\n"
"  -o, --dir DIR        where session files go (default ./%s)\n"
"  -c, --config FILE    detection configuration (ductwatch-detect --config)\n"
"      --no-report      do not write the HTML report at the end\n"
"      --web-listen ADDR:PORT  where ductwatch-web serves the page (default\n"
"                       %s: loopback, any free port)\n"
"      --no-web         do not start ductwatch-web\n"
"      --on-alert CMD   ductwatch-web runs CMD for every alert of L1 or more\n"
"                       (the alert's JSON on stdin; ductwatch-web(1))\n"
"  -v, --verbose        more log output (passed on to the stages)\n"
"  -q, --quiet          errors, alerts and the summary only\n"
"  -h, --help           this text\n"
"\n"
"The default session simulates %s of the '%s' scenario at %sx (about 1.5\n"
"minutes) and shows alerts. Stages run with DUCTWATCH_RUNTIME_DIR set to a\n"
"fresh private directory RUN/run-XXXXXX; RUN/current points to it while the\n"
"run lasts, so 'ductwatch log', 'alerts' and 'view' in another terminal find\n"
"it. A stage that dies is restarted (backoff 0.5 s doubling to 10 s). Ctrl-C\n"
"ends the run cleanly. Programs are found as described in ductwatch(1).\n",
        DW_RUN_DEFAULT_SCENARIO, DW_RUN_DEFAULT_DURATION, DW_RUN_DEFAULT_SPEED, DW_RUN_DEFAULT_DIR,
        DW_RUN_DEFAULT_WEB_LISTEN, DW_RUN_DEFAULT_DURATION, DW_RUN_DEFAULT_SCENARIO, DW_RUN_DEFAULT_SPEED);
}

void dw_run_build_args(struct run *r)
{
    const char **a;
    int n;
    const char *verb = r->level >= DW_LOG_DEBUG ? "-vv" : r->level <= DW_LOG_ERROR ? "-q" : NULL;

    a = r->args[ST_RECORD]; n = 0;
    a[n++] = "--dir"; a[n++] = r->dir;
    a[n++] = "--sub"; a[n++] = r->ep_acquire;
    a[n++] = "--sub"; a[n++] = r->ep_detect;
    if (verb) a[n++] = verb;
    a[n] = NULL;

    a = r->args[ST_DETECT]; n = 0;
    a[n++] = "--sub"; a[n++] = r->ep_acquire;
    a[n++] = "--pub"; a[n++] = r->ep_detect;
    if (r->config) { a[n++] = "--config"; a[n++] = r->config; }
    if (verb) a[n++] = verb;
    a[n] = NULL;

    a = r->args[ST_SIM]; n = 0;
    a[n++] = "--scenario"; a[n++] = r->scenario;
    if (r->seed) { a[n++] = "--seed"; a[n++] = r->seed; }
    a[n++] = "--duration"; a[n++] = r->duration;
    if (r->fast) a[n++] = "--fast";
    else { a[n++] = "--speed"; a[n++] = r->speed; }
    if (r->rate) { a[n++] = "--rate"; a[n++] = r->rate; }
    if (r->labels) { a[n++] = "--labels"; a[n++] = r->labels; }
    a[n++] = "--out"; a[n++] = "pty";
    if (verb) a[n++] = verb;
    a[n] = NULL;

    a = r->args[ST_ACQUIRE]; n = 0;
    a[n++] = "--port"; a[n++] = r->use_sim ? r->garment_link : r->port;
    a[n++] = "--pub"; a[n++] = r->ep_acquire;
    a[n++] = "--events"; a[n++] = r->ep_events;
    if (r->use_sim) { a[n++] = "--wait-subscribers"; a[n++] = SIM_WAIT_SUBSCRIBERS; }
    if (verb) a[n++] = verb;
    a[n] = NULL;

    a = r->args[ST_WEB]; n = 0;
    a[n++] = "--sub"; a[n++] = r->ep_acquire;
    a[n++] = "--sub"; a[n++] = r->ep_detect;
    a[n++] = "--events"; a[n++] = r->ep_events;
    a[n++] = "--dir"; a[n++] = r->dir;
    a[n++] = "--listen"; a[n++] = r->web_listen;
    if (r->config) { a[n++] = "--config"; a[n++] = r->config; } /* the zone colours */
    if (r->on_alert) { a[n++] = "--on-alert"; a[n++] = r->on_alert; }
    if (verb) a[n++] = verb;
    a[n] = NULL;
}

/* The options that exclude each other, and the defaults of the others. */
static void check_and_default(struct run *r, bool speed_given)
{
    if (r->fast && speed_given)
        dw_usage_error(prog, "--speed and --fast exclude each other");
    r->use_sim = !r->port;
    if (!r->use_sim && (r->scenario || r->seed || r->fast || speed_given || r->rate || r->labels))
        dw_usage_error(prog, "--port excludes the simulator's options (--scenario, --seed, "
                       "--speed, --fast, --rate, --labels)");
    if (!r->scenario)
        r->scenario = DW_RUN_DEFAULT_SCENARIO;
    if (!r->speed)
        r->speed = DW_RUN_DEFAULT_SPEED;
    if (!r->duration && r->use_sim) {
        r->duration = DW_RUN_DEFAULT_DURATION;
        dw_duration_parse_us(r->duration, &r->duration_us);
    }
    if (!r->dir)
        r->dir = DW_RUN_DEFAULT_DIR;
    if (r->no_web && (r->web_listen || r->on_alert))
        dw_usage_error(prog, "--no-web excludes --web-listen and --on-alert");
    if (!r->web_listen)
        r->web_listen = DW_RUN_DEFAULT_WEB_LISTEN;
    dw_log_set_level(r->level);
}

void dw_run_parse_args(struct run *r, int argc, char **argv)
{
    enum { O_SEED = 256, O_SPEED, O_FAST, O_RATE, O_LABELS, O_NO_REPORT, O_WEB_LISTEN, O_NO_WEB,
           O_ON_ALERT };
    static const struct option opts[] = {
        { "scenario", required_argument, NULL, 's' },
        { "seed", required_argument, NULL, O_SEED },
        { "port", required_argument, NULL, 'p' },
        { "duration", required_argument, NULL, 'd' },
        { "speed", required_argument, NULL, O_SPEED },
        { "fast", no_argument, NULL, O_FAST },
        { "rate", required_argument, NULL, O_RATE },
        { "labels", required_argument, NULL, O_LABELS },
        { "no-report", no_argument, NULL, O_NO_REPORT },
        { "web-listen", required_argument, NULL, O_WEB_LISTEN },
        { "no-web", no_argument, NULL, O_NO_WEB },
        { "on-alert", required_argument, NULL, O_ON_ALERT },
        { "dir", required_argument, NULL, 'o' },
        { "config", required_argument, NULL, 'c' },
        DW_CLI_LONGOPTS_VQH,
        { 0 },
    };
    int ch;
    uint64_t u;
    double d;
    bool speed_given = false;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":s:p:d:o:c:vqh", opts, NULL)) != -1) {
        switch (ch) {
        case 's': r->scenario = optarg; break;
        case O_SEED:
            if (dw_parse_u64(optarg, 0, UINT64_MAX, &u) < 0)
                dw_usage_error(prog, "bad --seed '%s'", optarg);
            r->seed = optarg;
            break;
        case 'p': r->port = optarg; break;
        case 'd':
            if (dw_duration_parse_us(optarg, &r->duration_us) < 0 || !r->duration_us)
                dw_usage_error(prog, "bad --duration '%s' (e.g. 90s, 1h30m, 36h, 3d)", optarg);
            r->duration = optarg;
            break;
        case O_SPEED:
            if (dw_parse_double(optarg, 0.001, 1e9, &d) < 0)
                dw_usage_error(prog, "bad --speed '%s' (a factor, e.g. 60)", optarg);
            r->speed = optarg;
            speed_given = true;
            break;
        case O_FAST: r->fast = true; break;
        case O_RATE:
            if (dw_parse_u64(optarg, 1, 1000, &u) < 0)
                dw_usage_error(prog, "bad --rate '%s' (1..1000 Hz)", optarg);
            r->rate = optarg;
            break;
        case O_LABELS: r->labels = optarg; break;
        case O_NO_REPORT: r->no_report = true; break;
        case O_WEB_LISTEN: r->web_listen = optarg; break;
        case O_NO_WEB: r->no_web = true; break;
        case O_ON_ALERT: r->on_alert = optarg; break;
        case 'o': r->dir = optarg; break;
        case 'c': r->config = optarg; break;
        default: dw_cli_std_option(prog, ch, argv, &r->level, usage);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
    check_and_default(r, speed_given);
}
