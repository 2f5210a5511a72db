/* The `ductwatch` front command: shared declarations of its subcommands and
 * the small helpers they share. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DW_TOOL "ductwatch"

/* Subcommands: argv[0] is the subcommand name. Return the exit status. */
int dw_cmd_log(int argc, char **argv);
int dw_cmd_alerts(int argc, char **argv);
int dw_cmd_run(int argc, char **argv);
int dw_cmd_view(int argc, char **argv);
int dw_cmd_report(int argc, char **argv);
int dw_cmd_info(int argc, char **argv);
int dw_cmd_export(int argc, char **argv);

/* Where the other ductwatch programs are (see progpath.c for the order). */
int dw_tool_find_program(const char *name, char *buf, size_t cap);
/* execv()s the named program with args (args[0] is replaced). Returns only
 * on failure, with the exit status to use. */
int dw_tool_exec_program(const char *name, int argc, char **argv);

/* Default endpoint for a client tool: like dw_default_endpoint(), but when
 * $DUCTWATCH_RUNTIME_DIR is unset and RUN/<name> does not exist while
 * RUN/current/<name> does (a `ductwatch run` is active), the latter. */
int dw_tool_default_endpoint(const char *name, char *buf, size_t cap);
/* Says why the runtime directory (dw_runtime_dir's error r) cannot be used,
 * naming it: for -EPERM, which directories a client accepts. */
void dw_tool_runtime_dir_error(int r);
/* For ipc:// endpoints: true if the socket file exists. Other transports:
 * true (cannot be checked without connecting). */
bool dw_tool_endpoint_present(const char *ep);
/* Says why the runtime directory (dw_runtime_dir's error r) cannot be used,
 * naming it: for -EPERM, which directories a client accepts. */
void dw_tool_runtime_dir_error(int r);
/* For ipc:// endpoints: true if a program listens on it (a connect is
 * accepted); false when the socket file is gone or refuses (the program
 * stopped or was killed). Other transports: true (cannot be told). */
bool dw_tool_endpoint_listening(const char *ep);
