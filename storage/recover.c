#include "recover.h"

#include <errno.h>
#include <hdf5.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "session_format.h"

/* The file-access property h5clear sets (H5F_ACS_CLEAR_STATUS_FLAGS_NAME in
 * HDF5's private H5Fprivate.h); it is registered in every FAPL, so the
 * public H5Pset reaches it. */
#define CLEAR_STATUS_FLAGS "clear_status_flags"
/* What h5clear --increment adds by default beyond max(EOA, EOF). */
#define EOA_INCREMENT (1024 * 1024)

struct frames_trim {
    hsize_t rows;     /* the shortest column */
    unsigned n;
    char names[32][32];
};

static herr_t collect_column(hid_t g, const char *name, const H5L_info_t *info, void *op)
{
    struct frames_trim *t = op;
    hid_t d, sp;
    hsize_t dims[2];
    (void)info;
    if (t->n >= sizeof(t->names) / sizeof(t->names[0]) || strlen(name) >= sizeof(t->names[0]))
        return 0;
    d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        return 0;
    sp = H5Dget_space(d);
    if (sp >= 0 && H5Sget_simple_extent_dims(sp, dims, NULL) >= 1) {
        if (dims[0] < t->rows)
            t->rows = dims[0];
        snprintf(t->names[t->n++], sizeof(t->names[0]), "%s", name);
    }
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    return 0;
}

/* A writer killed between flushing one /frames column and the next leaves
 * them with different lengths; the shortest is what is complete (/frames/seq
 * is flushed last). Cut the others back to it, so that every reader sees
 * one table. Returns the rows dropped, or -1. */
static long long trim_frames(hid_t f)
{
    struct frames_trim t = { .rows = (hsize_t)-1 };
    long long dropped = 0;
    hid_t g = H5Gopen2(f, "frames", H5P_DEFAULT);
    if (g < 0)
        return 0; /* not written yet: nothing to trim */
    if (H5Literate(g, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, collect_column, &t) < 0) {
        H5Gclose(g);
        return -1;
    }
    for (unsigned i = 0; i < t.n; i++) {
        hid_t d = H5Dopen2(g, t.names[i], H5P_DEFAULT), sp = d >= 0 ? H5Dget_space(d) : -1;
        hsize_t dims[2] = { 0, 0 };
        int rank = sp >= 0 ? H5Sget_simple_extent_dims(sp, dims, NULL) : -1;
        if (rank >= 1 && dims[0] > t.rows) {
            dropped += (long long)(dims[0] - t.rows);
            dims[0] = t.rows;
            if (H5Dset_extent(d, dims) < 0)
                dropped = -1;
        }
        if (sp >= 0)
            H5Sclose(sp);
        if (d >= 0)
            H5Dclose(d);
        if (rank < 0 || dropped < 0) {
            H5Gclose(g);
            return -1;
        }
    }
    H5Gclose(g);
    return dropped;
}

int dw_session_recover(const char *path, char *err, size_t errcap)
{
    char why[384];
    struct stat sb;
    hid_t f, fapl;
    hbool_t clear = 1;
    int ret = 1;

    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (stat(path, &sb) < 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -errno;
    }
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        snprintf(err, errcap, "%s: not an HDF5 file, nothing to recover", path);
        return -EBADF;
    }
    /* A file that opens normally was closed properly: leave it alone. */
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0) {
        H5Fclose(f);
        return 0;
    }
    H5Eclear2(H5E_DEFAULT);
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset(fapl, CLEAR_STATUS_FLAGS, &clear) < 0) {
        dw_session_h5_reason(why, sizeof(why));
        snprintf(err, errcap, "%s: this HDF5 library cannot clear status flags: %s", path, why);
        if (fapl >= 0)
            H5Pclose(fapl);
        return -ENOTSUP;
    }
    f = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        dw_session_h5_reason(why, sizeof(why));
        snprintf(err, errcap, "%s: cannot open for recovery: %s", path, why);
        return -EIO;
    }
    if (H5Fincrement_filesize(f, EOA_INCREMENT) < 0) {
        dw_session_h5_reason(why, sizeof(why));
        snprintf(err, errcap, "%s: cannot restore the end of allocation: %s", path, why);
        ret = -EIO;
    } else if (trim_frames(f) < 0) {
        dw_session_h5_reason(why, sizeof(why));
        snprintf(err, errcap, "%s: cannot make the /frames columns one length: %s", path, why);
        ret = -EIO;
    }
    if (H5Fclose(f) < 0 && ret > 0) {
        dw_session_h5_reason(why, sizeof(why));
        snprintf(err, errcap, "%s: closing after recovery: %s", path, why);
        ret = -EIO;
    }
    return ret;
}
