#include <errno.h>
#include <hdf5.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "recover.h"
#include "session_file.h"
#include "session_format.h"

/* The file-access property h5clear sets (H5F_ACS_CLEAR_STATUS_FLAGS_NAME in
 * HDF5's private H5Fprivate.h); it is registered in every FAPL, so the
 * public H5Pset reaches it. */
#define CLEAR_STATUS_FLAGS "clear_status_flags"
/* What h5clear --increment adds by default beyond max(EOA, EOF). */
#define EOA_INCREMENT (1024 * 1024)

/* The chunks at the end of each dataset whose bytes are checked: those that
 * hold the last TAIL_SECONDS of rows at the garment's rate, and at least
 * MIN_CHECKED of them. Only the last chunk is rewritten in place
 * (session_writer.c), but a power loss can also tear the ones written since
 * the last fsync (every 10 s by default). Chunks before are left alone: a
 * bad one there is not a crash's doing, and cutting at it would drop the
 * good rows after it. */
#define TAIL_SECONDS 120
#define MIN_CHECKED 8

struct frames_trim {
    hsize_t rows;     /* the shortest column */
    hsize_t bad_from; /* the first row of the first chunk that does not read */
    unsigned rate_hz; /* the garment's, from the root attributes */
    unsigned n;
    char names[32][32];
};

/* Whether the stored bytes of one chunk are all zero: blocks a power loss
 * left allocated but unwritten. Fletcher-32 of zeros is zero, and
 * scale-offset reads such a chunk as all 0.0 without an error. */
static bool chunk_zeroed(hid_t d, const hsize_t *off, unsigned char **buf, size_t *cap)
{
    hsize_t n = 0;
    uint32_t mask = 0;
    if (H5Dget_chunk_storage_size(d, off, &n) < 0 || !n)
        return false; /* not stored: nothing to check */
    if (n > *cap) {
        unsigned char *nb = realloc(*buf, n);
        if (!nb)
            return false;
        *buf = nb;
        *cap = n;
    }
    if (H5Dread_chunk(d, H5P_DEFAULT, off, &mask, *buf) < 0)
        return true; /* its bytes cannot even be read */
    for (hsize_t i = 0; i < n; i++)
        if ((*buf)[i])
            return false;
    return true;
}

/* The rows of a dataset, up to the first of its last chunks (see
 * TAIL_SECONDS) that does not read back (checksum or decoding error) or
 * whose bytes are all zero. */
static hsize_t readable_rows(hid_t d, hsize_t rows, hsize_t width, unsigned rate_hz)
{
    hid_t dcpl = H5Dget_create_plist(d), t = H5Dget_type(d), mt = -1, fs = -1;
    hsize_t chunk[2] = { 0, 0 }, good = rows;
    unsigned char *buf = NULL, *raw = NULL;
    size_t rawcap = 0;

    if (dcpl < 0 || t < 0 || H5Pget_layout(dcpl) != H5D_CHUNKED ||
        H5Pget_chunk(dcpl, 2, chunk) < 1 || !chunk[0])
        goto out;
    mt = H5Tget_native_type(t, H5T_DIR_ASCEND);
    fs = H5Dget_space(d);
    buf = malloc(chunk[0] * (width ? width : 1) * (mt >= 0 ? H5Tget_size(mt) : 1));
    if (mt < 0 || fs < 0 || !buf)
        goto out;
    hsize_t n = (rows + chunk[0] - 1) / chunk[0];
    hsize_t checked = ((hsize_t)TAIL_SECONDS * rate_hz + chunk[0] - 1) / chunk[0] + 1;
    if (checked < MIN_CHECKED)
        checked = MIN_CHECKED;
    for (hsize_t k = n > checked ? n - checked : 0; k < n; k++) {
        hsize_t start[2] = { k * chunk[0], 0 };
        hsize_t count[2] = { rows - start[0] < chunk[0] ? rows - start[0] : chunk[0], width };
        hid_t ms = H5Screate_simple(width ? 2 : 1, count, NULL);
        herr_t r = -1;
        if (ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
            r = H5Dread(d, mt, ms, fs, H5P_DEFAULT, buf);
        if (ms >= 0)
            H5Sclose(ms);
        /* a rank-2 dataset may be split into one chunk per column */
        for (hsize_t j = 0; r >= 0 && j < (width ? width : 1); j += chunk[1] ? chunk[1] : 1) {
            hsize_t off[2] = { start[0], j };
            if (chunk_zeroed(d, off, &raw, &rawcap))
                r = -1;
        }
        if (r < 0) {
            H5Eclear2(H5E_DEFAULT);
            good = start[0];
            break;
        }
    }
out:
    free(buf);
    free(raw);
    if (fs >= 0)
        H5Sclose(fs);
    if (mt >= 0)
        H5Tclose(mt);
    if (t >= 0)
        H5Tclose(t);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return good;
}

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
    int rank = sp >= 0 ? H5Sget_simple_extent_dims(sp, dims, NULL) : -1;
    if (rank >= 1) {
        hsize_t ok = readable_rows(d, dims[0], rank == 2 ? dims[1] : 0, t->rate_hz);
        if (ok < dims[0] && ok < t->bad_from)
            t->bad_from = ok;
        if (ok < t->rows)
            t->rows = ok;
        snprintf(t->names[t->n++], sizeof(t->names[0]), "%s", name);
    }
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    return 0;
}

/* A writer killed between flushing one /frames column and the next leaves
 * them with different lengths; the shortest is what is complete (/frames/seq
 * is flushed last). A chunk torn by a power loss does not read back (every
 * /frames chunk has a checksum): the rows from its start are lost too. Cut
 * every column back to the rows all of them hold, so that every reader sees
 * one table. Returns the rows dropped from the longest column, or -1. */
/* The garment's sample rate (root attribute sample_rate_hz), or 1000 (the
 * most a garment sends) when the file does not say. */
static unsigned file_rate(hid_t f)
{
    unsigned rate = 1000;
    hid_t a = H5Aexists(f, "sample_rate_hz") > 0 ? H5Aopen(f, "sample_rate_hz", H5P_DEFAULT) : -1;
    if (a >= 0) {
        if (H5Aread(a, H5T_NATIVE_UINT, &rate) < 0 || !rate)
            rate = 1000;
        H5Aclose(a);
    }
    H5Eclear2(H5E_DEFAULT);
    return rate;
}

static long long trim_frames(hid_t f, struct dw_recover_report *rep)
{
    struct frames_trim t = { .rows = (hsize_t)-1, .bad_from = (hsize_t)-1,
                             .rate_hz = file_rate(f) };
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
            if ((long long)(dims[0] - t.rows) > dropped)
                dropped = (long long)(dims[0] - t.rows);
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
    if (rep) {
        rep->frames = t.n ? t.rows : 0;
        rep->rows_cut = (uint64_t)dropped;
        rep->torn = t.bad_from != (hsize_t)-1;
    }
    return dropped;
}

/* The tables' last chunks are rewritten in place too: a table whose last
 * chunks do not read back is cut to the rows before them. Returns the rows
 * cut, or -1. */
static long long trim_tables(hid_t f)
{
    unsigned rate_hz = file_rate(f);
    static const char *const names[] = { "hellos", "device_status", "events", "alerts",
                                         "stats" };
    long long cut = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        hid_t d = H5Lexists(f, names[i], H5P_DEFAULT) > 0 ? H5Dopen2(f, names[i], H5P_DEFAULT)
                                                          : -1;
        hid_t sp = d >= 0 ? H5Dget_space(d) : -1;
        hsize_t dims[1] = { 0 };
        if (sp >= 0 && H5Sget_simple_extent_dims(sp, dims, NULL) == 1) {
            hsize_t ok = readable_rows(d, dims[0], 0, rate_hz);
            if (ok < dims[0]) {
                cut += (long long)(dims[0] - ok);
                dims[0] = ok;
                if (H5Dset_extent(d, dims) < 0)
                    cut = -1;
            }
        }
        if (sp >= 0)
            H5Sclose(sp);
        if (d >= 0)
            H5Dclose(d);
        H5Eclear2(H5E_DEFAULT);
        if (cut < 0)
            return -1;
    }
    return cut;
}

/* An empty file is what a recorder killed between creating a file and
 * HDF5's first write leaves (a rotation, a new garment): it holds nothing,
 * so it goes, unless a live recorder holds it (creating it right now). */
static int remove_empty(const char *path, char *err, size_t errcap)
{
    int busy = dw_session_file_busy(path);
    if (busy > 0) {
        snprintf(err, errcap, "%s: is being created by a live ductwatch-record; nothing to "
                 "recover", path);
        return -EBUSY;
    }
    if (busy < 0 || unlink(path) < 0) {
        int e = busy < 0 ? -busy : errno;
        snprintf(err, errcap, "%s: empty, cannot remove it: %s", path, strerror(e));
        return -e;
    }
    return DW_RECOVER_REMOVED;
}

/* Whether path is a file to recover: 1 to go on, else what
 * dw_session_recover returns (an empty file removed, not HDF5, busy). */
static int recoverable(const char *path, char *err, size_t errcap)
{
    struct stat sb;
    int busy;

    if (stat(path, &sb) < 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -errno;
    }
    if (S_ISREG(sb.st_mode) && sb.st_size == 0)
        return remove_empty(path, err, errcap);
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        snprintf(err, errcap, "%s: not an HDF5 file, nothing to recover", path);
        return -EBADF;
    }
    /* Clearing the flags of a file a recorder is still writing would let
     * readers see it half-written, and the recorder's next flush would
     * write over what the recovery changed. */
    busy = dw_session_file_busy(path);
    if (busy > 0) {
        snprintf(err, errcap, "%s: is being written by a live ductwatch-record; nothing to "
                 "recover (stop that recorder first)", path);
        return -EBUSY;
    }
    if (busy < 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(-busy));
        return busy;
    }
    return 1;
}

int dw_session_recover(const char *path, struct dw_recover_report *rep, char *err,
                       size_t errcap)
{
    char why[384];
    hid_t f, fapl;
    hbool_t clear = 1;
    int ret;

    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if ((ret = recoverable(path, err, errcap)) != 1)
        return ret;
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
    } else if (trim_frames(f, rep) < 0) {
        dw_session_h5_reason(why, sizeof(why));
        snprintf(err, errcap, "%s: cannot make the /frames columns one length: %s", path, why);
        ret = -EIO;
    } else {
        long long cut = trim_tables(f);
        if (cut < 0) {
            dw_session_h5_reason(why, sizeof(why));
            snprintf(err, errcap, "%s: cannot cut a table back to its readable rows: %s", path,
                     why);
            ret = -EIO;
        } else if (rep) {
            rep->table_rows_cut = (uint64_t)cut;
        }
    }
    if (H5Fclose(f) < 0 && ret > 0) {
        dw_session_h5_reason(why, sizeof(why));
        snprintf(err, errcap, "%s: closing after recovery: %s", path, why);
        ret = -EIO;
    }
    return ret;
}
