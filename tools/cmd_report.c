/* ductwatch report: one garment's session files as one self-contained
 * HTML page (docs/report.md; the page is the report/ library). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "dw_report.h"
#include "dwtime.h"
#include "log.h"
#include "output.h"
#include "tool.h"

static const char *prog = "ductwatch report";
static volatile sig_atomic_t stop;

/* Files with more records than this say how far the reading is. */
#define PROGRESS_RECORDS 500000u

static void usage(void)
{
    printf(
"Usage: ductwatch report FILE.h5...|DIR... [-o REPORT.html] [--from T] [--to T]\n"
"                        [--device ID] [--config FILE]\n"
"Writes one self-contained HTML page about one garment's recorded session,\n"
"from one session file, several (a session rotated into files), or every\n"
"session file in a directory, with the garment's time continuous across\n"
"them: first a summary (what was seen, where, since when, what to do, when\n"
"to call), then for a clinician the recording, the findings (rule, level\n"
"history, values with units, parameters, ruleset) and every alert row; zone\n"
"charts over clock time, heat maps coloured by what the rules compare, the\n"
"data-loss record and the events. No script, nothing fetched: it opens in any\n"
"browser, offline. A file still being recorded, or left by a recorder that\n"
"was killed, is reported as far as it was saved.\n"
"\n"
"  -o, --output FILE  where to write (default: the first session file with\n"
"                     .h5 replaced by .html; '-' writes to stdout). Written\n"
"                     whole or not at all.\n"
"      --from T       start of the window: local clock time 2026-12-03T14:00\n"
"                     (or with Z or +01:00), +D after the first sample (+6h),\n"
"                     or -D before the last one (-24h)\n"
"      --to T         end of the window, the same forms\n"
"  -d, --device ID    the garment, when the files hold several\n"
"  -c, --config FILE  detection configuration the heat maps are computed with\n"
"                     (default: the built-in defaults, as ductwatch.conf ships)\n"
"  -q, --quiet        errors only (no progress on stderr)\n"
"  -v, --verbose      more log output\n"
"  -h, --help         this text\n"
"\n"
"Progress goes to stderr for inputs of more than %u records.\n"
"Exit status: 0 report written, 1 a file is missing, not a ductwatch session\n"
"or unreadable, no session is left in the window, or the report cannot be\n"
"written, 2 bad usage.\n",
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

static void on_progress(const char *path, unsigned pct, void *user)
{
    dw_tool_progress_show(user, path, pct);
}

static bool is_input(const struct dw_report *rep, const char *out)
{
    const char *const *paths;
    char real[PATH_MAX];
    size_t n = dw_report_files(rep, &paths);
    if (!realpath(out, real))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(paths[i], real))
            return true;
    return false;
}

struct report_opts {
    struct dw_report_request req;
    const char *out;
    int level;
};

static void parse_args(struct report_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        { "output", required_argument, NULL, 'o' },
        { "from", required_argument, NULL, 'F' },
        { "to", required_argument, NULL, 'T' },
        { "device", required_argument, NULL, 'd' },
        { "config", required_argument, NULL, 'c' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":o:d:c:vqh", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': o->out = optarg; break;
        case 'F':
            if (dw_report_parse_bound(optarg, &o->req.from) < 0)
                dw_usage_error(prog, "bad --from '%s' (e.g. 2026-12-03T14:00, +6h, -24h)", optarg);
            break;
        case 'T':
            if (dw_report_parse_bound(optarg, &o->req.to) < 0)
                dw_usage_error(prog, "bad --to '%s' (e.g. 2026-12-04T08:00, +30h, -1h)", optarg);
            break;
        case 'd': o->req.device = optarg; break;
        case 'c': o->req.config = optarg; break;
        case 'v': case 'q': dw_tool_verbosity(&o->level, ch); break;
        case 'h': usage(); exit(DW_EXIT_OK);
        default: dw_usage_bad_option(prog, ch, argv);
        }
    }
    if (optind >= argc)
        dw_usage_error(prog, "missing FILE.h5 or DIR");
    if (o->out && !o->out[0])
        dw_usage_error(prog, "--output needs a file name");
    o->req.paths = (const char *const *)argv + optind;
    o->req.n_paths = (size_t)(argc - optind);
}

/* One file named: FILE.html beside it, as named; otherwise beside the
 * first session file. */
static const char *output_path(const struct report_opts *o, const struct dw_report *rep,
                               char *buf, size_t cap)
{
    const char *const *paths;
    struct stat sb;
    if (o->out)
        return o->out;
    if (o->req.n_paths == 1 && stat(o->req.paths[0], &sb) == 0 && !S_ISDIR(sb.st_mode))
        default_output(o->req.paths[0], buf, cap);
    else if (dw_report_files(rep, &paths))
        default_output(paths[0], buf, cap);
    return buf;
}

/* The page into f, then into place. 0 or -1 (said). */
static int write_page(struct dw_report *rep, FILE *f, const char *out, bool to_stdout,
                      const char *tmp, int level)
{
    char err[DW_REPORT_ERR_MAX] = "";
    struct dw_tool_progress pr;
    int e;
    dw_tool_progress_init(&pr, prog);
    if (level >= DW_LOG_INFO && dw_report_records(rep) > PROGRESS_RECORDS)
        dw_report_set_progress(rep, on_progress, &pr);
    e = dw_report_write(rep, f, err, sizeof(err));
    if (e == -EINTR) {
        fprintf(stderr, "%s: interrupted; no report written\n", prog);
        return -1;
    }
    if (e < 0 && e != -EIO) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    if (e < 0 || fflush(f) != 0 || (!to_stdout && fsync(fileno(f)) < 0)) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, to_stdout ? "stdout" : out,
                strerror(errno));
        return -1;
    }
    if (!to_stdout && rename(tmp, out) < 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, out, strerror(errno));
        return -1;
    }
    return 0;
}

int dw_cmd_report(int argc, char **argv)
{
    struct report_opts o = { .level = DW_LOG_INFO };
    char out_default[PATH_MAX + 8], tmp[PATH_MAX + 16], err[DW_REPORT_ERR_MAX] = "";
    const char *out;
    int e, status = DW_EXIT_FAILURE;
    struct dw_report *rep = NULL;
    bool to_stdout;
    FILE *f = NULL;

    parse_args(&o, argc, argv);
    dw_log_set_level(o.level);
    dw_install_stop_signals(&stop);
    tmp[0] = 0;
    o.req.stop = &stop;
    o.req.generated_ns = dw_now_realtime_ns();
    if ((e = dw_report_open(&rep, &o.req, err, sizeof(err))) < 0) {
        fprintf(stderr, "%s: %s%s\n", prog, err,
                e == -ENOTUNIQ ? "; choose one with --device ID" : "");
        goto out;
    }
    out = output_path(&o, rep, out_default, sizeof(out_default));
    to_stdout = !strcmp(out, "-");
    /* Refuse to overwrite a session (FILE without .h5 and -o FILE). */
    if (!to_stdout && is_input(rep, out)) {
        fprintf(stderr, "%s: the report would overwrite %s\n", prog, out);
        goto out;
    }
    /* Before the long part: a report that cannot be written fails now. */
    if (to_stdout) {
        f = stdout;
    } else if (!(f = dw_tool_open_temp(out, tmp, sizeof(tmp), &e))) {
        tmp[0] = 0;
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, out, strerror(e));
        goto out;
    }
    if (write_page(rep, f, out, to_stdout, tmp, o.level) < 0)
        goto out;
    if (!to_stdout) {
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
