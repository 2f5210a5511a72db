#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "h5column.h"

/* Under SWMR, HDF5 1.10 never frees the old copy of a chunk that is written
 * again with a different size (a reader may still be reading it), and the
 * filtered size of a growing chunk changes at every flush. So no dataset
 * goes through H5Dwrite: each keeps its current chunk in memory, filters it
 * with HDF5's own filters in a small in-memory file (the "scratch" dataset,
 * same creation properties), and writes the filtered bytes with
 * H5Dwrite_chunk, padded to an allotment that only grows. A chunk rewritten
 * at every flush then stays where it is, and chunks can be large (30 s of
 * /frames rows) so that they compress. Larger ones compress a little better
 * but cost more at every flush (the whole chunk is filtered again): at
 * 10 Hz, 60 s chunks took 7 % less disk and 30 % more time per flush. */

/* HDF5's metadata cache per open file: by default it starts at 2 MB and
 * grows to 32 MB with what the file's chunk indexes and object headers hold.
 * A session file is written at its end only, so what it needs resident is
 * the last blocks of each index: 128 KB, fixed, for each of a recorder's
 * many files. */
#define MDC_BYTES (128 * 1024)
#define MARGIN 16 /* deflated chunks get a sixteenth more than asked */
#define DEFLATE_LEVEL 4

static int attr_write(hid_t loc, const char *name, hid_t type, hid_t space, const void *v)
{
    hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r;
    if (a < 0)
        return -1;
    r = H5Awrite(a, type, v);
    if (H5Aclose(a) < 0 || r < 0)
        return -1;
    return 0;
}

int dw_h5_attr_scalar(hid_t loc, const char *name, hid_t type, const void *v)
{
    hid_t s = H5Screate(H5S_SCALAR);
    int r;
    if (s < 0)
        return -1;
    r = attr_write(loc, name, type, s, v);
    H5Sclose(s);
    return r;
}

int dw_h5_attr_str(hid_t loc, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    size_t n = strlen(v);
    int r = -1;
    if (t < 0)
        return -1;
    /* A zero-size string type is invalid: an empty value is one NUL. */
    if (H5Tset_size(t, n ? n : 1) >= 0 && H5Tset_strpad(t, H5T_STR_NULLPAD) >= 0 &&
        H5Tset_cset(t, H5T_CSET_UTF8) >= 0)
        r = dw_h5_attr_scalar(loc, name, t, n ? v : "");
    H5Tclose(t);
    return r;
}

int dw_h5_attr_u8_array(hid_t loc, const char *name, const uint8_t *v, size_t n)
{
    hsize_t dim = n;
    hid_t s = H5Screate_simple(1, &dim, NULL);
    int r;
    if (s < 0)
        return -1;
    r = attr_write(loc, name, H5T_NATIVE_UINT8, s, v);
    H5Sclose(s);
    return r;
}

/* ---- datasets ---- */


static hid_t make_dcpl(const struct dw_h5col_storage *st, hsize_t width)
{
    hsize_t chunk[2] = { st->chunk_rows, st->split ? 1 : width };
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    if (p < 0)
        return -1;
    if (H5Pset_chunk(p, width ? 2 : 1, chunk) < 0 ||
        /* No fill value for scale-offset: with the default one (0), HDF5
         * 1.10 leaves values within 10^-decimals of 0 out of the chunk's
         * minimum but still packs them, so +-1 LSB below the rest of its
         * chunk came back as garbage (test_every_raw_exact). */
        (st->decimals >= 0 && (H5Pset_fill_value(p, H5T_NATIVE_FLOAT, NULL) < 0 ||
                               H5Pset_scaleoffset(p, H5Z_SO_FLOAT_DSCALE, st->decimals) < 0)) ||
        (st->deflate && (H5Pset_shuffle(p) < 0 || H5Pset_deflate(p, DEFLATE_LEVEL) < 0)) ||
        (st->checksum && H5Pset_fletcher32(p) < 0)) {
        H5Pclose(p);
        return -1;
    }
    return p;
}

/* The buffers of a column of chunk_rows rows in nsub sub-chunks, and its
 * scratch twin made with dcpl. */
static int col_buffers(struct dw_h5col *a, hid_t dcpl, hid_t scratch)
{
    hsize_t sdims[2] = { a->chunk_rows, a->width };
    hid_t ss = H5Screate_simple(a->width ? 2 : 1, sdims, NULL);
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    a->cap = a->chunk_rows;
    a->buf = calloc(a->cap, a->row_bytes);
    a->allot = calloc(a->nsub, sizeof(*a->allot));
    a->last = calloc(a->nsub, sizeof(*a->last));
    a->len = calloc(a->nsub, sizeof(*a->len));
    /* No chunk cache: H5Dwrite filters and stores the chunk at once, so
     * that its storage size and bytes are the new ones. */
    if (ss >= 0 && dapl >= 0 &&
        H5Pset_chunk_cache(dapl, H5D_CHUNK_CACHE_NSLOTS_DEFAULT, 0, 1.0) >= 0)
        a->scratch = H5Dcreate_anon(scratch, a->mtype, ss, dcpl, dapl);
    if (dapl >= 0)
        H5Pclose(dapl);
    if (ss >= 0)
        H5Sclose(ss);
    return !a->buf || !a->allot || !a->last || !a->len || a->scratch < 0 ? -1 : 0;
}

/* Creates an empty extendible dataset and its twin in the scratch file (see
 * the top of this file); takes ownership of mtype. */
int dw_h5col_create(struct dw_h5col *a, hid_t loc, const char *name, hid_t mtype,
                           hsize_t width, const struct dw_h5col_storage *st, hid_t scratch,
                           const char *units)
{
    hsize_t dims[2] = { 0, width }, maxd[2] = { H5S_UNLIMITED, width };
    int rank = width ? 2 : 1;
    hid_t space = -1, dcpl = -1;
    int r = -1;

    a->name = name;
    a->chunk_rows = st->chunk_rows;
    a->mtype = mtype;
    a->width = width;
    a->row_bytes = H5Tget_size(mtype) * (width ? width : 1);
    a->ds = a->scratch = -1;
    if (mtype < 0 || !a->row_bytes)
        return -1;
    space = H5Screate_simple(rank, dims, maxd);
    dcpl = make_dcpl(st, width);
    if (space < 0 || dcpl < 0)
        goto out;
    a->ds = H5Dcreate2(loc, name, mtype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (a->ds < 0)
        goto out;
    if (units && dw_h5_attr_str(a->ds, "units", units) < 0)
        goto out;
    a->nsub = st->split && width ? width : 1;
    a->scaled = st->decimals >= 0;
    if (col_buffers(a, dcpl, scratch) < 0)
        goto out;
    r = 0;
out:
    if (space >= 0)
        H5Sclose(space);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return r;
}

/* The rows of a partial last chunk back into buf, and the bytes each of
 * its sub-chunks has in the file (its allotment: rewritten in place). */
static int load_last_chunk(struct dw_h5col *a)
{
    hsize_t n = a->rows % a->chunk_rows, first = a->rows - n;
    hsize_t off[2] = { first, 0 }, cnt[2] = { n, a->width };
    hid_t fs = -1, ms = -1;
    int r = -1;
    if (!n)
        return 0;
    fs = H5Dget_space(a->ds);
    ms = H5Screate_simple(a->width ? 2 : 1, cnt, NULL);
    if (fs >= 0 && ms >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0 &&
        H5Dread(a->ds, a->mtype, ms, fs, H5P_DEFAULT, a->buf) >= 0)
        r = 0;
    for (hsize_t j = 0; r == 0 && j < a->nsub; j++) {
        hsize_t coff[2] = { first, j }, size = 0;
        if (H5Dget_chunk_storage_size(a->ds, coff, &size) < 0 || !size)
            r = -1;
        a->allot[j] = (size_t)size;
    }
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    a->n = a->written = (size_t)n;
    return r;
}

int dw_h5col_reopen(struct dw_h5col *a, hid_t loc, const char *name, hid_t mtype,
                    hid_t scratch)
{
    hsize_t dims[2] = { 0, 0 }, chunk[2] = { 0, 0 };
    hid_t sp = -1, dcpl = -1;
    int rank, r = -1;
    a->name = name;
    a->mtype = mtype;
    a->ds = a->scratch = -1;
    if (mtype < 0 || (a->ds = H5Dopen2(loc, name, H5P_DEFAULT)) < 0)
        return -1;
    sp = H5Dget_space(a->ds);
    dcpl = H5Dget_create_plist(a->ds);
    if (sp < 0 || dcpl < 0 || (rank = H5Sget_simple_extent_dims(sp, dims, NULL)) < 1 ||
        H5Pget_chunk(dcpl, 2, chunk) != rank || !chunk[0])
        goto out;
    a->rows = dims[0];
    a->width = rank == 2 ? dims[1] : 0;
    a->chunk_rows = chunk[0];
    a->nsub = rank == 2 && chunk[1] == 1 ? a->width : 1;
    a->row_bytes = H5Tget_size(mtype) * (a->width ? a->width : 1);
    a->scaled = H5Pget_filter_by_id2(dcpl, H5Z_FILTER_SCALEOFFSET, NULL, NULL, NULL, 0, NULL,
                                     NULL) >= 0;
    H5Eclear2(H5E_DEFAULT);
    if (a->row_bytes && a->nsub && col_buffers(a, dcpl, scratch) == 0 && load_last_chunk(a) == 0)
        r = 0;
out:
    if (sp >= 0)
        H5Sclose(sp);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return r;
}

int dw_h5col_push(struct dw_h5col *a, const void *row)
{
    if (a->n == a->cap)
        return -ENOBUFS; /* a failed write left the whole chunk in memory */
    memcpy(a->buf + a->n * a->row_bytes, row, a->row_bytes);
    a->n++;
    return 0;
}

/* Rows in memory that are not in the file yet. */
size_t dw_h5col_pending(const struct dw_h5col *a)
{
    return a->n - a->written;
}

/* Bytes to allot to a sub-chunk that filters to len bytes with n of its
 * rows filled. A chunk starts with what the last whole chunks took (`last`
 * forgets slowly: it is the largest of them, less a sixteenth for each
 * chunk since). One that outgrows it mid-way gets what the whole chunk
 * will take at this rate: a deflated chunk grows with its rows, and gets a
 * sixteenth more; a scale-offset one is always packed whole (the rows after
 * the last repeat it) and grows only when its range needs one more bit per
 * value, so it gets room for one more bit and no other margin. */
static size_t allotment(const struct dw_h5col *a, hsize_t j, size_t len)
{
    uint64_t raw = (uint64_t)a->chunk_rows * a->row_bytes / a->nsub + 64;
    uint64_t whole;
    if (!a->written && a->last[j])
        whole = a->last[j];
    else if (a->scaled)
        whole = len + (uint64_t)a->chunk_rows * (a->width ? a->width / a->nsub : 1) / 8;
    else
        whole = (uint64_t)len * a->chunk_rows / a->n;
    if (whole > raw)
        whole = raw; /* a filter adds a small header at most */
    if (whole < len)
        whole = len;
    if (!a->scaled)
        whole += whole / MARGIN;
    return (size_t)((whole + 15) & ~(uint64_t)15);
}

/* Fletcher-32 as HDF5's filter computes it: 16-bit big-endian words (an odd
 * last byte is the high half of one), sums folded modulo 65535. */
static uint32_t fletcher32(const uint8_t *p, size_t n)
{
    uint32_t a = 0, b = 0;
    for (size_t words = n / 2; words;) {
        size_t k = words > 360 ? 360 : words; /* no overflow before folding */
        words -= k;
        for (; k; k--, p += 2) {
            a += (uint32_t)p[0] << 8 | p[1];
            b += a;
        }
        a = (a & 0xffff) + (a >> 16);
        b = (b & 0xffff) + (b >> 16);
    }
    if (n & 1) {
        a += (uint32_t)p[0] << 8;
        b += a;
        a = (a & 0xffff) + (a >> 16);
        b = (b & 0xffff) + (b >> 16);
    }
    a = (a & 0xffff) + (a >> 16);
    b = (b & 0xffff) + (b >> 16);
    return b << 16 | a;
}

/* Pads a filtered sub-chunk of len bytes in buf to `to` bytes. The
 * Fletcher-32 checksum, the pipeline's last step, must stay the last 4 bytes
 * and cover what precedes it: the zeros go between the data and a checksum
 * made again (deflate and scale-offset stop reading at their own end). The
 * checksum HDF5 made is checked first, so that a difference between the two
 * ways of computing it stops the recorder instead of making unreadable
 * chunks. */
static int pad_chunk(uint8_t *buf, size_t len, size_t to)
{
    uint32_t c = fletcher32(buf, len - 4);
    if (c != dw_get_le32(buf + len - 4))
        return -1;
    memset(buf + len - 4, 0, to - len + 4);
    dw_put_le32(buf + to - 4, fletcher32(buf, to - 4));
    return 0;
}

/* Filters the current chunk of a dataset in its scratch dataset and
 * sets the allotment of each sub-chunk: set when a chunk is first written,
 * grown only if the chunk outgrows it (the one case where HDF5 moves it and
 * the old copy stays behind). Adds to *grow the bytes the file will
 * allocate for it. Nothing is written to the file yet. */
int dw_h5col_filter(struct dw_h5col *a, uint64_t *grow)
{
    if (!dw_h5col_pending(a))
        return 0;
    /* The rows after the last one repeat it: they are past the extent, so
     * no reader sees them, and they neither widen the value range that
     * scale-offset packs nor cost deflate anything. */
    for (size_t i = a->n; i < a->chunk_rows; i++)
        memcpy(a->buf + i * a->row_bytes, a->buf + (a->n - 1) * a->row_bytes, a->row_bytes);
    if (H5Dwrite(a->scratch, a->mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->buf) < 0)
        return -1;
    for (hsize_t j = 0; j < a->nsub; j++) {
        hsize_t soff[2] = { 0, j }, len = 0;
        if (H5Dget_chunk_storage_size(a->scratch, soff, &len) < 0 || !len)
            return -1;
        a->len[j] = (size_t)len;
        if (a->written && len <= a->allot[j])
            continue;
        a->allot[j] = allotment(a, j, (size_t)len);
        *grow += a->allot[j];
    }
    return 0;
}

/* Writes what dw_h5col_filter prepared: each sub-chunk's filtered bytes as
 * they are, padded with zeros to its allotment, with H5Dwrite_chunk. A
 * chunk rewritten at every flush thus keeps its size and its place. */
int dw_h5col_write(struct dw_h5col *a)
{
    hsize_t first = a->rows - a->written;
    hsize_t size[2] = { first + a->n, a->width };

    if (!dw_h5col_pending(a))
        return 0;
    if (H5Dset_extent(a->ds, size) < 0)
        return -1;
    for (hsize_t j = 0; j < a->nsub; j++) {
        hsize_t soff[2] = { 0, j }, foff[2] = { first, j };
        uint32_t mask = 0;
        if (a->allot[j] > a->ccap) {
            uint8_t *nb = realloc(a->cbuf, a->allot[j]);
            if (!nb)
                return -1;
            a->cbuf = nb;
            a->ccap = a->allot[j];
        }
        if (H5Dread_chunk(a->scratch, H5P_DEFAULT, soff, &mask, a->cbuf) < 0)
            return -1;
        if (pad_chunk(a->cbuf, a->len[j], a->allot[j]) < 0)
            return -1;
        if (H5Dwrite_chunk(a->ds, H5P_DEFAULT, mask, foff, a->allot[j], a->cbuf) < 0)
            return -1;
        if (a->n == a->chunk_rows) {
            size_t fade = a->last[j] - a->last[j] / 16;
            a->last[j] = a->len[j] > fade ? a->len[j] : fade;
        }
    }
    a->rows = first + a->n;
    a->written = a->n;
    a->dirty = 1;
    if (a->n == a->chunk_rows)
        a->n = a->written = 0; /* complete: the next rows start the next chunk */
    return 0;
}


void dw_h5col_close(struct dw_h5col *a)
{
    if (a->ds > 0)
        H5Dclose(a->ds);
    if (a->scratch > 0)
        H5Dclose(a->scratch);
    if (a->mtype > 0)
        H5Tclose(a->mtype);
    free(a->buf);
    free(a->allot);
    free(a->last);
    free(a->len);
    free(a->cbuf);
    memset(a, 0, sizeof(*a));
    a->ds = a->scratch = a->mtype = -1;
}


/* The in-memory file where /frames chunks are filtered: never on disk, one
 * for the whole process (each file HDF5 opens costs about half a megabyte
 * of cache structures, and a recorder may write thousands of sessions), its
 * datasets anonymous, so that they vanish when their writer closes them. */
static hid_t scratch_file = -1;
static unsigned scratch_users;

hid_t dw_h5_scratch_get(void)
{
    static int limited;
    if (!limited) {
        /* HDF5 keeps the blocks it frees for reuse, in these lists by
         * default up to 21 MB a process (1 + 4 + 16 MB): a recorder that
         * runs for weeks keeps its peak. In HDF5 1.10 the factory lists
         * (the chunk index blocks) count against the block limits too. */
        H5set_free_list_limits(256 * 1024, 64 * 1024, 256 * 1024, 64 * 1024, 256 * 1024,
                               64 * 1024);
        limited = 1;
    }
    if (scratch_file < 0) {
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        if (fapl < 0)
            return -1;
        if (H5Pset_fapl_core(fapl, 64 * 1024, 0) >= 0)
            scratch_file = H5Fcreate("ductwatch-scratch", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        H5Pclose(fapl);
        if (scratch_file < 0)
            return -1;
    }
    scratch_users++;
    return scratch_file;
}

void dw_h5_scratch_put(void)
{
    if (scratch_users && --scratch_users == 0) {
        H5Fclose(scratch_file);
        scratch_file = -1;
    }
}

/* A fixed-size metadata cache (MDC_BYTES) for the file opened with fapl. */
int dw_h5_set_mdc_size(hid_t fapl)
{
    H5AC_cache_config_t c;
    memset(&c, 0, sizeof(c));
    c.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    if (H5Pget_mdc_config(fapl, &c) < 0)
        return -1;
    c.set_initial_size = 1;
    c.initial_size = c.min_size = c.max_size = MDC_BYTES;
    c.incr_mode = H5C_incr__off;
    c.flash_incr_mode = H5C_flash_incr__off;
    c.decr_mode = H5C_decr__off;
    return H5Pset_mdc_config(fapl, &c) < 0 ? -1 : 0;
}

int dw_h5col_open_all(struct dw_h5col *cols, size_t n, hid_t loc)
{
    for (size_t i = 0; i < n; i++)
        if ((cols[i].ds = H5Dopen2(loc, cols[i].name, H5P_DEFAULT)) < 0)
            return -1;
    return 0;
}

static int close_datasets(struct dw_h5col *cols, size_t n)
{
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        if (cols[i].ds >= 0 && H5Dclose(cols[i].ds) < 0)
            r = -1;
        cols[i].ds = -1;
    }
    return r;
}

/* Not H5Fstart_swmr_write: in HDF5 1.10 that call walks every datatype,
 * attribute and dataset ID open in the whole process four times (to count,
 * list, flush and refresh the objects of this one file), so a recorder paid
 * for all its open files at every new one: 1536 files took 55 s. Closing
 * the file walks the process's datasets once. */
int dw_h5_swmr_reopen(hid_t *file, const char *path, hid_t fapl,
                      struct dw_h5col *a, size_t na, struct dw_h5col *b, size_t nb)
{
    int r = close_datasets(a, na);
    if (close_datasets(b, nb) < 0)
        r = -1;
    if (H5Fclose(*file) < 0)
        r = -1;
    *file = -1;
    if (r < 0)
        return -1;
    *file = H5Fopen(path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE, fapl);
    return *file < 0 ? -1 : 0;
}

int dw_h5_file_fd(hid_t file, hid_t fapl)
{
    int *fd = NULL;
    if (file < 0 || H5Fget_vfd_handle(file, fapl, (void **)&fd) < 0 || !fd)
        return -1;
    return *fd;
}

int dw_h5col_flush_dirty(struct dw_h5col *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!cols[i].dirty)
            continue;
        if (H5Dflush(cols[i].ds) < 0)
            return -1;
        cols[i].dirty = 0;
    }
    return 0;
}
