#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "resume.h"
#include "session_file.h"

int dw_resume_open(struct dw_resume *rs, int dir_fd, const char *dir)
{
    memset(rs, 0, sizeof(*rs));
    if (!(rs->dir = strdup(dir)))
        return -ENOMEM;
    return dw_dir_names(dir_fd, &rs->names, &rs->n);
}

/* A file whose writer was killed is still marked as open for writing:
 * HDF5 opens it read-only only as a SWMR reader. */
static hid_t open_read(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        f = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    return f;
}

/* Of two names of one device that start in the same second, whether a
 * is the later: "<device>-<stamp>-<k>.h5" comes after "<device>-<stamp>.h5"
 * and after a smaller k (dw_session_name). */
static bool later_same_second(const char *a, const char *b, const char *device)
{
    size_t at = strlen(device) + 1 + 16; /* after "<device>-YYYYmmddTHHMMSSZ" */
    long ka = a[at] == '-' ? strtol(a + at + 1, NULL, 10) : 0;
    long kb = b && b[at] == '-' ? strtol(b + at + 1, NULL, 10) : 0;
    return ka > kb;
}

bool dw_resume_tail(const struct dw_resume *rs, const char *device, struct dw_session_tail *tl)
{
    const char *best = NULL;
    uint64_t best_ns = 0;
    char path[PATH_MAX];
    hid_t f;
    int r;

    for (size_t k = 0; k < rs->n; k++) {
        uint64_t t = dw_session_name_start(rs->names[k], device);
        if (t && (t > best_ns || (t == best_ns && later_same_second(rs->names[k], best, device)))) {
            best_ns = t;
            best = rs->names[k];
        }
    }
    if (!best || snprintf(path, sizeof(path), "%s/%s", rs->dir, best) >= (int)sizeof(path))
        return false;
    if ((f = open_read(path)) < 0)
        return false;
    r = dw_session_tail_read(f, tl);
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return r == 0;
}

void dw_resume_close(struct dw_resume *rs)
{
    dw_dir_names_free(rs->names, rs->n);
    free(rs->dir);
    memset(rs, 0, sizeof(*rs));
}
