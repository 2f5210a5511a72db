#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "endpoint.h"

int dw_runtime_dir(char *buf, size_t cap)
{
    const char *env = getenv("DUCTWATCH_RUNTIME_DIR");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    struct stat st;
    int n;

    if (env && *env)
        n = snprintf(buf, cap, "%s", env);
    else if (xdg && *xdg)
        n = snprintf(buf, cap, "%s/ductwatch", xdg);
    else
        n = snprintf(buf, cap, "/tmp/ductwatch-%u", (unsigned)getuid());
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (lstat(buf, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077))
        return -EPERM;
    return 0;
}

int dw_default_endpoint(const char *name, char *buf, size_t cap)
{
    char dir[4096];
    int r = dw_runtime_dir(dir, sizeof(dir));
    if (r < 0)
        return r;
    int n = snprintf(buf, cap, "ipc://%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

void *dw_zmq_socket(void *ctx, int type)
{
    int zero = 0;
    void *s = zmq_socket(ctx, type);
    if (s)
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    return s;
}

int dw_zmq_send2(void *sock, const char *topic, const void *body, size_t len)
{
    /* With a PUB/XPUB socket the first part is either queued with the rest
     * or dropped with it: high-water mark drops are per message. */
    if (zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -errno;
    if (zmq_send(sock, body, len, ZMQ_DONTWAIT) < 0)
        return -errno;
    return 0;
}
