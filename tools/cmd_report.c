/* ductwatch report: one session file as one self-contained HTML page
 * (docs/report.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "log.h"
#include "dw_report.h"
#include "dwtime.h"
#include "tool.h"

static const char *prog = "ductwatch report";
static volatile sig_atomic_t stop;

/* Files with more records than this say how far the reading is. */
#define PROGRESS_RECORDS 500000u

static void usage(void)
{
    printf(
"Usage: ductwatch report FILE.h5 [-o REPORT.html]\n"
"Writes one self-contained HTML page about a recorded session: summary,\n"
"alerts as recorded, zone heat maps at the start, at each alert and at the\n"
"end, per-zone temperature and pressure over time with events and alerts\n"
"marked, and the data-loss record. No script, nothing fetched: it opens in\n"
"any browser, offline. A file still being recorded, or left by a recorder\n"
"that was killed, is reported as far as it was saved.\n"
"\n"
"  -o, --output FILE  where to write (default: FILE.h5 with .h5 replaced by\n"
"                     .html; '-' writes to stdout). Written whole or not at all.\n"
"  -q, --quiet        errors only (no progress on stderr)\n"
"  -v, --verbose      more log output\n"
"  -h, --help         this text\n"
"\n"
"Progress goes to stderr for files of more than %u records.\n"
"Exit status: 0 report written, 1 the file is missing, not a ductwatch\n"
"session or unreadable, or the report cannot be written, 2 bad usage.\n",
           PROGRESS_RECORDS);
}

static void default_output(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (n > 3 && !strcmp(in + n - 3, ".h5"))
        snprintf(out, cap, "%.*s.html", (int)(n - 3), in);
    else
        snprintf(out, cap, "%s.html", in);
}

/* A temporary file next to the output, renamed over it once complete. */
static FILE *open_temp(const char *out, char *tmp, size_t cap, int *err)
{
    const char *slash = strrchr(out, '/');
    int fd;
    FILE *f;
    if (slash)
        snprintf(tmp, cap, "%.*s/.%s.XXXXXX", (int)(slash - out), out, slash + 1);
    else
        snprintf(tmp, cap, ".%s.XXXXXX", out);
    fd = mkstemp(tmp);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    f = fdopen(fd, "w");
    if (!f) {
        *err = errno;
        close(fd);
        unlink(tmp);
    }
    return f;
}

/* On a terminal one line redrawn in place; otherwise a line every 10 %. */
struct progress { bool tty; int last; };

static void on_progress(const char *path, unsigned pct, void *user)
{
    struct progress *p = user;
    if (p->tty) {
        fprintf(stderr, "\r%s: reading %s: %3u%%", prog, path, pct);
        if (pct == 100)
            fputc('\n', stderr);
    } else if ((int)pct / 10 != p->last / 10) {
        fprintf(stderr, "%s: reading %s: %u%%\n", prog, path, pct / 10 * 10);
    }
    p->last = (int)pct;
}

int dw_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        { "output", required_argument, NULL, 'o' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    char out_default[PATH_MAX + 8], tmp[PATH_MAX + 16], err[DW_REPORT_ERR_MAX] = "";
    const char *in, *out = NULL;
    int level = DW_LOG_INFO, ch, e, status = DW_EXIT_FAILURE;
    struct progress pr = { .last = -1 };
    struct dw_report_request req = { 0 };
    struct dw_report *rep = NULL;
    bool to_stdout;
    FILE *f = NULL;

    opterr = 0;
    tmp[0] = 0;
    while ((ch = getopt_long(argc, argv, ":o:vqh", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'v': case 'q': dw_tool_verbosity(&level, ch); break;
        case 'h': usage(); return DW_EXIT_OK;
        default: dw_usage_bad_option(prog, ch, argv);
        }
    }
    if (optind >= argc)
        dw_usage_error(prog, "missing FILE.h5");
    if (optind + 1 < argc)
        dw_usage_error(prog, "unexpected argument '%s' (one FILE.h5 per report)", argv[optind + 1]);
    in = argv[optind];
    if (out && !out[0])
        dw_usage_error(prog, "--output needs a file name");
    dw_log_set_level(level);
    dw_install_stop_signals(&stop);
    if (!out) {
        default_output(in, out_default, sizeof(out_default));
        out = out_default;
    }
    to_stdout = !strcmp(out, "-");

    req.path = in;
    req.stop = &stop;
    req.generated_ns = dw_now_realtime_ns();
    if (dw_report_open(&rep, &req, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto out;
    }
    /* Refuse to overwrite the session itself (FILE without .h5 and -o FILE). */
    if (!to_stdout && !strcmp(in, out)) {
        fprintf(stderr, "%s: the report would overwrite %s\n", prog, in);
        goto out;
    }
    /* Before the long part: a report that cannot be written fails now. */
    if (to_stdout) {
        f = stdout;
    } else if (!(f = open_temp(out, tmp, sizeof(tmp), &e))) {
        tmp[0] = 0;
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, out, strerror(e));
        goto out;
    }
    if (level >= DW_LOG_INFO && dw_report_records(rep) > PROGRESS_RECORDS) {
        pr.tty = isatty(STDERR_FILENO);
        /* the request was copied at open: progress goes through the report */
        dw_report_set_progress(rep, on_progress, &pr);
    }
    e = dw_report_write(rep, f, err, sizeof(err));
    if (e == -EINTR) {
        fprintf(stderr, "%s: interrupted; no report written\n", prog);
        goto out;
    }
    if (e < 0 && e != -EIO) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto out;
    }
    if (e < 0 || fflush(f) != 0 || (!to_stdout && fsync(fileno(f)) < 0)) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, to_stdout ? "stdout" : out,
                strerror(errno));
        goto out;
    }
    if (!to_stdout) {
        e = fclose(f);
        f = NULL;
        if (e != 0 || rename(tmp, out) < 0) {
            fprintf(stderr, "%s: cannot write %s: %s\n", prog, out, strerror(errno));
            goto out;
        }
        tmp[0] = 0;
        dw_info("report: %s", out);
    }
    status = DW_EXIT_OK;
out:
    if (f && f != stdout)
        fclose(f);
    if (tmp[0])
        unlink(tmp);
    dw_report_close(rep);
    return status;
}
