/* ductwatch info: what a session file holds, at a glance (like `ros2 bag
 * info`): device, span on the garment's clock and the calendar, rows, rate,
 * loss, events by kind, alerts by rule and level, size. Reads the headers
 * and the small tables only, so it is quick on any file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "duration.h"
#include "dwtime.h"
#include "log.h"
#include "session_format.h"
#include "session_reader.h"
#include "termsafe.h"
#include "tool.h"

static const char *prog = "ductwatch info";

#define MAX_KINDS 32

static void usage(void)
{
    printf(
"Usage: ductwatch info FILE.h5... [--json]\n"
"Says what each session file holds: the garment (device id, firmware), the\n"
"recorder, the span on the garment's clock and in clock time (the session\n"
"start plus the garment's time, UTC), the rows of every table, the announced\n"
"and the measured sample rate, gaps and frames missing, link downs, events by\n"
"kind, alerts by rule and level, the file's size and bytes per hour, and\n"
"whether it was closed. Reads headers and the small tables only.\n"
"\n"
"  -j, --json         one JSON array with an object per file\n"
"  -h, --help         this text\n"
"\n"
"Exit status: 0 every file described, 1 a file is missing, not a ductwatch\n"
"session or unreadable (the others are still described), 2 bad usage.\n");
}

struct count { char name[24]; unsigned raised, updated, cleared, n; };

struct counts { struct count c[MAX_KINDS]; unsigned n; };

static struct count *count_get(struct counts *cs, const char *name)
{
    for (unsigned i = 0; i < cs->n; i++)
        if (!strcmp(cs->c[i].name, name))
            return &cs->c[i];
    if (cs->n == MAX_KINDS)
        return &cs->c[MAX_KINDS - 1]; /* the last one takes the rest */
    snprintf(cs->c[cs->n].name, sizeof(cs->c[0].name), "%s", name);
    return &cs->c[cs->n++];
}

struct info {
    const char *path;
    const struct dw_session_info *in;
    const struct dw_hello *hello;
    long long size;
    uint64_t span_us;
    char clock_from[40], clock_to[40], span[40];
    double rate;                 /* measured, Hz */
    unsigned gaps, link_downs;
    uint64_t missing;
    struct counts events, alerts;
};

static void gather(struct info *fi, struct dw_session_reader *r)
{
    const struct dw_session_info *in = fi->in;
    const struct dw_row_event *ev;
    const struct dw_row_alert *al;
    size_t ne, na;
    int64_t t0;
    fi->span_us = in->t_last_us > in->t_first_us ? in->t_last_us - in->t_first_us : 0;
    t0 = (int64_t)in->start_ns + ((int64_t)in->t_first_us - (int64_t)in->start_device_us) * 1000;
    dw_format_utc((uint64_t)(t0 > 0 ? t0 : 0), fi->clock_from, sizeof(fi->clock_from), 0);
    dw_format_utc((uint64_t)(t0 > 0 ? t0 : 0) + fi->span_us * 1000, fi->clock_to,
                  sizeof(fi->clock_to), 0);
    dw_duration_format(fi->span_us, fi->span, sizeof(fi->span));
    fi->rate = fi->span_us && in->frames > 1 ? (in->frames - 1) / (fi->span_us / 1e6) : 0;
    ev = dw_session_reader_events(r, &ne);
    al = dw_session_reader_alerts(r, &na);
    for (size_t i = 0; i < ne; i++) {
        char kind[DW_S_KIND + 1];
        dw_session_strget(kind, ev[i].kind, sizeof(ev[i].kind));
        count_get(&fi->events, kind)->n++;
        if (!strcmp(kind, "gap")) {
            fi->gaps++;
            fi->missing += ev[i].missing;
        }
        fi->link_downs += !strcmp(kind, "link-down");
    }
    for (size_t i = 0; i < na; i++) {
        char rule[DW_S_RULE + 1], level[DW_S_LEVEL + 1], state[DW_S_STATE + 1], key[24];
        struct count *c;
        dw_session_strget(rule, al[i].rule, sizeof(al[i].rule));
        dw_session_strget(level, al[i].level, sizeof(al[i].level));
        dw_session_strget(state, al[i].state, sizeof(al[i].state));
        snprintf(key, sizeof(key), "%s %s", rule, level);
        c = count_get(&fi->alerts, key);
        c->raised += !strcmp(state, "raised");
        c->updated += !strcmp(state, "updated");
        c->cleared += !strcmp(state, "cleared");
    }
}

static double bytes_per_hour(const struct info *fi)
{
    return fi->span_us ? fi->size / (fi->span_us / 3.6e9) : NAN;
}

/* Text read from the file on its way to the terminal: a file is input, and
 * one written from a hostile peer's messages could hold escape sequences
 * (termsafe.h). cap is at least 4 × the longest text + 1. */
static const char *term(const char *s, char *buf, size_t cap)
{
    dw_term_safe(s, strlen(s), buf, cap);
    return buf;
}

static void print_text(const struct info *fi)
{
    const struct dw_session_info *in = fi->in;
    char a[256], b[256], c[256];
    printf("%s\n", fi->path);
    printf("  device:   %s, firmware %s, recorded by %s, format %d\n",
           term(in->device_id, a, sizeof(a)), term(in->firmware, b, sizeof(b)),
           term(in->software_version, c, sizeof(c)), in->format_version);
    printf("  start:    %s\n", term(in->session_start, a, sizeof(a)));
    printf("  span:     %s garment time (%.2f h), %s to %s clock time\n", fi->span,
           fi->span_us / 3.6e9, fi->clock_from, fi->clock_to);
    printf("  rows:     %llu frames, %llu hello, %llu status, %llu events, %llu alerts, "
           "%llu stats\n", (unsigned long long)in->frames, (unsigned long long)in->hellos,
           (unsigned long long)in->status, (unsigned long long)in->events,
           (unsigned long long)in->alerts, (unsigned long long)in->stats);
    printf("  rate:     %u Hz announced, %.2f Hz measured, %u zones\n",
           fi->hello->sample_rate_hz, fi->rate, fi->hello->n_zones);
    printf("  loss:     %u gap%s, %llu frames missing, link down %u time%s\n", fi->gaps,
           fi->gaps == 1 ? "" : "s", (unsigned long long)fi->missing, fi->link_downs,
           fi->link_downs == 1 ? "" : "s");
    printf("  events:  ");
    for (unsigned i = 0; i < fi->events.n; i++)
        printf(" %s %u%s", term(fi->events.c[i].name, a, sizeof(a)), fi->events.c[i].n,
               i + 1 < fi->events.n ? "," : "");
    printf("%s\n  alerts:  ", fi->events.n ? "" : " none");
    for (unsigned i = 0; i < fi->alerts.n; i++)
        printf(" %s raised %u (updated %u, cleared %u)%s",
               term(fi->alerts.c[i].name, a, sizeof(a)), fi->alerts.c[i].raised,
               fi->alerts.c[i].updated, fi->alerts.c[i].cleared, i + 1 < fi->alerts.n ? ";" : "");
    printf("%s\n  file:     %lld bytes, %.0f bytes per hour%s\n", fi->alerts.n ? "" : " none",
           fi->size, bytes_per_hour(fi),
           in->swmr_open ? "; NOT CLOSED: still being written, or its writer was killed" : "");
}

static cJSON *json_counts(const struct counts *cs, bool alerts)
{
    cJSON *o = cJSON_CreateObject();
    for (unsigned i = 0; o && i < cs->n; i++) {
        if (!alerts) {
            cJSON_AddNumberToObject(o, cs->c[i].name, cs->c[i].n);
            continue;
        }
        cJSON *a = cJSON_AddObjectToObject(o, cs->c[i].name);
        cJSON_AddNumberToObject(a, "raised", cs->c[i].raised);
        cJSON_AddNumberToObject(a, "updated", cs->c[i].updated);
        cJSON_AddNumberToObject(a, "cleared", cs->c[i].cleared);
    }
    return o;
}

/* Times in us of garment time and ISO strings: no number above 2^53. */
static cJSON *json_info(const struct info *fi)
{
    const struct dw_session_info *in = fi->in;
    cJSON *o = cJSON_CreateObject(), *rows;
    cJSON_AddStringToObject(o, "file", fi->path);
    cJSON_AddStringToObject(o, "device", in->device_id);
    cJSON_AddStringToObject(o, "firmware", in->firmware);
    cJSON_AddStringToObject(o, "software_version", in->software_version);
    cJSON_AddNumberToObject(o, "format_version", in->format_version);
    cJSON_AddStringToObject(o, "session_start", in->session_start);
    cJSON_AddNumberToObject(o, "t_first_device_us", (double)in->t_first_us);
    cJSON_AddNumberToObject(o, "t_last_device_us", (double)in->t_last_us);
    cJSON_AddNumberToObject(o, "span_s", fi->span_us / 1e6);
    cJSON_AddStringToObject(o, "clock_from", fi->clock_from);
    cJSON_AddStringToObject(o, "clock_to", fi->clock_to);
    rows = cJSON_AddObjectToObject(o, "rows");
    cJSON_AddNumberToObject(rows, "frames", (double)in->frames);
    cJSON_AddNumberToObject(rows, "hellos", (double)in->hellos);
    cJSON_AddNumberToObject(rows, "status", (double)in->status);
    cJSON_AddNumberToObject(rows, "events", (double)in->events);
    cJSON_AddNumberToObject(rows, "alerts", (double)in->alerts);
    cJSON_AddNumberToObject(rows, "stats", (double)in->stats);
    cJSON_AddNumberToObject(o, "rate_hz", fi->hello->sample_rate_hz);
    cJSON_AddNumberToObject(o, "rate_measured_hz", fi->rate);
    cJSON_AddNumberToObject(o, "zones", fi->hello->n_zones);
    cJSON_AddNumberToObject(o, "gaps", fi->gaps);
    cJSON_AddNumberToObject(o, "frames_missing", (double)fi->missing);
    cJSON_AddNumberToObject(o, "link_downs", fi->link_downs);
    cJSON_AddItemToObject(o, "events", json_counts(&fi->events, false));
    cJSON_AddItemToObject(o, "alerts", json_counts(&fi->alerts, true));
    cJSON_AddNumberToObject(o, "file_bytes", (double)fi->size);
    if (fi->span_us)
        cJSON_AddNumberToObject(o, "bytes_per_hour", round(bytes_per_hour(fi)));
    else
        cJSON_AddNullToObject(o, "bytes_per_hour");
    cJSON_AddBoolToObject(o, "closed", !in->swmr_open);
    return o;
}

/* One file: described on stdout (or added to arr). 0 or -1 (said). */
static int one_file(const char *path, cJSON *arr)
{
    char err[DW_SESSION_ERR_MAX];
    struct dw_session_reader *r;
    struct info fi;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "%s: %s is a directory, not a ductwatch session file\n", prog, path);
        return -1;
    }
    if (dw_session_reader_open(&r, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    memset(&fi, 0, sizeof(fi));
    fi.path = path;
    fi.in = dw_session_reader_info(r);
    fi.hello = dw_session_reader_hello(r);
    fi.size = stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
    gather(&fi, r);
    if (arr)
        cJSON_AddItemToArray(arr, json_info(&fi));
    else
        print_text(&fi);
    dw_session_reader_close(r);
    return 0;
}

/* One line of JSON, on its way to a terminal: cJSON escapes the C0
 * characters in strings, dw_term_safe_json also DEL, C1 and bytes that are
 * not UTF-8 (texts from the file; termsafe.h), and the JSON means the same. */
static void print_json(cJSON *arr)
{
    char *s = cJSON_PrintUnformatted(arr);
    size_t len = s ? strlen(s) : 0;
    char *safe = s ? malloc(len * 6 + 1) : NULL;
    if (safe) {
        dw_term_safe_json(s, len, safe, len * 6 + 1);
        puts(safe);
    } else {
        dw_err("out of memory");
    }
    free(safe);
    free(s);
    cJSON_Delete(arr);
}

int dw_cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    bool json = false;
    int ch, status = DW_EXIT_OK;
    cJSON *arr = NULL;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = true; break;
        default: dw_cli_std_option(prog, ch, argv, NULL, usage);
        }
    }
    if (optind >= argc)
        dw_usage_error(prog, "missing FILE.h5");
    if (json && !(arr = cJSON_CreateArray())) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return DW_EXIT_FAILURE;
    }
    for (int i = optind; i < argc; i++) {
        if (one_file(argv[i], arr) < 0)
            status = DW_EXIT_FAILURE;
        else if (!json && i + 1 < argc)
            putchar('\n');
    }
    if (arr)
        print_json(arr);
    return status;
}
