/* What a session file holds last of each stream it records: acquire's
 * (samples, HELLOs, STATUS, acquire's events and /stats rows share one
 * sequence) and detect's (alerts). Used to go on from a file without
 * writing a message twice: compaction appending to a session file, and a
 * record worker resuming from its durable consumer (docs/storage.md
 * section 11, docs/operations.md). */
#pragma once
#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

struct dw_session_tail {
    uint64_t seq, thost;   /* acquire's stream: its last message's seq, host time */
    uint64_t aseq, athost; /* detect's stream: its last alert's */
};

/* Reads the tail of the open session file f: 0, or -1 when a table could
 * not be read. A file without rows gives zeros. */
int dw_session_tail_read(hid_t f, struct dw_session_tail *tl);

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
