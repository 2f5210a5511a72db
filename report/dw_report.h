/* The session report (docs/report.md) as a library: one self-contained
 * HTML page (inline CSS and SVG, no script, nothing fetched) about one
 * garment's recorded session, from one session file, several, or a
 * directory of them, for `ductwatch report`, `ductwatch run` and a server
 * that renders reports on demand. It knows session files and HTML, nothing
 * of a command line: the caller says where the page goes and how progress
 * is shown.
 *
 * Typical use:
 *     struct dw_report *rep;
 *     if (dw_report_open(&rep, &req, err, sizeof(err)) == 0) {
 *         dw_report_cache_key(rep, key, sizeof(key));   (serve a cached page?)
 *         dw_report_write(rep, f, err, sizeof(err));
 *         dw_report_close(rep);
 *     }
 */
#pragma once
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Size for error message buffers: a path and a reason. */
#define DW_REPORT_ERR_MAX 5120
/* Size for dw_report_cache_key() (hex digits and a NUL). */
#define DW_REPORT_KEY_MAX 33

/* Reading progress, 0..100, called when the percentage changes. */
typedef void (*dw_report_progress_fn)(const char *path, unsigned percent, void *user);

/* One end of the time window a report covers. */
enum dw_report_bound_kind {
    DW_REPORT_OPEN = 0,        /* no bound: from the start / to the end */
    DW_REPORT_AT_CLOCK,        /* ns: clock time, ns since the epoch */
    DW_REPORT_AFTER_START,     /* ns: this long after the first sample */
    DW_REPORT_BEFORE_END,      /* ns: this long before the last sample */
};
struct dw_report_bound {
    enum dw_report_bound_kind kind;
    uint64_t ns;
};

/* "2026-12-03T14:00" or "2026-12-03 14:00:30" (local time), with "Z" or
 * "+01:00" (that offset); "+6h" (after the start); "-24h" (before the
 * end). 0 or -EINVAL. */
int dw_report_parse_bound(const char *s, struct dw_report_bound *out);

struct dw_report_request {
    const char *const *paths;      /* session files and directories of them */
    size_t n_paths;
    const char *device;            /* NULL: the one device the inputs hold */
    struct dw_report_bound from, to;
    const char *config;            /* detection configuration the zone colours are
                                    * computed with; NULL: the built-in defaults */
    uint64_t generated_ns;         /* "made at" in the footer (ns since the epoch);
                                    * 0 leaves it out: the same input then gives
                                    * the same bytes */
    dw_report_progress_fn progress; /* NULL: none */
    void *user;                    /* for progress */
    volatile sig_atomic_t *stop;   /* when set, reading stops with -EINTR */
};

struct dw_report;

/* Finds and checks the input: every session file named or in a named
 * directory (its *.h5 files that are ductwatch sessions), of one device,
 * overlapping the window, in time order. 0, or a negative errno with a
 * one-line reason in err: -ENOENT (a path is missing, or no session file
 * is left), -EISDIR, -EBADF (a named file is not a ductwatch session),
 * -EINVAL (several devices and no request->device; different layouts; a
 * bad configuration), -EIO, -ENOMEM. Nothing is read beyond the headers. */
int dw_report_open(struct dw_report **out, const struct dw_report_request *req,
                   char *err, size_t errcap);
/* The session files the report covers, in time order. */
size_t dw_report_files(const struct dw_report *rep, const char *const **paths);
/* Records (frames, events, HELLOs, status) in those files. */
uint64_t dw_report_records(const struct dw_report *rep);
/* Replaces the request's progress callback (e.g. once the size is known). */
void dw_report_set_progress(struct dw_report *rep, dw_report_progress_fn fn, void *user);
/* A key that changes whenever the page would: the files (path, size,
 * modification time), the request and the software version. */
void dw_report_cache_key(const struct dw_report *rep, char *buf, size_t cap);
/* Reads the input and writes the page to f. 0, -EINTR (stopped), -EIO (a
 * write error on f; errno says why) or another negative errno with the
 * reason in err. Call once per open. */
int dw_report_write(struct dw_report *rep, FILE *f, char *err, size_t errcap);
void dw_report_close(struct dw_report *rep);

/* Open, write, close. */
int dw_report_render(const struct dw_report_request *req, FILE *f, char *err, size_t errcap);
/* The same into a malloc'ed buffer (*buf, *len; free() it), for a server
 * that caches pages. */
int dw_report_render_buffer(const struct dw_report_request *req, char **buf, size_t *len,
                            char *err, size_t errcap);
