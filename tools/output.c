/* Output files and progress lines of the commands (output.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "output.h"

FILE *dw_tool_open_temp(const char *out, char *tmp, size_t cap, int *err)
{
    const char *slash = strrchr(out, '/');
    int fd;
    FILE *f;
    if (slash)
        snprintf(tmp, cap, "%.*s/.%s.XXXXXX", (int)(slash - out), out, slash + 1);
    else
        snprintf(tmp, cap, ".%s.XXXXXX", out);
    fd = mkstemp(tmp);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    f = fdopen(fd, "w");
    if (!f) {
        *err = errno;
        close(fd);
        unlink(tmp);
    }
    return f;
}

int dw_tool_commit_temp(FILE *f, const char *tmp, const char *out)
{
    int e = 0;
    if (fflush(f) != 0 || fsync(fileno(f)) < 0)
        e = errno;
    if (fclose(f) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, out) < 0)
        e = errno;
    errno = e;
    return e ? -1 : 0;
}

void dw_tool_progress_init(struct dw_tool_progress *p, const char *prog)
{
    p->prog = prog;
    p->tty = isatty(STDERR_FILENO);
    p->last = -1;
}

void dw_tool_progress_show(struct dw_tool_progress *p, const char *path, unsigned pct)
{
    if (p->tty) {
        fprintf(stderr, "\r%s: reading %s: %3u%%", p->prog, path, pct);
        if (pct == 100)
            fputc('\n', stderr);
    } else if ((int)pct / 10 != p->last / 10) {
        fprintf(stderr, "%s: reading %s: %u%%\n", p->prog, path, pct / 10 * 10);
    }
    p->last = (int)pct;
}
