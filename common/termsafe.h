/* Text from outside (event texts, alert messages, device ids, topics) on
 * its way to a terminal: control characters would move the cursor, clear
 * the screen or retitle the window (ESC sequences), so they are shown
 * escaped instead. Escaped: C0 (U+0000..U+001F), DEL (U+007F) and C1
 * (U+0080..U+009F; 0x9B alone is a CSI on some terminals), as "\xHH" or
 * "\u00HH"; bytes that are not UTF-8 as "\xHH". Everything else passes. */
#pragma once
#include <stddef.h>

/* Copies s[0..len) into out, escaped as above, NUL-terminated and cut at
 * a whole character or escape when cap is short. Returns the length
 * written. cap must be > 0. */
size_t dw_term_safe(const char *s, size_t len, char *out, size_t cap);

/* The same for a JSON text printed on a terminal (`--json` lines): the
 * characters above become \u00HH escapes and invalid bytes \ufffd, so a
 * valid compact JSON text stays valid and means the same, and the line
 * holds no raw control character. */
size_t dw_term_safe_json(const char *s, size_t len, char *out, size_t cap);
