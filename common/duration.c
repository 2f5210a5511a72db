#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "duration.h"

/* Units from the largest down; "ms" before "m" so the longer name wins. */
static const struct { const char *name; double us; } units[] = {
    { "d", 86400e6 }, { "h", 3600e6 }, { "ms", 1e3 }, { "m", 60e6 }, { "s", 1e6 },
};
#define N_UNITS (sizeof(units) / sizeof(*units))

/* Rank of a unit for the largest-first order ("ms" ranks below "s"). */
static unsigned unit_rank(size_t i)
{
    static const unsigned rank[N_UNITS] = { 0, 1, 4, 2, 3 };
    return rank[i];
}

/* One term "NUMBER[UNIT]" at *p: its value in us and the unit's index
 * (N_UNITS for a bare number). -EINVAL for junk, a sign or a space. */
static int term(const char **p, double *us, size_t *unit)
{
    const char *s = *p;
    char *end;
    double v;
    if (!((*s >= '0' && *s <= '9') || *s == '.'))
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return -EINVAL;
    *unit = N_UNITS;
    *us = v * 1e6;
    for (size_t i = 0; i < N_UNITS; i++) {
        size_t n = strlen(units[i].name);
        if (!strncmp(end, units[i].name, n)) {
            *unit = i;
            *us = v * units[i].us;
            end += n;
            break;
        }
    }
    *p = end;
    return 0;
}

int dw_duration_parse_us(const char *s, uint64_t *out_us)
{
    double total = 0, us;
    unsigned last_rank = 0;
    size_t unit;
    bool first = true;

    if (!s || !*s)
        return -EINVAL;
    /* "90" (seconds), "15m", or terms from the largest unit down with
     * each unit once: "1h30m", "1d12h", "2m30s". */
    while (*s) {
        if (term(&s, &us, &unit) < 0)
            return -EINVAL;
        if (unit == N_UNITS && !(first && !*s))
            return -EINVAL;
        if (unit < N_UNITS) {
            if (!first && unit_rank(unit) <= last_rank)
                return -EINVAL;
            last_rank = unit_rank(unit);
        }
        total += us;
        first = false;
    }
    if (total >= 1.8e19)
        return -EINVAL;
    /* Not llround(): its long long overflows above 2^63 (about 292000 years
     * in us), which this range allows. */
    *out_us = (uint64_t)(total + 0.5);
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
