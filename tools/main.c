/* ductwatch: the front command. `ductwatch run` starts the whole pipeline;
 * log, alerts and view talk to a running one; report reads a recorded
 * session; other words pass through to the stage programs. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "log.h"
#include "tool.h"

static void usage(void)
{
    printf(
"Usage: ductwatch COMMAND [options]\n"
"\n"
"Commands:\n"
"  run       start the whole pipeline (simulator by default) and watch it\n"
"  log KIND  log an event: feed-start, feed-end, thermometer VALUE, ice-pack,\n"
"            heat-pack, shower, garment-on, garment-off, symptom,\n"
"            pump-start, pump-end\n"
"  alerts    follow alerts as they are raised, updated and cleared\n"
"  view      live view of both breasts, zone by zone\n"
"  report FILE.h5   an HTML report of a recorded session (alerts, heat maps,\n"
"            time series, data loss); default output FILE.html\n"
"  recover FILE.h5   make a session file from a crashed writer readable\n"
"  keygen NAME       write a CURVE key pair for tcp:// endpoints\n"
"  broker ...        relay streams between machines (docs/security.md)\n"
"  acquire|detect|record|sim ...   run ductwatch-<name> with these arguments\n"
"\n"
"'ductwatch COMMAND --help' describes each command. Exit status: 0 success,\n"
"1 runtime failure, 2 bad usage.\n");
}

int main(int argc, char **argv)
{
    static const char *const passthrough[] = { "acquire", "detect", "record", "sim",
                                                 "keygen", "broker" };
    const char *cmd;

    dw_log_init(DW_TOOL);
    if (argc < 2)
        dw_usage_error(DW_TOOL, "missing command (run, log, alerts, view, report, recover)");
    cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage();
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
