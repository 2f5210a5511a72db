#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "parse_num.h"

int dw_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    double v;
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || end == s || !isfinite(v) || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

int dw_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}
