/* The session report (docs/report.md) as a library: one self-contained
 * HTML page (inline CSS and SVG, no script, nothing fetched) about a
 * recorded session, for `ductwatch report` and for a server that renders
 * reports on demand. It knows session files and HTML, nothing of a
 * command line: the caller says where the page goes and how progress is
 * shown. */
#pragma once
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Size for error message buffers: a path and a reason. */
#define DW_REPORT_ERR_MAX 5120

/* Reading progress, 0..100, called when the percentage changes. */
typedef void (*dw_report_progress_fn)(const char *path, unsigned percent, void *user);

struct dw_report_request {
    const char *path;              /* the session file */
    uint64_t generated_ns;         /* "made at" in the footer (ns since the epoch);
                                    * 0 leaves it out: the same input then gives
                                    * the same bytes */
    dw_report_progress_fn progress; /* NULL: none */
    void *user;                    /* for progress */
    volatile sig_atomic_t *stop;   /* when set, reading stops with -EINTR */
};

struct dw_report;

/* Opens and checks the input: 0, or a negative errno with a one-line
 * reason in err (-ENOENT, -EISDIR, -EBADF for a file that is not a
 * ductwatch session, -EIO, -ENOMEM). Nothing is read beyond the headers. */
int dw_report_open(struct dw_report **out, const struct dw_report_request *req,
                   char *err, size_t errcap);
/* Records (frames, events, HELLOs, status) the input holds. */
uint64_t dw_report_records(const struct dw_report *rep);
/* Replaces the request's progress callback (e.g. once the size is known). */
void dw_report_set_progress(struct dw_report *rep, dw_report_progress_fn fn, void *user);
/* Reads the whole input and writes the page to f. 0, -EINTR (stopped),
 * -EIO (a write error on f; errno says why) or another negative errno
 * with the reason in err. Call once per open. */
int dw_report_write(struct dw_report *rep, FILE *f, char *err, size_t errcap);
void dw_report_close(struct dw_report *rep);

/* Open, write, close. */
int dw_report_render(const struct dw_report_request *req, FILE *f, char *err, size_t errcap);
/* The same into a malloc'ed buffer (*buf, *len; free() it), for a server
 * that caches pages. */
int dw_report_render_buffer(const struct dw_report_request *req, char **buf, size_t *len,
                            char *err, size_t errcap);
