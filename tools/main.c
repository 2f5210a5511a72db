/* ductwatch: the front command. `ductwatch run` starts the whole pipeline;
 * log, alerts and view talk to a running one; report, info and export read
 * recorded sessions; other words pass through to the stage programs. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "log.h"
#include "tool.h"

/* Every command, once: the help text and the "missing command" line are
 * made from this table, so neither can forget one. */
static const struct { const char *name, *args, *what; } commands[] = {
    { "run", "", "start the whole pipeline (simulator by default) and watch it" },
    { "log", "KIND [VALUE]", "log an event: feed-start, feed-end, thermometer VALUE, "
                             "ice-pack, heat-pack, shower, garment-on, garment-off, "
                             "symptom, pump-start, pump-end" },
    { "alerts", "", "follow alerts as they are raised, updated and cleared" },
    { "view", "", "live view of both breasts, zone by zone" },
    { "report", "FILE.h5...|DIR", "one HTML report of a garment's session files" },
    { "info", "FILE.h5...", "what a session file holds: span, rows, rate, loss, alerts" },
    { "export", "FILE.h5... --csv DIR", "session files as CSV for a spreadsheet" },
    { "recover", "FILE.h5", "make a session file from a crashed writer readable" },
    { "keygen", "NAME", "write a CURVE key pair for tcp:// endpoints (ductwatch-keygen)" },
    { "broker", "...", "relay streams between machines (ductwatch-broker)" },
    { "acquire", "...", "run ductwatch-acquire with these arguments" },
    { "detect", "...", "run ductwatch-detect with these arguments" },
    { "record", "...", "run ductwatch-record with these arguments" },
    { "sim", "...", "run ductwatch-sim with these arguments" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(*commands))

/* The commands in two columns, descriptions wrapped within 80 columns. */
static void usage(FILE *f)
{
    enum { COL = 29, WIDTH = 79 };
    fprintf(f, "Usage: ductwatch COMMAND [options]\n"
               "       ductwatch --help | --version\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *w = commands[i].what;
        int col = fprintf(f, "  %s %s", commands[i].name, commands[i].args);
        if (col >= COL - 1) {
            fputc('\n', f);
            col = 0;
        }
        while (*w) {
            size_t n = strcspn(w, " ");
            if (col > COL && col + 1 + (int)n > WIDTH) {
                fputc('\n', f);
                col = 0;
            }
            if (col < COL)
                col += fprintf(f, "%*s", COL - col, "");
            else
                col += fprintf(f, " ");
            col += fprintf(f, "%.*s", (int)n, w);
            w += n + (w[n] == ' ');
        }
        fputc('\n', f);
    }
    fprintf(f, "\n"
"'ductwatch COMMAND --help' describes each command; 'ductwatch --version'\n"
"prints the version. Exit status: 0 success, 1 runtime failure, 2 bad usage.\n");
}

/* "run, log, alerts, ...": every command, for the one-line usage error. */
static void command_list(char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_COMMANDS && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", commands[i].name);
}

int main(int argc, char **argv)
{
    static const char *const passthrough[] = { "acquire", "detect", "record", "sim",
                                                 "keygen", "broker" };
    const char *cmd;

    dw_log_init(DW_TOOL);
    if (argc < 2) {
        char list[512];
        command_list(list, sizeof(list));
        dw_usage_error(DW_TOOL, "missing command: %s", list);
    }
    cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return DW_EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        dw_print_version(DW_TOOL);
        return DW_EXIT_OK;
    }
    if (!strcmp(cmd, "log"))
        return dw_cmd_log(argc - 1, argv + 1);
    if (!strcmp(cmd, "alerts"))
        return dw_cmd_alerts(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return dw_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "view"))
        return dw_cmd_view(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return dw_cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "info"))
        return dw_cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "export"))
        return dw_cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "recover")) {
        if (argc == 3 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
            printf("Usage: ductwatch recover FILE.h5\n"
                   "Runs 'ductwatch-record --recover FILE.h5': makes a session file whose\n"
                   "writer was killed readable again, keeping everything it flushed.\n");
            return DW_EXIT_OK;
        }
        if (argc != 3 || argv[2][0] == '-')
            dw_usage_error(DW_TOOL, "recover takes exactly one FILE.h5");
        char *args[] = { "ductwatch-record", "--recover", argv[2], NULL };
        return dw_tool_exec_program("ductwatch-record", 3, args);
    }
    for (size_t i = 0; i < sizeof(passthrough) / sizeof(*passthrough); i++) {
        if (!strcmp(cmd, passthrough[i])) {
            char name[32];
            snprintf(name, sizeof(name), "ductwatch-%s", cmd);
            return dw_tool_exec_program(name, argc - 1, argv + 1);
        }
    }
    dw_usage_error(DW_TOOL, "unknown command '%s'", cmd);
}
