#include "seqtrack.h"

int64_t dw_seq_check(struct dw_seq_tracker *t, uint64_t stream, uint64_t seq)
{
    int64_t missing;

    if (!t->started || stream != t->stream) {
        int restart = t->started;
        t->started = true;
        t->stream = stream;
        t->last = seq;
        t->received++;
        if (restart) {
            t->restarts++;
            return DW_SEQ_RESTART;
        }
        /* The first message seen: anything before it (seq starts at 1) was
         * missed by this subscriber. */
        missing = seq > 1 ? (int64_t)(seq - 1) : 0;
        if (missing) {
            t->gaps++;
            t->missing += (uint64_t)missing;
        }
        return missing;
    }
    if (seq <= t->last) {
        t->duplicates++;
        return DW_SEQ_DUP;
    }
    missing = (int64_t)(seq - t->last - 1);
    if (missing) {
        t->gaps++;
        t->missing += (uint64_t)missing;
    }
    t->last = seq;
    t->received++;
    return missing;
}
