/* GET /sessions/<file>.html: the report of a recorded session (report/,
 * docs/report.md), made on demand on a thread of its own while the
 * request's connection waits suspended, and cached next to the file as
 * <file>.html until the session file changes. One report is made at a
 * time; a few more may wait. */
#pragma once
#include "api.h"

#define DW_REPORT_JOBS_MAX 4

struct dw_report_jobs;
struct dw_report_job;

struct dw_report_jobs *dw_report_jobs_new(void);
/* Asks running reports to stop and waits for every job to end. */
void dw_report_jobs_stop(struct dw_report_jobs *j);
void dw_report_jobs_free(struct dw_report_jobs *j);
/* Suspends conn and starts the job; NULL (nothing suspended) when too many
 * wait or no thread can start. */
struct dw_report_job *dw_report_job_start(struct dw_report_jobs *j, const char *dir,
                                          const char *h5name, void *conn);
/* The answer, once the connection is resumed: a page or an error. */
void dw_report_job_result(struct dw_report_job *job, struct dw_web_resp *r);
void dw_report_job_free(struct dw_report_job *job);
