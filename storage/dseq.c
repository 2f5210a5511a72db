#include "dseq.h"
#include "seqtrack.h"

void dw_dseq_message(struct dw_dseq *d, int64_t res, uint64_t seq)
{
    if (res == DW_SEQ_RESTART) {
        d->bridging = d->known && seq == 1;
        d->bridge_from = d->next;
        d->bridge_known = 0;
        d->known = false;
    } else if (res > 0) {
        /* messages of the stream lost here: the device seq cannot be followed */
        d->known = false;
        d->bridging = false;
    }
}

uint32_t dw_dseq_frame(struct dw_dseq *d, uint32_t device_seq)
{
    uint32_t lost = 0;
    if (d->bridging) {
        /* Negative when the garment restarted its count (a reboot): nothing
         * can be said then. */
        int64_t rel = (int64_t)(int32_t)(device_seq - d->bridge_from) - d->bridge_known;
        lost = rel > 0 ? (uint32_t)rel : 0;
        d->bridging = false;
    }
    d->known = true;
    d->next = device_seq + 1;
    return lost;
}

int64_t dw_dseq_garment_event(struct dw_dseq *d)
{
    if (d->known)
        return d->next++;
    if (d->bridging)
        d->bridge_known++;
    return -1;
}

void dw_dseq_gap(struct dw_dseq *d, uint64_t missing)
{
    if (d->known)
        d->next += (uint32_t)missing;
    else if (d->bridging)
        /* the new acquire's own count (frames before its first HELLO) */
        d->bridge_known += (uint32_t)missing;
}
