/* Strict number parsers for command lines and config values: the whole
 * string must be a number in [min, max]. 0 or -EINVAL. */
#pragma once
#include <stdint.h>

int dw_parse_double(const char *s, double min, double max, double *out);
/* Decimal digits only ("010" is ten; no sign, no space, no "0x"). */
int dw_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
