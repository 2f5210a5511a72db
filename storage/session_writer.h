/* Writes one device session to an HDF5 file in SWMR mode (docs/storage.md).
 *
 * Everything the file will ever hold (groups, datasets, attributes) is
 * created first, then SWMR writing starts; rows are buffered in memory and
 * appended in blocks by dw_session_writer_flush(), which the caller runs at
 * least once a second. Any HDF5 or system failure makes the writer failed:
 * every later call returns the same error, and closing it keeps what was
 * written before. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "msg.h"
#include "session_format.h"

struct dw_session_writer;

struct dw_session_start {
    const char *path;        /* must not exist yet; created 0600 (as it is shown) */
    const char *name;        /* if set: created as name under dir_fd instead
                              * (dw_session_file_create), path only shown */
    int dir_fd;
    const uint8_t *hello;    /* the HELLO payload as on the wire */
    size_t hello_len;
    uint64_t t_host_ns;      /* session start, host clock (ns since the epoch) */
    uint64_t t_device_us;    /* session start, device clock */
    uint64_t stream;         /* stream id when the file started */
    const char *reason;      /* "first-hello", "rotation", "hello-changed" */
    const char *previous;    /* file this one continues (rotation), or NULL */
    unsigned chunk_rows;     /* rows per /frames chunk; 0 = default (30 s of rows, 16..4096) */
    const char *compacted_from; /* if set: the fleet file this one is compacted from
                                 * (root attribute of that name), and these: */
    const char *compacted_fleet_files; /* the fleet files compacted into it */
    uint64_t fleet_period_start_ns, fleet_period_ns; /* the fleet period it holds */
    bool defer_sync;         /* close flushes but does not fsync: the caller syncs
                              * the file system once for many files (compaction) */
};

struct dw_session_counts {
    uint64_t frames;   /* SAMPLE rows */
    uint64_t hellos, status, events, alerts, stats;
    uint64_t gaps;     /* events of kind "gap" (garment or stream) */
    uint64_t missing;  /* their missing counts, summed */
};

/* Creates the file. 0 or a negative errno with a one-line reason in err. */
int dw_session_writer_create(struct dw_session_writer **out, const struct dw_session_start *s,
                             char *err, size_t errcap);

/* Opens a closed session file to append rows to it (compaction, on a copy
 * that replaces the file once complete): the writer goes on where the
 * file ends (order numbers, each dataset's last chunk rewritten in place
 * with the new rows), with the file's HELLO; the root attribute
 * compacted_fleet_files becomes fleet_files. counts then count the rows
 * appended. 0 or a negative errno with a one-line reason in err. */
struct dw_session_append {
    const char *path;        /* shown */
    const char *name;        /* the file, under dir_fd */
    int dir_fd;
    const char *fleet_files; /* the new value of compacted_fleet_files */
    bool defer_sync;
};
int dw_session_writer_append(struct dw_session_writer **out, const struct dw_session_append *a,
                             char *err, size_t errcap);

/* A frame.<dev> body: SAMPLE to /frames, HELLO to /hellos, STATUS to
 * /device_status. -EBADMSG for a payload that does not fit the file's
 * HELLO (nothing is written). */
int dw_session_writer_frame(struct dw_session_writer *w, const struct dw_msg_frame *m);
/* Table rows; `order` is filled in by the writer. */
int dw_session_writer_event(struct dw_session_writer *w, struct dw_row_event *r);
int dw_session_writer_alert(struct dw_session_writer *w, struct dw_row_alert *r);
int dw_session_writer_stats(struct dw_session_writer *w, struct dw_row_stats *r);

/* Appends every buffered row to the file and flushes it (H5Dflush of each
 * dataset, /frames/seq last), so
 * SWMR readers and a later recovery see it. */
int dw_session_writer_flush(struct dw_session_writer *w);
/* fsync() of the file descriptor (a flush does not reach the disk). */
int dw_session_writer_sync(struct dw_session_writer *w);
/* Flushes, syncs and closes; frees w. Returns 0 or the first error, with its
 * reason in err. counts (optional) gets what the file holds. */
int dw_session_writer_close(struct dw_session_writer *w, struct dw_session_counts *counts,
                            char *err, size_t errcap);

/* Closes the file in HDF5 and keeps everything else (rows in memory, the
 * file, its lock) until dw_session_writer_resume: many writers can then be
 * at work with few HDF5 files open at once (compaction; HDF5 walks every
 * dataset open in the process whenever it closes a file). Nothing may be
 * written in between; close works on a suspended writer too. */
int dw_session_writer_suspend(struct dw_session_writer *w);
int dw_session_writer_resume(struct dw_session_writer *w);
const char *dw_session_writer_path(const struct dw_session_writer *w);
const char *dw_session_writer_error(const struct dw_session_writer *w);
/* true when the file has no name left: deleted while being written (what
 * is written from then on is lost with it). */
bool dw_session_writer_unlinked(const struct dw_session_writer *w);
/* Rows buffered in memory, not yet in the file. */
size_t dw_session_writer_queued(const struct dw_session_writer *w);
void dw_session_writer_counts(const struct dw_session_writer *w, struct dw_session_counts *c);
/* The HELLO payload the file was created with. */
const uint8_t *dw_session_writer_hello(const struct dw_session_writer *w, size_t *len);
