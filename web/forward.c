#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "endpoint.h"
#include "forward.h"
#include "jsonw.h"
#include "log.h"
#include "msg_json.h"
#include "security.h"

static int make_socket(struct dw_forward *f)
{
    char why[256];
    if (f->req)
        zmq_close(f->req);
    f->req = dw_zmq_socket(f->ctx, ZMQ_REQ);
    if (!f->req)
        return -errno;
    if (dw_security_connect(f->req, f->endpoint, f->curve_key, f->server_key, f->insecure,
                            why, sizeof(why)) < 0) {
        dw_err("cannot connect to the events endpoint %s: %s", f->endpoint, why);
        zmq_close(f->req);
        f->req = NULL;
        return -EINVAL;
    }
    return 0;
}

int dw_forward_init(struct dw_forward *f, void *ctx, const char *endpoint, const char *curve_key,
                    const char *server_key, bool insecure)
{
    memset(f, 0, sizeof(*f));
    f->ctx = ctx;
    snprintf(f->endpoint, sizeof(f->endpoint), "%s", endpoint);
    f->curve_key = curve_key;
    f->server_key = server_key;
    f->insecure = insecure;
    f->tap_fd = -1;
    f->taps = calloc(DW_FORWARD_TAPS, sizeof(*f->taps));
    f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&f->lock, NULL);
    if (!f->taps || f->wake_fd < 0)
        return -ENOMEM;
    return make_socket(f);
}

void dw_forward_fini(struct dw_forward *f)
{
    if (f->req)
        zmq_close(f->req);
    if (f->wake_fd >= 0)
        close(f->wake_fd);
    if (f->tap_fd >= 0)
        close(f->tap_fd);
    free(f->taps);
    pthread_mutex_destroy(&f->lock);
}

static void wake(struct dw_forward *f)
{
    uint64_t one = 1;
    if (write(f->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        dw_warn("events forwarder: wake-up lost: %s", strerror(errno));
}

static void answer(struct dw_forward *f, struct dw_forward_job *j, unsigned status,
                   bool ok, uint64_t seq, bool dup, const char *error)
{
    struct dw_jsonw w;
    dw_jsonw_init(&w, j->reply, sizeof(j->reply));
    dw_jsonw_begin(&w);
    dw_jsonw_bool(&w, "ok", ok);
    if (ok) {
        dw_jsonw_u64(&w, "seq", seq);
        dw_jsonw_bool(&w, "duplicate", dup);
    } else {
        dw_jsonw_str(&w, "error", error);
    }
    dw_jsonw_end(&w);
    if (!dw_jsonw_text(&w, NULL))
        snprintf(j->reply, sizeof(j->reply), "{\"ok\":false,\"error\":\"reply too long\"}");
    j->status = status;
    if (f->done)
        f->done(j->conn, f->done_user);
}

void dw_forward_submit(struct dw_forward *f, struct dw_forward_job *job)
{
    bool stopping;
    job->next = NULL;
    pthread_mutex_lock(&f->lock);
    stopping = f->stopping;
    if (!stopping) {
        if (f->tail)
            f->tail->next = job;
        else
            f->head = job;
        f->tail = job;
    }
    pthread_mutex_unlock(&f->lock);
    if (stopping)
        answer(f, job, 503, false, 0, false, "the server is stopping");
    else
        wake(f);
}

static struct dw_forward_job *pop(struct dw_forward *f)
{
    pthread_mutex_lock(&f->lock);
    struct dw_forward_job *j = f->head;
    if (j) {
        f->head = j->next;
        if (!f->head)
            f->tail = NULL;
    }
    pthread_mutex_unlock(&f->lock);
    return j;
}

static const struct dw_forward_tap *tap_find(const struct dw_forward *f, const char *id)
{
    for (unsigned i = 0; id[0] && i < f->tap_n; i++)
        if (!strcmp(f->taps[i].id, id))
            return &f->taps[i];
    return NULL;
}

static void tap_remember(struct dw_forward *f, const char *id, uint64_t seq)
{
    struct dw_forward_tap *t = &f->taps[f->tap_head];
    snprintf(t->id, sizeof(t->id), "%s", id);
    t->seq = seq;
    f->tap_head = (f->tap_head + 1) % DW_FORWARD_TAPS;
    if (f->tap_n < DW_FORWARD_TAPS)
        f->tap_n++;
}

static void tap_add(struct dw_forward *f, const char *id, uint64_t seq)
{
    if (!id[0])
        return;
    tap_remember(f, id, seq);
    /* one short write: a crash loses at most the id being written */
    if (f->tap_fd >= 0 && dprintf(f->tap_fd, "%s %" PRIu64 "\n", id, seq) < 0)
        dw_warn("tap ids: %s", strerror(errno));
}

/* The ids of an earlier run, oldest first; the file is written again with
 * only the ones still remembered, so that it never grows past them. */
static int taps_reload(struct dw_forward *f, int fd, const char *path)
{
    char id[DW_WEB_TAP_MAX + 1], tmp[4096 + 8];
    unsigned long long seq;
    FILE *in = fdopen(dup(fd), "r");
    int out;

    if (!in)
        return -errno;
    while (fscanf(in, "%64[A-Za-z0-9_-] %llu\n", id, &seq) == 2)
        tap_remember(f, id, seq);
    fclose(in);
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return -errno;
    for (unsigned i = 0; i < f->tap_n; i++) {
        const struct dw_forward_tap *t =
            &f->taps[(f->tap_head + DW_FORWARD_TAPS - f->tap_n + i) % DW_FORWARD_TAPS];
        dprintf(out, "%s %" PRIu64 "\n", t->id, t->seq);
    }
    if (close(out) < 0 || rename(tmp, path) < 0)
        return -errno;
    return 0;
}

int dw_forward_keep_taps(struct dw_forward *f, const char *path)
{
    struct stat st;
    int r, fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077)) {
        close(fd);
        return -EPERM;
    }
    r = taps_reload(f, fd, path);
    close(fd);
    if (r < 0)
        return r;
    f->tap_fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    return f->tap_fd < 0 ? -errno : 0;
}

int dw_forward_pollitems(struct dw_forward *f, void *items)
{
    zmq_pollitem_t *it = items;
    int n = 0;
    it[n++] = (zmq_pollitem_t){ .fd = f->wake_fd, .events = ZMQ_POLLIN };
    if (f->inflight && f->req)
        it[n++] = (zmq_pollitem_t){ .socket = f->req, .events = ZMQ_POLLIN };
    return n;
}

/* acquire's answer: {"ok":true,"seq":N} or {"ok":false,"error":"..."} */
static void take_reply(struct dw_forward *f, const char *text, size_t len)
{
    struct dw_forward_job *j = f->inflight;
    struct dw_json_doc d;
    uint64_t seq = 0;
    char err[256] = "";

    f->inflight = NULL;
    if (dw_json_open(&d, text, len) < 0) {
        answer(f, j, 502, false, 0, false, "acquisition answered something that is not JSON");
        return;
    }
    const cJSON *ok = dw_json_get(&d, "ok");
    if (cJSON_IsTrue(ok) && dw_json_u64(&d, "seq", &seq) == 0) {
        tap_add(f, j->ev.tap, seq);
        answer(f, j, 200, true, seq, false, NULL);
    } else {
        if (dw_json_str(&d, "error", err, sizeof(err)) < 0 || !err[0])
            snprintf(err, sizeof(err), "refused");
        f->refused++;
        dw_warn("acquisition refused a %s: %s", dw_event_kind_name((unsigned)j->ev.kind), err);
        answer(f, j, 409, false, 0, false, err);
    }
    dw_json_close(&d);
}

static void start_next(struct dw_forward *f, uint64_t now_ns)
{
    struct dw_forward_job *j;
    while (!f->inflight && (j = pop(f))) {
        const struct dw_forward_tap *t = tap_find(f, j->ev.tap);
        char req[1024];
        ssize_t n;
        if (t) {
            f->duplicates++;
            answer(f, j, 200, true, t->seq, true, NULL);
            continue;
        }
        n = dw_web_evreq_to_acquire(&j->ev, req, sizeof(req));
        if (n < 0 || !f->req || zmq_send(f->req, req, (size_t)n, ZMQ_DONTWAIT) < 0) {
            answer(f, j, 503, false, 0, false, "acquisition's events endpoint is not reachable");
            if (f->req)
                make_socket(f);
            continue;
        }
        f->sent++;
        f->inflight = j;
        f->deadline_ns = now_ns + DW_FORWARD_TIMEOUT_MS * 1000000ull;
    }
}

uint64_t dw_forward_run(struct dw_forward *f, uint64_t now_ns)
{
    uint64_t junk;
    while (read(f->wake_fd, &junk, sizeof(junk)) > 0)
        ;
    if (f->inflight && f->req) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, f->req, ZMQ_DONTWAIT) >= 0)
            take_reply(f, zmq_msg_data(&m), zmq_msg_size(&m));
        zmq_msg_close(&m);
    }
    if (f->inflight && now_ns >= f->deadline_ns) {
        struct dw_forward_job *j = f->inflight;
        f->inflight = NULL;
        f->timeouts++;
        dw_warn("acquisition did not answer on %s within %d ms", f->endpoint,
                DW_FORWARD_TIMEOUT_MS);
        make_socket(f);
        answer(f, j, 504, false, 0, false, "acquisition did not answer");
    }
    start_next(f, now_ns);
    return f->inflight ? f->deadline_ns : UINT64_MAX;
}

void dw_forward_stop(struct dw_forward *f)
{
    struct dw_forward_job *j;
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    pthread_mutex_unlock(&f->lock);
    if ((j = f->inflight)) {
        f->inflight = NULL;
        answer(f, j, 503, false, 0, false, "the server is stopping");
    }
    while ((j = pop(f)))
        answer(f, j, 503, false, 0, false, "the server is stopping");
}
