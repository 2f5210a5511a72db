#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "dwtime.h"
#include "events_rep.h"

int dw_events_rep_setup(void *rep)
{
    int64_t max = DW_EVENTS_WIRE_MAX;
    return zmq_setsockopt(rep, ZMQ_MAXMSGSIZE, &max, sizeof(max)) < 0 ? -errno : 0;
}

void dw_events_rep_serve(void *rep, struct dw_acquire *a)
{
    char req[DW_EVENTS_REQ_MAX + 1], reply[512];
    int more = 0, n;
    size_t ml = sizeof(more);

    /* A subscriber that arrived meanwhile gets its replay before the
     * event goes out live. */
    dw_acquire_check_subscriptions(a, dw_now_monotonic_ns());
    n = zmq_recv(rep, req, sizeof(req) - 1, ZMQ_DONTWAIT);
    if (n < 0)
        return;
    /* Only the first part counts; REP must still read them all. */
    while (zmq_getsockopt(rep, ZMQ_RCVMORE, &more, &ml) == 0 && more) {
        char junk[64];
        zmq_recv(rep, junk, sizeof(junk), ZMQ_DONTWAIT);
    }
    if ((size_t)n > sizeof(req) - 1)
        snprintf(reply, sizeof(reply), "{\"ok\":false,\"error\":\"request too long\"}");
    else
        dw_acquire_user_event(a, req, (size_t)n, dw_now_realtime_ns(), dw_now_monotonic_ns(),
                              reply, sizeof(reply));
    zmq_send(rep, reply, strlen(reply), ZMQ_DONTWAIT);
}
