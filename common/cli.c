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

void dw_cli_std_option(const char *prog, int ch, char **argv, int *level, void (*usage)(void))
{
    if (level && ch == 'v') {
        *level = *level < DW_LOG_INFO ? DW_LOG_INFO : DW_LOG_DEBUG;
    } else if (level && ch == 'q') {
        *level = DW_LOG_ERROR;
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
