#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "auth.h"

bool dw_web_token_valid(const char *s)
{
    if (!s || strlen(s) != DW_WEB_TOKEN_LEN)
        return false;
    return strspn(s, "0123456789abcdef") == DW_WEB_TOKEN_LEN;
}

bool dw_web_token_equal(const char *token, const char *given)
{
    size_t n = strlen(token);
    unsigned char diff = 0;
    if (!given || strlen(given) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(token[i] ^ given[i]);
    return diff == 0;
}

static int read_token(const char *path, char token[DW_WEB_TOKEN_LEN + 1])
{
    char buf[DW_WEB_TOKEN_LEN + 8];
    struct stat st;
    ssize_t n;
    int r = 0, fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
        r = -EPERM;
        goto out;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    if (n < 0) {
        r = -errno;
        goto out;
    }
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    if (!dw_web_token_valid(buf)) {
        r = -EBADMSG;
        goto out;
    }
    memcpy(token, buf, DW_WEB_TOKEN_LEN + 1);
out:
    close(fd);
    return r;
}

static int new_token(const char *path, char token[DW_WEB_TOKEN_LEN + 1])
{
    unsigned char raw[DW_WEB_TOKEN_BYTES];
    size_t got = 0;
    int r = 0, fd;

    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0)
            got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(token + 2 * i, 3, "%02x", raw[i]);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    /* exactly 0600 whatever the umask */
    if (fchmod(fd, 0600) < 0 || write(fd, token, DW_WEB_TOKEN_LEN) != DW_WEB_TOKEN_LEN ||
        write(fd, "\n", 1) != 1 || fsync(fd) < 0)
        r = errno ? -errno : -EIO;
    close(fd);
    if (r < 0)
        unlink(path);
    return r;
}

int dw_web_token_load(const char *path, char token[DW_WEB_TOKEN_LEN + 1], bool *created)
{
    int r = read_token(path, token);
    *created = false;
    if (r != -ENOENT)
        return r;
    r = new_token(path, token);
    if (r == -EEXIST) /* another instance made it first */
        return read_token(path, token);
    *created = r == 0;
    return r;
}

enum dw_web_auth dw_web_auth_check(const char *token, const char *cookie,
                                   const char *authorization)
{
    static const char bearer[] = "Bearer ";
    if (authorization && !strncmp(authorization, bearer, sizeof(bearer) - 1) &&
        dw_web_token_equal(token, authorization + sizeof(bearer) - 1))
        return DW_WEB_AUTH_BEARER;
    if (cookie && dw_web_token_equal(token, cookie))
        return DW_WEB_AUTH_COOKIE;
    return DW_WEB_AUTH_NONE;
}

bool dw_web_same_origin(enum dw_web_auth how, const char *origin, const char *host, bool tls)
{
    const char *scheme = tls ? "https://" : "http://";
    size_t n = strlen(scheme);

    if (how == DW_WEB_AUTH_NONE)
        return false;
    if (!origin)
        return how == DW_WEB_AUTH_BEARER;
    if (!host || !host[0] || strncmp(origin, scheme, n))
        return false;
    return !strcmp(origin + n, host);
}
