/* The garment's device sequence as a subscriber of the acquire stream
 * follows it, for the recorder (docs/storage.md: garment events' device
 * seq, frames lost while acquire restarted). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* SAMPLE, HELLO and STATUS frames carry their device seq, a garment
 * EVENT takes the next one, acquire's gap event skips the frames it
 * says are missing. A restarted acquire counts gaps only from its own first
 * frame on: the frames the killed one had read but not published, and the
 * frame a kill cut in two, fall between the two streams, and only a
 * subscriber that saw both can count them (dw_dseq_frame). */
struct dw_dseq {
    bool known;              /* next is the device seq of the next garment frame */
    uint32_t next;
    bool bridging;           /* a new stream began after a known one... */
    uint32_t bridge_from;    /* ...where the old one would have gone on */
    uint32_t bridge_known;   /* device seqs the new stream accounted before its first frame */
};
/* Every accepted message of the acquire stream: res is dw_seq_check's
 * result for it, seq its stream seq. A gap in the stream loses track; a
 * restart bridges, if this subscriber has the new stream from its start. */
void dw_dseq_message(struct dw_dseq *d, int64_t res, uint64_t seq);
/* A garment frame: returns the number of garment frames lost between the
 * last stream and this one when this is the new stream's first frame. */
uint32_t dw_dseq_frame(struct dw_dseq *d, uint32_t device_seq);
/* A garment EVENT: its device seq, or -1 when not known. */
int64_t dw_dseq_garment_event(struct dw_dseq *d);
/* Acquire's gap event: missing garment frames before the next one. */
void dw_dseq_gap(struct dw_dseq *d, uint64_t missing);
