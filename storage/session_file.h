/* Where a session file goes and who may touch it (docs/storage.md,
 * section 3):
 *  - its name is built only from a valid device id (dw_device_id_valid)
 *    and the UTC start, so no id can place it outside the directory;
 *  - it is created under the recorder's directory without following a
 *    symlink and without replacing anything: openat2() with
 *    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or openat() with O_NOFOLLOW on
 *    kernels without openat2, always O_CREAT | O_EXCL, mode 0600;
 *  - the writer holds a shared open file description lock (F_OFD_SETLK,
 *    F_RDLCK) on it for as long as it writes, and a recovery refuses a file
 *    on which an exclusive one could not be had (a live file); the lock
 *    goes with the writer's last descriptor of the file, kill -9 included;
 *  - a file whose last name was removed (st_nlink 0) can be noticed. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "<device>-<stamp>.h5", or "<device>-<stamp>-<k>.h5" for k > 0, into buf.
 * Its length, -EINVAL for an id that is not a valid device id, or
 * -ENAMETOOLONG. */
int dw_session_name(char *buf, size_t cap, const char *device_id, const char *stamp, int k);
/* The UTC start a session file's name holds (as dw_session_name makes it
 * for device) in ns since the epoch, or 0 for another name. */
uint64_t dw_session_name_start(const char *name, const char *device);

/* Creates name under the directory dir_fd (AT_FDCWD: name is a path
 * relative to it or absolute, and only its last component is protected
 * from symlinks), mode 0600, and takes the writer's lock. The descriptor
 * (O_RDWR, close-on-exec), or -EEXIST when the name is taken, or -errno. */
int dw_session_file_create(int dir_fd, const char *name);
/* Takes the writer's lock on another descriptor of the same file (the one
 * the HDF5 library opened), so that the one above can be closed: one
 * descriptor per open file. 0 or -errno. */
int dw_session_file_hold(int fd);

/* A path for a library that opens files by name (HDF5) that reaches the
 * very file fd holds, whatever happens to its name: /proc/self/fd/N where
 * /proc is mounted, else path. */
void dw_session_file_open_path(int fd, const char *path, char *buf, size_t cap);

/* true when the file fd holds has no name left (deleted while open). */
bool dw_session_file_unlinked(int fd);

/* Whether a live writer holds the lock of the session file at path (kill
 * -9 releases it): 1, 0, or -errno. Needs only read access. */
int dw_session_file_busy(const char *path);
/* The same for name under the directory dir_fd (not following a symlink). */
int dw_session_file_busy_at(int dir_fd, const char *name);

/* The names in the directory dir_fd that do not start with '.' (it is
 * read from its start; dir_fd itself is left as it was), into *names: a
 * malloc'd array of *n malloc'd strings, freed with dw_dir_names_free.
 * 0 or -errno (nothing to free then). */
int dw_dir_names(int dir_fd, char ***names, size_t *n);
void dw_dir_names_free(char **names, size_t n);
