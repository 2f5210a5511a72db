#include <string.h>
#include "utf8.h"

size_t dw_utf8_next(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c, min;
    size_t n;

    if (!len)
        return 0;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2; c = p[0] & 0x1f; min = 0x80;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3; c = p[0] & 0x0f; min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4; c = p[0] & 0x07; min = 0x10000;
    } else {
        return 0; /* a continuation byte, 0xc0/0xc1 (overlong) or 0xf5.. */
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

bool dw_utf8_valid(const char *s, size_t len)
{
    uint32_t cp;
    for (size_t i = 0; i < len;) {
        size_t n = dw_utf8_next(s + i, len - i, &cp);
        if (!n || !cp)
            return false;
        i += n;
    }
    return true;
}

size_t dw_utf8_repair(const char *s, size_t len, char *out, size_t cap)
{
    static const char fffd[] = "\xef\xbf\xbd";
    size_t o = 0, bad = 0;
    uint32_t cp;

    for (size_t i = 0; i < len;) {
        size_t n = dw_utf8_next(s + i, len - i, &cp);
        const char *src = s + i;
        size_t w = n;
        bool repaired = !n || !cp;
        if (repaired) {
            src = fffd;
            w = 3;
            n = 1;
        }
        if (o + w >= cap)
            break;
        bad += repaired;
        memcpy(out + o, src, w);
        o += w;
        i += n;
    }
    out[o] = 0;
    return bad;
}
