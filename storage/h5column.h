/* The HDF5 pieces the session and fleet writers share: attributes, and
 * extendible datasets appended to under SWMR (struct dw_h5col: rows held
 * in memory, their chunk filtered in an in-memory scratch file and written
 * whole with H5Dwrite_chunk at an allotment that only grows, h5column.c
 * says why). */
#pragma once
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* How a dataset is stored. */
struct dw_h5col_storage {
    hsize_t chunk_rows;
    int split;         /* one chunk per column of a rank-2 dataset */
    int deflate;       /* shuffle + deflate */
    int decimals;      /* >= 0: scale-offset keeping this many decimal digits */
    int checksum;      /* Fletcher-32 over each stored chunk */
};

/* One extendible dataset (rank 1, or rank 2 with a fixed width) and the rows
 * waiting in memory for it. */
struct dw_h5col {
    const char *name;
    hid_t ds;
    hid_t mtype;       /* owned */
    size_t row_bytes;
    hsize_t width;     /* 0: rank 1 */
    uint8_t *buf;
    size_t n, cap;
    hsize_t rows;      /* rows in the file */
    hsize_t chunk_rows;
    int dirty;         /* rows written since the last flush */
    int scaled;        /* scale-offset: packed whole, one bit per value at a time */
    /* buf holds the current chunk, whose first `written` rows are already
     * in the file, from file row `rows - written`; the chunk is split across
     * the width into `nsub` chunks. */
    hid_t scratch;     /* the same dataset in the writer's in-memory file */
    size_t written;
    hsize_t nsub;
    size_t *allot;     /* bytes allotted in the file to each sub-chunk */
    size_t *last;      /* filtered size of each sub-chunk of the last whole chunk */
    size_t *len;       /* filtered size of each sub-chunk now (dw_h5col_filter) */
    uint8_t *cbuf;     /* one filtered sub-chunk */
    size_t ccap;
};

int dw_h5_attr_scalar(hid_t loc, const char *name, hid_t type, const void *v);
/* A UTF-8 NUL-padded string attribute (an empty value is one NUL). */
int dw_h5_attr_str(hid_t loc, const char *name, const char *v);
int dw_h5_attr_u8_array(hid_t loc, const char *name, const uint8_t *v, size_t n);

/* Creates an empty extendible dataset name under loc and its twin in the
 * scratch file; takes ownership of mtype. 0 or -1 (HDF5 error stack). */
int dw_h5col_create(struct dw_h5col *a, hid_t loc, const char *name, hid_t mtype,
                    hsize_t width, const struct dw_h5col_storage *st, hid_t scratch,
                    const char *units);
/* Opens the existing dataset name under loc to append to it: its storage
 * as the file has it, its last chunk's rows back in memory when that
 * chunk is not full (rewritten in place with the new rows), and its twin
 * in the scratch file; takes ownership of mtype. 0 or -1. */
int dw_h5col_reopen(struct dw_h5col *a, hid_t loc, const char *name, hid_t mtype,
                    hid_t scratch);
/* Holds one row (row_bytes) in memory; -ENOBUFS when the chunk is full. */
int dw_h5col_push(struct dw_h5col *a, const void *row);
/* Rows in memory that are not in the file yet. */
size_t dw_h5col_pending(const struct dw_h5col *a);
/* Filters the current chunk (nothing written yet); adds to *grow the bytes
 * the file will allocate for it. */
int dw_h5col_filter(struct dw_h5col *a, uint64_t *grow);
/* Writes what dw_h5col_filter prepared; sets dirty. */
int dw_h5col_write(struct dw_h5col *a);
void dw_h5col_close(struct dw_h5col *a);
/* H5Dflush of each column that got rows since its last flush, each on its
 * own: H5Fflush first walks every dataset open in the library (HDF5 1.10
 * H5D_flush_all), so a recorder with N files paid N x N per second of
 * flushes. -1 at the first that fails. */
int dw_h5col_flush_dirty(struct dw_h5col *cols, size_t n);
/* Opens each column's dataset at its name under loc; stops at the first
 * that fails (-1). */
int dw_h5col_open_all(struct dw_h5col *cols, size_t n, hid_t loc);

/* SWMR writing starts by opening the finished file again with
 * H5F_ACC_SWMR_WRITE: closes the datasets of both column arrays and the
 * file, then opens *file again for SWMR writing (the caller reopens its
 * datasets with dw_h5col_open_all). -1 if a close or the open failed. */
int dw_h5_swmr_reopen(hid_t *file, const char *path, hid_t fapl,
                      struct dw_h5col *a, size_t na, struct dw_h5col *b, size_t nb);
/* HDF5's file descriptor of an open file, or -1. */
int dw_h5_file_fd(hid_t file, hid_t fapl);

/* The process's in-memory scratch file (counted users). */
hid_t dw_h5_scratch_get(void);
void dw_h5_scratch_put(void);
/* A fixed-size metadata cache for a file opened with fapl. */
int dw_h5_set_mdc_size(hid_t fapl);
