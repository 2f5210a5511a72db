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
    }
    if (H5Fclose(f) < 0 && ret > 0) {
        dw_session_h5_reason(why, sizeof(why));
        snprintf(err, errcap, "%s: closing after recovery: %s", path, why);
        ret = -EIO;
    }
    return ret;
}
