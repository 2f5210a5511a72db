/* dw.p.<K>.frame.<device> bodies (docs/operations.md): the frames of one
 * garment-second in one JetStream message, so that a 10 Hz garment costs
 * JetStream one message a second instead of ten. Layout: one version byte
 * (DW_FRAME_BATCH_VERSION), then per frame a little-endian u32 length and
 * the frame body exactly as acquire published it (msg_frame.h). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define DW_FRAME_BATCH_VERSION 1

struct dw_frame_batch {
    uint8_t *buf;
    size_t len, cap;
    unsigned n;                  /* frames in it */
    uint64_t stream;             /* of the frames (one stream per batch) */
    uint64_t first_seq, last_seq;
    uint64_t second;             /* device time, whole seconds */
};

/* Appends one frame body (copied); the first sets stream, second and
 * first_seq. 0 or -ENOMEM, -EINVAL (a body that is no frame body). */
int dw_frame_batch_add(struct dw_frame_batch *b, const uint8_t *body, size_t len);
/* Empties the batch (keeps its memory). */
void dw_frame_batch_reset(struct dw_frame_batch *b);
void dw_frame_batch_free(struct dw_frame_batch *b);
/* Reads the next frame body of a batch body p at *off (0 to start; the
 * version byte is checked there): 1 with body and blen, 0 at the end,
 * -EBADMSG for a body that is no batch. Never reads outside (p, len). */
int dw_frame_batch_next(const uint8_t *p, size_t len, size_t *off, const uint8_t **body,
                        size_t *blen);
