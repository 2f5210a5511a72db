/* Small reads of HDF5 files the storage code shares: a dataset's rows,
 * rows by range, a table read whole, a uint64 attribute. Each returns what
 * it could (0 or -1, no reason: the callers say what they were reading). */
#pragma once
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* Rows (first dimension) of dataset ds; 0 when it cannot tell. */
hsize_t dw_h5_rows(hid_t ds);
/* Rows [first, first + n) of dataset name under file, of `width` columns
 * (0: rank 1), into buf as mtype: 0 or -1. */
int dw_h5_read_rows(hid_t file, const char *name, hid_t mtype, hsize_t width, hsize_t first,
                    hsize_t n, void *buf);
/* Every row of table name (row_bytes each, as type t) into *rows (malloc'd,
 * *n rows): 0 or -1. */
int dw_h5_read_rows_all(hid_t f, const char *name, hid_t t, size_t row_bytes, uint8_t **rows,
                        size_t *n);
/* A uint64 attribute of loc; 0 when it is missing or unreadable. */
uint64_t dw_h5_attr_u64(hid_t loc, const char *name);
