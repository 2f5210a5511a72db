/* Small helpers shared by the benchmark programs in bench/ (see
 * docs/performance.md): strict option values, percentiles, and the one
 * machine-readable result line bench/run parses. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One option of a benchmark program, for dw_bench_parse_args: its long
 * name (without "--") and where its value goes. Write them with the
 * DW_BENCH_OPT_* macros, which check the pointer's type; end the table
 * with { 0 }. */
enum dw_bench_opt_kind {
    DW_BENCH_OPT_KIND_STR,      /* const char *: the argument itself */
    DW_BENCH_OPT_KIND_FLAG,     /* bool: true when given, no argument */
    DW_BENCH_OPT_KIND_U64,      /* uint64_t: a whole number in [umin, umax] */
    DW_BENCH_OPT_KIND_DOUBLE,   /* double: a number in [dmin, dmax] */
    DW_BENCH_OPT_KIND_DURATION, /* uint64_t: microseconds (dw_duration_parse_us) */
};

struct dw_bench_opt {
    const char *name;
    enum dw_bench_opt_kind kind;
    union {
        const char **str;
        bool *flag;
        uint64_t *u64;
        double *dbl;
    } to;
    uint64_t umin, umax;
    double dmin, dmax;
};

#define DW_BENCH_OPT_STR(name, p) { (name), DW_BENCH_OPT_KIND_STR, { .str = (p) }, 0, 0, 0, 0 }
#define DW_BENCH_OPT_FLAG(name, p) { (name), DW_BENCH_OPT_KIND_FLAG, { .flag = (p) }, 0, 0, 0, 0 }
#define DW_BENCH_OPT_U64(name, p, min, max)                                              \
    { (name), DW_BENCH_OPT_KIND_U64, { .u64 = (p) }, (min), (max), 0, 0 }
#define DW_BENCH_OPT_DOUBLE(name, p, min, max)                                           \
    { (name), DW_BENCH_OPT_KIND_DOUBLE, { .dbl = (p) }, 0, 0, (min), (max) }
#define DW_BENCH_OPT_DURATION(name, p)                                                   \
    { (name), DW_BENCH_OPT_KIND_DURATION, { .u64 = (p) }, 0, 0, 0, 0 }

/* At most this many options in a table (besides --help and --version). */
#define DW_BENCH_MAX_OPTS 32

/* Parses argv by the table opts: each value checked and stored, or a
 * usage error naming the option (exit 2); besides, -h/--help (usage(),
 * exit 0) and -V/--version (exit 0); an unknown option, a missing value or
 * an operand left over is a usage error. Options not given keep the value
 * the caller set before. */
void dw_bench_parse_args(const char *prog, int argc, char **argv,
                         const struct dw_bench_opt *opts, void (*usage)(void));

/* Sorts v in place and returns the p-quantile (0..1, nearest rank); 0 for
 * an empty array. */
uint64_t dw_bench_quantile(uint64_t *v, size_t n, double p);

/* Prints "json: {...}" on stdout from a printf-style object body, e.g.
 * dw_bench_result("\"fps\":%.0f", fps), and flushes. */
void dw_bench_result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The reference garment's HELLO payload (16 zones) for device id dev. */
ssize_t dw_bench_hello_payload(const char *dev, unsigned rate_hz, uint8_t *out, size_t cap);

/* A healthy SAMPLE payload (16 zones, about 34.5 C, no alert ever fires
 * on it) that varies with i and with the device number. */
ssize_t dw_bench_sample_payload(uint64_t i, unsigned device, uint8_t *out, size_t cap);
