#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "defaults.h"
#include "endpoint.h"

/* The group named by DUCTWATCH_RUNTIME_GROUP (opt-in sharing), or -1. */
static int share_group(gid_t *gid)
{
    const char *name = getenv("DUCTWATCH_RUNTIME_GROUP");
    struct group *g;
    if (!name || !*name)
        return 0;
    if (!(g = getgrnam(name)))
        return -EINVAL;
    *gid = g->gr_gid;
    return 1;
}

static bool in_group(gid_t gid)
{
    gid_t groups[256];
    int n = getgroups(256, groups);
    if (gid == getegid() || gid == getgid())
        return true;
    for (int i = 0; i < n; i++)
        if (groups[i] == gid)
            return true;
    return false;
}

/* Is an existing directory one we may use? Ours and private (0700); ours
 * shared read-only with the opt-in group (0750, that group); or, named
 * explicitly, another user's shared with a group we are in (no write for
 * the group, nothing for others): a desktop user following the services. */
static int dir_ok(const struct stat *st, int share, gid_t gid, bool named)
{
    if (!S_ISDIR(st->st_mode))
        return -EPERM;
    if (st->st_uid == getuid()) {
        if (!(st->st_mode & 077))
            return 0;
        if (share > 0 && st->st_gid == gid && !(st->st_mode & 027))
            return 0;
        return -EPERM;
    }
    if (named && !(st->st_mode & 027) && (st->st_mode & 050) == 050 && in_group(st->st_gid))
        return 0;
    return -EPERM;
}

int dw_runtime_dir_check_own(const struct stat *st, const char **why)
{
    gid_t gid = 0;
    int share = share_group(&gid);
    if (share < 0) {
        *why = "DUCTWATCH_RUNTIME_GROUP names no group of this system";
        return share;
    }
    if (dir_ok(st, share, gid, false) < 0) {
        *why = share > 0
            ? "its directory is neither private (this user's, mode 0700) nor shared with "
              "DUCTWATCH_RUNTIME_GROUP (this user's, that group, mode 0750): others could connect"
            : "its directory is not private (it must belong to this user, mode 0700, "
              "as the runtime directory is): other users could connect";
        return -EPERM;
    }
    return 0;
}

int dw_runtime_dir(char *buf, size_t cap)
{
    const char *env = getenv("DUCTWATCH_RUNTIME_DIR");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    struct stat st;
    gid_t gid = 0;
    int n, share = share_group(&gid);

    if (share < 0)
        return share;
    if (env && *env)
        n = snprintf(buf, cap, "%s", env);
    else if (xdg && *xdg)
        n = snprintf(buf, cap, "%s/ductwatch", xdg);
    else
        n = snprintf(buf, cap, "/tmp/ductwatch-%u", (unsigned)getuid());
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    if (mkdir(buf, share > 0 ? 0750 : 0700) == 0) {
        /* made by us for the group: its group, exactly 0750 */
        if (share > 0 && (chown(buf, (uid_t)-1, gid) < 0 || chmod(buf, 0750) < 0))
            return -errno;
    } else if (errno != EEXIST) {
        return -errno;
    }
    if (lstat(buf, &st) < 0)
        return -errno;
    return dir_ok(&st, share, gid, env && *env);
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

/* The largest message a peer may send a socket of this type; 0: libzmq's
 * default (no limit), for the types that only talk to our own threads or
 * set their own (REP). */
static int64_t peer_message_max(int type)
{
    switch (type) {
    case ZMQ_PUB:
    case ZMQ_XPUB:
        return DW_SUBSCRIPTION_MAX;
    case ZMQ_SUB:
    case ZMQ_XSUB:
    case ZMQ_REQ:
        return DW_STREAM_MESSAGE_MAX;
    default:
        return 0;
    }
}

void *dw_zmq_socket(void *ctx, int type)
{
    int zero = 0;
    int64_t max = peer_message_max(type);
    void *s = zmq_socket(ctx, type);
    if (!s)
        return NULL;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    if (max > 0 && zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max)) < 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

void dw_zmq_close(void *sock)
{
    if (sock)
        zmq_close(sock);
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

/* The rest of a multipart message: a sender's extra parts are not ours. */
static void drop_parts(void *sock, const zmq_msg_t *last)
{
    int more = zmq_msg_more(last);
    while (more) {
        zmq_msg_t x;
        zmq_msg_init(&x);
        if (zmq_msg_recv(&x, sock, 0) < 0)
            more = 0;
        else
            more = zmq_msg_more(&x);
        zmq_msg_close(&x);
    }
}

int dw_zmq_recv2(void *sock, int flags, struct dw_zmq_msg2 *m)
{
    int e = 0;
    zmq_msg_init(&m->topic);
    zmq_msg_init(&m->body);
    if (zmq_msg_recv(&m->topic, sock, flags) < 0)
        e = zmq_errno();
    else if (!zmq_msg_more(&m->topic))
        e = EPROTO;
    else if (zmq_msg_recv(&m->body, sock, 0) < 0) /* the parts arrive together */
        e = zmq_errno();
    if (e) {
        dw_zmq_msg2_close(m);
        return e == EAGAIN || e == EINTR ? 0 : -e;
    }
    drop_parts(sock, &m->body);
    return 1;
}

void dw_zmq_msg2_close(struct dw_zmq_msg2 *m)
{
    zmq_msg_close(&m->topic);
    zmq_msg_close(&m->body);
}
