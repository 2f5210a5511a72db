/* ductwatch export: session files as CSV for a spreadsheet. Per file,
 * FILE-frames.csv (one row per sample, one column per zone and quantity,
 * named by the zone), FILE-events.csv and FILE-alerts.csv, with the
 * garment's time and clock time on every row. Streams the frames (a 3-day
 * file is never in memory) and says how far it is on stderr. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "dwtime.h"
#include "layout.h"
#include "log.h"
#include "output.h"
#include "session_format.h"
#include "session_reader.h"
#include "session_time.h"
#include "tool.h"

static const char *prog = "ductwatch export";
static volatile sig_atomic_t stop;

#define PROGRESS_RECORDS 500000u
#define MAX_EPOCHS 64

static void usage(void)
{
    printf(
"Usage: ductwatch export FILE.h5... --csv DIR [-q]\n"
"Writes each session file as CSV files in DIR (made if missing), named after\n"
"it: NAME-frames.csv, one row per sample: t_device_us (the garment's clock),\n"
"elapsed_s (the garment's time since the file's first record, continued over\n"
"garment restarts), clock_utc (the session start plus that time), then one\n"
"column per zone for temperature_c, pressure_kpa and status, named by the\n"
"zone ('temperature_c left upper-outer inner'), ambient_c per cup and\n"
"accel_g x, y, z; a faulted reading is an empty cell. NAME-events.csv and\n"
"NAME-alerts.csv hold the /events and /alerts rows with the same times.\n"
"Text that a spreadsheet would take for a formula (= + - @ first) gets a '\n"
"in front. Each file is written whole or not at all.\n"
"\n"
"      --csv DIR      where the CSV files go\n"
"  -q, --quiet        errors only (no progress on stderr)\n"
"  -v, --verbose      more log output\n"
"  -h, --help         this text\n"
"\n"
"Progress goes to stderr for files of more than %u records.\n"
"Exit status: 0 every file exported, 1 a file is missing, not a ductwatch\n"
"session or unreadable, or DIR cannot be written, 2 bad usage.\n",
           PROGRESS_RECORDS);
}

/* ---- CSV --------------------------------------------------------------- */

/* A text field and the separator after it (',' or '\n'): quoted when it
 * holds a separator, quote or line break; a leading = + - @ made harmless
 * for spreadsheets. */
static void csv_text(FILE *f, const char *s, size_t width, char sep)
{
    size_t n = strnlen(s, width);
    bool quote = strpbrk(s, ",\"\r\n") && n;
    if (n && strchr("=+-@", s[0]))
        quote = true;
    if (quote)
        fputc('"', f);
    if (n && strchr("=+-@", s[0]))
        fputc('\'', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    if (quote)
        fputc('"', f);
    fputc(sep, f);
}

/* Decimals that show every LSB of a scale (0.01 -> 2). */
static int decimals(uint32_t scale)
{
    int d = 6;
    while (d > 0 && scale % 10 == 0) {
        scale /= 10;
        d--;
    }
    return d;
}

struct times {
    int64_t clock0_ns;           /* clock time of session time 0 */
    struct dw_session_clock clk;
    /* the clock's offset from each row order on (for alert rows) */
    uint64_t epoch_order[MAX_EPOCHS];
    int64_t epoch_offset[MAX_EPOCHS];
    unsigned n_epochs;
};

static void clock_iso(const struct times *t, uint64_t el_us, char *buf, size_t cap)
{
    int64_t ns = t->clock0_ns + (int64_t)el_us * 1000;
    char s[40];
    dw_format_utc((uint64_t)(ns > 0 ? ns : 0), s, sizeof(s), 0);
    /* "...:SSZ" -> "...:SS.mmmZ" */
    snprintf(buf, cap, "%.*s.%03dZ", (int)strlen(s) - 1, s, (int)((ns / 1000000) % 1000));
}

static void row_times(FILE *f, const struct times *t, uint64_t t_us, uint64_t el)
{
    char iso[48];
    clock_iso(t, el, iso, sizeof(iso));
    fprintf(f, "%llu,%.3f,%s", (unsigned long long)t_us, el / 1e6, iso);
}

/* ---- the three files --------------------------------------------------- */

static void frames_header(FILE *f, const struct dw_hello *h)
{
    static const char *const qty[] = { "temperature_c", "pressure_kpa", "status" };
    char name[64];
    fputs("t_device_us,elapsed_s,clock_utc", f);
    for (unsigned q = 0; q < 3; q++)
        for (unsigned z = 0; z < h->n_zones; z++) {
            dw_zone_name(h, z, name, sizeof(name));
            fprintf(f, ",%s %s", qty[q], name);
        }
    fputs(",ambient_c left cup,ambient_c right cup,accel_g x,accel_g y,accel_g z\n", f);
}

static void frame_row(FILE *f, const struct dw_hello *h, const struct dw_sample *s,
                      const struct times *t, uint64_t t_us, uint64_t el)
{
    int dt = decimals(h->temp_scale), dp = decimals(h->pressure_scale);
    int da = decimals(h->accel_scale);
    row_times(f, t, t_us, el);
    for (unsigned z = 0; z < h->n_zones; z++) {
        fputc(',', f);
        if (!(s->status[z] & (DW_ZS_TEMP_FAULT | DW_ZS_TEMP_RAIL)))
            fprintf(f, "%.*f", dt, dw_sample_temp_c(h, s, z));
    }
    for (unsigned z = 0; z < h->n_zones; z++) {
        fputc(',', f);
        if (!(s->status[z] & (DW_ZS_PRES_FAULT | DW_ZS_PRES_SAT)))
            fprintf(f, "%.*f", dp, dw_sample_pressure_kpa(h, s, z));
    }
    for (unsigned z = 0; z < h->n_zones; z++)
        fprintf(f, ",%u", s->status[z]);
    fprintf(f, ",%.*f,%.*f", dt, dw_sample_ambient_c(h, s, 0), dt, dw_sample_ambient_c(h, s, 1));
    for (unsigned a = 0; a < 3; a++)
        fprintf(f, ",%.*f", da, dw_sample_accel_g(h, s, a));
    fputc('\n', f);
}

static void event_row(FILE *f, const struct dw_row_event *e, const struct times *t,
                      uint64_t el)
{
    row_times(f, t, e->t_device_us, el);
    fputc(',', f);
    csv_text(f, e->kind, sizeof(e->kind), ',');
    csv_text(f, e->side, sizeof(e->side), ',');
    if (isfinite(e->value))
        fprintf(f, "%.3f", e->value);
    fprintf(f, ",%llu,", (unsigned long long)e->missing);
    csv_text(f, e->source, sizeof(e->source), ',');
    csv_text(f, e->text, sizeof(e->text), '\n');
}

/* An alert row's session time: its device time on the clock in effect
 * where the row sits in the file's order (as the report places it). */
static uint64_t alert_elapsed(const struct times *t, const struct dw_row_alert *a)
{
    int64_t off = t->n_epochs ? t->epoch_offset[0] : 0, e;
    for (unsigned i = 0; i < t->n_epochs && t->epoch_order[i] <= a->order; i++)
        off = t->epoch_offset[i];
    e = (int64_t)a->t_device_us + off;
    return e > 0 ? (uint64_t)e : 0;
}

static void alerts_csv(FILE *f, const struct dw_row_alert *al, size_t n, const struct times *t)
{
    fputs("t_device_us,elapsed_s,clock_utc,id,rule,level,state,side,zone,zone_name,value,"
          "threshold,ruleset_version,message,params\n", f);
    for (size_t i = 0; i < n; i++) {
        const struct dw_row_alert *a = &al[i];
        row_times(f, t, a->t_device_us, alert_elapsed(t, a));
        fprintf(f, ",%llu,", (unsigned long long)a->id);
        csv_text(f, a->rule, sizeof(a->rule), ',');
        csv_text(f, a->level, sizeof(a->level), ',');
        csv_text(f, a->state, sizeof(a->state), ',');
        csv_text(f, a->side, sizeof(a->side), ',');
        fprintf(f, "%d,", a->zone);
        csv_text(f, a->zone_name, sizeof(a->zone_name), ',');
        fprintf(f, "%.4f,%.4f,", a->value, a->threshold);
        csv_text(f, a->ruleset_version, sizeof(a->ruleset_version), ',');
        csv_text(f, a->message, sizeof(a->message), ',');
        csv_text(f, a->params, sizeof(a->params), '\n');
    }
}

/* ---- one session file -------------------------------------------------- */

struct outputs {
    char path[3][PATH_MAX + 32], tmp[3][PATH_MAX + 48];
    FILE *f[3];
};
enum { O_FRAMES, O_EVENTS, O_ALERTS };

static int open_outputs(struct outputs *o, const char *dir, const char *in)
{
    static const char *const suffix[3] = { "frames", "events", "alerts" };
    const char *base = strrchr(in, '/');
    size_t n;
    int e;
    base = base ? base + 1 : in;
    n = strlen(base);
    if (n > 3 && !strcmp(base + n - 3, ".h5"))
        n -= 3;
    for (int i = 0; i < 3; i++) {
        snprintf(o->path[i], sizeof(o->path[i]), "%s/%.*s-%s.csv", dir, (int)n, base,
                 suffix[i]);
        if (!(o->f[i] = dw_tool_open_temp(o->path[i], o->tmp[i], sizeof(o->tmp[i]), &e))) {
            fprintf(stderr, "%s: cannot write %s: %s\n", prog, o->path[i], strerror(e));
            return -1;
        }
    }
    return 0;
}

static void close_outputs(struct outputs *o)
{
    for (int i = 0; i < 3; i++) {
        if (o->f[i]) {
            fclose(o->f[i]);
            unlink(o->tmp[i]);
        }
    }
}

static int commit_outputs(struct outputs *o)
{
    for (int i = 0; i < 3; i++) {
        FILE *f = o->f[i];
        o->f[i] = NULL;
        if (dw_tool_commit_temp(f, o->tmp[i], o->path[i]) < 0) {
            fprintf(stderr, "%s: cannot write %s: %s\n", prog, o->path[i], strerror(errno));
            unlink(o->tmp[i]);
            return -1;
        }
        dw_info("wrote %s", o->path[i]);
    }
    return 0;
}

/* The records: frames and events rows as they come, in stream order. */
static int stream(struct dw_session_reader *r, const char *path, struct outputs *o,
                  struct times *t, bool show)
{
    const struct dw_session_info *in = dw_session_reader_info(r);
    const struct dw_hello *h = dw_session_reader_hello(r);
    uint64_t total = in->frames + in->events + in->hellos + in->status, n = 0;
    struct dw_tool_progress pr;
    struct dw_session_record *rec = malloc(sizeof(*rec));
    int k = 0;
    if (!rec)
        return -ENOMEM;
    dw_tool_progress_init(&pr, prog);
    t->clk.dt_us = 1000000u / (h->sample_rate_hz ? h->sample_rate_hz : 1);
    while (!stop && (k = dw_session_reader_next(r, rec)) > 0) {
        unsigned epoch = t->clk.epoch;
        uint64_t el;
        if (!t->clk.have)
            t->clock0_ns = (int64_t)in->start_ns +
                           ((int64_t)rec->t_device_us - (int64_t)in->start_device_us) * 1000;
        el = dw_session_clock_step(&t->clk, rec);
        if ((!t->n_epochs || epoch != t->clk.epoch) && t->n_epochs < MAX_EPOCHS) {
            t->epoch_order[t->n_epochs] = rec->order;
            t->epoch_offset[t->n_epochs++] = t->clk.offset;
        }
        if (rec->kind == DW_REC_SAMPLE)
            frame_row(o->f[O_FRAMES], h, &rec->sample, t, rec->t_device_us, el);
        else if (rec->kind == DW_REC_EVENT)
            event_row(o->f[O_EVENTS], &rec->event, t, el);
        if (show && (++n & 0xffff) == 0)
            dw_tool_progress_show(&pr, path, (unsigned)(n * 100 / total));
    }
    if (show && k == 0 && !stop)
        dw_tool_progress_show(&pr, path, 100);
    free(rec);
    if (stop)
        return -EINTR;
    if (k < 0)
        fprintf(stderr, "%s: %s: %s\n", prog, path, dw_session_reader_error(r));
    return k;
}

static int export_file(const char *path, const char *dir, int level)
{
    char err[DW_SESSION_ERR_MAX];
    struct dw_session_reader *r = NULL;
    struct outputs o = { 0 };
    struct times *t = calloc(1, sizeof(*t));
    const struct dw_session_info *in;
    const struct dw_row_alert *al;
    size_t na;
    int e = -1;
    struct stat sb;

    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "%s: %s is a directory, not a ductwatch session file\n", prog, path);
        goto out;
    }
    if (!t || dw_session_reader_open(&r, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", prog, t ? err : "out of memory");
        goto out;
    }
    in = dw_session_reader_info(r);
    if (open_outputs(&o, dir, path) < 0)
        goto out;
    frames_header(o.f[O_FRAMES], dw_session_reader_hello(r));
    fputs("t_device_us,elapsed_s,clock_utc,kind,side,value,missing,source,text\n", o.f[O_EVENTS]);
    e = stream(r, path, &o, t, level >= DW_LOG_INFO &&
               in->frames + in->events + in->hellos + in->status > PROGRESS_RECORDS);
    if (e == -EINTR)
        fprintf(stderr, "%s: interrupted; %s not exported\n", prog, path);
    if (e < 0)
        goto out;
    al = dw_session_reader_alerts(r, &na);
    alerts_csv(o.f[O_ALERTS], al, na, t);
    e = commit_outputs(&o);
out:
    close_outputs(&o);
    dw_session_reader_close(r);
    free(t);
    return e < 0 ? -1 : 0;
}

int dw_cmd_export(int argc, char **argv)
{
    enum { O_CSV = 256 };
    static const struct option opts[] = {
        { "csv", required_argument, NULL, O_CSV },
        DW_CLI_LONGOPTS_VQH,
        { 0 },
    };
    const char *dir = NULL;
    int level = DW_LOG_INFO, ch, status = DW_EXIT_OK;
    struct stat sb;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":vqh", opts, NULL)) != -1) {
        switch (ch) {
        case O_CSV: dir = optarg; break;
        default: dw_cli_std_option(prog, ch, argv, &level, usage);
        }
    }
    if (!dir || !dir[0])
        dw_usage_error(prog, "missing --csv DIR (the only format so far)");
    if (optind >= argc)
        dw_usage_error(prog, "missing FILE.h5");
    dw_log_set_level(level);
    dw_install_stop_signals(&stop);
    /* health data: the directory is the user's own */
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create %s: %s\n", prog, dir, strerror(errno));
        return DW_EXIT_FAILURE;
    }
    if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "%s: %s is not a directory\n", prog, dir);
        return DW_EXIT_FAILURE;
    }
    for (int i = optind; i < argc && !stop; i++)
        if (export_file(argv[i], dir, level) < 0)
            status = DW_EXIT_FAILURE;
    return stop ? DW_EXIT_FAILURE : status;
}
