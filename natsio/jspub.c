/* Publishing to JetStream with acknowledgements: jspub.h. The ack handler
 * runs on a libnats thread: it only counts, and hands a message that
 * failed to the retry list, which the caller's thread sends again. */
#include <errno.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jspub.h"
#include "log.h"
#include "natsconn.h"
#include "security.h"

#define STALL_WAIT_MS 200
#define SECRET_MAX 16384
#define MAX_SERVERS 32
/* subjects the server refused at most (a hub's permissions: docs/security.md) */
#define DENIED_MAX 256

struct dw_jspub {
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    int64_t ack_wait_ms;
    pthread_mutex_t lock; /* the retry list and the refused subjects */
    natsMsg **retry;
    size_t n_retry, cap_retry;
    char *denied[DENIED_MAX]; /* subjects the server refused this user */
    size_t n_denied;
    uint64_t published, acked, duplicates, retried, stalls, inflight, denied_msgs; /* __atomic */
    bool failing;         /* __atomic: the last ack was a failure */
};

static void add(uint64_t *v, int64_t d)
{
    __atomic_add_fetch(v, (uint64_t)d, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *v)
{
    return __atomic_load_n(v, __ATOMIC_RELAXED);
}

/* Puts a message on the retry list (taking it); false when out of memory. */
static bool keep_for_retry(struct dw_jspub *p, natsMsg *m)
{
    bool ok = true;
    pthread_mutex_lock(&p->lock);
    if (p->n_retry == p->cap_retry) {
        size_t cap = p->cap_retry ? 2 * p->cap_retry : 256;
        natsMsg **n = realloc(p->retry, cap * sizeof(*n));
        if (n) {
            p->retry = n;
            p->cap_retry = cap;
        }
    }
    if (p->n_retry < p->cap_retry)
        p->retry[p->n_retry++] = m;
    else
        ok = false;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

/* Whether the server refused a publish on subject (its permissions). */
static bool is_denied(struct dw_jspub *p, const char *subject)
{
    bool yes = false;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_denied && !yes; i++)
        yes = strcmp(p->denied[i], subject) == 0;
    pthread_mutex_unlock(&p->lock);
    return yes;
}

/* A message on a refused subject: dropped and counted, as no resend can
 * mend a permission (the first refusal was logged with the server's words). */
static bool drop_if_denied(struct dw_jspub *p, natsMsg *m)
{
    if (!is_denied(p, natsMsg_GetSubject(m)))
        return false;
    add(&p->denied_msgs, 1);
    natsMsg_Destroy(m);
    return true;
}

/* "Permissions Violation for Publish to "SUBJECT"": SUBJECT remembered
 * (true the first time), so that its messages are dropped and counted
 * rather than sent again for ever. */
static bool remember_denied(struct dw_jspub *p, const char *text)
{
    const char *at = strstr(text, "Publish to ");
    char subject[512];
    bool added = false;
    size_t n;

    if (!at)
        return false;
    at += strlen("Publish to ");
    at += *at == '"';
    n = strcspn(at, "\" \t");
    if (!n || n >= sizeof(subject))
        return false;
    memcpy(subject, at, n);
    subject[n] = 0;
    if (is_denied(p, subject))
        return false;
    pthread_mutex_lock(&p->lock);
    if (p->n_denied < DENIED_MAX && (p->denied[p->n_denied] = strdup(subject))) {
        p->n_denied++;
        added = true;
    }
    pthread_mutex_unlock(&p->lock);
    return added;
}

/* Asynchronous errors from the server: a refused publish is this hub's
 * permissions at work (docs/security.md), said once per subject. */
static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err,
                           void *closure)
{
    struct dw_jspub *p = closure;
    const char *text = nats_GetLastError(NULL);

    if (!text || !*text)
        text = natsStatus_GetText(err);
    if (err != NATS_NOT_PERMITTED)
        dw_warn("NATS server: %s", text);
    else if (remember_denied(p, text))
        dw_err("the NATS server refuses this user's publish (%s): the subject's messages are "
               "dropped and counted as denied (docs/security.md)", text);
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    struct dw_jspub *p = closure;
    if (pa) {
        add(&p->acked, 1);
        if (pa->Duplicate)
            add(&p->duplicates, 1);
        if (__atomic_exchange_n(&p->failing, false, __ATOMIC_RELAXED))
            dw_info("publishes acked again");
        natsMsg_Destroy(msg);
    } else {
        const char *why = pae && pae->ErrText ? pae->ErrText
                                              : natsStatus_GetText(pae ? pae->Err : NATS_ERR);
        /* once per streak of failures, not per message */
        if (!is_denied(p, natsMsg_GetSubject(msg)) &&
            !__atomic_exchange_n(&p->failing, true, __ATOMIC_RELAXED))
            dw_warn("publishes not acked (%s): sending them again with the same ids", why);
        dw_debug("publish on %s failed (%s): sent again", natsMsg_GetSubject(msg), why);
        if (drop_if_denied(p, msg)) {
            /* counted: the server refuses the subject */
        } else if (!keep_for_retry(p, msg)) {
            dw_err("out of memory: a message on %s is lost", natsMsg_GetSubject(msg));
            natsMsg_Destroy(msg);
        }
    }
    add(&p->inflight, -1);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    if (!natsConnection_IsClosed(nc)) /* not our own close at the end */
        dw_warn("NATS connection lost: reconnecting (publishes wait)");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    char url[256] = "";
    natsConnection_GetConnectedUrl(nc, url, sizeof(url));
    dw_info("NATS connection back (%s)", url);
}

const char *dw_nats_why(natsStatus s)
{
    const char *text = nats_GetLastError(NULL), *end;
    if (!text || !*text)
        return natsStatus_GetText(s);
    /* without libnats' "(conn.c:733): " */
    if (text[0] == '(' && (end = strstr(text, "): ")))
        text = end + 3;
    return text;
}

/* --user-file: "USER:PASSWORD" on the first line of a 0600 file. */
static natsStatus set_user(natsOptions *o, const char *path, char *why, size_t cap)
{
    char buf[SECRET_MAX], *colon, *nl;
    const char *w = NULL;
    natsStatus s;
    if (dw_security_read_secret(path, buf, sizeof(buf), &w) < 0) {
        snprintf(why, cap, "%s: %s", path, w);
        return NATS_ERR;
    }
    if ((nl = strpbrk(buf, "\r\n")))
        *nl = 0;
    if (!(colon = strchr(buf, ':')) || colon == buf) {
        snprintf(why, cap, "%s: the first line is not USER:PASSWORD", path);
        return NATS_ERR;
    }
    *colon = 0;
    s = natsOptions_SetUserInfo(o, buf, colon + 1);
    memset(buf, 0, sizeof(buf));
    return s;
}

static natsStatus set_auth(natsOptions *o, const struct dw_jspub_config *c, char *why,
                           size_t cap)
{
    natsStatus s = NATS_OK;
    if (c->creds) {
        char buf[SECRET_MAX];
        const char *w = NULL;
        /* libnats reads it itself; the check is ours: a secret stays private */
        if (dw_security_read_secret(c->creds, buf, sizeof(buf), &w) < 0) {
            snprintf(why, cap, "%s: %s", c->creds, w);
            return NATS_ERR;
        }
        memset(buf, 0, sizeof(buf));
        s = natsOptions_SetUserCredentialsFromFiles(o, c->creds, NULL);
    }
    if (s == NATS_OK && c->user_file)
        s = set_user(o, c->user_file, why, cap);
    /* tls:// alone would be plain text to a server that offers no TLS
     * (libnats goes by the server): it asks for TLS, checked against the
     * system's CAs when no --tls-ca is given */
    if (s == NATS_OK && (c->tls_ca || strcasestr(c->url, "tls://"))) {
        s = natsOptions_SetSecure(o, true);
        if (s == NATS_OK && c->tls_ca)
            s = natsOptions_LoadCATrustedCertificates(o, c->tls_ca);
        if (s != NATS_OK)
            snprintf(why, cap, "%s: %s", c->tls_ca ? c->tls_ca : "TLS", dw_nats_why(s));
    }
    return s;
}

/* url: one URL or several, comma-separated (libnats' SetURL takes one). */
static natsStatus set_servers(natsOptions *o, const char *url)
{
    char *copy = strdup(url), *save = NULL, *tok;
    const char *list[MAX_SERVERS];
    int n = 0;
    natsStatus s = NATS_INVALID_ARG;

    if (!copy)
        return NATS_NO_MEMORY;
    for (tok = strtok_r(copy, ",", &save); tok && n < MAX_SERVERS;
         tok = strtok_r(NULL, ",", &save))
        if (*tok)
            list[n++] = tok;
    if (n > 0 && !tok)
        s = natsOptions_SetServers(o, list, n);
    free(copy);
    return s;
}

natsStatus dw_nats_options(natsOptions **out, const struct dw_jspub_config *c, char *why,
                           size_t cap)
{
    natsStatus s = natsOptions_Create(out);
    natsOptions *o = s == NATS_OK ? *out : NULL;
    if (s == NATS_OK)
        s = set_servers(o, c->url);
    if (s == NATS_OK && c->name)
        s = natsOptions_SetName(o, c->name);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(o, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(o, 250);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(o, on_disconnected, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(o, on_reconnected, NULL);
    if (s != NATS_OK && !why[0])
        snprintf(why, cap, "NATS options: %s", natsStatus_GetText(s));
    if (s == NATS_OK && (s = set_auth(o, c, why, cap)) != NATS_OK && !why[0])
        snprintf(why, cap, "NATS credentials: %s", nats_GetLastError(NULL));
    return s;
}

struct dw_jspub *dw_jspub_open(const struct dw_jspub_config *c, char *why, size_t cap)
{
    struct dw_jspub *p = calloc(1, sizeof(*p));
    jsOptions jo;
    natsStatus s;

    why[0] = 0;
    if (!p) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->ack_wait_ms = c->ack_wait_ms;
    if ((s = dw_nats_options(&p->opts, c, why, cap)) != NATS_OK)
        goto out;
    if ((s = natsOptions_SetErrorHandler(p->opts, on_async_error, p)) != NATS_OK) {
        snprintf(why, cap, "NATS options: %s", natsStatus_GetText(s));
        goto out;
    }
    if ((s = natsConnection_Connect(&p->nc, p->opts)) != NATS_OK) {
        snprintf(why, cap, "cannot connect to %s: %s", c->url, dw_nats_why(s));
        goto out;
    }
    jsOptions_Init(&jo);
    jo.Domain = c->domain;
    jo.PublishAsync.MaxPending = c->max_pending;
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = p;
    jo.PublishAsync.StallWait = STALL_WAIT_MS;
    if ((s = natsConnection_JetStream(&p->js, p->nc, &jo)) != NATS_OK)
        snprintf(why, cap, "JetStream: %s", natsStatus_GetText(s));
out:
    if (s != NATS_OK) {
        dw_jspub_close(p);
        return NULL;
    }
    return p;
}

int dw_jspub_stream(struct dw_jspub *p, const char *stream, int replicas, bool create,
                    char *why, size_t cap)
{
    jsStreamInfo *si = NULL;
    jsStreamConfig cfg;
    jsErrCode jerr = 0;
    const char *subjects[] = { "dw.p.>" };
    natsStatus s = js_GetStreamInfo(&si, p->js, stream, NULL, &jerr);

    if (s == NATS_OK) {
        jsStreamInfo_Destroy(si);
        return 0;
    }
    if (!create || (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr)) {
        snprintf(why, cap, "stream %s: %s", stream,
                 s == NATS_NOT_FOUND ? "not found (--create-stream makes it)"
                                     : nats_GetLastError(NULL));
        return -ENOENT;
    }
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = replicas;
    if ((s = js_AddStream(&si, p->js, &cfg, NULL, &jerr)) != NATS_OK) {
        snprintf(why, cap, "cannot create stream %s: %s (%d)", stream, dw_nats_why(s),
                 (int)jerr);
        return -EIO;
    }
    jsStreamInfo_Destroy(si);
    dw_info("created stream %s (dw.p.>, file storage, %d replica(s))", stream, replicas);
    return 0;
}

/* One try: 0 handed over (the library owns *m), -EAGAIN no room or no
 * connection (the caller keeps *m), another -errno for good. */
static int hand_over(struct dw_jspub *p, natsMsg **m)
{
    jsPubOptions o;
    natsStatus s;
    jsPubOptions_Init(&o);
    o.MaxWait = p->ack_wait_ms;
    add(&p->inflight, 1);
    if ((s = js_PublishMsgAsync(p->js, m, &o)) == NATS_OK)
        return 0;
    add(&p->inflight, -1);
    if (s == NATS_INVALID_ARG || s == NATS_INVALID_SUBJECT || s == NATS_NO_MEMORY)
        return s == NATS_NO_MEMORY ? -ENOMEM : -EINVAL;
    return -EAGAIN;
}

int dw_jspub_send(struct dw_jspub *p, const char *subject, const char *msg_id,
                  const void *data, size_t len, volatile sig_atomic_t *stop)
{
    natsMsg *m = NULL;
    bool stalled = false;
    int r;

    if (is_denied(p, subject)) {
        add(&p->denied_msgs, 1);
        return -EACCES;
    }
    if (len > INT32_MAX || natsMsg_Create(&m, subject, NULL, data, (int)len) != NATS_OK)
        return -ENOMEM;
    if (natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id) != NATS_OK) {
        natsMsg_Destroy(m);
        return -ENOMEM;
    }
    add(&p->published, 1);
    while ((r = hand_over(p, &m)) == -EAGAIN) {
        if (!stalled)
            add(&p->stalls, 1);
        stalled = true;
        if (stop && *stop) {
            /* stopping: the exit's finish sends it */
            if (keep_for_retry(p, m))
                return 0;
            r = -ENOMEM;
            break;
        }
    }
    natsMsg_Destroy(m);
    return r;
}

size_t dw_jspub_retry(struct dw_jspub *p)
{
    natsMsg **list;
    size_t n, i, left;

    pthread_mutex_lock(&p->lock);
    list = p->retry;
    n = p->n_retry;
    p->retry = NULL;
    p->n_retry = p->cap_retry = 0;
    pthread_mutex_unlock(&p->lock);
    for (i = 0; i < n; i++) {
        int r;
        if (drop_if_denied(p, list[i]))
            continue;
        r = hand_over(p, &list[i]);
        if (r == -EAGAIN) {
            /* the window is full: a stall as much as a new message's */
            add(&p->stalls, 1);
            break;
        }
        if (r == 0)
            add(&p->retried, 1);
        else
            dw_err("a message on %s cannot be sent: %s", natsMsg_GetSubject(list[i]),
                   strerror(-r));
        natsMsg_Destroy(list[i]);
    }
    left = n - i;
    for (; i < n; i++)
        if (!keep_for_retry(p, list[i])) {
            dw_err("out of memory: a message on %s is lost", natsMsg_GetSubject(list[i]));
            natsMsg_Destroy(list[i]);
        }
    free(list);
    return left;
}

int dw_jspub_plain(struct dw_jspub *p, const char *subject, const void *data, size_t len)
{
    if (len > INT32_MAX)
        return -EINVAL;
    return natsConnection_Publish(p->nc, subject, data, (int)len) == NATS_OK ? 0 : -EIO;
}

int dw_jspub_last(struct dw_jspub *p, const char *stream, const char *subject, uint8_t **data,
                  size_t *len)
{
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetLastMsg(&m, p->js, stream, subject, NULL, &jerr);
    int n;

    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
        return 0;
    if (s != NATS_OK)
        return -EIO;
    n = natsMsg_GetDataLength(m);
    *data = malloc(n > 0 ? (size_t)n : 1);
    if (!*data) {
        natsMsg_Destroy(m);
        return -ENOMEM;
    }
    memcpy(*data, natsMsg_GetData(m), (size_t)n);
    *len = (size_t)n;
    natsMsg_Destroy(m);
    return 1;
}

void dw_jspub_counters(struct dw_jspub *p, struct dw_jspub_counters *out)
{
    pthread_mutex_lock(&p->lock);
    out->pending = get(&p->inflight) + p->n_retry;
    pthread_mutex_unlock(&p->lock);
    out->published = get(&p->published);
    out->acked = get(&p->acked);
    out->duplicates = get(&p->duplicates);
    out->retried = get(&p->retried);
    out->stalls = get(&p->stalls);
    out->denied = get(&p->denied_msgs);
}

int dw_jspub_finish(struct dw_jspub *p, int64_t timeout_ms)
{
    int64_t end = nats_Now() + timeout_ms;
    struct dw_jspub_counters c;

    for (;;) {
        jsPubOptions o;
        int64_t left = end - nats_Now();
        dw_jspub_retry(p);
        dw_jspub_counters(p, &c);
        if (c.pending == 0)
            return 0;
        if (left <= 0)
            return -ETIMEDOUT;
        jsPubOptions_Init(&o);
        o.MaxWait = left < 200 ? left : 200;
        js_PublishAsyncComplete(p->js, &o);
    }
}

void dw_jspub_close(struct dw_jspub *p)
{
    if (!p)
        return;
    jsCtx_Destroy(p->js);
    natsConnection_Destroy(p->nc);
    natsOptions_Destroy(p->opts);
    for (size_t i = 0; i < p->n_retry; i++)
        natsMsg_Destroy(p->retry[i]);
    free(p->retry);
    for (size_t i = 0; i < p->n_denied; i++)
        free(p->denied[i]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void dw_jspub_library_close(void)
{
    nats_Close();
}
