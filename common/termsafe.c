#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "termsafe.h"
#include "utf8.h"

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Appends w bytes if they fit with the NUL; false when full. */
static bool put(char *out, size_t cap, size_t *o, const char *p, size_t w)
{
    if (*o + w >= cap)
        return false;
    memcpy(out + *o, p, w);
    *o += w;
    return true;
}

static size_t escape(const char *s, size_t len, char *out, size_t cap, bool json)
{
    size_t o = 0;
    uint32_t cp;

    for (size_t i = 0; i < len;) {
        char esc[16];
        size_t n = dw_utf8_next(s + i, len - i, &cp);
        bool ok;
        if (n && !is_control(cp)) {
            ok = put(out, cap, &o, s + i, n);
        } else {
            if (!n)
                snprintf(esc, sizeof(esc), json ? "\\ufffd" : "\\x%02x", (unsigned char)s[i]);
            else
                snprintf(esc, sizeof(esc), json || cp > 0x7f ? "\\u%04x" : "\\x%02x",
                         (unsigned)cp);
            ok = put(out, cap, &o, esc, strlen(esc));
            n = n ? n : 1;
        }
        if (!ok)
            break;
        i += n;
    }
    out[o] = 0;
    return o;
}

size_t dw_term_safe(const char *s, size_t len, char *out, size_t cap)
{
    return escape(s, len, out, cap, false);
}

size_t dw_term_safe_json(const char *s, size_t len, char *out, size_t cap)
{
    return escape(s, len, out, cap, true);
}
