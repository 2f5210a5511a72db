#include "session_writer.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dw_config.h"
#include "dwtime.h"
#include "frame.h"
#include "layout.h"

/* Under SWMR, HDF5 never reuses the space of a compressed chunk that is
 * written again: every flush of a partly filled chunk leaves its previous
 * copy behind. So /frames chunks hold about a quarter of a second (at most
 * one chunk per flush is rewritten) and the row-by-row tables are not
 * compressed (unfiltered chunks are rewritten in place). */
#define MIN_CHUNK_ROWS 16
#define MAX_CHUNK_ROWS 4096
#define TABLE_CHUNK_ROWS 64
#define DEFLATE_LEVEL 4
/* Rows buffered before they are appended even without a flush. */
#define BLOCK_ROWS 4096
/* Room kept free for closing the file properly (metadata, dirty chunks). */
#define CLOSE_RESERVE (256 * 1024)

/* One extendible dataset (rank 1, or rank 2 with a fixed width) and the rows
 * waiting in memory for it. */
struct appender {
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
};

enum {
    F_TEMP, F_PRES, F_AMB, F_ACCEL, F_STATUS, F_DSEQ, F_TDEV, F_THOST,
    F_SEQ, /* last: a reader that sees N rows here sees >= N everywhere */
    F_COUNT
};

enum { A_HELLO, A_STATUS, A_EVENT, A_ALERT, A_STATS, A_COUNT };

struct dw_session_writer {
    char path[4096];
    char err[DW_SESSION_ERR_MAX];
    int failed;           /* negative errno once something went wrong */
    int clean_stop;       /* failed before writing: the file can still close cleanly */
    hid_t file, fapl;
    struct appender fr[F_COUNT];
    struct appender tab[A_COUNT];
    struct dw_hello hello;
    uint8_t hello_raw[DW_MAX_PAYLOAD];
    size_t hello_len;
    uint64_t order;       /* next message order number */
    struct dw_session_counts counts;
};

static int fail(struct dw_session_writer *w, int e, const char *what)
{
    char why[384];
    if (w->failed)
        return w->failed;
    dw_session_h5_reason(why, sizeof(why));
    if (!why[0])
        snprintf(why, sizeof(why), "%s", strerror(e));
    snprintf(w->err, sizeof(w->err), "%s: %s: %s", w->path, what, why);
    w->failed = -e;
    return w->failed;
}

/* ---- attributes ---- */

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

static int attr_scalar(hid_t loc, const char *name, hid_t type, const void *v)
{
    hid_t s = H5Screate(H5S_SCALAR);
    int r;
    if (s < 0)
        return -1;
    r = attr_write(loc, name, type, s, v);
    H5Sclose(s);
    return r;
}

static int attr_str(hid_t loc, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    size_t n = strlen(v);
    int r = -1;
    if (t < 0)
        return -1;
    /* A zero-size string type is invalid: an empty value is one NUL. */
    if (H5Tset_size(t, n ? n : 1) >= 0 && H5Tset_strpad(t, H5T_STR_NULLPAD) >= 0 &&
        H5Tset_cset(t, H5T_CSET_UTF8) >= 0)
        r = attr_scalar(loc, name, t, n ? v : "");
    H5Tclose(t);
    return r;
}

static int attr_u8_array(hid_t loc, const char *name, const uint8_t *v, size_t n)
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

static hid_t make_dcpl(hsize_t chunk_rows, hsize_t width, int compress)
{
    hsize_t chunk[2] = { chunk_rows, width };
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    if (p < 0)
        return -1;
    if (H5Pset_chunk(p, width ? 2 : 1, chunk) < 0 ||
        (compress && (H5Pset_shuffle(p) < 0 || H5Pset_deflate(p, DEFLATE_LEVEL) < 0))) {
        H5Pclose(p);
        return -1;
    }
    return p;
}

/* Creates an empty extendible dataset; takes ownership of mtype. */
static int appender_create(struct appender *a, hid_t loc, const char *name, hid_t mtype,
                           hsize_t width, hsize_t chunk_rows, int compress, const char *units)
{
    hsize_t dims[2] = { 0, width }, maxd[2] = { H5S_UNLIMITED, width };
    int rank = width ? 2 : 1;
    hid_t space = -1, dcpl = -1;
    int r = -1;

    a->name = name;
    a->chunk_rows = chunk_rows;
    a->mtype = mtype;
    a->width = width;
    a->row_bytes = H5Tget_size(mtype) * (width ? width : 1);
    a->ds = -1;
    if (mtype < 0 || !a->row_bytes)
        return -1;
    space = H5Screate_simple(rank, dims, maxd);
    dcpl = make_dcpl(chunk_rows, width, compress);
    if (space < 0 || dcpl < 0)
        goto out;
    a->ds = H5Dcreate2(loc, name, mtype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (a->ds < 0)
        goto out;
    if (units && attr_str(a->ds, "units", units) < 0)
        goto out;
    r = 0;
out:
    if (space >= 0)
        H5Sclose(space);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    return r;
}

static int appender_push(struct appender *a, const void *row)
{
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 64;
        uint8_t *nb = realloc(a->buf, ncap * a->row_bytes);
        if (!nb)
            return -ENOMEM;
        a->buf = nb;
        a->cap = ncap;
    }
    memcpy(a->buf + a->n * a->row_bytes, row, a->row_bytes);
    a->n++;
    return 0;
}

static int appender_write(struct appender *a)
{
    hsize_t start[2] = { a->rows, 0 }, count[2] = { a->n, a->width };
    hsize_t size[2] = { a->rows + a->n, a->width };
    int rank = a->width ? 2 : 1;
    hid_t fs = -1, ms = -1;
    int r = -1;

    if (!a->n)
        return 0;
    if (H5Dset_extent(a->ds, size) < 0)
        return -1;
    fs = H5Dget_space(a->ds);
    ms = H5Screate_simple(rank, count, NULL);
    if (fs < 0 || ms < 0)
        goto out;
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0)
        goto out;
    if (H5Dwrite(a->ds, a->mtype, ms, fs, H5P_DEFAULT, a->buf) < 0)
        goto out;
    a->rows += a->n;
    a->n = 0;
    a->dirty = 1;
    r = 0;
out:
    if (fs >= 0)
        H5Sclose(fs);
    if (ms >= 0)
        H5Sclose(ms);
    return r;
}

static void appender_close(struct appender *a)
{
    if (a->ds > 0)
        H5Dclose(a->ds);
    if (a->mtype > 0)
        H5Tclose(a->mtype);
    free(a->buf);
    memset(a, 0, sizeof(*a));
    a->ds = a->mtype = -1;
}

/* ---- creation ---- */

static int write_root_attrs(struct dw_session_writer *w, const struct dw_session_start *s)
{
    const struct dw_hello *h = &w->hello;
    hid_t root = w->file;
    char iso[40];
    int32_t ver = DW_SESSION_FORMAT_VERSION;
    uint16_t rate = h->sample_rate_hz;
    uint8_t nz = h->n_zones, na = h->n_ambient;
    double ts = h->temp_scale / 1e6, ps = h->pressure_scale / 1e6, as = h->accel_scale / 1e6;

    dw_format_utc(s->t_host_ns, iso, sizeof(iso), 0);
    if (attr_str(root, "format", DW_SESSION_FORMAT) < 0 ||
        attr_scalar(root, "format_version", H5T_NATIVE_INT32, &ver) < 0 ||
        attr_str(root, "device_id", h->device_id) < 0 ||
        attr_str(root, "firmware", h->firmware) < 0 ||
        attr_str(root, "software_version", "ductwatch-record " DW_VERSION) < 0 ||
        attr_str(root, "session_start", iso) < 0 ||
        attr_scalar(root, "session_start_ns", H5T_NATIVE_UINT64, &s->t_host_ns) < 0 ||
        attr_scalar(root, "session_start_device_us", H5T_NATIVE_UINT64, &s->t_device_us) < 0 ||
        attr_scalar(root, "stream", H5T_NATIVE_UINT64, &s->stream) < 0 ||
        attr_scalar(root, "sample_rate_hz", H5T_NATIVE_UINT16, &rate) < 0 ||
        attr_scalar(root, "n_zones", H5T_NATIVE_UINT8, &nz) < 0 ||
        attr_scalar(root, "n_ambient", H5T_NATIVE_UINT8, &na) < 0 ||
        attr_scalar(root, "temp_scale_c", H5T_NATIVE_DOUBLE, &ts) < 0 ||
        attr_scalar(root, "pressure_scale_kpa", H5T_NATIVE_DOUBLE, &ps) < 0 ||
        attr_scalar(root, "accel_scale_g", H5T_NATIVE_DOUBLE, &as) < 0 ||
        attr_scalar(root, "temp_scale", H5T_NATIVE_UINT32, &h->temp_scale) < 0 ||
        attr_scalar(root, "pressure_scale", H5T_NATIVE_UINT32, &h->pressure_scale) < 0 ||
        attr_scalar(root, "accel_scale", H5T_NATIVE_UINT32, &h->accel_scale) < 0 ||
        attr_u8_array(root, "hello_payload", w->hello_raw, w->hello_len) < 0 ||
        attr_str(root, "file_reason", s->reason ? s->reason : "first-hello") < 0 ||
        attr_str(root, "previous_file", s->previous ? s->previous : "") < 0)
        return -1;
    return 0;
}

static int write_layout(struct dw_session_writer *w)
{
    const struct dw_hello *h = &w->hello;
    struct dw_row_layout rows[DW_MAX_ZONES];
    hsize_t n = h->n_zones;
    hid_t t = dw_session_type(DW_T_LAYOUT), s = -1, ds = -1;
    int r = -1;

    memset(rows, 0, sizeof(rows));
    for (unsigned z = 0; z < h->n_zones; z++) {
        unsigned nb[DW_MAX_NEIGHBOURS];
        unsigned k = dw_layout_neighbours(h, z, nb);
        char name[64];
        rows[z].zone = (int16_t)z;
        rows[z].side = h->zone[z].side;
        rows[z].quadrant = h->zone[z].quadrant;
        rows[z].ring = h->zone[z].ring;
        rows[z].mirror = h->zone[z].mirror;
        rows[z].flags = h->zone[z].flags;
        for (unsigned i = 0; i < DW_LAYOUT_NEIGHBOURS; i++)
            rows[z].neighbours[i] = i < k ? (int16_t)nb[i] : -1;
        dw_zone_name(h, z, name, sizeof(name));
        dw_session_strset(rows[z].name, sizeof(rows[z].name), name);
    }
    if (t < 0)
        return -1;
    s = H5Screate_simple(1, &n, NULL);
    if (s < 0)
        goto out;
    ds = H5Dcreate2(w->file, "layout", t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)
        goto out;
    if (attr_str(ds, "description", "zone: index; side 0 left 1 right; quadrant 0 upper-outer "
                 "1 upper-inner 2 lower-inner 3 lower-outer; ring 0 inner 1 outer; mirror: zone "
                 "on the other side; neighbours: zones on the same side, -1 pads; flags bit 0: "
                 "band") < 0)
        goto out;
    r = 0;
out:
    if (ds >= 0)
        H5Dclose(ds);
    if (s >= 0)
        H5Sclose(s);
    H5Tclose(t);
    return r;
}

static hid_t copy_type(hid_t t)
{
    return H5Tcopy(t);
}

static int create_frames(struct dw_session_writer *w, hsize_t chunk)
{
    hsize_t z = w->hello.n_zones;
    hid_t g = H5Gcreate2(w->file, "frames", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int r = -1;
    if (g < 0)
        return -1;
    if (appender_create(&w->fr[F_SEQ], g, "seq", copy_type(H5T_NATIVE_UINT64), 0, chunk, 1,
                        "stream sequence number") < 0 ||
        appender_create(&w->fr[F_DSEQ], g, "device_seq", copy_type(H5T_NATIVE_UINT32), 0, chunk, 1,
                        "garment frame sequence number") < 0 ||
        appender_create(&w->fr[F_TDEV], g, "t_device_us", copy_type(H5T_NATIVE_UINT64), 0, chunk, 1,
                        "us (device monotonic clock)") < 0 ||
        appender_create(&w->fr[F_THOST], g, "t_host_ns", copy_type(H5T_NATIVE_UINT64), 0, chunk, 1,
                        "ns since the Unix epoch (host receive time)") < 0 ||
        appender_create(&w->fr[F_TEMP], g, "temperature_c", copy_type(H5T_NATIVE_FLOAT), z,
                        chunk, 1, "degC") < 0 ||
        appender_create(&w->fr[F_PRES], g, "pressure_kpa", copy_type(H5T_NATIVE_FLOAT), z,
                        chunk, 1, "kPa") < 0 ||
        appender_create(&w->fr[F_AMB], g, "ambient_c", copy_type(H5T_NATIVE_FLOAT), DW_N_AMBIENT,
                        chunk, 1, "degC") < 0 ||
        appender_create(&w->fr[F_ACCEL], g, "accel_g", copy_type(H5T_NATIVE_FLOAT), 3, chunk, 1,
                        "g") < 0 ||
        appender_create(&w->fr[F_STATUS], g, "status", copy_type(H5T_NATIVE_UINT8), z, chunk, 1,
                        "bits: 1 temp fault, 2 pressure fault, 4 temp ADC rail, 8 pressure "
                        "saturated") < 0)
        goto out;
    {
        double lsb_t = w->hello.temp_scale / 1e6, lsb_p = w->hello.pressure_scale / 1e6;
        double lsb_a = w->hello.accel_scale / 1e6;
        if (attr_scalar(w->fr[F_TEMP].ds, "lsb", H5T_NATIVE_DOUBLE, &lsb_t) < 0 ||
            attr_scalar(w->fr[F_PRES].ds, "lsb", H5T_NATIVE_DOUBLE, &lsb_p) < 0 ||
            attr_scalar(w->fr[F_AMB].ds, "lsb", H5T_NATIVE_DOUBLE, &lsb_t) < 0 ||
            attr_scalar(w->fr[F_ACCEL].ds, "lsb", H5T_NATIVE_DOUBLE, &lsb_a) < 0 ||
            attr_str(w->fr[F_AMB].ds, "columns", "left cup, right cup") < 0 ||
            attr_str(w->fr[F_ACCEL].ds, "columns", "x, y, z (garment axes)") < 0)
            goto out;
    }
    r = 0;
out:
    H5Gclose(g);
    return r;
}

static int create_tables(struct dw_session_writer *w)
{
    static const struct {
        const char *name;
        enum dw_session_table t;
        const char *units;
    } tabs[A_COUNT] = {
        [A_HELLO] = { "hellos", DW_T_HELLO,
                      "t_device_us: us (device clock); t_host_ns: ns since the Unix epoch" },
        [A_STATUS] = { "device_status", DW_T_STATUS,
                       "battery_mv: mV; battery_pct: %; flags: bit 0 charging, bit 1 low "
                       "battery; mcu_temp_cc: 0.01 degC; t_device_us: us; t_host_ns: ns since "
                       "the Unix epoch" },
        [A_EVENT] = { "events", DW_T_EVENT,
                      "value: the kind's unit (degC for thermometer), NaN = none; missing: "
                      "messages or garment frames; t_device_us: us; t_host_ns: ns since the "
                      "Unix epoch" },
        [A_ALERT] = { "alerts", DW_T_ALERT,
                      "value, threshold: the rule's unit; t_device_us: us (sample time); "
                      "t_host_ns: ns since the Unix epoch" },
        [A_STATS] = { "stats", DW_T_STATS,
                      "counters since the publisher (acquire) or the recorder started; "
                      "drift_ppm: ppm; t_device_us: us; t_host_ns: ns since the Unix epoch" },
    };
    for (int i = 0; i < A_COUNT; i++)
        if (appender_create(&w->tab[i], w->file, tabs[i].name, dw_session_type(tabs[i].t), 0,
                            TABLE_CHUNK_ROWS, 0, tabs[i].units) < 0)
            return -1;
    return 0;
}

int dw_session_writer_create(struct dw_session_writer **out, const struct dw_session_start *s,
                             char *err, size_t errcap)
{
    struct dw_session_writer *w;
    hsize_t chunk = s->chunk_rows;
    int e = 0;

    *out = NULL;
    if (!s->path || !s->hello || !s->hello_len || s->hello_len > DW_MAX_PAYLOAD) {
        snprintf(err, errcap, "session: bad parameters");
        return -EINVAL;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errcap, "%s: out of memory", s->path);
        return -ENOMEM;
    }
    w->file = w->fapl = -1;
    for (int i = 0; i < F_COUNT; i++)
        w->fr[i].ds = w->fr[i].mtype = -1;
    for (int i = 0; i < A_COUNT; i++)
        w->tab[i].ds = w->tab[i].mtype = -1;
    snprintf(w->path, sizeof(w->path), "%s", s->path);
    if (dw_hello_parse(s->hello, s->hello_len, &w->hello) < 0) {
        snprintf(err, errcap, "%s: the HELLO payload does not parse", s->path);
        free(w);
        return -EBADMSG;
    }
    memcpy(w->hello_raw, s->hello, s->hello_len);
    w->hello_len = s->hello_len;
    if (!chunk) {
        chunk = w->hello.sample_rate_hz / 4;
        chunk = chunk < MIN_CHUNK_ROWS ? MIN_CHUNK_ROWS : chunk > MAX_CHUNK_ROWS ? MAX_CHUNK_ROWS : chunk;
    }

    if (!H5Zfilter_avail(H5Z_FILTER_DEFLATE) || !H5Zfilter_avail(H5Z_FILTER_SHUFFLE)) {
        snprintf(err, errcap, "%s: this HDF5 library has no deflate/shuffle filter", s->path);
        free(w);
        return -ENOSYS;
    }
    w->fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (w->fapl < 0 || H5Pset_libver_bounds(w->fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0) {
        e = fail(w, EIO, "file access properties");
        goto bad;
    }
    w->file = H5Fcreate(s->path, H5F_ACC_EXCL, H5P_DEFAULT, w->fapl);
    if (w->file < 0) {
        struct stat sb;
        e = fail(w, stat(s->path, &sb) == 0 ? EEXIST : EIO, "cannot create");
        goto bad;
    }
    /* Private data: owner only, whatever the umask. */
    if (chmod(s->path, 0600) < 0) {
        e = fail(w, errno, "chmod 0600");
        goto bad;
    }
    if (write_root_attrs(w, s) < 0) {
        e = fail(w, EIO, "writing attributes");
        goto bad;
    }
    if (write_layout(w) < 0) {
        e = fail(w, EIO, "writing /layout");
        goto bad;
    }
    if (create_frames(w, chunk) < 0) {
        e = fail(w, EIO, "creating /frames");
        goto bad;
    }
    if (create_tables(w) < 0) {
        e = fail(w, EIO, "creating the tables");
        goto bad;
    }
    if (H5Fstart_swmr_write(w->file) < 0) {
        e = fail(w, EIO, "starting SWMR writing");
        goto bad;
    }
    *out = w;
    return 0;
bad:
    snprintf(err, errcap, "%s", w->err);
    {
        /* A half-made file holds no data: do not leave it behind. */
        int created = w->file >= 0;
        dw_session_writer_close(w, NULL, NULL, 0);
        if (created)
            unlink(s->path);
    }
    return e;
}

/* ---- rows ---- */

static int push_frame(struct dw_session_writer *w, const struct dw_msg_frame *m)
{
    const struct dw_hello *h = &w->hello;
    struct dw_sample smp;
    float temp[DW_MAX_ZONES], pres[DW_MAX_ZONES], amb[DW_N_AMBIENT], acc[3];
    uint32_t dseq = m->device_seq;
    int r = 0;

    if (dw_sample_parse(m->payload, m->len, &smp) < 0 || smp.n_zones != h->n_zones)
        return -EBADMSG;
    for (unsigned z = 0; z < h->n_zones; z++) {
        temp[z] = dw_session_phys(smp.temp[z], h->temp_scale);
        pres[z] = dw_session_phys(smp.pressure[z], h->pressure_scale);
    }
    for (unsigned i = 0; i < DW_N_AMBIENT; i++)
        amb[i] = dw_session_phys(smp.ambient[i], h->temp_scale);
    for (unsigned i = 0; i < 3; i++)
        acc[i] = dw_session_phys(smp.accel[i], h->accel_scale);
    if ((r = appender_push(&w->fr[F_TEMP], temp)) < 0 ||
        (r = appender_push(&w->fr[F_PRES], pres)) < 0 ||
        (r = appender_push(&w->fr[F_AMB], amb)) < 0 ||
        (r = appender_push(&w->fr[F_ACCEL], acc)) < 0 ||
        (r = appender_push(&w->fr[F_STATUS], smp.status)) < 0 ||
        (r = appender_push(&w->fr[F_DSEQ], &dseq)) < 0 ||
        (r = appender_push(&w->fr[F_TDEV], &m->t_device_us)) < 0 ||
        (r = appender_push(&w->fr[F_THOST], &m->t_host_ns)) < 0 ||
        (r = appender_push(&w->fr[F_SEQ], &m->seq)) < 0) {
        /* Keep the columns in step: drop the partial row. */
        for (int i = 0; i < F_COUNT; i++)
            if (w->fr[i].n > w->fr[F_SEQ].n)
                w->fr[i].n = w->fr[F_SEQ].n;
        return fail(w, -r, "out of memory");
    }
    w->order++;
    w->counts.frames++;
    return 0;
}

static int write_blocks(struct dw_session_writer *w, int all);

static int push_table(struct dw_session_writer *w, int t, void *row, uint64_t *order)
{
    int r;
    *order = w->order;
    if ((r = appender_push(&w->tab[t], row)) < 0)
        return fail(w, -r, "out of memory");
    w->order++;
    if (w->tab[t].n >= BLOCK_ROWS)
        return write_blocks(w, 1);
    return 0;
}

int dw_session_writer_frame(struct dw_session_writer *w, const struct dw_msg_frame *m)
{
    int r;
    if (w->failed)
        return w->failed;
    switch (m->type) {
    case DW_FRAME_SAMPLE:
        if ((r = push_frame(w, m)) < 0)
            return r;
        if (w->fr[F_SEQ].n >= BLOCK_ROWS)
            return write_blocks(w, 0);
        return 0;
    case DW_FRAME_HELLO: {
        struct dw_row_hello row = { .seq = m->seq, .device_seq = m->device_seq,
                                    .t_device_us = m->t_device_us, .t_host_ns = m->t_host_ns };
        w->counts.hellos++;
        return push_table(w, A_HELLO, &row, &row.order);
    }
    case DW_FRAME_STATUS: {
        struct dw_status st;
        struct dw_row_status row = { .seq = m->seq, .device_seq = m->device_seq,
                                     .t_device_us = m->t_device_us, .t_host_ns = m->t_host_ns };
        if (dw_status_parse(m->payload, m->len, &st) < 0)
            return -EBADMSG;
        row.battery_mv = st.battery_mv;
        row.battery_pct = st.battery_pct;
        row.flags = st.flags;
        row.mcu_temp_cc = st.mcu_temp_cc;
        row.reserved = dw_get_le16(m->payload + 6);
        w->counts.status++;
        return push_table(w, A_STATUS, &row, &row.order);
    }
    default:
        return -EBADMSG;
    }
}

int dw_session_writer_event(struct dw_session_writer *w, struct dw_row_event *r)
{
    if (w->failed)
        return w->failed;
    w->counts.events++;
    if (!strncmp(r->kind, "gap", sizeof(r->kind))) {
        w->counts.gaps++;
        w->counts.missing += r->missing;
    }
    return push_table(w, A_EVENT, r, &r->order);
}

int dw_session_writer_alert(struct dw_session_writer *w, struct dw_row_alert *r)
{
    if (w->failed)
        return w->failed;
    w->counts.alerts++;
    return push_table(w, A_ALERT, r, &r->order);
}

int dw_session_writer_stats(struct dw_session_writer *w, struct dw_row_stats *r)
{
    if (w->failed)
        return w->failed;
    w->counts.stats++;
    return push_table(w, A_STATS, r, &r->order);
}

/* ---- flushing ---- */

static void human(uint64_t b, char *buf, size_t cap)
{
    if (b >= 10u << 20)
        snprintf(buf, cap, "%llu MiB", (unsigned long long)(b >> 20));
    else
        snprintf(buf, cap, "%llu KiB", (unsigned long long)(b >> 10));
}

/* Refuses to start a write that could run out of room half-way: HDF5 then
 * leaves a file no reader opens. Stopping before it keeps the file whole
 * (the close still has CLOSE_RESERVE bytes). */
static int check_room(struct dw_session_writer *w, int all)
{
    uint64_t need = CLOSE_RESERVE, size, room = UINT64_MAX;
    size_t rows = 0;
    int *fd = NULL;
    struct stat sb;
    struct statvfs vs;
    struct rlimit rl;
    haddr_t eoa = 0;
    const char *what = NULL;
    char a[32], b[32];

    for (int i = 0; i < F_COUNT + (all ? A_COUNT : 0); i++) {
        const struct appender *x = i < F_COUNT ? &w->fr[i] : &w->tab[i - F_COUNT];
        if (!x->n)
            continue;
        /* The rows, plus a whole chunk that a rewrite may move. */
        need += (uint64_t)(x->n + x->chunk_rows) * x->row_bytes;
        rows += i < F_COUNT ? 0 : x->n;
    }
    rows += w->fr[F_SEQ].n;
    if (!rows)
        return 0;
    if (H5Fget_vfd_handle(w->file, w->fapl, (void **)&fd) < 0 || !fd || fstat(*fd, &sb) < 0)
        return fail(w, EIO, "checking free space");
    size = (uint64_t)sb.st_size;
    if (H5Fget_eoa(w->file, &eoa) >= 0 && eoa > size)
        size = eoa;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        room = rl.rlim_cur > size ? rl.rlim_cur - size : 0;
        what = "the file size limit (RLIMIT_FSIZE) is reached";
    }
    if (fstatvfs(*fd, &vs) == 0) {
        uint64_t avail = (uint64_t)vs.f_bavail * vs.f_frsize;
        if (avail < room) {
            room = avail;
            what = "the disk is full";
        }
    }
    if (room >= need)
        return 0;
    human(room, a, sizeof(a));
    human(need, b, sizeof(b));
    H5Eclear2(H5E_DEFAULT);
    snprintf(w->err, sizeof(w->err), "%s: %s (%s left, %s needed to write safely); "
             "stopped before writing the last %zu frames and %zu other rows; the file keeps "
             "everything before them", w->path, what, a, b, w->fr[F_SEQ].n, rows - w->fr[F_SEQ].n);
    w->failed = -(strstr(what, "disk") ? ENOSPC : EFBIG);
    w->clean_stop = 1;
    return w->failed;
}

static int write_blocks(struct dw_session_writer *w, int all)
{
    int r;
    if ((r = check_room(w, all)) < 0)
        return r;
    for (int i = 0; i < F_COUNT; i++)
        if (appender_write(&w->fr[i]) < 0)
            return fail(w, EIO, w->fr[i].name);
    if (all)
        for (int i = 0; i < A_COUNT; i++)
            if (appender_write(&w->tab[i]) < 0)
                return fail(w, EIO, w->tab[i].name);
    return 0;
}

int dw_session_writer_flush(struct dw_session_writer *w)
{
    int r;
    if (w->failed)
        return w->failed;
    if ((r = write_blocks(w, 1)) < 0)
        return r;
    /* Each dataset that got rows, on its own: H5Fflush first walks every
     * dataset open in the library (HDF5 1.10 H5D_flush_all), so a recorder
     * with N files paid N x N per second of flushes. */
    for (int i = 0; i < F_COUNT + A_COUNT; i++) {
        struct appender *x = i < F_COUNT ? &w->fr[i] : &w->tab[i - F_COUNT];
        if (!x->dirty)
            continue;
        if (H5Dflush(x->ds) < 0)
            return fail(w, EIO, "flush");
        x->dirty = 0;
    }
    return 0;
}

int dw_session_writer_sync(struct dw_session_writer *w)
{
    int *fd = NULL;
    if (w->failed)
        return w->failed;
    if (H5Fget_vfd_handle(w->file, w->fapl, (void **)&fd) < 0 || !fd)
        return fail(w, EIO, "getting the file descriptor");
    if (fsync(*fd) < 0)
        return fail(w, errno, "fsync");
    return 0;
}

int dw_session_writer_close(struct dw_session_writer *w, struct dw_session_counts *counts,
                            char *err, size_t errcap)
{
    int r;
    if (!w)
        return 0;
    if (!w->failed && w->file >= 0) {
        dw_session_writer_flush(w);
        dw_session_writer_sync(w);
    }
    /* Rows still in memory never reached the file: count what it holds. */
    w->counts.frames -= w->fr[F_SEQ].n;
    w->counts.hellos -= w->tab[A_HELLO].n;
    w->counts.status -= w->tab[A_STATUS].n;
    w->counts.alerts -= w->tab[A_ALERT].n;
    w->counts.stats -= w->tab[A_STATS].n;
    w->counts.events -= w->tab[A_EVENT].n;
    for (size_t i = 0; i < w->tab[A_EVENT].n; i++) {
        const struct dw_row_event *e =
            (const struct dw_row_event *)w->tab[A_EVENT].buf + i;
        if (!strncmp(e->kind, "gap", sizeof(e->kind))) {
            w->counts.gaps--;
            w->counts.missing -= e->missing;
        }
    }
    for (int i = 0; i < F_COUNT; i++)
        appender_close(&w->fr[i]);
    for (int i = 0; i < A_COUNT; i++)
        appender_close(&w->tab[i]);
    if (w->file >= 0 && H5Fclose(w->file) < 0) {
        int had = w->failed;
        fail(w, EIO, "close");
        if (had)
            w->clean_stop = 0;
    }
    if (w->failed && !w->clean_stop) {
        size_t n = strlen(w->err);
        snprintf(w->err + n, sizeof(w->err) - n, "; if the file does not open, run "
                 "'ductwatch-record --recover %s'", w->path);
    }
    if (w->fapl >= 0)
        H5Pclose(w->fapl);
    if (counts)
        *counts = w->counts;
    r = w->failed;
    if (err && errcap)
        snprintf(err, errcap, "%s", w->err);
    free(w);
    return r;
}

const char *dw_session_writer_path(const struct dw_session_writer *w)
{
    return w->path;
}

const char *dw_session_writer_error(const struct dw_session_writer *w)
{
    return w->failed ? w->err : NULL;
}

size_t dw_session_writer_queued(const struct dw_session_writer *w)
{
    size_t n = w->fr[F_SEQ].n;
    for (int i = 0; i < A_COUNT; i++)
        n += w->tab[i].n;
    return n;
}

void dw_session_writer_counts(const struct dw_session_writer *w, struct dw_session_counts *c)
{
    *c = w->counts;
}

const uint8_t *dw_session_writer_hello(const struct dw_session_writer *w, size_t *len)
{
    *len = w->hello_len;
    return w->hello_raw;
}
