/* What a session file holds last of each stream it records: acquire's
 * (samples, HELLOs, STATUS, acquire's events and /stats rows share one
 * sequence) and detect's (alerts). Used to go on from a file without
 * writing a message twice: compaction appending to a session file, and a
 * record worker resuming from its durable consumer (docs/storage.md
 * section 11, docs/operations.md). */
#pragma once
#include <hdf5.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "session_format.h"

struct dw_session_tail {
    uint64_t seq, thost;   /* acquire's stream: its last message's seq, host time */
    uint64_t aseq, athost; /* detect's stream: its last alert's */
};

/* Reads the tail of the open session file f: 0, or -1 when a table could
 * not be read. A file without rows gives zeros. */
int dw_session_tail_read(hid_t f, struct dw_session_tail *tl);

/* Folds one row of table t (a session row as in memory: struct dw_row_*)
 * into tl: HELLO and STATUS rows, acquire's events and /stats rows (not the
 * recorder's own) are acquire's stream, alerts detect's. */
void dw_session_tail_row(struct dw_session_tail *tl, enum dw_session_table t, const void *row);
/* Folds a frame row (its seq and host time) into tl. */
void dw_session_tail_frame(struct dw_session_tail *tl, uint64_t seq, uint64_t t_host_ns);
/* Folds every row of table `name` of file f into tl: of a session file
 * (fleet false) into tl[0]; of a fleet file into tl[device index], rows
 * whose index is n or more left out. 0 or -1. */
int dw_session_tail_table(hid_t f, const char *name, enum dw_session_table tt, bool fleet,
                          struct dw_session_tail *tl, size_t n);
/* tl takes the later of itself and o, stream by stream. */
void dw_session_tail_merge(struct dw_session_tail *tl, const struct dw_session_tail *o);

/* Whether a message of acquire's stream (alert false) or detect's (alert
 * true) with this seq and host time is one the file holds already: not
 * later by seq nor by host time. (A restarted publisher numbers from 1
 * again, but at a later host time: its messages are new.) */
static inline bool dw_session_tail_holds(const struct dw_session_tail *tl, bool alert,
                                         uint64_t seq, uint64_t t_host_ns)
{
    return alert ? seq <= tl->aseq && t_host_ns <= tl->athost
                 : seq <= tl->seq && t_host_ns <= tl->thost;
}
