#include <errno.h>
#include <time.h>
#include "dwtime.h"

static uint64_t now(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t dw_now_realtime_ns(void) { return now(CLOCK_REALTIME); }
uint64_t dw_now_monotonic_ns(void) { return now(CLOCK_MONOTONIC); }

void dw_format_utc(uint64_t ns, char *buf, unsigned len, int compact)
{
    time_t s = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, len, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void dw_sleep_until_monotonic(uint64_t t_ns, volatile sig_atomic_t *stop)
{
    struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000u),
                           .tv_nsec = (long)(t_ns % 1000000000u) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        if (stop && *stop)
            return;
}
