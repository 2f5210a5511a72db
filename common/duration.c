#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "duration.h"

int dw_duration_parse_us(const char *s, uint64_t *out_us)
{
    char *end;
    double v, mult;

    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return -EINVAL;
    if (!strcmp(end, "") || !strcmp(end, "s"))
        mult = 1e6;
    else if (!strcmp(end, "ms"))
        mult = 1e3;
    else if (!strcmp(end, "m"))
        mult = 60e6;
    else if (!strcmp(end, "h"))
        mult = 3600e6;
    else if (!strcmp(end, "d"))
        mult = 86400e6;
    else
        return -EINVAL;
    v *= mult;
    if (v >= 1.8e19)
        return -EINVAL;
    /* Not llround(): its long long overflows above 2^63 (about 292000 years
     * in us), which this range allows. */
    *out_us = (uint64_t)(v + 0.5);
    return 0;
}

void dw_duration_format(uint64_t us, char *buf, unsigned len)
{
    uint64_t s = us / 1000000;
    unsigned d = (unsigned)(s / 86400);
    if (d)
        snprintf(buf, len, "%ud %02u:%02u:%02u", d, (unsigned)(s / 3600 % 24),
                 (unsigned)(s / 60 % 60), (unsigned)(s % 60));
    else
        snprintf(buf, len, "%02u:%02u:%02u", (unsigned)(s / 3600), (unsigned)(s / 60 % 60),
                 (unsigned)(s % 60));
}
