/* Parsing and printing of user-given durations ("90", "15m", "72h",
 * "1.5d"). */
#pragma once
#include <stdint.h>

/* Parses a duration into microseconds. A bare number means seconds.
 * Suffixes: s, m, h, d (and ms); several terms from the largest unit down,
 * each unit once, add up ("1h30m", "1d12h", "2m30s"). Returns 0 or -EINVAL
 * (empty, negative, junk, a unit twice or out of order, overflow). */
int dw_duration_parse_us(const char *s, uint64_t *out_us);
/* Formats microseconds as "3d 04:05:06" style, for people. */
void dw_duration_format(uint64_t us, char *buf, unsigned len);
