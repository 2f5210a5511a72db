#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include "sse.h"
#include "strbuf.h"

struct dw_sse_client {
    struct dw_sse *s;
    struct MHD_Connection *conn;
    struct dw_strbuf buf;   /* text not sent yet starts at off */
    size_t off;
    bool suspended, closing;
    struct dw_sse_client *prev, *next;
};

void dw_sse_init(struct dw_sse *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
}

void dw_sse_fini(struct dw_sse *s)
{
    pthread_mutex_destroy(&s->lock);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct dw_sse_client *c = cls;
    ssize_t n = 0;

    pthread_mutex_lock(&c->s->lock);
    if (c->off < c->buf.len) {
        size_t k = c->buf.len - c->off < max ? c->buf.len - c->off : max;
        memcpy(buf, c->buf.p + c->off, k);
        c->off += k;
        if (c->off == c->buf.len) {
            dw_strbuf_reset(&c->buf);
            c->off = 0;
        }
        n = (ssize_t)k;
    } else if (c->closing || c->s->stopping) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        /* nothing to send: sleep until dw_sse_broadcast has some */
        c->suspended = true;
        MHD_suspend_connection(c->conn);
    }
    pthread_mutex_unlock(&c->s->lock);
    return n;
}

static void client_free(void *cls)
{
    struct dw_sse_client *c = cls;
    struct dw_sse *s = c->s;

    pthread_mutex_lock(&s->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n--;
    pthread_mutex_unlock(&s->lock);
    dw_strbuf_free(&c->buf);
    free(c);
}

struct MHD_Response *dw_sse_open(struct dw_sse *s, struct MHD_Connection *conn,
                                 const char *first, size_t len)
{
    struct dw_sse_client *c = calloc(1, sizeof(*c));
    struct MHD_Response *r;

    if (!c)
        return NULL;
    c->s = s;
    c->conn = conn;
    dw_strbuf_put(&c->buf, first, len);
    r = c->buf.oom ? NULL : MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader,
                                                              c, client_free);
    if (!r) {
        dw_strbuf_free(&c->buf);
        free(c);
        return NULL;
    }
    pthread_mutex_lock(&s->lock);
    c->next = s->head;
    if (s->head)
        s->head->prev = c;
    s->head = c;
    s->n++;
    s->opened++;
    pthread_mutex_unlock(&s->lock);
    return r;
}

/* Wakes the clients marked in `wake`: outside the lock, because resuming
 * takes libmicrohttpd's own locks. A client marked here stays suspended
 * (and so alive) until it is resumed. */
static void resume_all(struct MHD_Connection **wake, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        MHD_resume_connection(wake[i]);
}

static void deliver(struct dw_sse *s, const char *text, size_t len, bool stop)
{
    struct MHD_Connection **wake;
    unsigned n = 0;

    pthread_mutex_lock(&s->lock);
    wake = s->n ? malloc(s->n * sizeof(*wake)) : NULL;
    if (stop)
        s->stopping = true;
    for (struct dw_sse_client *c = s->head; c; c = c->next) {
        if (!c->closing && len) {
            if (c->buf.len - c->off + len > DW_SSE_MAX_PENDING) {
                c->closing = true;
                s->cut_off++;
            } else {
                dw_strbuf_put(&c->buf, text, len);
                c->closing = c->buf.oom;
            }
        }
        if (c->suspended && wake) {
            c->suspended = false;
            wake[n++] = c->conn;
        } else if (c->suspended) {
            c->suspended = false; /* out of memory for the list: resume here */
            MHD_resume_connection(c->conn);
        }
    }
    pthread_mutex_unlock(&s->lock);
    resume_all(wake, n);
    free(wake);
}

void dw_sse_broadcast(struct dw_sse *s, const char *text, size_t len)
{
    if (len)
        deliver(s, text, len, false);
}

void dw_sse_stop(struct dw_sse *s)
{
    deliver(s, "", 0, true);
}

unsigned dw_sse_count(struct dw_sse *s)
{
    pthread_mutex_lock(&s->lock);
    unsigned n = s->n;
    pthread_mutex_unlock(&s->lock);
    return n;
}
