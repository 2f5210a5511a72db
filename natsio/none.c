/* jspub.h and jssub.h where libnats was not found at build time: every
 * open says so, nothing else is ever reached. */
#include <stdio.h>
#include "jspub.h"
#include "jssub.h"

#define NOT_BUILT "built without libnats: no NATS (meson option nats)"

struct dw_jspub *dw_jspub_open(const struct dw_jspub_config *c, char *why, size_t cap)
{
    snprintf(why, cap, NOT_BUILT);
    return NULL;
}

int dw_jspub_send(struct dw_jspub *p, const char *subject, const char *msg_id,
                  const void *data, size_t len, volatile sig_atomic_t *stop)
{
    return -1;
}

size_t dw_jspub_retry(struct dw_jspub *p)
{
    return 0;
}

int dw_jspub_finish(struct dw_jspub *p, int64_t timeout_ms)
{
    return 0;
}

void dw_jspub_counters(struct dw_jspub *p, struct dw_jspub_counters *out)
{
}

void dw_jspub_close(struct dw_jspub *p)
{
}

void dw_jspub_library_close(void)
{
}

struct dw_jssub *dw_jssub_open(const struct dw_jssub_config *c, char *why, size_t cap)
{
    snprintf(why, cap, NOT_BUILT);
    return NULL;
}

const char *dw_jssub_name(const struct dw_jssub *s)
{
    return "";
}

bool dw_jssub_resumed(const struct dw_jssub *s)
{
    return false;
}

int dw_jssub_fetch(struct dw_jssub *s, int timeout_ms, struct dw_stream_sub *sub)
{
    return -1;
}

size_t dw_jssub_ack(struct dw_jssub *s,
                    bool (*done)(const char *device, uint64_t handled_ns, void *user),
                    void *user)
{
    return 0;
}

void dw_jssub_counters(const struct dw_jssub *s, struct dw_jssub_counters *out)
{
}

void dw_jssub_close(struct dw_jssub *s)
{
}
