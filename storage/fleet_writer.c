#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dw_config.h"
#include "dwtime.h"
#include "fleet_writer.h"
#include "frame.h"
#include "h5column.h"
#include "session_file.h"

/* A fleet file takes the rows of every garment: chunks of the largest size
 * the session writer uses fill in well under a second at 1000 garments, so
 * most are written once. The per-zone columns are stored as they are,
 * shuffled and deflated (one HELLO's scale-offset does not fit them all). */
#define FLEET_CHUNK_ROWS 4096
#define TABLE_CHUNK_ROWS 256
#define DEVICE_CHUNK_ROWS 64
#define PREFIX DW_FLEET_ROW_PREFIX
#define ROW_MAX (PREFIX + sizeof(struct dw_row_alert) + sizeof(struct dw_row_stats))

enum {
    F_DEV, F_TEMP, F_PRES, F_AMB, F_ACCEL, F_STATUS, F_DSEQ, F_TDEV, F_THOST,
    F_SEQ, /* last: a reader that sees N rows here sees >= N everywhere */
    F_COUNT
};

enum { A_DEVICES, A_LAYOUT, A_HELLO, A_STATUS, A_EVENT, A_ALERT, A_STATS, A_COUNT };

struct dw_fleet_writer {
    char path[4096];
    char open_path[4096];
    char creating[NAME_MAX + 16]; /* the name while it is built */
    bool named;                   /* renamed to its name */
    int fd;
    char err[DW_SESSION_ERR_MAX];
    int failed;
    hid_t file, fapl, scratch;
    struct dw_h5col fr[F_COUNT];
    struct dw_h5col tab[A_COUNT];
    struct dw_hello *dev;  /* each /devices row's HELLO, parsed */
    size_t n_dev, dev_cap;
    uint64_t order, start_ns;
    struct dw_session_counts counts;
};

static const struct {
    const char *name;
    enum dw_session_table t;
} tables[A_COUNT] = {
    [A_LAYOUT] = { "device_layout", DW_T_LAYOUT }, [A_HELLO] = { "hellos", DW_T_HELLO },
    [A_STATUS] = { "device_status", DW_T_STATUS }, [A_EVENT] = { "events", DW_T_EVENT },
    [A_ALERT] = { "alerts", DW_T_ALERT },          [A_STATS] = { "stats", DW_T_STATS },
};

static int fail(struct dw_fleet_writer *w, int e, const char *what)
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

/* ---- types ---- */

hid_t dw_fleet_table_type(enum dw_session_table t, size_t *row_bytes)
{
    hid_t st = dw_session_type(t), ft = -1;
    size_t size;
    int n, bad = 0;
    if (st < 0)
        return -1;
    size = H5Tget_size(st);
    n = H5Tget_nmembers(st);
    ft = H5Tcreate(H5T_COMPOUND, PREFIX + size);
    if (ft < 0 || n < 0 || H5Tinsert(ft, "device", 0, H5T_NATIVE_UINT32) < 0)
        bad = 1;
    for (int i = 0; i < n && !bad; i++) {
        char *name = H5Tget_member_name(st, (unsigned)i);
        hid_t mt = H5Tget_member_type(st, (unsigned)i);
        size_t off = H5Tget_member_offset(st, (unsigned)i);
        if (!name || mt < 0 || H5Tinsert(ft, name, PREFIX + off, mt) < 0)
            bad = 1;
        if (mt >= 0)
            H5Tclose(mt);
        H5free_memory(name);
    }
    H5Tclose(st);
    if (bad) {
        if (ft >= 0)
            H5Tclose(ft);
        return -1;
    }
    if (row_bytes)
        *row_bytes = PREFIX + size;
    return ft;
}

hid_t dw_fleet_device_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct dw_fleet_device));
    hid_t id = H5Tcopy(H5T_C_S1), rs = H5Tcopy(H5T_C_S1), hello = -1;
    hsize_t hn = DW_MAX_PAYLOAD;
    int bad = t < 0 || id < 0 || rs < 0;
    if (!bad) {
        hello = H5Tarray_create2(H5T_NATIVE_UINT8, 1, &hn);
        bad = hello < 0 || H5Tset_size(id, DW_ID_LEN + 1) < 0 || H5Tset_size(rs, DW_S_KIND) < 0 ||
              H5Tset_strpad(rs, H5T_STR_NULLPAD) < 0;
    }
#define M(f, ty) (bad = bad || H5Tinsert(t, #f, offsetof(struct dw_fleet_device, f), ty) < 0)
    M(index, H5T_NATIVE_UINT32);
    M(device_id, id);
    M(reason, rs);
    M(stream, H5T_NATIVE_UINT64);
    M(t_host_ns, H5T_NATIVE_UINT64);
    M(t_device_us, H5T_NATIVE_UINT64);
    M(hello_len, H5T_NATIVE_UINT16);
    M(hello, hello);
#undef M
    if (id >= 0)
        H5Tclose(id);
    if (rs >= 0)
        H5Tclose(rs);
    if (hello >= 0)
        H5Tclose(hello);
    if (bad && t >= 0) {
        H5Tclose(t);
        t = -1;
    }
    return t;
}

/* ---- creation ---- */

static int create_frames(struct dw_fleet_writer *w)
{
    static const struct dw_h5col_storage st = { .chunk_rows = FLEET_CHUNK_ROWS, .deflate = 1,
                                                .decimals = -1, .checksum = 1 };
    static const struct {
        const char *name;
        hid_t *type;
        hsize_t width;
        const char *units;
    } cols[F_COUNT] = {
        [F_DEV] = { "frames/device", &H5T_NATIVE_UINT32_g, 0, "index into /devices" },
        [F_TEMP] = { "frames/temperature_c", &H5T_NATIVE_FLOAT_g, DW_FLEET_ZONES, "degC" },
        [F_PRES] = { "frames/pressure_kpa", &H5T_NATIVE_FLOAT_g, DW_FLEET_ZONES, "kPa" },
        [F_AMB] = { "frames/ambient_c", &H5T_NATIVE_FLOAT_g, DW_N_AMBIENT, "degC" },
        [F_ACCEL] = { "frames/accel_g", &H5T_NATIVE_FLOAT_g, 3, "g" },
        [F_STATUS] = { "frames/status", &H5T_NATIVE_UINT8_g, DW_FLEET_ZONES, "bits" },
        [F_DSEQ] = { "frames/device_seq", &H5T_NATIVE_UINT32_g, 0, "garment frame seq" },
        [F_TDEV] = { "frames/t_device_us", &H5T_NATIVE_UINT64_g, 0, "us (device clock)" },
        [F_THOST] = { "frames/t_host_ns", &H5T_NATIVE_UINT64_g, 0, "ns since the Unix epoch" },
        [F_SEQ] = { "frames/seq", &H5T_NATIVE_UINT64_g, 0, "stream sequence number" },
    };
    hid_t g = H5Gcreate2(w->file, "frames", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int r = 0;
    if (g < 0)
        return -1;
    H5Gclose(g);
    for (int i = 0; i < F_COUNT && !r; i++)
        r = dw_h5col_create(&w->fr[i], w->file, cols[i].name, H5Tcopy(*cols[i].type),
                            cols[i].width, &st, w->scratch, cols[i].units);
    return r;
}

static int create_tables(struct dw_fleet_writer *w)
{
    static const struct dw_h5col_storage st = { .chunk_rows = TABLE_CHUNK_ROWS, .deflate = 1,
                                                .decimals = -1, .checksum = 1 };
    static const struct dw_h5col_storage dst = { .chunk_rows = DEVICE_CHUNK_ROWS, .deflate = 1,
                                                 .decimals = -1, .checksum = 1 };
    if (dw_h5col_create(&w->tab[A_DEVICES], w->file, "devices", dw_fleet_device_type(), 0,
                        &dst, w->scratch, "index: the device column of every table") < 0)
        return -1;
    for (int i = A_LAYOUT; i < A_COUNT; i++)
        if (dw_h5col_create(&w->tab[i], w->file, tables[i].name,
                            dw_fleet_table_type(tables[i].t, NULL), 0, &st, w->scratch,
                            "as the session file's table, plus device") < 0)
            return -1;
    return 0;
}

static int write_root_attrs(struct dw_fleet_writer *w, const struct dw_fleet_start *s)
{
    char iso[40];
    int32_t ver = DW_FLEET_FORMAT_VERSION;
    uint32_t zones = DW_FLEET_ZONES;
    dw_format_utc(s->t_host_ns, iso, sizeof(iso), 0);
    if (dw_h5_attr_str(w->file, "format", DW_FLEET_FORMAT) < 0 ||
        dw_h5_attr_scalar(w->file, "format_version", H5T_NATIVE_INT32, &ver) < 0 ||
        dw_h5_attr_str(w->file, "recorder", s->recorder ? s->recorder : "") < 0 ||
        dw_h5_attr_str(w->file, "software_version", "ductwatch-record " DW_VERSION) < 0 ||
        dw_h5_attr_str(w->file, "period_start", iso) < 0 ||
        dw_h5_attr_scalar(w->file, "period_start_ns", H5T_NATIVE_UINT64, &s->t_host_ns) < 0 ||
        dw_h5_attr_scalar(w->file, "period_ns", H5T_NATIVE_UINT64, &s->period_ns) < 0 ||
        dw_h5_attr_scalar(w->file, "zone_columns", H5T_NATIVE_UINT32, &zones) < 0)
        return -1;
    return 0;
}

/* SWMR writing on the finished file (h5column.c says why by reopening). */
static int swmr_reopen(struct dw_fleet_writer *w)
{
    if (dw_h5_swmr_reopen(&w->file, w->open_path, w->fapl, w->fr, F_COUNT, w->tab, A_COUNT) < 0 ||
        dw_h5col_open_all(w->fr, F_COUNT, w->file) < 0)
        return -1;
    return dw_h5col_open_all(w->tab, A_COUNT, w->file);
}

static int h5_fd(const struct dw_fleet_writer *w)
{
    return dw_h5_file_fd(w->file, w->fapl);
}

/* The file is built as .NAME.creating and renamed to NAME (never over
 * another file) once HDF5 has made it whole and SWMR writing began: a kill
 * -9 in between leaves no file under a fleet file's name that no reader or
 * --recover can open, only the hidden one, which the next recorder to
 * create the same name removes (no live writer holds it). */
static int create_hidden(struct dw_fleet_writer *w, const struct dw_fleet_start *s)
{
    int n = snprintf(w->creating, sizeof(w->creating), ".%s.creating", s->name);
    if (n < 0 || (size_t)n >= sizeof(w->creating))
        return fail(w, ENAMETOOLONG, "cannot create");
    if (dw_session_file_busy_at(s->dir_fd, w->creating) == 0)
        unlinkat(s->dir_fd, w->creating, 0); /* left by a killed recorder */
    w->fd = dw_session_file_create(s->dir_fd, w->creating);
    if (w->fd < 0)
        return fail(w, -w->fd, "cannot create");
    return 0;
}

static int name_it(struct dw_fleet_writer *w, const struct dw_fleet_start *s)
{
    if (renameat2(s->dir_fd, w->creating, s->dir_fd, s->name, RENAME_NOREPLACE) < 0)
        return fail(w, errno, "cannot name it");
    w->named = true;
    if (fsync(s->dir_fd) < 0)
        return fail(w, errno, "syncing its directory");
    return 0;
}

static int build(struct dw_fleet_writer *w, const struct dw_fleet_start *s)
{
    int e;
    w->fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (w->fapl < 0 || H5Pset_libver_bounds(w->fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0)
        return fail(w, EIO, "file access properties");
    if ((e = create_hidden(w, s)) < 0)
        return e;
    dw_session_file_open_path(w->fd, s->path, w->open_path, sizeof(w->open_path));
    w->file = H5Fcreate(w->open_path, H5F_ACC_TRUNC, H5P_DEFAULT, w->fapl);
    if (w->file < 0)
        return fail(w, EIO, "cannot create");
    if (write_root_attrs(w, s) < 0)
        return fail(w, EIO, "writing attributes");
    if ((w->scratch = dw_h5_scratch_get()) < 0)
        return fail(w, EIO, "creating the in-memory chunk file");
    if (create_frames(w) < 0 || create_tables(w) < 0)
        return fail(w, EIO, "creating the datasets");
    if (swmr_reopen(w) < 0)
        return fail(w, EIO, "starting SWMR writing");
    if (h5_fd(w) < 0 || (e = dw_session_file_hold(h5_fd(w))) < 0)
        return fail(w, EIO, "locking");
    close(w->fd);
    w->fd = -1;
    return name_it(w, s);
}

int dw_fleet_writer_create(struct dw_fleet_writer **out, const struct dw_fleet_start *s,
                           char *err, size_t errcap)
{
    struct dw_fleet_writer *w = calloc(1, sizeof(*w));
    int e;
    *out = NULL;
    if (!w) {
        snprintf(err, errcap, "%s: out of memory", s->path);
        return -ENOMEM;
    }
    w->file = w->fapl = w->scratch = -1;
    w->fd = -1;
    w->start_ns = s->t_host_ns;
    for (int i = 0; i < F_COUNT; i++)
        w->fr[i].ds = w->fr[i].mtype = w->fr[i].scratch = -1;
    for (int i = 0; i < A_COUNT; i++)
        w->tab[i].ds = w->tab[i].mtype = w->tab[i].scratch = -1;
    snprintf(w->path, sizeof(w->path), "%s", s->path);
    if ((e = build(w, s)) < 0) {
        snprintf(err, errcap, "%s", w->err);
        if (w->fd >= 0 || w->file >= 0)
            unlinkat(s->dir_fd, w->named ? s->name : w->creating, 0);
        dw_fleet_writer_close(w, NULL, NULL, 0);
        return e;
    }
    *out = w;
    return 0;
}

/* ---- rows ---- */

static int write_all(struct dw_fleet_writer *w);

static int push_table(struct dw_fleet_writer *w, int t, int dev, void *row, size_t len,
                      uint64_t *order)
{
    uint8_t buf[ROW_MAX];
    uint32_t d = (uint32_t)dev;
    int r;
    if (order)
        *order = w->order++;
    memset(buf, 0, PREFIX);
    memcpy(buf, &d, sizeof(d));
    memcpy(buf + PREFIX, row, len);
    if ((r = dw_h5col_push(&w->tab[t], buf)) < 0)
        return fail(w, -r, "out of memory");
    if (w->tab[t].n == w->tab[t].chunk_rows)
        return write_all(w);
    return 0;
}

static int check_dev(const struct dw_fleet_writer *w, int dev)
{
    if (w->failed)
        return w->failed;
    return dev >= 0 && (size_t)dev < w->n_dev ? 0 : -EINVAL;
}

static int push_layout(struct dw_fleet_writer *w, int dev)
{
    const struct dw_hello *h = &w->dev[dev];
    int r = 0;
    for (unsigned z = 0; z < h->n_zones && !r; z++) {
        struct dw_row_layout row;
        dw_session_layout_row(h, z, &row);
        r = push_table(w, A_LAYOUT, dev, &row, sizeof(row), NULL);
    }
    return r;
}

int dw_fleet_writer_device(struct dw_fleet_writer *w, const uint8_t *hello, size_t len,
                           uint64_t stream, uint64_t t_host_ns, uint64_t t_device_us,
                           const char *reason)
{
    struct dw_fleet_device row;
    int r;
    if (w->failed)
        return w->failed;
    if (!len || len > DW_MAX_PAYLOAD)
        return -EBADMSG;
    if (w->n_dev == w->dev_cap) {
        size_t cap = w->dev_cap ? w->dev_cap * 2 : 64;
        struct dw_hello *nd = realloc(w->dev, cap * sizeof(*nd));
        if (!nd)
            return fail(w, ENOMEM, "out of memory");
        w->dev = nd;
        w->dev_cap = cap;
    }
    if (dw_hello_parse(hello, len, &w->dev[w->n_dev]) < 0)
        return -EBADMSG;
    memset(&row, 0, sizeof(row));
    row.index = (uint32_t)w->n_dev;
    dw_session_strset(row.device_id, sizeof(row.device_id), w->dev[w->n_dev].device_id);
    dw_session_strset(row.reason, sizeof(row.reason), reason ? reason : "first-hello");
    row.stream = stream;
    row.t_host_ns = t_host_ns;
    row.t_device_us = t_device_us;
    row.hello_len = (uint16_t)len;
    memcpy(row.hello, hello, len);
    if ((r = dw_h5col_push(&w->tab[A_DEVICES], &row)) < 0)
        return fail(w, -r, "out of memory");
    w->n_dev++;
    if (w->tab[A_DEVICES].n == w->tab[A_DEVICES].chunk_rows && (r = write_all(w)) < 0)
        return r;
    if ((r = push_layout(w, (int)w->n_dev - 1)) < 0)
        return r;
    return (int)w->n_dev - 1;
}

static int push_sample(struct dw_fleet_writer *w, int dev, const struct dw_msg_frame *m)
{
    const struct dw_hello *h = &w->dev[dev];
    struct dw_sample smp;
    float temp[DW_FLEET_ZONES], pres[DW_FLEET_ZONES], amb[DW_N_AMBIENT], acc[3];
    uint8_t status[DW_FLEET_ZONES];
    uint32_t dseq = m->device_seq, d = (uint32_t)dev;
    int r = 0;

    if (dw_sample_parse(m->payload, m->len, &smp) < 0 || smp.n_zones != h->n_zones)
        return -EBADMSG;
    memset(status, 0, sizeof(status));
    for (unsigned z = 0; z < DW_FLEET_ZONES; z++) {
        temp[z] = z < h->n_zones ? dw_session_phys(smp.temp[z], h->temp_scale) : NAN;
        pres[z] = z < h->n_zones ? dw_session_phys(smp.pressure[z], h->pressure_scale) : NAN;
        if (z < h->n_zones)
            status[z] = smp.status[z];
    }
    for (unsigned i = 0; i < DW_N_AMBIENT; i++)
        amb[i] = dw_session_phys(smp.ambient[i], h->temp_scale);
    for (unsigned i = 0; i < 3; i++)
        acc[i] = dw_session_phys(smp.accel[i], h->accel_scale);
    const void *vals[F_COUNT] = {
        [F_DEV] = &d, [F_TEMP] = temp, [F_PRES] = pres, [F_AMB] = amb, [F_ACCEL] = acc,
        [F_STATUS] = status, [F_DSEQ] = &dseq, [F_TDEV] = &m->t_device_us,
        [F_THOST] = &m->t_host_ns, [F_SEQ] = &m->seq,
    };
    for (int i = 0; i < F_COUNT && !r; i++)
        r = dw_h5col_push(&w->fr[i], vals[i]);
    if (r < 0) {
        for (int i = 0; i < F_COUNT; i++)
            if (w->fr[i].n > w->fr[F_SEQ].n)
                w->fr[i].n = w->fr[F_SEQ].n;
        return fail(w, -r, "out of memory");
    }
    w->order++;
    w->counts.frames++;
    if (w->fr[F_SEQ].n == w->fr[F_SEQ].chunk_rows)
        return write_all(w);
    return 0;
}

int dw_fleet_writer_frame(struct dw_fleet_writer *w, int dev, const struct dw_msg_frame *m)
{
    int r;
    if ((r = check_dev(w, dev)) < 0)
        return r;
    switch (m->type) {
    case DW_FRAME_SAMPLE:
        return push_sample(w, dev, m);
    case DW_FRAME_HELLO: {
        struct dw_row_hello row = { .seq = m->seq, .device_seq = m->device_seq,
                                    .t_device_us = m->t_device_us, .t_host_ns = m->t_host_ns };
        w->counts.hellos++;
        return push_table(w, A_HELLO, dev, &row, sizeof(row), &row.order);
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
        return push_table(w, A_STATUS, dev, &row, sizeof(row), &row.order);
    }
    default:
        return -EBADMSG;
    }
}

int dw_fleet_writer_event(struct dw_fleet_writer *w, int dev, struct dw_row_event *r)
{
    int e;
    if ((e = check_dev(w, dev)) < 0)
        return e;
    w->counts.events++;
    if (!strncmp(r->kind, "gap", sizeof(r->kind))) {
        w->counts.gaps++;
        w->counts.missing += r->missing;
    }
    r->order = w->order;
    return push_table(w, A_EVENT, dev, r, sizeof(*r), &r->order);
}

int dw_fleet_writer_alert(struct dw_fleet_writer *w, int dev, struct dw_row_alert *r)
{
    int e;
    if ((e = check_dev(w, dev)) < 0)
        return e;
    w->counts.alerts++;
    r->order = w->order;
    return push_table(w, A_ALERT, dev, r, sizeof(*r), &r->order);
}

int dw_fleet_writer_stats(struct dw_fleet_writer *w, int dev, struct dw_row_stats *r)
{
    int e;
    if ((e = check_dev(w, dev)) < 0)
        return e;
    w->counts.stats++;
    r->order = w->order;
    return push_table(w, A_STATS, dev, r, sizeof(*r), &r->order);
}

/* ---- flushing ---- */

/* Every buffered row of every dataset, /frames/seq after the other frame
 * columns and the tables after /frames. */
static int write_all(struct dw_fleet_writer *w)
{
    uint64_t grow = 0;
    for (int i = 0; i < F_COUNT + A_COUNT; i++) {
        struct dw_h5col *x = i < F_COUNT ? &w->fr[i] : &w->tab[i - F_COUNT];
        if (dw_h5col_filter(x, &grow) < 0 || dw_h5col_write(x) < 0)
            return fail(w, EIO, x->name);
    }
    return 0;
}

int dw_fleet_writer_flush(struct dw_fleet_writer *w)
{
    int r;
    if (w->failed)
        return w->failed;
    if ((r = write_all(w)) < 0)
        return r;
    if (dw_h5col_flush_dirty(w->fr, F_COUNT) < 0 || dw_h5col_flush_dirty(w->tab, A_COUNT) < 0)
        return fail(w, EIO, "flush");
    return 0;
}

int dw_fleet_writer_sync(struct dw_fleet_writer *w)
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

int dw_fleet_writer_close(struct dw_fleet_writer *w, struct dw_session_counts *counts,
                          char *err, size_t errcap)
{
    int r;
    if (!w)
        return 0;
    if (!w->failed && w->file >= 0) {
        dw_fleet_writer_flush(w);
        dw_fleet_writer_sync(w);
    }
    w->counts.frames -= dw_h5col_pending(&w->fr[F_SEQ]);
    for (int i = 0; i < F_COUNT; i++)
        dw_h5col_close(&w->fr[i]);
    for (int i = 0; i < A_COUNT; i++)
        dw_h5col_close(&w->tab[i]);
    if (w->scratch >= 0)
        dw_h5_scratch_put();
    if (w->file >= 0 && H5Fclose(w->file) < 0)
        fail(w, EIO, "close");
    if (w->failed) {
        size_t n = strlen(w->err);
        snprintf(w->err + n, sizeof(w->err) - n, "; if the file does not open, run "
                 "'ductwatch-record --recover %s'", w->path);
    }
    if (w->fapl >= 0)
        H5Pclose(w->fapl);
    if (w->fd >= 0)
        close(w->fd);
    if (counts)
        *counts = w->counts;
    r = w->failed;
    if (err && errcap)
        snprintf(err, errcap, "%s", w->err);
    free(w->dev);
    free(w);
    return r;
}

const char *dw_fleet_writer_path(const struct dw_fleet_writer *w)
{
    return w->path;
}

const char *dw_fleet_writer_error(const struct dw_fleet_writer *w)
{
    return w->failed ? w->err : NULL;
}

bool dw_fleet_writer_unlinked(const struct dw_fleet_writer *w)
{
    return dw_session_file_unlinked(h5_fd(w));
}

size_t dw_fleet_writer_queued(const struct dw_fleet_writer *w)
{
    size_t n = dw_h5col_pending(&w->fr[F_SEQ]);
    for (int i = 0; i < A_COUNT; i++)
        n += dw_h5col_pending(&w->tab[i]);
    return n;
}

void dw_fleet_writer_counts(const struct dw_fleet_writer *w, struct dw_session_counts *c)
{
    *c = w->counts;
}

uint64_t dw_fleet_writer_start_ns(const struct dw_fleet_writer *w)
{
    return w->start_ns;
}
