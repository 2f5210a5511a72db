/* Server-Sent Events to the open pages (docs/web.md, "Live updates"): one
 * growing buffer per page, filled by the stream thread and drained by
 * libmicrohttpd's thread through a content-reader callback. A page with
 * nothing to read is a suspended connection (no polling, no busy loop);
 * new text resumes it. A page that falls more than DW_SSE_MAX_PENDING
 * bytes behind is cut off: its browser reconnects and starts again from
 * the current state. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DW_SSE_MAX_PENDING (1u << 20)

struct MHD_Connection;
struct MHD_Response;
struct dw_sse_client;

struct dw_sse {
    pthread_mutex_t lock;
    struct dw_sse_client *head;
    unsigned n;
    uint64_t opened, cut_off;
    bool stopping;
};

void dw_sse_init(struct dw_sse *s);
/* Call after the daemon stopped (no client left then). */
void dw_sse_fini(struct dw_sse *s);
/* A response for a new page that starts with `first` (the current state);
 * NULL when out of memory. The caller queues and destroys it. */
struct MHD_Response *dw_sse_open(struct dw_sse *s, struct MHD_Connection *c, const char *first,
                                 size_t len);
/* The same text to every open page. */
void dw_sse_broadcast(struct dw_sse *s, const char *text, size_t len);
/* Every stream ends (before the daemon stops: no suspended connection may
 * be left then). */
void dw_sse_stop(struct dw_sse *s);
unsigned dw_sse_count(struct dw_sse *s);
