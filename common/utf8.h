/* UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF. Text that enters ductwatch (a
 * garment EVENT's text, a user event on the events endpoint) is checked
 * here before it goes into JSON and session files (docs/messages.md). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the valid sequence at p[0..len), its code point in *cp;
 * 0 when the bytes there are not a valid sequence (or len is 0). */
size_t dw_utf8_next(const char *p, size_t len, uint32_t *cp);

/* true when s[0..len) is valid UTF-8 with no NUL. */
bool dw_utf8_valid(const char *s, size_t len);

/* Copies s[0..len) into out (NUL-terminated, at most cap - 1 bytes), each
 * invalid byte replaced by U+FFFD and the copy cut at a character
 * boundary. Returns the number of replacements. cap must be > 0. */
size_t dw_utf8_repair(const char *s, size_t len, char *out, size_t cap);
