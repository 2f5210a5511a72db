/* Watching that the pipeline is still there (pipewatch.h). */
#include <stdio.h>
#include <string.h>
#include "dwtime.h"
#include "pipewatch.h"
#include "tool.h"

#define CHECK_EVERY_NS 2000000000ull

void dw_pipewatch_init(struct dw_pipewatch *w, const char *const *eps, unsigned n,
                       uint64_t silence_ns)
{
    memset(w, 0, sizeof(*w));
    for (unsigned i = 0; i < n && i < DW_PIPEWATCH_MAX; i++)
        w->eps[w->n++] = eps[i];
    w->silence_ns = silence_ns;
}

void dw_pipewatch_heard(struct dw_pipewatch *w, uint64_t now_ns)
{
    w->last_msg_ns = now_ns;
}

static bool gone(const struct dw_pipewatch *w)
{
    bool any_ipc = false;
    for (unsigned i = 0; i < w->n; i++) {
        if (strncmp(w->eps[i], "ipc://", 6))
            continue;
        any_ipc = true;
        if (dw_tool_endpoint_listening(w->eps[i]))
            return false;
    }
    if (any_ipc)
        return true;
    /* tcp:// alone: only silence tells */
    return false;
}

int dw_pipewatch_check(struct dw_pipewatch *w, uint64_t now_ns)
{
    bool stopped;
    if (now_ns < w->next_check_ns)
        return 0;
    w->next_check_ns = now_ns + CHECK_EVERY_NS;
    stopped = gone(w) ||
              (w->silence_ns && w->last_msg_ns && now_ns - w->last_msg_ns > w->silence_ns);
    if (!stopped)
        w->was_up = true;
    if (stopped == w->stopped)
        return 0;
    w->stopped = stopped;
    if (stopped)
        w->stopped_since_ns = dw_now_realtime_ns() -
            (w->last_msg_ns && now_ns > w->last_msg_ns ? now_ns - w->last_msg_ns : 0);
    return stopped ? -1 : 1;
}

void dw_pipewatch_describe(const struct dw_pipewatch *w, uint64_t now_ns, char *buf,
                           unsigned cap)
{
    char since[40];
    if (!w->last_msg_ns) {
        snprintf(buf, cap, "the pipeline %s (nothing listens on %s); waiting for it to %s",
                 w->was_up ? "has stopped" : "is not running", w->n ? w->eps[0] : "its endpoints",
                 w->was_up ? "come back" : "start");
        return;
    }
    dw_format_utc(w->stopped_since_ns, since, sizeof(since), 0);
    snprintf(buf, cap, "the pipeline has stopped: nothing from it since %s (%.0f s ago); "
             "waiting for it to come back", since, (now_ns - w->last_msg_ns) / 1e9);
}
