/* Inside the report library: what a session report shows (docs/report.md),
 * gathered in one pass over the session files, then written as one
 * self-contained HTML page with inline SVG.
 *
 *   report.c        the entry points (dw_report.h): finding the files
 *   report_data.c   the pass: series, moments, detection re-run, tables
 *   report_html.c   the page: its order, the recording, tables
 *   report_findings.c  episodes: the summary box, the clinician's findings
 *   report_svg.c    the pictures: charts over time and zone heat maps
 *   report_text.c   words and times shared by both (clock, rules, units)
 *   html.c          the escaping every file string goes through */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "config.h"
#include "dw_report.h"
#include "frame.h"
#include "session_reader.h"

/* Time series buckets: at most this many; two neighbours merge when the
 * session runs longer than the first estimate, so a report has between half
 * and all of them. Each keeps min, max and mean, so a one-sample spike
 * survives the downsampling. */
#define DW_REPORT_MAX_BUCKETS 1600
/* Heat maps drawn: start, end and this many raised alerts. */
#define DW_REPORT_MAX_ALERT_MOMENTS 48

enum dw_report_qty { DW_RQ_TEMP = 0, DW_RQ_PRES = 1, DW_RQ_COUNT };

struct dw_report_bucket {
    float min, max;
    double sum;
    uint32_t n;
};

enum dw_moment_kind { DW_MOMENT_START, DW_MOMENT_ALERT, DW_MOMENT_END };

/* The zones at one moment: the first sample at or after it (for an alert,
 * at or after its device time), and what the rules saw then. */
struct dw_report_moment {
    enum dw_moment_kind kind;
    size_t alert;               /* DW_MOMENT_ALERT: index in the alerts table */
    bool filled;
    bool placed;                /* the alert row's place in the stream was reached */
    unsigned epoch;             /* garment clock of the sample (restarts seen) */
    uint64_t elapsed_us;        /* of the sample shown */
    double temp[DW_MAX_ZONES], pres[DW_MAX_ZONES]; /* NaN: no valid value */
    /* The rules' quantities (detector.h): warmth against neighbours and
     * baseline dL (degrees C), firmness ratio R; NaN where they had none. */
    double dl[DW_MAX_ZONES], r[DW_MAX_ZONES];
    /* the rules paused in that minute (a feed or shower window): the last
     * value they had, at most 3 h old */
    bool dl_last[DW_MAX_ZONES], r_last[DW_MAX_ZONES];
};

struct dw_report_progress {
    dw_report_progress_fn fn;   /* NULL: none */
    void *user;
    int last;                   /* last percentage passed on */
};

struct dw_report_file {
    char *path;
    struct dw_session_info info;
    struct dw_hello hello;
    long long size;
    long long mtime_ns;
};

struct dw_report {
    struct dw_report_request req;
    struct dw_report_file *files;  /* in time order */
    size_t n_files;
    const char **paths;            /* files[i].path, for dw_report_files */
    const char *path;              /* the file being read */
    bool written;                  /* dw_report_write ran */

    struct dw_session_info info;   /* of the first file */
    struct dw_hello hello;
    unsigned nz;
    struct dw_detect_config cfg;
    char config_name[256];         /* "" for the built-in defaults */
    uint64_t replay_raised;        /* clinical alerts the detection re-run raised */
    uint64_t file_raised;          /* ... and the files hold (all of them) */

    /* Session time: the garment's clock since the first record read,
     * continuous across files and garment restarts. clock0_ns is the clock
     * time (ns since the epoch) of session time 0: the first file's start
     * plus the garment's time since then. */
    int64_t clock0_ns;
    bool window_from, window_to;   /* the request's bounds, when given: */
    int64_t from_clock_ns, to_clock_ns; /* in clock time */
    uint64_t from_us, to_us;       /* in session time (once clock0 is known) */

    /* Buckets [qty][zone * max_buckets + b] of bucket_us, from origin_us. */
    struct dw_report_bucket *bk[DW_RQ_COUNT];
    unsigned n_buckets;            /* buckets in use */
    uint64_t bucket_us, origin_us;
    bool have_origin;
    /* Per zone: every raw value counted, for exact medians. */
    uint32_t *hist[DW_RQ_COUNT];   /* [zone * 65536 + raw index] */
    uint64_t hist_n[DW_RQ_COUNT][DW_MAX_ZONES];
    double median[DW_RQ_COUNT][DW_MAX_ZONES]; /* NaN when no valid value */
    double vmin[DW_RQ_COUNT][DW_MAX_ZONES], vmax[DW_RQ_COUNT][DW_MAX_ZONES];

    uint64_t samples;              /* SAMPLE records drawn */
    uint64_t start_us, end_us;     /* session time of the first and last drawn sample */
    uint64_t first_sample_ns, last_sample_ns; /* their host receive times */

    /* The tables of every file in the window, with each row's session time. */
    struct dw_row_event *events;
    uint64_t *event_elapsed;
    size_t n_events, cap_events;
    struct dw_row_alert *alerts;
    uint64_t *alert_elapsed;
    bool *alert_cut;               /* the message filled its file's column: cut there */
    size_t n_alerts, cap_alerts;
    struct dw_row_stats *stats;
    size_t n_stats, cap_stats;

    struct dw_report_moment *moments;
    size_t n_moments;
    size_t alerts_not_drawn;       /* raised alerts beyond DW_REPORT_MAX_ALERT_MOMENTS */

    struct dw_report_progress progress;
};

/* report_data.c: reads every file into rep. 0, -EINTR when *stop became
 * set, or a negative errno with the reason in err. */
int dw_report_collect(struct dw_report *rep, volatile sig_atomic_t *stop,
                      char *err, size_t errcap);
/* Frees what dw_report_collect allocated (not rep itself). */
void dw_report_free(struct dw_report *rep);

/* report_html.c: the page. 0 or -EIO (write error on f). */
int dw_report_write_html(const struct dw_report *rep, FILE *f);

/* report_svg.c */
void dw_report_chart(FILE *f, const struct dw_report *rep, enum dw_report_qty q, unsigned side);
void dw_report_chart_legend(FILE *f);
/* Both breasts (only_side -1), or one (DW_SIDE_LEFT, DW_SIDE_RIGHT). */
void dw_report_heatmap(FILE *f, const struct dw_report *rep, const struct dw_report_moment *m,
                       enum dw_report_qty q, int only_side);
void dw_report_scale_legend(FILE *f, const struct dw_report *rep, enum dw_report_qty q);

/* report_text.c: times and words */
enum dw_clock_style {
    DW_CLOCK_FULL,     /* "Tue 3 Dec 2026, 14:05" */
    DW_CLOCK_SHORT,    /* "Tue 3 Dec 14:05" */
    DW_CLOCK_HM,       /* "14:05" */
    DW_CLOCK_DAY,      /* "Tue 3 Dec" */
    DW_CLOCK_ISO,      /* "2026-12-03 14:05:10 +0100" */
};
/* Clock time of a session time (local time zone, ns since the epoch). */
int64_t dw_report_clock_ns(const struct dw_report *rep, uint64_t elapsed_us);
void dw_report_format_clock(int64_t ns, enum dw_clock_style style, char *buf, size_t cap);
/* "t+1d 13:55:02": the garment's time since the session's first record. */
void dw_report_format_device(uint64_t elapsed_us, char *buf, size_t cap);
/* "1 day 4 h", "35 min": a span for people. */
void dw_report_format_span(uint64_t us, char *buf, size_t cap);
/* <span class="when" title="device time ...">clock</span> */
void dw_report_when(FILE *f, const struct dw_report *rep, uint64_t elapsed_us,
                    enum dw_clock_style style);

/* A rule's plain name ("Possible blocked milk duct"), the unit of its
 * value ("degC", "x", "kPa", "", ...), and the configuration sections its
 * parameters live in (NULL-terminated). */
const char *dw_report_rule_title(const char *rule);
const char *dw_report_rule_unit(const char *rule);
const char *const *dw_report_rule_sections(const char *rule);
/* 0..3 for "L0".."L3", -1 otherwise. */
int dw_report_level(const char *level);
/* What to do and when to call, in plain words, for a finding of this
 * rule at this level (docs/detection.md, escalation). */
const char *dw_report_advice(const char *rule, int level);
const char *dw_report_level_when(int level);
/* Clinical findings (not sensor, garment or information rules). */
bool dw_report_rule_clinical(const char *rule);
/* Information rows, folded away by default (H1). */
bool dw_report_rule_info(const char *rule);
/* The quantity a rule is about (temperature for warmth, pressure for
 * firmness); -1 for neither. */
int dw_report_rule_qty(const char *rule);

/* A fixed-width field of the file as a C string. */
#define DW_FIELD(buf, fld) dw_session_strget((buf), (fld), sizeof(fld))
