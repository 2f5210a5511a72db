#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fleet_writer.h"
#include "h5read.h"
#include "log.h"
#include "resume.h"
#include "session_file.h"

#define BLOCK_ROWS 65536 /* fleet /frames rows read at a time */

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

/* Of two names with one prefix that start in the same second, whether a
 * is the later: "<prefix>-<stamp>-<k>.h5" comes after "<prefix>-<stamp>.h5"
 * and after a smaller k (dw_session_name). */
static bool later_same_second(const char *a, const char *b, const char *prefix)
{
    size_t at = strlen(prefix) + 1 + 16; /* after "<prefix>-YYYYmmddTHHMMSSZ" */
    long ka = a[at] == '-' ? strtol(a + at + 1, NULL, 10) : 0;
    long kb = b && b[at] == '-' ? strtol(b + at + 1, NULL, 10) : 0;
    return ka > kb;
}

/* The newest "<prefix>-<UTC>[-k].h5" listed that is older than `below`
 * (NULL: any): its name, or NULL. */
static const char *newest(const struct dw_resume *rs, const char *prefix, const char *below)
{
    const char *best = NULL;
    uint64_t best_ns = 0, below_ns = below ? dw_session_name_start(below, prefix) : UINT64_MAX;
    for (size_t k = 0; k < rs->n; k++) {
        const char *name = rs->names[k];
        uint64_t t = dw_session_name_start(name, prefix);
        if (!t || t > below_ns || (t == below_ns && !later_same_second(below, name, prefix)))
            continue;
        if (t > best_ns || (t == best_ns && later_same_second(name, best, prefix))) {
            best_ns = t;
            best = name;
        }
    }
    return best;
}

/* The /frames rows of the fleet file f folded into tl[device index]. */
static int fleet_frames(hid_t f, struct dw_session_tail *tl, size_t n_dev)
{
    hid_t ds = H5Dopen2(f, "frames/seq", H5P_DEFAULT);
    hsize_t n = ds >= 0 ? dw_h5_rows(ds) : 0; /* seq is extended last */
    uint32_t *dev = malloc(BLOCK_ROWS * sizeof(*dev));
    uint64_t *seq = malloc(BLOCK_ROWS * sizeof(*seq)), *th = malloc(BLOCK_ROWS * sizeof(*th));
    int r = ds >= 0 && dev && seq && th ? 0 : -1;
    if (ds >= 0)
        H5Dclose(ds);
    for (hsize_t at = 0; r == 0 && at < n; at += BLOCK_ROWS) {
        hsize_t k = n - at < BLOCK_ROWS ? n - at : BLOCK_ROWS;
        if (dw_h5_read_rows(f, "frames/device", H5T_NATIVE_UINT32, 0, at, k, dev) < 0 ||
            dw_h5_read_rows(f, "frames/seq", H5T_NATIVE_UINT64, 0, at, k, seq) < 0 ||
            dw_h5_read_rows(f, "frames/t_host_ns", H5T_NATIVE_UINT64, 0, at, k, th) < 0)
            r = -1;
        for (hsize_t i = 0; r == 0 && i < k; i++)
            if (dev[i] < n_dev)
                dw_session_tail_frame(&tl[dev[i]], seq[i], th[i]);
    }
    free(dev);
    free(seq);
    free(th);
    return r;
}

/* The tables of the fleet file f folded into tl[device index]. */
static int fleet_tables(hid_t f, struct dw_session_tail *tl, size_t n_dev)
{
    static const struct {
        const char *name;
        enum dw_session_table t;
    } tabs[] = { { "hellos", DW_T_HELLO }, { "device_status", DW_T_STATUS },
                 { "events", DW_T_EVENT }, { "alerts", DW_T_ALERT }, { "stats", DW_T_STATS } };
    for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++)
        if (dw_session_tail_table(f, tabs[i].name, tabs[i].t, true, tl, n_dev) < 0)
            return -1;
    return 0;
}

/* The devices of the fleet file f and what it holds last of each, into
 * rs->fleet (one entry per /devices row; an id may have several). */
static int fleet_tails(struct dw_resume *rs, hid_t f)
{
    struct dw_fleet_device *d = NULL;
    struct dw_session_tail *tl = NULL;
    size_t n = 0;
    hid_t t = dw_fleet_device_type();
    int r = t < 0 ? -1 : dw_h5_read_rows_all(f, "devices", t, sizeof(*d), (uint8_t **)&d, &n);
    if (t >= 0)
        H5Tclose(t);
    if (r == 0 && !((tl = calloc(n ? n : 1, sizeof(*tl))) &&
                    (rs->fleet = calloc(n ? n : 1, sizeof(*rs->fleet)))))
        r = -1;
    if (r == 0)
        r = fleet_frames(f, tl, n) < 0 || fleet_tables(f, tl, n) < 0 ? -1 : 0;
    for (size_t i = 0; r == 0 && i < n; i++) {
        memcpy(rs->fleet[i].id, d[i].device_id, sizeof(rs->fleet[i].id));
        rs->fleet[i].id[DW_ID_LEN] = 0;
        rs->fleet[i].tl = tl[i];
    }
    rs->n_fleet = r == 0 ? n : 0;
    free(d);
    free(tl);
    return r;
}

int dw_resume_open(struct dw_resume *rs, int dir_fd, const char *dir, const char *recorder)
{
    char prefix[128], path[PATH_MAX];
    const char *name;
    hid_t f;
    int e;
    memset(rs, 0, sizeof(*rs));
    if (!(rs->dir = strdup(dir)))
        return -ENOMEM;
    if ((e = dw_dir_names(dir_fd, &rs->names, &rs->n)) < 0)
        return e;
    snprintf(prefix, sizeof(prefix), "fleet-%s", recorder);
    if (!(name = newest(rs, prefix, NULL)) ||
        snprintf(path, sizeof(path), "%s/%s", rs->dir, name) >= (int)sizeof(path))
        return 0;
    if ((f = open_read(path)) < 0 || fleet_tails(rs, f) < 0)
        dw_warn("%s: cannot read what it holds; what the last worker flushed to it but did "
                "not ack may be written again", path);
    if (f >= 0)
        H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return 0;
}

bool dw_resume_tail(const struct dw_resume *rs, const char *device, struct dw_session_tail *tl)
{
    char path[PATH_MAX];
    const char *name = NULL;
    struct dw_session_tail s;
    bool found = false;
    hid_t f;

    memset(tl, 0, sizeof(*tl));
    for (size_t i = 0; i < rs->n_fleet; i++)
        if (!strcmp(rs->fleet[i].id, device)) {
            dw_session_tail_merge(tl, &rs->fleet[i].tl);
            found = true;
        }
    /* the newest file that holds rows: a kill as a file was created (or a
     * rotation) can leave the newest empty or unreadable; three at most */
    for (int tries = 0; tries < 3 && (name = newest(rs, device, name)); tries++) {
        bool got = false;
        if (snprintf(path, sizeof(path), "%s/%s", rs->dir, name) >= (int)sizeof(path) ||
            (f = open_read(path)) < 0)
            continue;
        if (dw_session_tail_read(f, &s) == 0 && (s.seq || s.aseq)) {
            dw_session_tail_merge(tl, &s);
            got = found = true;
        }
        H5Fclose(f);
        H5Eclear2(H5E_DEFAULT);
        if (got)
            break;
    }
    return found;
}

void dw_resume_close(struct dw_resume *rs)
{
    dw_dir_names_free(rs->names, rs->n);
    free(rs->fleet);
    free(rs->dir);
    memset(rs, 0, sizeof(*rs));
}
