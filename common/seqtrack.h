/* Sequence tracking on the subscriber side (docs/messages.md section 8):
 * gaps, repeats from acquire's backlog replay, a restarted publisher. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct dw_seq_tracker {
    bool started;
    uint64_t stream;
    uint64_t last;
    uint64_t received;   /* messages accepted */
    uint64_t gaps;       /* gap occurrences */
    uint64_t missing;    /* messages missing in total */
    uint64_t duplicates; /* replayed or repeated messages dropped */
    uint64_t restarts;   /* a new stream id appeared (publisher restarted) */
};

enum dw_seq_result { DW_SEQ_OK = 0, DW_SEQ_DUP = -1, DW_SEQ_RESTART = -2 };
/* Returns the number of messages missing before this one (>= 0; 0 = in
 * order), DW_SEQ_DUP (drop it: already seen) or DW_SEQ_RESTART (a new stream;
 * accept it). */
int64_t dw_seq_check(struct dw_seq_tracker *t, uint64_t stream, uint64_t seq);
