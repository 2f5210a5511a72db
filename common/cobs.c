#include <errno.h>
#include <stdbool.h>
#include <string.h>
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

ssize_t dw_cobs_decode_block(const uint8_t *in, size_t len, size_t readable, uint8_t *out)
{
    /* Pointers rather than indices: the next code's address is this one's
     * plus the code, one load and one add per code, the chain that decides
     * the speed here. */
    const uint8_t *p = in, *end = in + len, *can_read = in + readable;
    uint8_t *o = out;

    while (p < end) {
        /* Eight codes of 1 in a row, each followed by more of the block:
         * eight zeros (a run of zeros, such as the status bytes of a
         * SAMPLE, would otherwise cost a code each, one after the other). */
        uint64_t w;
        if (end - p > 8 && (memcpy(&w, p, 8), w == 0x0101010101010101u)) {
            memset(o, 0, 8);
            p += 8;
            o += 8;
            continue;
        }
        /* A code of 0 wraps to SIZE_MAX and is caught with a code that
         * runs past the end. */
        size_t run = (size_t)*p++ - 1;
        if (run > (size_t)(end - p))
            return -EBADMSG;
        if ((size_t)(can_read - p) >= run + DW_COBS_SLACK) {
            /* Fixed-size pieces: no call, no size dispatch, a few bytes
             * too many written that the next run overwrites. */
            size_t k = 0;
            do {
                memcpy(o + k, p + k, DW_COBS_SLACK);
                k += DW_COBS_SLACK;
            } while (k < run);
        } else {
            memcpy(o, p, run);
        }
        p += run;
        o += run;
        if (run != 0xfe && p < end)
            *o++ = 0;
    }
    return o - out;
}
