#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "device_id.h"
#include "session_file.h"

int dw_session_name(char *buf, size_t cap, const char *device_id, const char *stamp, int k)
{
    int n;
    if (!dw_device_id_valid(device_id, strlen(device_id)) || strchr(stamp, '/'))
        return -EINVAL;
    n = k ? snprintf(buf, cap, "%s-%s-%d.h5", device_id, stamp, k)
          : snprintf(buf, cap, "%s-%s.h5", device_id, stamp);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    return n;
}

uint64_t dw_session_name_start(const char *name, const char *device)
{
    size_t n = strlen(device);
    struct tm tm = { 0 };
    const char *p = name + n + 1, *end;
    time_t t;
    if (strncmp(name, device, n) || name[n] != '-')
        return 0;
    end = strptime(p, "%Y%m%dT%H%M%SZ", &tm);
    if (!end || end != p + 16 || (strcmp(end, ".h5") && (end[0] != '-' || !strstr(end, ".h5"))))
        return 0;
    t = timegm(&tm);
    return t > 0 ? (uint64_t)t * 1000000000ull : 0;
}

/* A lock on the whole file owned by the open file description (released
 * when its last descriptor closes, kill -9 included), independent of the
 * flock() HDF5 takes on its own descriptor. Shared (F_RDLCK): the writer
 * holds it on two descriptions for a moment; a recovery asks whether an
 * exclusive one could be had (dw_session_file_busy). */
static int lock_fd(int fd, short type)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
    if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
        return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
    return 0;
}

static int create_beneath(int dir_fd, const char *name)
{
    int flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
#ifdef SYS_openat2
    if (dir_fd != AT_FDCWD) {
        struct open_how how = { .flags = (unsigned)flags, .mode = 0600,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
        long fd = syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
            return fd >= 0 ? (int)fd : -errno;
    }
#endif
    /* Without openat2 (Linux < 5.6): the name is one component, checked
     * by dw_session_name, and O_NOFOLLOW guards that component. */
    {
        int fd = openat(dir_fd, name, flags, 0600);
        return fd >= 0 ? fd : -errno;
    }
}

int dw_session_file_create(int dir_fd, const char *name)
{
    int fd = create_beneath(dir_fd, name), r;
    if (fd < 0)
        return fd == -ELOOP ? -EEXIST : fd; /* a symlink holds the name */
    /* Private data: owner only, whatever the umask. */
    r = fchmod(fd, 0600) < 0 ? -errno : lock_fd(fd, F_RDLCK);
    if (r < 0) {
        unlinkat(dir_fd, name, 0);
        close(fd);
        return r;
    }
    return fd;
}

int dw_session_file_hold(int fd)
{
    return lock_fd(fd, F_RDLCK);
}

void dw_session_file_open_path(int fd, const char *path, char *buf, size_t cap)
{
    snprintf(buf, cap, "/proc/self/fd/%d", fd);
    if (access(buf, F_OK) < 0)
        snprintf(buf, cap, "%s", path);
}

bool dw_session_file_unlinked(int fd)
{
    struct stat sb;
    return fd >= 0 && fstat(fd, &sb) == 0 && sb.st_nlink == 0;
}

int dw_session_file_busy(const char *path)
{
    return dw_session_file_busy_at(AT_FDCWD, path);
}

int dw_session_file_busy_at(int dir_fd, const char *name)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r;
    if (fd < 0)
        return -errno;
    r = fcntl(fd, F_OFD_GETLK, &fl) < 0 ? -errno : fl.l_type != F_UNLCK;
    close(fd);
    return r;
}

int dw_dir_names(int dir_fd, char ***names, size_t *n)
{
    int fd = dup(dir_fd), e;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    size_t cap = 0;
    *names = NULL;
    *n = 0;
    if (!d) {
        e = -errno;
        if (fd >= 0)
            close(fd);
        return e;
    }
    rewinddir(d);
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (*n == cap) {
            char **p = realloc(*names, (cap = cap ? cap * 2 : 64) * sizeof(*p));
            if (!p)
                break;
            *names = p;
        }
        if (!((*names)[*n] = strdup(de->d_name)))
            break;
        (*n)++;
    }
    closedir(d);
    if (de) {
        dw_dir_names_free(*names, *n);
        *names = NULL;
        *n = 0;
        return -ENOMEM;
    }
    return 0;
}

void dw_dir_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
