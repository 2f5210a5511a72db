#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "dw_config.h"
#include "log.h"

void dw_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    const char *slash = strrchr(prog, '/');
    prog = slash ? slash + 1 : prog;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    exit(DW_EXIT_USAGE);
}

void dw_usage_bad_option(const char *prog, int ch, char **argv)
{
    if (ch == ':')
        dw_usage_error(prog, "option '%s' needs a value", argv[optind - 1]);
    dw_usage_error(prog, "unknown option '%s'", argv[optind - 1]);
}

void dw_cli_verbosity(int *level, int ch)
{
    if (ch == 'v')
        *level = *level < DW_LOG_INFO ? DW_LOG_INFO : DW_LOG_DEBUG;
    else if (ch == 'q')
        *level = DW_LOG_ERROR;
}

void dw_cli_check_room(const char *prog, long n, long max, const char *what)
{
    if (n >= max)
        dw_usage_error(prog, "at most %ld %s", max, what);
}

void dw_cli_std_option(const char *prog, int ch, char **argv, int *level, void (*usage)(void))
{
    if (level && (ch == 'v' || ch == 'q')) {
        dw_cli_verbosity(level, ch);
    } else if (ch == 'h') {
        usage();
        exit(DW_EXIT_OK);
    } else if (ch == 'V') {
        dw_print_version(prog);
        exit(DW_EXIT_OK);
    } else {
        dw_usage_bad_option(prog, ch, argv);
    }
}

void dw_usage_no_operands(const char *prog, int argc, char **argv)
{
    if (optind < argc)
        dw_usage_error(prog, "unexpected argument '%s'", argv[optind]);
}

static void help_line(int col, const char *option, const char *text)
{
    printf("%-*s%s\n", col, option, text);
}

void dw_cli_usage_std(int col, unsigned what)
{
    if (what & DW_CLI_HELP_CURVE_CLIENT) {
        help_line(col, "      --curve-key FILE",
                  "this process's key pair, for CURVE on tcp:// endpoints");
        help_line(col, "      --server-key FILE", "the publisher's public key (with --curve-key)");
    }
    if (what & DW_CLI_HELP_INSECURE)
        help_line(col, "      --insecure",
                  "allow tcp:// without CURVE, on loopback addresses only");
    help_line(col, "  -v, --verbose", "debug log output");
    help_line(col, "  -q, --quiet", "errors only");
    help_line(col, "  -h, --help", "this text");
    if (what & DW_CLI_HELP_VERSION)
        help_line(col, "  -V, --version", "print the version");
}

void dw_print_version(const char *prog)
{
    const char *slash = strrchr(prog, '/');
    printf("%s %s\n", slash ? slash + 1 : prog, DW_VERSION);
}

static volatile sig_atomic_t *stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    if (stop_flag)
        *stop_flag = 1;
}

void dw_install_stop_signals(volatile sig_atomic_t *flag)
{
    struct sigaction sa;
    stop_flag = flag;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}
