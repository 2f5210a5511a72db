#include <errno.h>
#include <fcntl.h>
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
#include "h5column.h"
#include "layout.h"
#include "session_file.h"
#include "session_writer.h"

#define CHUNK_SECONDS 30
#define MIN_CHUNK_ROWS 16
#define MAX_CHUNK_ROWS 4096
#define TABLE_CHUNK_ROWS 64
/* Room kept free for closing the file properly (metadata, dirty chunks). */
#define CLOSE_RESERVE (256 * 1024)


enum {
    F_TEMP, F_PRES, F_AMB, F_ACCEL, F_STATUS, F_DSEQ, F_TDEV, F_THOST,
    F_SEQ, /* last: a reader that sees N rows here sees >= N everywhere */
    F_COUNT
};

enum { A_HELLO, A_STATUS, A_EVENT, A_ALERT, A_STATS, A_COUNT };

struct dw_session_writer {
    char path[4096];
    char open_path[4096]; /* what HDF5 opens: the file fd holds (session_file.h) */
    int fd;               /* the file as created, until HDF5's holds the lock */
    char err[DW_SESSION_ERR_MAX];
    int failed;           /* negative errno once something went wrong */
    int clean_stop;       /* failed before writing: the file can still close cleanly */
    hid_t file, fapl;
    hid_t scratch;        /* the in-memory file that filters /frames chunks (shared) */
    struct dw_h5col fr[F_COUNT];
    struct dw_h5col tab[A_COUNT];
    struct dw_hello hello;
    uint8_t hello_raw[DW_MAX_PAYLOAD];
    size_t hello_len;
    uint64_t order;       /* next message order number */
    bool defer_sync;      /* dw_session_start's */
    bool suspended;       /* dw_session_writer_suspend: no HDF5 file open */
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


/* ---- creation ---- */

/* A compacted file's own attributes (docs/storage.md, "Compaction"). */
static int compacted_attrs(hid_t root, const struct dw_session_start *s)
{
    const char *files = s->compacted_fleet_files ? s->compacted_fleet_files : "";
    if (dw_h5_attr_str(root, "compacted_from", s->compacted_from) < 0 ||
        dw_h5_attr_str(root, "compacted_fleet_files", files) < 0 ||
        dw_h5_attr_scalar(root, "fleet_period_start_ns", H5T_NATIVE_UINT64,
                          &s->fleet_period_start_ns) < 0 ||
        dw_h5_attr_scalar(root, "fleet_period_ns", H5T_NATIVE_UINT64, &s->fleet_period_ns) < 0)
        return -1;
    return 0;
}

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
    if (dw_h5_attr_str(root, "format", DW_SESSION_FORMAT) < 0 ||
        dw_h5_attr_scalar(root, "format_version", H5T_NATIVE_INT32, &ver) < 0 ||
        dw_h5_attr_str(root, "device_id", h->device_id) < 0 ||
        dw_h5_attr_str(root, "firmware", h->firmware) < 0 ||
        dw_h5_attr_str(root, "software_version", "ductwatch-record " DW_VERSION) < 0 ||
        dw_h5_attr_str(root, "session_start", iso) < 0 ||
        dw_h5_attr_scalar(root, "session_start_ns", H5T_NATIVE_UINT64, &s->t_host_ns) < 0 ||
        dw_h5_attr_scalar(root, "session_start_device_us", H5T_NATIVE_UINT64, &s->t_device_us) < 0 ||
        dw_h5_attr_scalar(root, "stream", H5T_NATIVE_UINT64, &s->stream) < 0 ||
        dw_h5_attr_scalar(root, "sample_rate_hz", H5T_NATIVE_UINT16, &rate) < 0 ||
        dw_h5_attr_scalar(root, "n_zones", H5T_NATIVE_UINT8, &nz) < 0 ||
        dw_h5_attr_scalar(root, "n_ambient", H5T_NATIVE_UINT8, &na) < 0 ||
        dw_h5_attr_scalar(root, "temp_scale_c", H5T_NATIVE_DOUBLE, &ts) < 0 ||
        dw_h5_attr_scalar(root, "pressure_scale_kpa", H5T_NATIVE_DOUBLE, &ps) < 0 ||
        dw_h5_attr_scalar(root, "accel_scale_g", H5T_NATIVE_DOUBLE, &as) < 0 ||
        dw_h5_attr_scalar(root, "temp_scale", H5T_NATIVE_UINT32, &h->temp_scale) < 0 ||
        dw_h5_attr_scalar(root, "pressure_scale", H5T_NATIVE_UINT32, &h->pressure_scale) < 0 ||
        dw_h5_attr_scalar(root, "accel_scale", H5T_NATIVE_UINT32, &h->accel_scale) < 0 ||
        dw_h5_attr_u8_array(root, "hello_payload", w->hello_raw, w->hello_len) < 0 ||
        dw_h5_attr_str(root, "file_reason", s->reason ? s->reason : "first-hello") < 0 ||
        dw_h5_attr_str(root, "previous_file", s->previous ? s->previous : "") < 0 ||
        (s->compacted_from && compacted_attrs(root, s) < 0))
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
    for (unsigned z = 0; z < h->n_zones; z++)
        dw_session_layout_row(h, z, &rows[z]);
    if (t < 0)
        return -1;
    s = H5Screate_simple(1, &n, NULL);
    if (s < 0)
        goto out;
    ds = H5Dcreate2(w->file, "layout", t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)
        goto out;
    if (dw_h5_attr_str(ds, "description", "zone: index; side 0 left 1 right; quadrant 0 upper-outer "
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

/* The storage of a float column whose values are garment integers (at
 * most 16 bits) times scale/1e6. When the scale has few significant digits,
 * HDF5's scale-offset filter stores each value as the garment's integer in
 * the fewest bits the chunk needs: every value read back rounds to the same
 * integer (the scaled integers stay below 2^24, exact in a float), though
 * it may differ from the float first computed in its last bit. Otherwise
 * the column is shuffled and deflated, bit for bit. */
static struct dw_h5col_storage float_storage(hsize_t chunk, uint32_t scale)
{
    struct dw_h5col_storage st = { .chunk_rows = chunk, .split = 1, .decimals = 6, .checksum = 1 };
    uint32_t m = scale;
    while (m && m % 10 == 0 && st.decimals > 0) {
        m /= 10;
        st.decimals--;
    }
    if (!m || (uint64_t)UINT16_MAX * m >= (1u << 24)) {
        st.decimals = -1;
        st.deflate = 1;
    }
    return st;
}

/* The zone names in column order, "left upper-outer inner, ...": the
 * per-zone datasets name their columns as ambient_c and accel_g do. */
static int zone_columns(const struct dw_hello *h, hid_t ds)
{
    char cols[DW_MAX_ZONES * 48], name[48];
    size_t n = 0;
    cols[0] = 0;
    for (unsigned z = 0; z < h->n_zones && z < DW_MAX_ZONES; z++) {
        dw_zone_name(h, z, name, sizeof(name));
        n += (size_t)snprintf(cols + n, sizeof(cols) - n, "%s%s", z ? ", " : "", name);
        if (n >= sizeof(cols))
            return -1;
    }
    return dw_h5_attr_str(ds, "columns", cols);
}

static int create_frames(struct dw_session_writer *w, hsize_t chunk)
{
    const struct dw_hello *h = &w->hello;
    hsize_t z = h->n_zones;
    struct dw_h5col_storage ints = { .chunk_rows = chunk, .deflate = 1, .decimals = -1, .checksum = 1 };
    struct dw_h5col_storage temp = float_storage(chunk, h->temp_scale);
    struct dw_h5col_storage pres = float_storage(chunk, h->pressure_scale);
    struct dw_h5col_storage acc = float_storage(chunk, h->accel_scale);
    hid_t g = H5Gcreate2(w->file, "frames", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sc = w->scratch;
    int r = -1;
    if (g < 0)
        return -1;
    if (dw_h5col_create(&w->fr[F_SEQ], g, "seq", copy_type(H5T_NATIVE_UINT64), 0, &ints, sc,
                        "stream sequence number") < 0 ||
        dw_h5col_create(&w->fr[F_DSEQ], g, "device_seq", copy_type(H5T_NATIVE_UINT32), 0, &ints,
                        sc, "garment frame sequence number") < 0 ||
        dw_h5col_create(&w->fr[F_TDEV], g, "t_device_us", copy_type(H5T_NATIVE_UINT64), 0, &ints,
                        sc, "us (device monotonic clock)") < 0 ||
        dw_h5col_create(&w->fr[F_THOST], g, "t_host_ns", copy_type(H5T_NATIVE_UINT64), 0, &ints,
                        sc, "ns since the Unix epoch (host receive time)") < 0 ||
        dw_h5col_create(&w->fr[F_TEMP], g, "temperature_c", copy_type(H5T_NATIVE_FLOAT), z,
                        &temp, sc, "degC") < 0 ||
        dw_h5col_create(&w->fr[F_PRES], g, "pressure_kpa", copy_type(H5T_NATIVE_FLOAT), z,
                        &pres, sc, "kPa") < 0 ||
        dw_h5col_create(&w->fr[F_AMB], g, "ambient_c", copy_type(H5T_NATIVE_FLOAT), DW_N_AMBIENT,
                        &temp, sc, "degC") < 0 ||
        dw_h5col_create(&w->fr[F_ACCEL], g, "accel_g", copy_type(H5T_NATIVE_FLOAT), 3, &acc, sc,
                        "g") < 0 ||
        dw_h5col_create(&w->fr[F_STATUS], g, "status", copy_type(H5T_NATIVE_UINT8), z, &ints, sc,
                        "bits: 1 temp fault, 2 pressure fault, 4 temp ADC rail, 8 pressure "
                        "saturated") < 0)
        goto out;
    {
        double lsb_t = w->hello.temp_scale / 1e6, lsb_p = w->hello.pressure_scale / 1e6;
        double lsb_a = w->hello.accel_scale / 1e6;
        if (dw_h5_attr_scalar(w->fr[F_TEMP].ds, "lsb", H5T_NATIVE_DOUBLE, &lsb_t) < 0 ||
            dw_h5_attr_scalar(w->fr[F_PRES].ds, "lsb", H5T_NATIVE_DOUBLE, &lsb_p) < 0 ||
            dw_h5_attr_scalar(w->fr[F_AMB].ds, "lsb", H5T_NATIVE_DOUBLE, &lsb_t) < 0 ||
            dw_h5_attr_scalar(w->fr[F_ACCEL].ds, "lsb", H5T_NATIVE_DOUBLE, &lsb_a) < 0 ||
            dw_h5_attr_str(w->fr[F_AMB].ds, "columns", "left cup, right cup") < 0 ||
            dw_h5_attr_str(w->fr[F_ACCEL].ds, "columns", "x, y, z (garment axes)") < 0 ||
            zone_columns(h, w->fr[F_TEMP].ds) < 0 || zone_columns(h, w->fr[F_PRES].ds) < 0 ||
            zone_columns(h, w->fr[F_STATUS].ds) < 0)
            goto out;
    }
    r = 0;
out:
    H5Gclose(g);
    return r;
}

/* The tables, in the A_ order. */
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

static int create_tables(struct dw_session_writer *w)
{
    static const struct dw_h5col_storage table = { .chunk_rows = TABLE_CHUNK_ROWS, .deflate = 1,
                                          .decimals = -1, .checksum = 1 };
    for (int i = 0; i < A_COUNT; i++)
        if (dw_h5col_create(&w->tab[i], w->file, tabs[i].name, dw_session_type(tabs[i].t), 0,
                            &table, w->scratch, tabs[i].units) < 0)
            return -1;
    return 0;
}

/* SWMR writing on the finished file (h5column.c says why by reopening). */
static int swmr_reopen(struct dw_session_writer *w)
{
    hid_t g;
    if (dw_h5_swmr_reopen(&w->file, w->open_path, w->fapl, w->fr, F_COUNT, w->tab, A_COUNT) < 0 ||
        (g = H5Gopen2(w->file, "frames", H5P_DEFAULT)) < 0)
        return -1;
    int r = dw_h5col_open_all(w->fr, F_COUNT, g);
    H5Gclose(g);
    return r < 0 ? -1 : dw_h5col_open_all(w->tab, A_COUNT, w->file);
}

static int h5_fd(const struct dw_session_writer *w)
{
    return dw_h5_file_fd(w->file, w->fapl);
}

/* The writer's lock moves to HDF5's own descriptor, and the one the file
 * was created with closes: one descriptor per file, as before. */
static int hold_lock(struct dw_session_writer *w)
{
    int fd = h5_fd(w), r;
    if (fd < 0)
        return fail(w, EIO, "getting the file descriptor");
    if ((r = dw_session_file_hold(fd)) < 0)
        return fail(w, -r, "locking");
    close(w->fd);
    w->fd = -1;
    return 0;
}

/* A writer with nothing open, or NULL. */
static struct dw_session_writer *writer_alloc(const char *path, bool defer_sync)
{
    struct dw_session_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->file = w->fapl = w->scratch = -1;
    w->fd = -1;
    for (int i = 0; i < F_COUNT; i++)
        w->fr[i].ds = w->fr[i].mtype = -1;
    for (int i = 0; i < A_COUNT; i++)
        w->tab[i].ds = w->tab[i].mtype = -1;
    snprintf(w->path, sizeof(w->path), "%s", path);
    w->defer_sync = defer_sync;
    return w;
}

/* A writer holding the start's HELLO, with nothing open yet. */
static int writer_new(struct dw_session_writer **out, const struct dw_session_start *s,
                      char *err, size_t errcap)
{
    struct dw_session_writer *w;

    if (!s->path || !s->hello || !s->hello_len || s->hello_len > DW_MAX_PAYLOAD) {
        snprintf(err, errcap, "session: bad parameters");
        return -EINVAL;
    }
    if (!(w = writer_alloc(s->path, s->defer_sync))) {
        snprintf(err, errcap, "%s: out of memory", s->path);
        return -ENOMEM;
    }
    if (dw_hello_parse(s->hello, s->hello_len, &w->hello) < 0) {
        snprintf(err, errcap, "%s: the HELLO payload does not parse", s->path);
        free(w);
        return -EBADMSG;
    }
    memcpy(w->hello_raw, s->hello, s->hello_len);
    w->hello_len = s->hello_len;
    *out = w;
    return 0;
}

/* Rows per /frames chunk: the start's, or about CHUNK_SECONDS of samples. */
static hsize_t frames_chunk_rows(const struct dw_session_writer *w,
                                 const struct dw_session_start *s)
{
    hsize_t chunk = s->chunk_rows;
    if (!chunk) {
        chunk = (hsize_t)w->hello.sample_rate_hz * CHUNK_SECONDS;
        chunk = chunk < MIN_CHUNK_ROWS ? MIN_CHUNK_ROWS : chunk > MAX_CHUNK_ROWS ? MAX_CHUNK_ROWS : chunk;
    }
    return chunk;
}

static bool filters_available(void)
{
    return H5Zfilter_avail(H5Z_FILTER_DEFLATE) && H5Zfilter_avail(H5Z_FILTER_SHUFFLE) &&
           H5Zfilter_avail(H5Z_FILTER_SCALEOFFSET) && H5Zfilter_avail(H5Z_FILTER_FLETCHER32);
}

/* Creates the file and opens it in HDF5; *created once it exists on disk. */
static int create_file(struct dw_session_writer *w, const struct dw_session_start *s,
                       int *created)
{
    w->fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (w->fapl < 0 || H5Pset_libver_bounds(w->fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0 ||
        dw_h5_set_mdc_size(w->fapl) < 0)
        return fail(w, EIO, "file access properties");
    w->fd = dw_session_file_create(s->name ? s->dir_fd : AT_FDCWD, s->name ? s->name : s->path);
    if (w->fd < 0)
        return fail(w, -w->fd, "cannot create");
    *created = 1;
    /* HDF5 opens by name: give it the file the descriptor holds, so that
     * nothing done to the name in between can redirect it. */
    dw_session_file_open_path(w->fd, s->path, w->open_path, sizeof(w->open_path));
    w->file = H5Fcreate(w->open_path, H5F_ACC_TRUNC, H5P_DEFAULT, w->fapl);
    if (w->file < 0)
        return fail(w, errno == EMFILE || errno == ENFILE ? errno : EIO, "cannot create");
    return 0;
}

/* Writes the attributes and /layout, creates /frames and the tables, then
 * starts SWMR writing and takes the lock. */
static int build_session(struct dw_session_writer *w, const struct dw_session_start *s,
                         hsize_t chunk)
{
    if (write_root_attrs(w, s) < 0)
        return fail(w, EIO, "writing attributes");
    if (write_layout(w) < 0)
        return fail(w, EIO, "writing /layout");
    if ((w->scratch = dw_h5_scratch_get()) < 0)
        return fail(w, EIO, "creating the in-memory chunk file");
    if (create_frames(w, chunk) < 0)
        return fail(w, EIO, "creating /frames");
    if (create_tables(w) < 0)
        return fail(w, EIO, "creating the tables");
    if (swmr_reopen(w) < 0)
        return fail(w, EIO, "starting SWMR writing");
    return hold_lock(w);
}

int dw_session_writer_create(struct dw_session_writer **out, const struct dw_session_start *s,
                             char *err, size_t errcap)
{
    struct dw_session_writer *w;
    int e, created = 0;

    *out = NULL;
    if ((e = writer_new(&w, s, err, errcap)) < 0)
        return e;
    if (!filters_available()) {
        snprintf(err, errcap, "%s: this HDF5 library lacks the deflate, shuffle, scale-offset "
                 "or Fletcher-32 filter", s->path);
        free(w);
        return -ENOSYS;
    }
    if ((e = create_file(w, s, &created)) < 0 ||
        (e = build_session(w, s, frames_chunk_rows(w, s))) < 0)
        goto fail;
    *out = w;
    return 0;
fail:
    snprintf(err, errcap, "%s", w->err);
    /* A half-made file holds no data: do not leave it behind. */
    if (created) {
        if (s->name)
            unlinkat(s->dir_fd, s->name, 0);
        else
            unlink(s->path);
    }
    dw_session_writer_close(w, NULL, NULL, 0);
    return e;
}

/* ---- appending ---- */

/* The file's HELLO (root attribute hello_payload) into the writer. */
static int read_hello(struct dw_session_writer *w)
{
    hid_t a = H5Aopen(w->file, "hello_payload", H5P_DEFAULT), sp = -1;
    hssize_t n = -1;
    int r = -1;
    if (a < 0)
        return -1;
    if ((sp = H5Aget_space(a)) >= 0)
        n = H5Sget_simple_extent_npoints(sp);
    if (n > 0 && n <= DW_MAX_PAYLOAD && H5Aread(a, H5T_NATIVE_UINT8, w->hello_raw) >= 0 &&
        dw_hello_parse(w->hello_raw, (size_t)n, &w->hello) == 0) {
        w->hello_len = (size_t)n;
        r = 0;
    }
    if (sp >= 0)
        H5Sclose(sp);
    H5Aclose(a);
    return r;
}

/* Every column and table opened where the file ends; the next order
 * number after the rows the file holds (every row has one, section 4). */
static int reopen_columns(struct dw_session_writer *w)
{
    static const struct {
        int i;
        const char *name;
    } cols[F_COUNT] = {
        { F_TEMP, "temperature_c" }, { F_PRES, "pressure_kpa" }, { F_AMB, "ambient_c" },
        { F_ACCEL, "accel_g" },      { F_STATUS, "status" },     { F_DSEQ, "device_seq" },
        { F_TDEV, "t_device_us" },   { F_THOST, "t_host_ns" },   { F_SEQ, "seq" },
    };
    const hid_t types[F_COUNT] = {
        [F_TEMP] = H5T_NATIVE_FLOAT, [F_PRES] = H5T_NATIVE_FLOAT, [F_AMB] = H5T_NATIVE_FLOAT,
        [F_ACCEL] = H5T_NATIVE_FLOAT, [F_STATUS] = H5T_NATIVE_UINT8,
        [F_DSEQ] = H5T_NATIVE_UINT32, [F_TDEV] = H5T_NATIVE_UINT64,
        [F_THOST] = H5T_NATIVE_UINT64, [F_SEQ] = H5T_NATIVE_UINT64,
    };
    hid_t g = H5Gopen2(w->file, "frames", H5P_DEFAULT);
    int r = 0;
    if (g < 0)
        return -1;
    for (int k = 0; k < F_COUNT && r == 0; k++)
        r = dw_h5col_reopen(&w->fr[cols[k].i], g, cols[k].name, H5Tcopy(types[cols[k].i]),
                            w->scratch);
    H5Gclose(g);
    for (int i = 0; i < A_COUNT && r == 0; i++)
        r = dw_h5col_reopen(&w->tab[i], w->file, tabs[i].name, dw_session_type(tabs[i].t),
                            w->scratch);
    w->order = w->fr[F_SEQ].rows;
    for (int i = 0; i < A_COUNT; i++)
        w->order += w->tab[i].rows;
    /* Columns written one by one: a file cut between two (recovered after
     * a crash) is not one to go on from. */
    for (int i = 0; i < F_COUNT && r == 0; i++)
        if (w->fr[i].rows != w->fr[F_SEQ].rows)
            r = -1;
    return r;
}

/* Opens the file in HDF5 (not yet SWMR), holding the writer's lock. */
static int open_existing(struct dw_session_writer *w, const struct dw_session_append *a)
{
    int r;
    w->fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (w->fapl < 0 || H5Pset_libver_bounds(w->fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0 ||
        dw_h5_set_mdc_size(w->fapl) < 0)
        return fail(w, EIO, "file access properties");
    w->fd = openat(a->dir_fd, a->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (w->fd < 0)
        return fail(w, errno, "cannot open");
    if ((r = dw_session_file_hold(w->fd)) < 0)
        return fail(w, -r, "locking");
    dw_session_file_open_path(w->fd, a->path, w->open_path, sizeof(w->open_path));
    w->file = H5Fopen(w->open_path, H5F_ACC_RDWR, w->fapl);
    if (w->file < 0)
        return fail(w, EIO, "cannot open");
    return 0;
}

int dw_session_writer_append(struct dw_session_writer **out, const struct dw_session_append *a,
                             char *err, size_t errcap)
{
    struct dw_session_writer *w;
    int e;
    *out = NULL;
    if (!(w = writer_alloc(a->path, a->defer_sync))) {
        snprintf(err, errcap, "%s: out of memory", a->path);
        return -ENOMEM;
    }
    if ((e = open_existing(w, a)) < 0)
        goto fail;
    if (read_hello(w) < 0) {
        e = fail(w, EBADMSG, "no HELLO payload that parses");
        goto fail;
    }
    if ((H5Aexists(w->file, "compacted_fleet_files") > 0 &&
         H5Adelete(w->file, "compacted_fleet_files") < 0) ||
        dw_h5_attr_str(w->file, "compacted_fleet_files", a->fleet_files) < 0) {
        e = fail(w, EIO, "writing attributes");
        goto fail;
    }
    if ((w->scratch = dw_h5_scratch_get()) < 0 || reopen_columns(w) < 0) {
        e = fail(w, EIO, "opening the datasets to append");
        goto fail;
    }
    if (swmr_reopen(w) < 0) {
        e = fail(w, EIO, "starting SWMR writing");
        goto fail;
    }
    if ((e = hold_lock(w)) < 0)
        goto fail;
    *out = w;
    return 0;
fail:
    snprintf(err, errcap, "%s", w->err);
    w->clean_stop = 1;
    dw_session_writer_close(w, NULL, NULL, 0);
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
    if ((r = dw_h5col_push(&w->fr[F_TEMP], temp)) < 0 ||
        (r = dw_h5col_push(&w->fr[F_PRES], pres)) < 0 ||
        (r = dw_h5col_push(&w->fr[F_AMB], amb)) < 0 ||
        (r = dw_h5col_push(&w->fr[F_ACCEL], acc)) < 0 ||
        (r = dw_h5col_push(&w->fr[F_STATUS], smp.status)) < 0 ||
        (r = dw_h5col_push(&w->fr[F_DSEQ], &dseq)) < 0 ||
        (r = dw_h5col_push(&w->fr[F_TDEV], &m->t_device_us)) < 0 ||
        (r = dw_h5col_push(&w->fr[F_THOST], &m->t_host_ns)) < 0 ||
        (r = dw_h5col_push(&w->fr[F_SEQ], &m->seq)) < 0) {
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
    if ((r = dw_h5col_push(&w->tab[t], row)) < 0)
        return fail(w, -r, "out of memory");
    w->order++;
    if (w->tab[t].n == w->tab[t].chunk_rows)
        return write_blocks(w, 1); /* a whole chunk: written once, now */
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
        if (w->fr[F_SEQ].n == w->fr[F_SEQ].chunk_rows)
            return write_blocks(w, 0); /* a whole chunk: written once, now */
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
static int check_room(struct dw_session_writer *w, int all, uint64_t grow)
{
    uint64_t need = CLOSE_RESERVE + grow, size, room = UINT64_MAX;
    size_t rows = 0;
    int *fd = NULL;
    struct stat sb;
    struct statvfs vs;
    struct rlimit rl;
    haddr_t eoa = 0;
    const char *what = NULL;
    char a[32], b[32];

    for (int i = 0; all && i < A_COUNT; i++)
        rows += dw_h5col_pending(&w->tab[i]);
    rows += dw_h5col_pending(&w->fr[F_SEQ]);
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
             "everything before them", w->path, what, a, b, dw_h5col_pending(&w->fr[F_SEQ]),
             rows - dw_h5col_pending(&w->fr[F_SEQ]));
    w->failed = -(strstr(what, "disk") ? ENOSPC : EFBIG);
    w->clean_stop = 1;
    return w->failed;
}

static int write_blocks(struct dw_session_writer *w, int all)
{
    uint64_t grow = 0;
    int r;
    for (int i = 0; i < F_COUNT + (all ? A_COUNT : 0); i++) {
        struct dw_h5col *x = i < F_COUNT ? &w->fr[i] : &w->tab[i - F_COUNT];
        if (dw_h5col_filter(x, &grow) < 0)
            return fail(w, EIO, x->name);
    }
    if ((r = check_room(w, all, grow)) < 0)
        return r;
    for (int i = 0; i < F_COUNT; i++)
        if (dw_h5col_write(&w->fr[i]) < 0)
            return fail(w, EIO, w->fr[i].name);
    if (all)
        for (int i = 0; i < A_COUNT; i++)
            if (dw_h5col_write(&w->tab[i]) < 0)
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
    if (dw_h5col_flush_dirty(w->fr, F_COUNT) < 0 || dw_h5col_flush_dirty(w->tab, A_COUNT) < 0)
        return fail(w, EIO, "flush");
    return 0;
}

int dw_session_writer_sync(struct dw_session_writer *w)
{
    int fd;
    if (w->failed)
        return w->failed;
    if ((fd = h5_fd(w)) < 0)
        return fail(w, EIO, "getting the file descriptor");
    if (fsync(fd) < 0)
        return fail(w, errno, "fsync");
    return 0;
}

int dw_session_writer_close(struct dw_session_writer *w, struct dw_session_counts *counts,
                            char *err, size_t errcap)
{
    int r;
    if (!w)
        return 0;
    if (w->suspended)
        dw_session_writer_resume(w);
    if (!w->failed && w->file >= 0) {
        dw_session_writer_flush(w);
        if (!w->defer_sync)
            dw_session_writer_sync(w);
    }
    /* Rows still in memory never reached the file: count what it holds. */
    w->counts.frames -= dw_h5col_pending(&w->fr[F_SEQ]);
    w->counts.hellos -= dw_h5col_pending(&w->tab[A_HELLO]);
    w->counts.status -= dw_h5col_pending(&w->tab[A_STATUS]);
    w->counts.alerts -= dw_h5col_pending(&w->tab[A_ALERT]);
    w->counts.stats -= dw_h5col_pending(&w->tab[A_STATS]);
    w->counts.events -= dw_h5col_pending(&w->tab[A_EVENT]);
    for (size_t i = w->tab[A_EVENT].written; i < w->tab[A_EVENT].n; i++) {
        const struct dw_row_event *e =
            (const struct dw_row_event *)w->tab[A_EVENT].buf + i;
        if (!strncmp(e->kind, "gap", sizeof(e->kind))) {
            w->counts.gaps--;
            w->counts.missing -= e->missing;
        }
    }
    for (int i = 0; i < F_COUNT; i++)
        dw_h5col_close(&w->fr[i]);
    for (int i = 0; i < A_COUNT; i++)
        dw_h5col_close(&w->tab[i]);
    if (w->scratch >= 0)
        dw_h5_scratch_put();
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
    if (w->fd >= 0)
        close(w->fd); /* (a failed start) after HDF5 let go of the file */
    if (counts)
        *counts = w->counts;
    r = w->failed;
    if (err && errcap)
        snprintf(err, errcap, "%s", w->err);
    free(w);
    return r;
}

/* The file closed in HDF5 with everything else kept: a descriptor of our
 * own keeps the file (and the writer's lock) until the resume. */
int dw_session_writer_suspend(struct dw_session_writer *w)
{
    int fd;
    if (w->failed)
        return w->failed;
    if (w->file < 0)
        return 0;
    if ((fd = h5_fd(w)) < 0 || (w->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
        return fail(w, fd < 0 ? EIO : errno, "suspending");
    for (int i = 0; i < F_COUNT; i++)
        if (w->fr[i].ds >= 0 && H5Dclose(w->fr[i].ds) >= 0)
            w->fr[i].ds = -1;
    for (int i = 0; i < A_COUNT; i++)
        if (w->tab[i].ds >= 0 && H5Dclose(w->tab[i].ds) >= 0)
            w->tab[i].ds = -1;
    if (H5Fclose(w->file) < 0)
        return fail(w, EIO, "suspending");
    w->file = -1;
    w->suspended = true;
    return 0;
}

int dw_session_writer_resume(struct dw_session_writer *w)
{
    hid_t g;
    int r;
    if (w->failed)
        return w->failed;
    if (!w->suspended)
        return 0;
    w->suspended = false;
    dw_session_file_open_path(w->fd, w->path, w->open_path, sizeof(w->open_path));
    w->file = H5Fopen(w->open_path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE, w->fapl);
    if (w->file < 0 || (g = H5Gopen2(w->file, "frames", H5P_DEFAULT)) < 0)
        return fail(w, EIO, "resuming");
    r = dw_h5col_open_all(w->fr, F_COUNT, g);
    H5Gclose(g);
    if (r < 0 || dw_h5col_open_all(w->tab, A_COUNT, w->file) < 0)
        return fail(w, EIO, "resuming");
    return hold_lock(w);
}

bool dw_session_writer_unlinked(const struct dw_session_writer *w)
{
    return dw_session_file_unlinked(h5_fd(w));
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
    size_t n = dw_h5col_pending(&w->fr[F_SEQ]);
    for (int i = 0; i < A_COUNT; i++)
        n += dw_h5col_pending(&w->tab[i]);
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
