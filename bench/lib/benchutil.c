/* Helpers for the benchmark programs (bench/lib/benchutil.h). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "benchutil.h"
#include "cli.h"
#include "frame.h"
#include "layout.h"
#include "parse_num.h"

uint64_t dw_bench_opt_u64(const char *prog, const char *opt, const char *val,
                          uint64_t min, uint64_t max)
{
    uint64_t v;
    if (dw_parse_u64(val, min, max, &v) < 0)
        dw_usage_error(prog, "%s wants a whole number from %llu to %llu, not '%s'", opt,
                       (unsigned long long)min, (unsigned long long)max, val);
    return v;
}

double dw_bench_opt_double(const char *prog, const char *opt, const char *val,
                           double min, double max)
{
    double v;
    if (dw_parse_double(val, min, max, &v) < 0)
        dw_usage_error(prog, "%s wants a number from %g to %g, not '%s'", opt, min, max, val);
    return v;
}

void dw_bench_opt_other(const char *prog, int ch, char **argv, void (*usage)(void))
{
    switch (ch) {
    case 'h': usage(); exit(DW_EXIT_OK);
    case 'V': dw_print_version(prog); exit(DW_EXIT_OK);
    default: dw_usage_bad_option(prog, ch, argv);
    }
}

void dw_bench_no_operands(const char *prog, int argc, char **argv)
{
    dw_usage_no_operands(prog, argc, argv);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t dw_bench_quantile(uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_u64);
    size_t k = (size_t)(p * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

void dw_bench_result(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("json: {", stdout);
    vprintf(fmt, ap);
    fputs("}\n", stdout);
    va_end(ap);
    fflush(stdout);
}

ssize_t dw_bench_hello_payload(const char *dev, unsigned rate_hz, uint8_t *out, size_t cap)
{
    struct dw_hello h;
    dw_layout_default(&h, dev, "bench-1", rate_hz < 1 ? 1 : rate_hz > 1000 ? 1000 : rate_hz);
    return dw_hello_pack(&h, out, cap);
}

ssize_t dw_bench_sample_payload(uint64_t i, unsigned device, uint8_t *out, size_t cap)
{
    struct dw_sample s = { .n_zones = DW_DEFAULT_ZONES };
    for (unsigned z = 0; z < s.n_zones; z++) {
        s.temp[z] = (int16_t)(3440 + (i * 7 + z * 13 + device) % 16);
        s.pressure[z] = (uint16_t)(800 + (i * 3 + z + device) % 40);
    }
    s.ambient[0] = s.ambient[1] = 2500;
    s.accel[2] = 1000;
    return dw_sample_pack(&s, out, cap);
}
