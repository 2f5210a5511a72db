#include <errno.h>
#include "dwtime.h"
#include "loop.h"

void dw_loop_init(struct dw_loop *l, volatile sig_atomic_t *stop)
{
    l->stop = stop;
    dw_loop_begin(l);
}

void dw_loop_begin(struct dw_loop *l)
{
    l->wake = UINT64_MAX;
}

void dw_loop_wake_at(struct dw_loop *l, uint64_t t_ns)
{
    if (t_ns < l->wake)
        l->wake = t_ns;
}

long dw_loop_timeout_ms(const struct dw_loop *l, uint64_t now_ns)
{
    long cap = l->stop ? DW_LOOP_STOP_CHECK_MS : -1;
    if (l->wake == UINT64_MAX)
        return cap;
    if (l->wake <= now_ns)
        return 0;
    uint64_t ms = (l->wake - now_ns + 999999) / 1000000;
    return cap >= 0 && ms > (uint64_t)cap ? cap : ms > (uint64_t)INT32_MAX ? INT32_MAX : (long)ms;
}

int dw_loop_poll(struct dw_loop *l, zmq_pollitem_t *items, int n)
{
    int r = zmq_poll(items, n, dw_loop_timeout_ms(l, dw_now_monotonic_ns()));
    if (r < 0)
        return errno == EINTR ? 0 : -errno;
    return r;
}

bool dw_loop_stopped(const struct dw_loop *l)
{
    return l->stop && *l->stop;
}
