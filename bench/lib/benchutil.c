/* Helpers for the benchmark programs (bench/lib/benchutil.h). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "benchutil.h"
#include "cli.h"
#include "duration.h"
#include "frame.h"
#include "layout.h"
#include "parse_num.h"

/* The value of option o (spelled opt, "--name") from its argument val. */
static void set_option(const char *prog, const struct dw_bench_opt *o, const char *opt,
                       const char *val)
{
    switch (o->kind) {
    case DW_BENCH_OPT_KIND_STR:
        *o->to.str = val;
        break;
    case DW_BENCH_OPT_KIND_FLAG:
        *o->to.flag = true;
        break;
    case DW_BENCH_OPT_KIND_U64:
        if (dw_parse_u64(val, o->umin, o->umax, o->to.u64) < 0)
            dw_usage_error(prog, "%s wants a whole number from %llu to %llu, not '%s'", opt,
                           (unsigned long long)o->umin, (unsigned long long)o->umax, val);
        break;
    case DW_BENCH_OPT_KIND_DOUBLE:
        if (dw_parse_double(val, o->dmin, o->dmax, o->to.dbl) < 0)
            dw_usage_error(prog, "%s wants a number from %g to %g, not '%s'", opt, o->dmin,
                           o->dmax, val);
        break;
    case DW_BENCH_OPT_KIND_DURATION:
        if (dw_duration_parse_us(val, o->to.u64) < 0)
            dw_usage_error(prog, "%s wants a duration such as 2s or 500ms, not '%s'", opt, val);
        break;
    }
}

/* What getopt_long returned that is none of the table's options. */
static void other_option(const char *prog, int ch, char **argv, void (*usage)(void))
{
    switch (ch) {
    case 'h': usage(); exit(DW_EXIT_OK);
    case 'V': dw_print_version(prog); exit(DW_EXIT_OK);
    default: dw_usage_bad_option(prog, ch, argv);
    }
}

void dw_bench_parse_args(const char *prog, int argc, char **argv,
                         const struct dw_bench_opt *opts, void (*usage)(void))
{
    enum { FIRST = 256 }; /* above every short option's character */
    struct option lo[DW_BENCH_MAX_OPTS + 3];
    size_t n = 0;
    int ch;

    for (; opts[n].name; n++) {
        if (n == DW_BENCH_MAX_OPTS) {
            fprintf(stderr, "%s: more than %d options in the table\n", prog, DW_BENCH_MAX_OPTS);
            abort();
        }
        bool flag = opts[n].kind == DW_BENCH_OPT_KIND_FLAG;
        lo[n] = (struct option){ opts[n].name, flag ? no_argument : required_argument, NULL,
                                 FIRST + (int)n };
    }
    lo[n] = (struct option){ "help", no_argument, NULL, 'h' };
    lo[n + 1] = (struct option){ "version", no_argument, NULL, 'V' };
    lo[n + 2] = (struct option){ 0 };

    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":hV", lo, NULL)) != -1) {
        if (ch >= FIRST && ch < FIRST + (int)n) {
            char opt[64];
            snprintf(opt, sizeof(opt), "--%s", opts[ch - FIRST].name);
            set_option(prog, &opts[ch - FIRST], opt, optarg);
        } else {
            other_option(prog, ch, argv, usage);
        }
    }
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
