#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "notify.h"

extern char **environ;

#define CHECK_MS 200 /* how often a running command is looked at */

int dw_notify_level(const char *s)
{
    return s[0] == 'L' && s[1] >= '0' && s[1] <= '3' && !s[2] ? s[1] - '0' : -1;
}

/* One word from *p into out; false at the end. */
static bool next_word(const char **p, char *out, int *err)
{
    const char *s = *p;
    size_t k = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return false;
    while (*s && *s != ' ' && *s != '\t') {
        if (*s == '\'' || *s == '"') {
            char q = *s++;
            while (*s && *s != q)
                out[k++] = *s++;
            if (*s != q) {
                *err = -EINVAL;
                return false;
            }
            s++;
        } else {
            out[k++] = *s++;
        }
    }
    out[k] = 0;
    *p = s;
    return true;
}

int dw_notify_init(struct dw_notify *n, const char *cmd, unsigned min_level,
                   uint64_t renotify_ns, uint64_t timeout_ns)
{
    size_t len = strlen(cmd);
    unsigned k = 0;
    int err = 0;
    char *word;
    const char *p = cmd;

    memset(n, 0, sizeof(*n));
    n->min_level = min_level;
    n->renotify_ns = renotify_ns;
    n->timeout_ns = timeout_ns;
    n->argv = calloc(len / 2 + 2, sizeof(char *));
    word = malloc(len + 1);
    if (!n->argv || !word) {
        free(word);
        return -ENOMEM;
    }
    while (next_word(&p, word, &err))
        if (!(n->argv[k++] = strdup(word))) {
            err = -ENOMEM;
            break;
        }
    free(word);
    if (!err && !k)
        err = -EINVAL;
    return err;
}

static void item_free(struct dw_notify_item *it)
{
    free(it->body);
    free(it->message);
    it->body = it->message = NULL;
}

void dw_notify_fini(struct dw_notify *n)
{
    if (n->child > 0) {
        kill(-n->child, SIGKILL);
        waitpid(n->child, NULL, 0);
    }
    for (unsigned i = 0; n->argv && n->argv[i]; i++)
        free(n->argv[i]);
    free(n->argv);
    while (n->q_n) {
        item_free(&n->queue[n->q_head]);
        n->q_head = (n->q_head + 1) % DW_NOTIFY_QUEUE;
        n->q_n--;
    }
    for (unsigned i = 0; i < n->n_repeat; i++)
        item_free(&n->repeat[i].it);
}

static bool item_make(struct dw_notify_item *it, const char *device, const struct dw_msg_alert *a,
                      const char *body, size_t len)
{
    memset(it, 0, sizeof(*it));
    snprintf(it->device, sizeof(it->device), "%s", device);
    snprintf(it->level, sizeof(it->level), "%s", a->level);
    snprintf(it->rule, sizeof(it->rule), "%s", a->rule);
    snprintf(it->state, sizeof(it->state), "%s", a->state);
    it->id = a->id;
    it->body = strndup(body, len);
    it->message = strdup(a->message);
    if (it->body && it->message)
        return true;
    item_free(it);
    return false;
}

static bool item_copy(struct dw_notify_item *dst, const struct dw_notify_item *src)
{
    *dst = *src;
    dst->body = strdup(src->body);
    dst->message = strdup(src->message);
    if (dst->body && dst->message)
        return true;
    item_free(dst);
    return false;
}

static void enqueue(struct dw_notify *n, struct dw_notify_item *it)
{
    if (n->q_n == DW_NOTIFY_QUEUE) {
        n->skipped++;
        dw_warn("on-alert: %u alerts wait already; %s %s of %s skipped", n->q_n, it->level,
                it->rule, it->device);
        item_free(it);
        return;
    }
    n->queue[(n->q_head + n->q_n) % DW_NOTIFY_QUEUE] = *it;
    n->q_n++;
}

/* Repeats: kept (with the latest body) for L2+ alerts, dropped when the
 * alert clears or falls below L2. */
static void track_repeat(struct dw_notify *n, const struct dw_notify_item *it, bool sent,
                         uint64_t now_ns)
{
    unsigned i;
    for (i = 0; i < n->n_repeat; i++)
        if (n->repeat[i].it.id == it->id && !strcmp(n->repeat[i].it.device, it->device))
            break;
    int lvl = dw_notify_level(it->level);
    bool keep = n->renotify_ns && strcmp(it->state, "cleared") && lvl >= 2 &&
                lvl >= (int)n->min_level;
    if (i < n->n_repeat) {
        item_free(&n->repeat[i].it);
        if (!keep) {
            n->repeat[i] = n->repeat[--n->n_repeat];
            return;
        }
    } else if (!keep || i == DW_NOTIFY_REPEAT_MAX) {
        return;
    } else {
        n->n_repeat++;
        n->repeat[i].last_ns = now_ns;
    }
    if (!item_copy(&n->repeat[i].it, it)) {
        n->repeat[i] = n->repeat[--n->n_repeat];
        return;
    }
    if (sent)
        n->repeat[i].last_ns = now_ns;
}

void dw_notify_on_alert(void *user, const struct dw_hub_device *d, const struct dw_msg_alert *a,
                        const char *prev_level, const uint8_t *body, size_t len)
{
    struct dw_notify *n = user;
    struct dw_notify_item it;
    int lvl = dw_notify_level(a->level), prev = dw_notify_level(prev_level);
    bool cleared = !strcmp(a->state, "cleared");
    /* raised at the level, or risen above what was notified */
    bool send = !cleared && lvl >= (int)n->min_level && lvl > prev;

    if (!item_make(&it, d->sub.id, a, (const char *)body, len)) {
        dw_err("on-alert: out of memory");
        return;
    }
    track_repeat(n, &it, send, 0);
    if (send)
        enqueue(n, &it);
    else
        item_free(&it);
}

#define N_VARS 5

/* environ plus DW_ALERT_* (docs/web.md), for commands that want the
 * words without reading JSON. vars: the caller frees them. */
static char **child_env(const struct dw_notify_item *it, char *vars[N_VARS])
{
    size_t n = 0;
    char **env;

    while (environ[n])
        n++;
    if (asprintf(&vars[0], "DW_ALERT_DEVICE=%s", it->device) < 0)
        vars[0] = NULL;
    if (asprintf(&vars[1], "DW_ALERT_LEVEL=%s", it->level) < 0)
        vars[1] = NULL;
    if (asprintf(&vars[2], "DW_ALERT_RULE=%s", it->rule) < 0)
        vars[2] = NULL;
    if (asprintf(&vars[3], "DW_ALERT_STATE=%s", it->state) < 0)
        vars[3] = NULL;
    if (asprintf(&vars[4], "DW_ALERT_MESSAGE=%s", it->message) < 0)
        vars[4] = NULL;
    env = calloc(n + N_VARS + 1, sizeof(char *));
    if (!env)
        return NULL;
    memcpy(env, environ, n * sizeof(char *));
    for (unsigned i = 0; i < N_VARS; i++)
        if (vars[i])
            env[n++] = vars[i];
    return env;
}

/* Starts the command with the body on its stdin; its stdout goes to our
 * stderr (our stdout is the url line). 0 or -errno. */
static int spawn(struct dw_notify *n, const struct dw_notify_item *it, uint64_t now_ns)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    char *vars[N_VARS] = { 0 };
    char **env;
    int p[2], r;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    env = child_env(it, vars);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    posix_spawnattr_init(&at);
    /* its own process group, so that a kill reaches whatever it started */
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
    r = env ? posix_spawnp(&pid, n->argv[0], &fa, &at, n->argv, env) : ENOMEM;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    free(env);
    for (unsigned i = 0; i < N_VARS; i++)
        free(vars[i]);
    close(p[0]);
    if (r == 0) {
        size_t len = strlen(it->body);
        /* a pipe holds 64 KiB, an alert at most 16 KiB: this never blocks */
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        if (write(p[1], it->body, len) != (ssize_t)len || write(p[1], "\n", 1) != 1)
            dw_warn("on-alert: the alert did not fit the command's stdin");
        n->child = pid;
        n->child_start_ns = now_ns;
        snprintf(n->child_what, sizeof(n->child_what), "%s %s of %s", it->level, it->rule,
                 it->device);
        n->runs++;
    }
    close(p[1]);
    return -r;
}

static void reap(struct dw_notify *n, uint64_t now_ns)
{
    int st;
    pid_t r = waitpid(n->child, &st, WNOHANG);
    if (r == 0 && now_ns - n->child_start_ns >= n->timeout_ns) {
        n->killed++;
        dw_warn("on-alert: '%s' still running after %llu s for %s: killed", n->argv[0],
                (unsigned long long)(n->timeout_ns / 1000000000ull), n->child_what);
        kill(-n->child, SIGKILL);
        r = waitpid(n->child, &st, 0);
    }
    if (r == 0)
        return;
    if (r > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0) && !WIFSIGNALED(st)) {
        n->failed++;
        dw_warn("on-alert: '%s' failed (exit %d) for %s", n->argv[0], WEXITSTATUS(st),
                n->child_what);
    } else if (r > 0 && WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL) {
        n->failed++;
        dw_warn("on-alert: '%s' ended by signal %d for %s", n->argv[0], WTERMSIG(st),
                n->child_what);
    }
    n->child = 0;
}

static void repeats_due(struct dw_notify *n, const struct dw_hub *h, uint64_t now_ns)
{
    for (unsigned i = 0; i < n->n_repeat; i++) {
        struct dw_notify_repeat *r = &n->repeat[i];
        struct dw_notify_item it;
        if (!r->last_ns)
            r->last_ns = now_ns; /* noted by the alert callback, which has no clock */
        if (now_ns - r->last_ns < n->renotify_ns)
            continue;
        r->last_ns = now_ns;
        if (!dw_hub_alert_pending(h, r->it.device, r->it.id))
            continue;
        if (item_copy(&it, &r->it)) {
            dw_info("on-alert: %s %s of %s not acknowledged yet: again", it.level, it.rule,
                    it.device);
            enqueue(n, &it);
        }
    }
}

long dw_notify_run(struct dw_notify *n, const struct dw_hub *h, uint64_t now_ns)
{
    if (n->child)
        reap(n, now_ns);
    if (n->renotify_ns)
        repeats_due(n, h, now_ns);
    while (!n->child && n->q_n) {
        struct dw_notify_item *it = &n->queue[n->q_head];
        int r = spawn(n, it, now_ns);
        if (r < 0) {
            n->failed++;
            dw_warn("on-alert: cannot run '%s': %s", n->argv[0], strerror(-r));
        }
        item_free(it);
        n->q_head = (n->q_head + 1) % DW_NOTIFY_QUEUE;
        n->q_n--;
    }
    if (n->child)
        return CHECK_MS;
    return n->n_repeat ? 1000 : -1;
}
