/* frame.<dev> bodies: a garment frame as acquire publishes it, a 40-byte
 * little-endian header and the wire payload (docs/messages.md section 3). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DW_MSG_VERSION 1
#define DW_MSG_FRAME_HDR 40

struct dw_msg_frame {
    uint8_t version;
    uint8_t type;          /* DW_FRAME_HELLO, _SAMPLE or _STATUS */
    uint16_t len;
    uint32_t device_seq;
    uint64_t seq;          /* stream sequence */
    uint64_t stream;       /* stream id */
    uint64_t t_device_us;
    uint64_t t_host_ns;
    const uint8_t *payload;
};

ssize_t dw_msg_frame_pack(const struct dw_msg_frame *m, uint8_t *out, size_t cap);
int dw_msg_frame_parse(const uint8_t *body, size_t len, struct dw_msg_frame *m);
