/* Finding the other ductwatch programs and the default endpoints of a
 * running pipeline. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "endpoint.h"
#include "log.h"
#include "tool.h"

/* Per-program override: ductwatch-acquire -> DUCTWATCH_ACQUIRE. */
static void env_name(const char *name, char *buf, size_t cap)
{
    const char *p = strncmp(name, "ductwatch-", 10) == 0 ? name + 10 : name;
    size_t i = 0;
    i = (size_t)snprintf(buf, cap, "DUCTWATCH_");
    for (; *p && i + 1 < cap; p++)
        buf[i++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    buf[i] = 0;
}

static bool executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Build-tree folder of each program (meson builds tools/ductwatch beside
 * acquisition/, sims/, storage/, processing/, net/). */
static const char *build_folder(const char *name)
{
    static const struct { const char *prog, *dir; } map[] = {
        { "ductwatch-acquire", "acquisition" },
        { "ductwatch-sim", "sims" },
        { "ductwatch-record", "storage" },
        { "ductwatch-detect", "processing" },
        { "ductwatch-keygen", "net" },
        { "ductwatch-broker", "net" },
        { "ductwatch-web", "web" },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
        if (strcmp(map[i].prog, name) == 0)
            return map[i].dir;
    return NULL;
}

/* Order: $DUCTWATCH_<NAME> (a full path), $DUCTWATCH_LIBEXEC/<name>, the
 * directory of this executable, the build tree's ../<folder>/<name>, and
 * finally the bare name for execvp() to look up on PATH. */
/* The first of $DUCTWATCH_LIBEXEC/NAME, NAME beside this program and NAME in
 * its build folder that is executable, into cand; else NAME itself (PATH). */
static void find_candidate(const char *name, char *cand, size_t cap)
{
    char self[PATH_MAX];
    const char *v, *folder;
    ssize_t n;

    if ((v = getenv("DUCTWATCH_LIBEXEC")) && *v) {
        snprintf(cand, cap, "%s/%s", v, name);
        if (executable(cand))
            return;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        char *slash;
        self[n] = 0;
        if ((slash = strrchr(self, '/')))
            *slash = 0;
        snprintf(cand, cap, "%s/%s", self, name);
        if (executable(cand))
            return;
        if ((folder = build_folder(name))) {
            snprintf(cand, cap, "%s/../%s/%s", self, folder, name);
            if (executable(cand))
                return;
        }
    }
    snprintf(cand, cap, "%s", name);
}

int dw_tool_find_program(const char *name, char *buf, size_t cap)
{
    char var[64], cand[PATH_MAX + 64];
    const char *v;

    env_name(name, var, sizeof(var));
    if ((v = getenv(var)) && *v) {
        if (snprintf(buf, cap, "%s", v) >= (int)cap)
            return -ENAMETOOLONG;
        return 0;
    }
    find_candidate(name, cand, sizeof(cand));
    if (snprintf(buf, cap, "%s", cand) >= (int)cap)
        return -ENAMETOOLONG;
    dw_debug("using %s for %s", buf, name);
    return 0;
}

int dw_tool_exec_program(const char *name, int argc, char **argv)
{
    char path[PATH_MAX];
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    if (!args || dw_tool_find_program(name, path, sizeof(path)) < 0) {
        fprintf(stderr, DW_TOOL ": cannot find %s\n", name);
        free(args);
        return 1;
    }
    args[0] = (char *)name;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    if (strchr(path, '/'))
        execv(path, args);
    else
        execvp(path, args);
    fprintf(stderr, DW_TOOL ": cannot run %s: %s\n", path, strerror(errno));
    free(args);
    return 1;
}

static const char *ipc_path(const char *ep)
{
    return strncmp(ep, "ipc://", 6) == 0 ? ep + 6 : NULL;
}

bool dw_tool_endpoint_present(const char *ep)
{
    struct stat st;
    const char *p = ipc_path(ep);
    if (!p)
        return true;
    return stat(p, &st) == 0 && S_ISSOCK(st.st_mode);
}

bool dw_tool_endpoint_listening(const char *ep)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *p = ipc_path(ep);
    bool up;
    int fd;
    if (!p)
        return true;
    if (strlen(p) >= sizeof(sa.sun_path))
        return true; /* cannot tell */
    strcpy(sa.sun_path, p);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return true;
    /* A socket file nobody listens on (its program was killed) refuses. */
    up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
         (errno != ENOENT && errno != ECONNREFUSED && errno != ENOTDIR);
    close(fd);
    return up;
}

void dw_tool_runtime_dir_error(int r)
{
    char dir[PATH_MAX] = "";
    (void)dw_runtime_dir(dir, sizeof(dir)); /* the path, made as it was */
    if (r == -EPERM)
        dw_err("runtime directory %s: refused: it must be yours and private (0700), or "
               "shared with a group you are in (group r-x, nothing for others; "
               "docs/security.md section 9)", dir);
    else if (r == -EINVAL)
        dw_err("DUCTWATCH_RUNTIME_GROUP names no group of this system");
    else
        dw_err("runtime directory %s: %s", dir, strerror(-r));
}

int dw_tool_default_endpoint(const char *name, char *buf, size_t cap)
{
    char dir[PATH_MAX], alt[PATH_MAX + 64];
    const char *env = getenv("DUCTWATCH_RUNTIME_DIR");
    int r = dw_default_endpoint(name, buf, cap);
    if (r < 0 || (env && *env) || dw_tool_endpoint_present(buf))
        return r;
    if (dw_runtime_dir(dir, sizeof(dir)) < 0)
        return r;
    snprintf(alt, sizeof(alt), "ipc://%s/current/%s", dir, name);
    if (dw_tool_endpoint_present(alt)) {
        if (snprintf(buf, cap, "%s", alt) >= (int)cap)
            return -ENAMETOOLONG;
        dw_debug("using the running pipeline's %s", buf);
    }
    return r;
}
