/* Small helpers shared by the benchmark programs in bench/ (see
 * docs/performance.md): strict option values, percentiles, and the one
 * machine-readable result line bench/run parses. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* dw_parse_u64 / dw_parse_double, or a usage error naming the option
 * (exit 2). */
uint64_t dw_bench_opt_u64(const char *prog, const char *opt, const char *val,
                          uint64_t min, uint64_t max);
double dw_bench_opt_double(const char *prog, const char *opt, const char *val,
                           double min, double max);

/* The options every bench program shares, for the default branch of its
 * getopt_long switch: 'h' (usage, exit 0), 'V' (version, exit 0), and
 * getopt's ':' (missing value) and '?' (unknown option) as usage errors. */
void dw_bench_opt_other(const char *prog, int ch, char **argv, void (*usage)(void))
    __attribute__((noreturn));

/* After the getopt loop: a usage error if any operand is left. */
void dw_bench_no_operands(const char *prog, int argc, char **argv);

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
