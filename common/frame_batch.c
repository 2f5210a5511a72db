/* Frame batches: frame_batch.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "frame_batch.h"
#include "msg_frame.h"

static int reserve(struct dw_frame_batch *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 4096;
    uint8_t *p;
    if (more > SIZE_MAX / 2 - b->len)
        return -ENOMEM;
    while (cap < b->len + more)
        cap *= 2;
    if (cap == b->cap)
        return 0;
    if (!(p = realloc(b->buf, cap)))
        return -ENOMEM;
    b->buf = p;
    b->cap = cap;
    return 0;
}

int dw_frame_batch_add(struct dw_frame_batch *b, const uint8_t *body, size_t len)
{
    struct dw_msg_frame f;
    int r;
    if (len > UINT32_MAX || dw_msg_frame_parse(body, len, &f) < 0)
        return -EINVAL;
    if ((r = reserve(b, len + 5)) < 0)
        return r;
    if (!b->n) {
        b->len = 0;
        b->buf[b->len++] = DW_FRAME_BATCH_VERSION;
        b->stream = f.stream;
        b->first_seq = f.seq;
        b->second = f.t_device_us / 1000000;
    }
    dw_put_le32(b->buf + b->len, (uint32_t)len);
    memcpy(b->buf + b->len + 4, body, len);
    b->len += 4 + len;
    b->last_seq = f.seq;
    b->n++;
    return 0;
}

void dw_frame_batch_reset(struct dw_frame_batch *b)
{
    b->len = 0;
    b->n = 0;
}

void dw_frame_batch_free(struct dw_frame_batch *b)
{
    free(b->buf);
    memset(b, 0, sizeof(*b));
}

int dw_frame_batch_next(const uint8_t *p, size_t len, size_t *off, const uint8_t **body,
                        size_t *blen)
{
    uint32_t n;
    if (*off == 0) {
        if (len < 1 || p[0] != DW_FRAME_BATCH_VERSION)
            return -EBADMSG;
        *off = 1;
    }
    if (*off == len)
        return 0;
    if (*off > len || len - *off < 4)
        return -EBADMSG;
    n = dw_get_le32(p + *off);
    if (n > len - *off - 4)
        return -EBADMSG;
    *body = p + *off + 4;
    *blen = n;
    *off += 4 + (size_t)n;
    return 1;
}
