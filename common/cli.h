/* Conventions every ductwatch program shares: exit 0 on success, 2 on bad
 * usage with a one-line reason, 1 on a runtime failure. */
#pragma once
#include <signal.h>

#define DW_EXIT_OK 0
#define DW_EXIT_FAILURE 1
#define DW_EXIT_USAGE 2

/* Prints "prog: reason" and "Try 'prog --help'." to stderr, exits 2. */
void dw_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void dw_print_version(const char *prog);
/* For what getopt_long returned that no case took: ':' (an option without
 * its value; the optstring must start with ':') or '?' (an unknown option).
 * Says which, exits 2. */
void dw_usage_bad_option(const char *prog, int ch, char **argv) __attribute__((noreturn));
/* For what getopt_long returned that the program's own cases did not
 * take: -v one log level more (info, then debug), -q errors only (level
 * NULL: the program has neither), -h usage() and exit 0, -V the version
 * and exit 0; anything else is bad usage (dw_usage_bad_option, exit 2). */
void dw_cli_std_option(const char *prog, int ch, char **argv, int *level, void (*usage)(void));
/* Exits 2 if arguments are left after the options (argv[optind..]). */
void dw_usage_no_operands(const char *prog, int argc, char **argv);

/* SIGINT/SIGTERM set *flag (sig_atomic_t); SIGPIPE is ignored. */
void dw_install_stop_signals(volatile sig_atomic_t *flag);
