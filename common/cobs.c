#include <errno.h>
#include <stdbool.h>
#include "cobs.h"

/* Canonical COBS (Cheshire & Baker 1999): a block of 254 non-zero bytes has
 * code 0xFF and implies no zero after it; a 0xFF block that ends the input is
 * not followed by an empty block. */
ssize_t dw_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t code_pos = 0, o = 1;
    uint8_t code = 1;
    bool open = true;

    if (cap < 1)
        return -ENOBUFS;
    for (size_t i = 0; i < len; i++) {
        if (!open) {
            if (o >= cap)
                return -ENOBUFS;
            code_pos = o++;
            code = 1;
            open = true;
        }
        if (in[i] == 0) {
            out[code_pos] = code;
            if (o >= cap)
                return -ENOBUFS;
            code_pos = o++;
            code = 1;
            continue;
        }
        if (o >= cap)
            return -ENOBUFS;
        out[o++] = in[i];
        if (++code == 0xff) {
            out[code_pos] = code;
            open = false;
        }
    }
    if (open)
        out[code_pos] = code;
    return (ssize_t)o;
}

ssize_t dw_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;

    while (i < len) {
        uint8_t code = in[i++];
        if (code == 0 || (size_t)(code - 1) > len - i)
            return -EBADMSG;
        for (uint8_t k = 1; k < code; k++) {
            if (in[i] == 0)
                return -EBADMSG;
            if (o >= cap)
                return -ENOBUFS;
            out[o++] = in[i++];
        }
        if (code != 0xff && i < len) {
            if (o >= cap)
                return -ENOBUFS;
            out[o++] = 0;
        }
    }
    return (ssize_t)o;
}
