/* Child processes of `ductwatch run` (see supervise.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dwtime.h"
#include "log.h"
#include "supervise.h"
#include "tool.h"

int dw_stage_init(struct dw_stage *s, const char *name, const char *const *args,
                  dw_stage_line_cb cb, void *user)
{
    int n = 0, r;
    memset(s, 0, sizeof(*s));
    s->name = name;
    s->out.fd = s->err.fd = -1;
    s->on_line = cb;
    s->user = user;
    if ((r = dw_tool_find_program(name, s->path, sizeof(s->path))) < 0)
        return r;
    s->argv[n++] = (char *)name;
    for (; args && *args; args++) {
        if (n >= DW_STAGE_MAX_ARGS)
            return -E2BIG;
        s->argv[n++] = (char *)*args;
    }
    s->argv[n] = NULL;
    return 0;
}

static void close_pipe(struct dw_stage_pipe *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    p->fill = 0;
}

int dw_stage_start(struct dw_stage *s)
{
    int out[2] = { -1, -1 }, err[2] = { -1, -1 }, ex[2] = { -1, -1 }, e = 0;
    pid_t pid;
    ssize_t n;

    /* ex: a close-on-exec pipe that tells us whether exec worked. */
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) {
        e = -errno;
        goto fail;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        e = -errno;
        goto fail;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        sigset_t none;
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (strchr(s->path, '/'))
            execv(s->path, s->argv);
        else
            execvp(s->path, s->argv);
        e = errno;
        if (write(ex[1], &e, sizeof(e)) < 0)
            _exit(127);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    close(ex[1]);
    do
        n = read(ex[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    close(ex[0]);
    if (n == (ssize_t)sizeof(e)) {
        waitpid(pid, NULL, 0);
        close(out[0]);
        close(err[0]);
        s->exec_failed = true;
        dw_err("cannot run %s (%s): %s", s->name, s->path, strerror(e));
        return -ENOEXEC;
    }
    fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
    fcntl(err[0], F_SETFL, fcntl(err[0], F_GETFL) | O_NONBLOCK);
    s->pid = pid;
    s->out.fd = out[0];
    s->out.fill = 0;
    s->err.fd = err[0];
    s->err.fill = 0;
    s->stopping = false;
    s->starts++;
    s->started_ns = dw_now_monotonic_ns();
    dw_debug("started %s (pid %d)", s->name, (int)pid);
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0) close(out[i]);
        if (err[i] >= 0) close(err[i]);
        if (ex[i] >= 0) close(ex[i]);
    }
    return e;
}

static void read_pipe(struct dw_stage *s, struct dw_stage_pipe *p, bool is_err)
{
    while (p->fd >= 0) {
        ssize_t n = read(p->fd, p->line + p->fill, sizeof(p->line) - 1 - p->fill);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN) {
                /* A last line without a newline still counts. */
                if (p->fill && s->on_line) {
                    p->line[p->fill] = 0;
                    s->on_line(s, is_err, p->line, s->user);
                }
                close_pipe(p);
            }
            break;
        }
        p->fill += (size_t)n;
        char *start = p->line, *nl;
        while ((nl = memchr(start, '\n', p->fill - (size_t)(start - p->line)))) {
            *nl = 0;
            if (s->on_line)
                s->on_line(s, is_err, start, s->user);
            start = nl + 1;
        }
        p->fill -= (size_t)(start - p->line);
        memmove(p->line, start, p->fill);
        if (p->fill == sizeof(p->line) - 1) {
            /* A line too long for us: pass it on in pieces. */
            p->line[p->fill] = 0;
            if (s->on_line)
                s->on_line(s, is_err, p->line, s->user);
            p->fill = 0;
        }
    }
}

void dw_stage_read(struct dw_stage *s)
{
    read_pipe(s, &s->out, false);
    read_pipe(s, &s->err, true);
}

bool dw_stage_reap(struct dw_stage *s)
{
    int st;
    if (!s->pid)
        return false;
    pid_t r = waitpid(s->pid, &st, WNOHANG);
    if (r != s->pid)
        return false;
    dw_stage_read(s);
    close_pipe(&s->out);
    close_pipe(&s->err);
    s->pid = 0;
    s->last_status = st;
    return true;
}

int dw_stage_stop(struct dw_stage *s, int sig, unsigned timeout_ms)
{
    uint64_t deadline;
    if (!s->pid)
        return -1;
    s->stopping = true;
    kill(s->pid, sig);
    deadline = dw_now_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (dw_now_monotonic_ns() < deadline) {
        struct pollfd p[2] = { { .fd = s->out.fd, .events = POLLIN },
                               { .fd = s->err.fd, .events = POLLIN } };
        if (dw_stage_reap(s))
            return s->last_status;
        poll(p, 2, 20);
        dw_stage_read(s);
    }
    dw_warn("%s did not stop within %u ms; killing it", s->name, timeout_ms);
    kill(s->pid, SIGKILL);
    while (!dw_stage_reap(s))
        poll(NULL, 0, 10);
    return s->last_status;
}

void dw_stage_describe(int st, char *buf, unsigned cap)
{
    if (WIFEXITED(st))
        snprintf(buf, cap, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, cap, "ended (wait status %#x)", st);
}
