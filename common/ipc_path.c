#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "endpoint.h"
#include "ipc_path.h"

int dw_ipc_endpoint_check(const char *endpoint, const char **why)
{
    char dir[PATH_MAX];
    const char *path, *slash;
    struct stat st;

    if (strncmp(endpoint, "ipc://", 6) != 0)
        return 0;
    path = endpoint + 6;
    if (path[0] == '@' || path[0] == '*' || !path[0]) {
        *why = "an abstract or wildcard ipc:// socket is open to every user of the machine; "
               "bind a path in a private (0700) directory";
        return -EPERM;
    }
    slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else if ((size_t)(slash - path) < sizeof(dir))
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    else
        return 0; /* too long for a socket path anyway: the bind says so */
    if (stat(dir, &st) < 0)
        return 0;
    /* private, or shared with the opt-in group as the runtime directory may
     * be (docs/security.md section 9) */
    return dw_runtime_dir_check_own(&st, why);
}
