#include <errno.h>
#include <string.h>
#include "frame.h"
#include "msg_frame.h"

ssize_t dw_msg_frame_pack(const struct dw_msg_frame *m, uint8_t *out, size_t cap)
{
    size_t n = DW_MSG_FRAME_HDR + m->len;
    if (cap < n)
        return -ENOBUFS;
    out[0] = DW_MSG_VERSION;
    out[1] = m->type;
    dw_put_le16(out + 2, m->len);
    dw_put_le32(out + 4, m->device_seq);
    dw_put_le64(out + 8, m->seq);
    dw_put_le64(out + 16, m->stream);
    dw_put_le64(out + 24, m->t_device_us);
    dw_put_le64(out + 32, m->t_host_ns);
    if (m->len)
        memcpy(out + DW_MSG_FRAME_HDR, m->payload, m->len);
    return (ssize_t)n;
}

int dw_msg_frame_parse(const uint8_t *b, size_t len, struct dw_msg_frame *m)
{
    if (len < DW_MSG_FRAME_HDR || b[0] != DW_MSG_VERSION)
        return -EBADMSG;
    m->version = b[0];
    m->type = b[1];
    m->len = dw_get_le16(b + 2);
    if (len != DW_MSG_FRAME_HDR + (size_t)m->len)
        return -EBADMSG;
    m->device_seq = dw_get_le32(b + 4);
    m->seq = dw_get_le64(b + 8);
    m->stream = dw_get_le64(b + 16);
    m->t_device_us = dw_get_le64(b + 24);
    m->t_host_ns = dw_get_le64(b + 32);
    m->payload = b + DW_MSG_FRAME_HDR;
    return 0;
}
