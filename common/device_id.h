/* What a device id may be (docs/protocol.md, HELLO): 1 to DW_ID_LEN
 * printable ASCII characters 0x21..0x7E other than '/'. Ids name ZeroMQ
 * topics and session files (<dir>/<device>-<time>.h5), so every id that
 * comes from outside (a HELLO, a topic) is checked with this one rule. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* true when s[0..len) is a valid device id (len excludes any NUL). */
bool dw_device_id_valid(const char *s, size_t len);
