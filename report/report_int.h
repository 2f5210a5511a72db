/* Inside the report library: what a session report shows (docs/report.md),
 * gathered in one pass over a session file, then written as one
 * self-contained HTML page with inline SVG.
 *
 * report.c is the entry point (dw_report.h), report_data.c reads the file
 * (dw_report_collect), report_html.c writes the page (dw_report_write_html). */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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

/* The zone values at one moment: the first sample at or after it (for an
 * alert, at or after its device time). */
struct dw_report_moment {
    enum dw_moment_kind kind;
    size_t alert;               /* DW_MOMENT_ALERT: index in the alerts table */
    bool filled;
    bool placed;                /* the alert row's place in the stream was reached */
    unsigned epoch;             /* garment clock of the sample (restarts seen) */
    uint64_t elapsed_us;        /* of the sample shown */
    uint64_t t_host_ns;
    double temp[DW_MAX_ZONES], pres[DW_MAX_ZONES]; /* NaN: no valid value */
};

struct dw_report_progress {
    dw_report_progress_fn fn;   /* NULL: none */
    void *user;
    int last;                   /* last percentage passed on */
};

struct dw_report {
    const char *path;
    struct dw_report_request req;
    struct dw_session_reader *reader;
    bool written;               /* dw_report_write ran */
    struct dw_session_info info;
    struct dw_hello hello;
    unsigned nz;

    /* Buckets [qty][zone * max_buckets + b], width bucket_us of session time. */
    struct dw_report_bucket *bk[DW_RQ_COUNT];
    unsigned n_buckets;          /* buckets in use */
    uint64_t bucket_us;
    /* Per zone: every raw value counted, for exact session medians. */
    uint32_t *hist[DW_RQ_COUNT]; /* [zone * 65536 + raw index] */
    uint64_t hist_n[DW_RQ_COUNT][DW_MAX_ZONES];
    double median[DW_RQ_COUNT][DW_MAX_ZONES]; /* NaN when no valid value */
    double vmin[DW_RQ_COUNT][DW_MAX_ZONES], vmax[DW_RQ_COUNT][DW_MAX_ZONES];

    uint64_t samples;            /* SAMPLE records read */
    uint64_t elapsed_end_us;     /* session time of the last sample */
    uint64_t first_sample_ns, last_sample_ns;

    /* The small tables, with each row's session time. */
    const struct dw_row_event *events;
    size_t n_events;
    uint64_t *event_elapsed;
    const struct dw_row_alert *alerts;
    size_t n_alerts;
    uint64_t *alert_elapsed;
    const struct dw_row_stats *stats;
    size_t n_stats;

    struct dw_report_moment *moments;
    size_t n_moments;
    size_t alerts_not_drawn;     /* raised alerts beyond DW_REPORT_MAX_ALERT_MOMENTS */

    struct dw_report_progress progress;
};

/* Reads the whole session through r into rep (which the caller zeroed and
 * gave path and progress). Returns 0, -EINTR when *stop became set, or a
 * negative errno with the reason in err. */
int dw_report_collect(struct dw_report *rep, struct dw_session_reader *r,
                      volatile sig_atomic_t *stop, char *err, size_t errcap);
/* Frees what dw_report_collect allocated (not rep itself). */
void dw_report_free(struct dw_report *rep);

/* The page. 0 or -EIO (write error on f). */
int dw_report_write_html(const struct dw_report *rep, FILE *f);
