/* Clocks. Processing never uses these for decisions (design: device time
 * only); they stamp host receive times and pace real-time output. */
#pragma once
#include <signal.h>
#include <stdint.h>

uint64_t dw_now_realtime_ns(void);
uint64_t dw_now_monotonic_ns(void);
/* Formats ns since the epoch as ISO 8601 UTC "2026-11-24T18:19:44Z", or as
 * the compact "20261124T181944Z" used in file names. */
void dw_format_utc(uint64_t ns, char *buf, unsigned len, int compact);
/* Sleeps until the monotonic clock reaches t_ns (restarts after signals
 * only if *stop stays 0). */
void dw_sleep_until_monotonic(uint64_t t_ns, volatile sig_atomic_t *stop);
