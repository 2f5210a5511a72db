/* Inside the report library: alert rows grouped into episodes, and the
 * parts of the page made of them (report_findings.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "report_int.h"

#define DW_EPISODE_LEVELS 8

/* One alert from its raise to its clear (rows of one id and rule). */
struct dw_episode {
    uint64_t id;
    char rule[16];
    size_t first, last;         /* its raised row, its latest raised/updated row */
    uint64_t raised_us, cleared_us;
    bool cleared;
    double value, peak;         /* at the raise; the largest */
    int level, max_level;       /* latest; highest (0..3, -1 unknown) */
    int levels[DW_EPISODE_LEVELS];
    uint64_t level_us[DW_EPISODE_LEVELS];
    unsigned n_levels;
};

/* The episodes of rep's alert rows, in order of their raise; free() *out.
 * Rows whose raise lies before the window start no episode. 0 or -1. */
int dw_report_episodes(const struct dw_report *rep, struct dw_episode **out, size_t *n);
/* The clinical episodes, most urgent first (at most cap). */
size_t dw_report_headlines(const struct dw_report *rep, const struct dw_episode *ep, size_t n,
                           const struct dw_episode **out, size_t cap);
/* "right breast, upper-inner, outer ring" for an alert row. */
void dw_report_where(FILE *f, const struct dw_row_alert *a);
/* A rule's value with its unit ("x1.42 R", "+0.62 degC (dL)"). */
void dw_report_value(FILE *f, const char *rule, double v);

void dw_report_summary_box(FILE *f, const struct dw_report *rep, const struct dw_episode *ep,
                           size_t n);
void dw_report_findings_table(FILE *f, const struct dw_report *rep, const struct dw_episode *ep,
                              size_t n);
void dw_report_parameters(FILE *f, const struct dw_report *rep, const struct dw_episode *ep,
                          size_t n);
