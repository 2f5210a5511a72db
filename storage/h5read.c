#include <stdlib.h>
#include "h5read.h"

hsize_t dw_h5_rows(hid_t ds)
{
    hsize_t dims[2] = { 0, 0 };
    hid_t sp = H5Dget_space(ds);
    if (sp < 0)
        return 0;
    if (H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
        dims[0] = 0;
    H5Sclose(sp);
    return dims[0];
}

int dw_h5_read_rows(hid_t file, const char *name, hid_t mtype, hsize_t width, hsize_t first,
                    hsize_t n, void *buf)
{
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT), fs = -1, ms = -1;
    hsize_t off[2] = { first, 0 }, cnt[2] = { n, width };
    int r = -1;
    if (ds < 0)
        return -1;
    if (!n) {
        H5Dclose(ds);
        return 0;
    }
    fs = H5Dget_space(ds);
    ms = H5Screate_simple(width ? 2 : 1, cnt, NULL);
    if (fs >= 0 && ms >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0 &&
        H5Dread(ds, mtype, ms, fs, H5P_DEFAULT, buf) >= 0)
        r = 0;
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    H5Dclose(ds);
    return r;
}

int dw_h5_read_rows_all(hid_t f, const char *name, hid_t t, size_t row_bytes, uint8_t **rows,
                        size_t *n)
{
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    hsize_t k;
    if (ds < 0)
        return -1;
    k = dw_h5_rows(ds);
    H5Dclose(ds);
    if (!(*rows = calloc(k ? k : 1, row_bytes)))
        return -1;
    *n = k;
    return dw_h5_read_rows(f, name, t, 0, 0, k, *rows);
}

uint64_t dw_h5_attr_u64(hid_t loc, const char *name)
{
    uint64_t v = 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    if (H5Aread(a, H5T_NATIVE_UINT64, &v) < 0)
        v = 0;
    H5Aclose(a);
    H5Eclear2(H5E_DEFAULT);
    return v;
}
