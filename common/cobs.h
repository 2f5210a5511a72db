/* Consistent Overhead Byte Stuffing: removes every 0x00 from a block so 0x00
 * can delimit frames on the wire. Overhead is at most 1 byte per 254. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Worst-case encoded size of n bytes (without the trailing delimiter). */
#define DW_COBS_MAX_ENCODED(n) ((n) + (n) / 254 + 1)

/* Encodes len bytes of in into out (capacity cap). Returns the encoded length
 * or -ENOBUFS. The output holds no 0x00 and no delimiter. */
ssize_t dw_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* Decodes len bytes (no delimiter) into out. Returns the decoded length,
 * -EBADMSG on a 0x00 inside or a code that runs past the end, -ENOBUFS if
 * out is too small. out may equal in (decoding never grows). */
ssize_t dw_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* How far dw_cobs_decode_block may write past the decoded bytes. */
#define DW_COBS_SLACK 16

/* Decodes one block that holds no 0x00 (a block as the delimiters cut it)
 * from in into out: the same length and bytes as dw_cobs_decode, or
 * -EBADMSG for a code that runs past the end. Faster: runs are copied in
 * pieces of DW_COBS_SLACK bytes where there is room to read them, so it
 * may read in up to in + readable (readable >= len: bytes after the block
 * that are there to read) and write up to DW_COBS_SLACK bytes past the
 * decoded length: out must hold len + DW_COBS_SLACK bytes and must not
 * overlap in. A 0x00 in the block is not looked for (only one in a code's
 * place is caught). */
ssize_t dw_cobs_decode_block(const uint8_t *in, size_t len, size_t readable, uint8_t *out);
