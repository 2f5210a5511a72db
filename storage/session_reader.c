#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "session_reader.h"

#define BLOCK 4096

enum { C_SEQ, C_DSEQ, C_TDEV, C_THOST, C_TEMP, C_PRES, C_AMB, C_ACCEL, C_STATUS, C_COUNT };

static const struct {
    const char *name;
    int width;  /* 0 rank 1, -1 = n_zones */
} cols[C_COUNT] = {
    [C_SEQ] = { "frames/seq", 0 },
    [C_DSEQ] = { "frames/device_seq", 0 },
    [C_TDEV] = { "frames/t_device_us", 0 },
    [C_THOST] = { "frames/t_host_ns", 0 },
    [C_TEMP] = { "frames/temperature_c", -1 },
    [C_PRES] = { "frames/pressure_kpa", -1 },
    [C_AMB] = { "frames/ambient_c", DW_N_AMBIENT },
    [C_ACCEL] = { "frames/accel_g", 3 },
    [C_STATUS] = { "frames/status", -1 },
};

struct table {
    void *rows;
    size_t n, pos;
};

struct dw_session_reader {
    char path[4096];
    char err[DW_SESSION_ERR_MAX];
    hid_t file;
    hid_t ds[C_COUNT];
    struct dw_session_info info;
    struct dw_hello hello;
    uint8_t hello_raw[DW_MAX_PAYLOAD];
    size_t hello_len;
    struct table hellos, status, events, alerts, stats;
    /* frames block */
    uint64_t block_start, block_n, frame_pos;
    uint64_t *b_seq, *b_tdev, *b_thost;
    uint32_t *b_dseq;
    float *b_temp, *b_pres, *b_amb, *b_acc;
    uint8_t *b_status;
    uint64_t next_order;
    bool have_last;
    uint64_t last_t, elapsed;
};

static int set_err(struct dw_session_reader *r, int e, const char *fmt, const char *what)
{
    char why[384];
    dw_session_h5_reason(why, sizeof(why));
    snprintf(r->err, sizeof(r->err), "%s: %s%s%s", r->path, what ? what : fmt,
             why[0] ? ": " : "", why);
    return -e;
}

/* Reads a string attribute of any string type (fixed or variable). */
static int attr_get_str(hid_t loc, const char *name, char *buf, size_t cap)
{
    hid_t a, t = -1, mt = -1;
    int r = -1;
    if (!cap)
        return -1;
    buf[0] = 0;
    if (H5Aexists(loc, name) <= 0)
        return -1;
    a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    t = H5Aget_type(a);
    if (t < 0 || H5Tget_class(t) != H5T_STRING)
        goto out;
    if (H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        mt = H5Tcopy(H5T_C_S1);
        if (mt < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0)
            goto out;
        if (H5Aread(a, mt, &v) < 0)
            goto out;
        snprintf(buf, cap, "%s", v ? v : "");
        H5free_memory(v);
        r = 0;
    } else {
        size_t n = H5Tget_size(t);
        char *tmp = calloc(1, n + 1);
        if (!tmp)
            goto out;
        mt = H5Tcopy(t);
        if (mt >= 0 && H5Aread(a, mt, tmp) >= 0) {
            snprintf(buf, cap, "%s", tmp);
            r = 0;
        }
        free(tmp);
    }
out:
    if (mt >= 0)
        H5Tclose(mt);
    if (t >= 0)
        H5Tclose(t);
    H5Aclose(a);
    return r;
}

static int attr_get(hid_t loc, const char *name, hid_t mtype, void *v)
{
    hid_t a;
    herr_t e;
    if (H5Aexists(loc, name) <= 0)
        return -1;
    a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    e = H5Aread(a, mtype, v);
    H5Aclose(a);
    return e < 0 ? -1 : 0;
}

static int read_hello_attr(struct dw_session_reader *r)
{
    hid_t a, s;
    hssize_t n;
    if (H5Aexists(r->file, "hello_payload") <= 0)
        return -1;
    a = H5Aopen(r->file, "hello_payload", H5P_DEFAULT);
    if (a < 0)
        return -1;
    s = H5Aget_space(a);
    n = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    if (s >= 0)
        H5Sclose(s);
    if (n <= 0 || n > DW_MAX_PAYLOAD || H5Aread(a, H5T_NATIVE_UINT8, r->hello_raw) < 0) {
        H5Aclose(a);
        return -1;
    }
    H5Aclose(a);
    r->hello_len = (size_t)n;
    return dw_hello_parse(r->hello_raw, r->hello_len, &r->hello) < 0 ? -1 : 0;
}

static int read_table(struct dw_session_reader *r, const char *name, enum dw_session_table t,
                      size_t row, struct table *out)
{
    hid_t ds, sp, mt;
    hssize_t n;
    int ret = -1;
    memset(out, 0, sizeof(*out));
    if (H5Lexists(r->file, name, H5P_DEFAULT) <= 0)
        return -1;
    ds = H5Dopen2(r->file, name, H5P_DEFAULT);
    if (ds < 0)
        return -1;
    sp = H5Dget_space(ds);
    n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    mt = dw_session_type(t);
    if (n < 0 || mt < 0)
        goto out;
    out->rows = calloc(n ? (size_t)n : 1, row);
    if (!out->rows)
        goto out;
    out->n = (size_t)n;
    if (n && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->rows) < 0)
        goto out;
    ret = 0;
out:
    if (mt >= 0)
        H5Tclose(mt);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(ds);
    return ret;
}

/* The width of a fixed string column in the file: /alerts message was 256
 * bytes before it was DW_S_MESSAGE. 0 when the column is missing. */
static size_t column_width(hid_t file, const char *table, const char *column)
{
    size_t w = 0;
    hid_t ds = H5Dopen2(file, table, H5P_DEFAULT);
    hid_t ft = ds >= 0 ? H5Dget_type(ds) : -1;
    int i = ft >= 0 ? H5Tget_member_index(ft, column) : -1;
    hid_t mt = i >= 0 ? H5Tget_member_type(ft, (unsigned)i) : -1;
    if (mt >= 0 && H5Tget_class(mt) == H5T_STRING && !H5Tis_variable_str(mt))
        w = H5Tget_size(mt);
    if (mt >= 0)
        H5Tclose(mt);
    if (ft >= 0)
        H5Tclose(ft);
    if (ds >= 0)
        H5Dclose(ds);
    H5Eclear2(H5E_DEFAULT);
    return w;
}

static hid_t open_file(const char *path, bool *swmr)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    *swmr = false;
    if (f >= 0)
        return f;
    /* A file being written in SWMR mode, or whose writer died, opens only
     * in SWMR read mode. */
    H5Eclear2(H5E_DEFAULT);
    f = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    if (f >= 0)
        *swmr = true;
    return f;
}

int dw_session_reader_open(struct dw_session_reader **out, const char *path,
                           char *err, size_t errcap)
{
    struct dw_session_reader *r = calloc(1, sizeof(*r));
    char fmt[64];
    struct stat sb;
    uint64_t n = UINT64_MAX;
    int e = -EBADF;

    *out = NULL;
    if (!r) {
        snprintf(err, errcap, "%s: out of memory", path);
        return -ENOMEM;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    snprintf(r->path, sizeof(r->path), "%s", path);
    r->file = -1;
    for (int i = 0; i < C_COUNT; i++)
        r->ds[i] = -1;
    if (stat(path, &sb) < 0) {
        e = -errno;
        snprintf(r->err, sizeof(r->err), "%s: %s", path, strerror(-e));
        goto fail;
    }
    if (H5Fis_hdf5(path) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        snprintf(r->err, sizeof(r->err), "%s: not an HDF5 file, so not a ductwatch session", path);
        goto fail;
    }
    r->file = open_file(path, &r->info.swmr_open);
    if (r->file < 0) {
        e = set_err(r, EIO, NULL, "cannot open (if its recorder was killed, run "
                    "'ductwatch-record --recover FILE' first)");
        goto fail;
    }
    if (attr_get_str(r->file, "format", fmt, sizeof(fmt)) < 0 || strcmp(fmt, DW_SESSION_FORMAT)) {
        H5Eclear2(H5E_DEFAULT);
        snprintf(r->err, sizeof(r->err), "%s: not a ductwatch session file (its root attribute "
                 "format is not \"%s\")", path, DW_SESSION_FORMAT);
        goto fail;
    }
    if (attr_get(r->file, "format_version", H5T_NATIVE_INT, &r->info.format_version) < 0 ||
        r->info.format_version < 1 || r->info.format_version > DW_SESSION_FORMAT_VERSION) {
        snprintf(r->err, sizeof(r->err), "%s: unsupported ductwatch session format_version %d "
                 "(this build reads 1..%d)", path, r->info.format_version,
                 DW_SESSION_FORMAT_VERSION);
        goto fail;
    }
    if (read_hello_attr(r) < 0) {
        e = set_err(r, EBADF, NULL, "damaged session: no valid hello_payload attribute");
        goto fail;
    }
    snprintf(r->info.device_id, sizeof(r->info.device_id), "%s", r->hello.device_id);
    snprintf(r->info.firmware, sizeof(r->info.firmware), "%s", r->hello.firmware);
    attr_get_str(r->file, "session_start", r->info.session_start, sizeof(r->info.session_start));
    attr_get_str(r->file, "software_version", r->info.software_version,
                 sizeof(r->info.software_version));
    attr_get(r->file, "session_start_ns", H5T_NATIVE_UINT64, &r->info.start_ns);
    attr_get(r->file, "session_start_device_us", H5T_NATIVE_UINT64, &r->info.start_device_us);
    H5Eclear2(H5E_DEFAULT);

    for (int i = 0; i < C_COUNT; i++) {
        hsize_t dims[2] = { 0, 0 };
        hid_t sp;
        int rank, want = cols[i].width < 0 ? r->hello.n_zones : cols[i].width;
        r->ds[i] = H5Dopen2(r->file, cols[i].name, H5P_DEFAULT);
        if (r->ds[i] < 0) {
            e = set_err(r, EBADF, NULL, "damaged session: a /frames dataset is missing");
            goto fail;
        }
        sp = H5Dget_space(r->ds[i]);
        rank = sp >= 0 ? H5Sget_simple_extent_dims(sp, dims, NULL) : -1;
        if (sp >= 0)
            H5Sclose(sp);
        if (rank != (want ? 2 : 1) || (want && dims[1] != (hsize_t)want)) {
            e = set_err(r, EBADF, NULL, "damaged session: a /frames dataset has the wrong shape");
            goto fail;
        }
        /* After a crash the columns can differ in length: the shortest
         * is what is complete. */
        if (dims[0] < n)
            n = dims[0];
    }
    r->info.frames = n;
    if (read_table(r, "hellos", DW_T_HELLO, sizeof(struct dw_row_hello), &r->hellos) < 0 ||
        read_table(r, "device_status", DW_T_STATUS, sizeof(struct dw_row_status), &r->status) < 0 ||
        read_table(r, "events", DW_T_EVENT, sizeof(struct dw_row_event), &r->events) < 0 ||
        read_table(r, "alerts", DW_T_ALERT, sizeof(struct dw_row_alert), &r->alerts) < 0 ||
        read_table(r, "stats", DW_T_STATS, sizeof(struct dw_row_stats), &r->stats) < 0) {
        e = set_err(r, EIO, NULL, "cannot read the tables");
        goto fail;
    }
    r->info.hellos = r->hellos.n;
    r->info.status = r->status.n;
    r->info.events = r->events.n;
    r->info.alerts = r->alerts.n;
    r->info.alert_message_width = column_width(r->file, "alerts", "message");
    r->info.stats = r->stats.n;

    {
        size_t zn = r->hello.n_zones;
        r->b_seq = malloc(BLOCK * sizeof(uint64_t));
        r->b_tdev = malloc(BLOCK * sizeof(uint64_t));
        r->b_thost = malloc(BLOCK * sizeof(uint64_t));
        r->b_dseq = malloc(BLOCK * sizeof(uint32_t));
        r->b_temp = malloc(BLOCK * zn * sizeof(float));
        r->b_pres = malloc(BLOCK * zn * sizeof(float));
        r->b_amb = malloc(BLOCK * DW_N_AMBIENT * sizeof(float));
        r->b_acc = malloc(BLOCK * 3 * sizeof(float));
        r->b_status = malloc(BLOCK * zn);
        if (!r->b_seq || !r->b_tdev || !r->b_thost || !r->b_dseq || !r->b_temp || !r->b_pres ||
            !r->b_amb || !r->b_acc || !r->b_status) {
            snprintf(r->err, sizeof(r->err), "%s: out of memory", path);
            e = -ENOMEM;
            goto fail;
        }
    }
    if (n) {
        uint64_t t[2], h[2];
        hsize_t idx[2] = { 0, n - 1 };
        hsize_t one = 2;
        hid_t fs = H5Dget_space(r->ds[C_TDEV]), ms = H5Screate_simple(1, &one, NULL);
        hid_t fs2 = H5Dget_space(r->ds[C_THOST]);
        int ok = fs >= 0 && ms >= 0 && fs2 >= 0 &&
                 H5Sselect_elements(fs, H5S_SELECT_SET, 2, idx) >= 0 &&
                 H5Sselect_elements(fs2, H5S_SELECT_SET, 2, idx) >= 0 &&
                 H5Dread(r->ds[C_TDEV], H5T_NATIVE_UINT64, ms, fs, H5P_DEFAULT, t) >= 0 &&
                 H5Dread(r->ds[C_THOST], H5T_NATIVE_UINT64, ms, fs2, H5P_DEFAULT, h) >= 0;
        if (fs >= 0) H5Sclose(fs);
        if (fs2 >= 0) H5Sclose(fs2);
        if (ms >= 0) H5Sclose(ms);
        if (!ok) {
            e = set_err(r, EIO, NULL, "cannot read /frames");
            goto fail;
        }
        r->info.t_first_us = t[0];
        r->info.t_last_us = t[1];
        r->info.t_first_ns = h[0];
        r->info.t_last_ns = h[1];
    }
    *out = r;
    return 0;
fail:
    snprintf(err, errcap, "%s", r->err);
    dw_session_reader_close(r);
    return e;
}

void dw_session_reader_close(struct dw_session_reader *r)
{
    if (!r)
        return;
    for (int i = 0; i < C_COUNT; i++)
        if (r->ds[i] >= 0)
            H5Dclose(r->ds[i]);
    if (r->file >= 0)
        H5Fclose(r->file);
    free(r->hellos.rows);
    free(r->status.rows);
    free(r->events.rows);
    free(r->alerts.rows);
    free(r->stats.rows);
    free(r->b_seq);
    free(r->b_tdev);
    free(r->b_thost);
    free(r->b_dseq);
    free(r->b_temp);
    free(r->b_pres);
    free(r->b_amb);
    free(r->b_acc);
    free(r->b_status);
    free(r);
}

const struct dw_session_info *dw_session_reader_info(const struct dw_session_reader *r)
{
    return &r->info;
}

const struct dw_hello *dw_session_reader_hello(const struct dw_session_reader *r)
{
    return &r->hello;
}

const uint8_t *dw_session_reader_hello_payload(const struct dw_session_reader *r, size_t *len)
{
    *len = r->hello_len;
    return r->hello_raw;
}

const char *dw_session_reader_error(const struct dw_session_reader *r)
{
    return r->err;
}

const struct dw_row_event *dw_session_reader_events(const struct dw_session_reader *r, size_t *n)
{
    *n = r->events.n;
    return r->events.rows;
}

const struct dw_row_alert *dw_session_reader_alerts(const struct dw_session_reader *r, size_t *n)
{
    *n = r->alerts.n;
    return r->alerts.rows;
}

const struct dw_row_stats *dw_session_reader_stats(const struct dw_session_reader *r, size_t *n)
{
    *n = r->stats.n;
    return r->stats.rows;
}

void dw_session_reader_rewind(struct dw_session_reader *r)
{
    r->hellos.pos = r->status.pos = r->events.pos = r->alerts.pos = r->stats.pos = 0;
    r->frame_pos = 0;
    r->block_n = 0;
    r->block_start = 0;
    r->next_order = 0;
    r->have_last = false;
    r->elapsed = 0;
}

static int load_block(struct dw_session_reader *r)
{
    uint64_t n = r->info.frames - r->frame_pos;
    void *bufs[C_COUNT] = { r->b_seq, r->b_dseq, r->b_tdev, r->b_thost, r->b_temp, r->b_pres,
                            r->b_amb, r->b_acc, r->b_status };
    hid_t types[C_COUNT] = { H5T_NATIVE_UINT64, H5T_NATIVE_UINT32, H5T_NATIVE_UINT64,
                             H5T_NATIVE_UINT64, H5T_NATIVE_FLOAT, H5T_NATIVE_FLOAT,
                             H5T_NATIVE_FLOAT, H5T_NATIVE_FLOAT, H5T_NATIVE_UINT8 };
    if (n > BLOCK)
        n = BLOCK;
    for (int i = 0; i < C_COUNT; i++) {
        int w = cols[i].width < 0 ? r->hello.n_zones : cols[i].width;
        hsize_t start[2] = { r->frame_pos, 0 }, count[2] = { n, (hsize_t)w };
        hid_t fs = H5Dget_space(r->ds[i]), ms = H5Screate_simple(w ? 2 : 1, count, NULL);
        int ok = fs >= 0 && ms >= 0 &&
                 H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
                 H5Dread(r->ds[i], types[i], ms, fs, H5P_DEFAULT, bufs[i]) >= 0;
        if (fs >= 0)
            H5Sclose(fs);
        if (ms >= 0)
            H5Sclose(ms);
        if (!ok)
            return set_err(r, EIO, NULL, "cannot read /frames");
    }
    r->block_start = r->frame_pos;
    r->block_n = n;
    return 0;
}

static int frame_record(struct dw_session_reader *r, struct dw_session_record *rec)
{
    const struct dw_hello *h = &r->hello;
    uint64_t i;
    unsigned zn = h->n_zones;
    int e;
    if (r->frame_pos < r->block_start || r->frame_pos >= r->block_start + r->block_n)
        if ((e = load_block(r)) < 0)
            return e;
    i = r->frame_pos - r->block_start;
    rec->kind = DW_REC_SAMPLE;
    rec->seq = r->b_seq[i];
    rec->has_device_seq = true;
    rec->device_seq = r->b_dseq[i];
    rec->t_device_us = r->b_tdev[i];
    rec->t_host_ns = r->b_thost[i];
    rec->sample.n_zones = (uint8_t)zn;
    for (unsigned z = 0; z < zn; z++) {
        rec->sample.temp[z] = (int16_t)dw_session_raw(r->b_temp[i * zn + z], h->temp_scale);
        rec->sample.pressure[z] = (uint16_t)dw_session_raw(r->b_pres[i * zn + z], h->pressure_scale);
        rec->sample.status[z] = r->b_status[i * zn + z];
    }
    for (unsigned k = 0; k < DW_N_AMBIENT; k++)
        rec->sample.ambient[k] = (int16_t)dw_session_raw(r->b_amb[i * DW_N_AMBIENT + k],
                                                         h->temp_scale);
    for (unsigned k = 0; k < 3; k++)
        rec->sample.accel[k] = (int16_t)dw_session_raw(r->b_acc[i * 3 + k], h->accel_scale);
    r->frame_pos++;
    return 1;
}

static uint64_t head_order(const struct table *t, size_t row_size)
{
    if (t->pos >= t->n)
        return UINT64_MAX;
    return *(const uint64_t *)((const uint8_t *)t->rows + t->pos * row_size);
}

/* Alert and stats rows take message order numbers too, but replay and
 * reports get them from their own tables: step over the ones whose turn it
 * is, or the frames after them would take their numbers and overtake the
 * next HELLO, STATUS or event row. */
static void skip_unmerged(struct dw_session_reader *r)
{
    for (;;) {
        uint64_t oa = head_order(&r->alerts, sizeof(struct dw_row_alert));
        uint64_t ot = head_order(&r->stats, sizeof(struct dw_row_stats));
        if (oa <= r->next_order && oa <= ot) {
            r->alerts.pos++;
            r->next_order = oa + 1;
        } else if (ot <= r->next_order) {
            r->stats.pos++;
            r->next_order = ot + 1;
        } else {
            return;
        }
    }
}

int dw_session_reader_next(struct dw_session_reader *r, struct dw_session_record *rec)
{
    skip_unmerged(r);
    uint64_t oh = head_order(&r->hellos, sizeof(struct dw_row_hello));
    uint64_t os = head_order(&r->status, sizeof(struct dw_row_status));
    uint64_t oe = head_order(&r->events, sizeof(struct dw_row_event));
    uint64_t omin = oh < os ? oh : os;
    bool frames_left = r->frame_pos < r->info.frames;
    int e;

    if (oe < omin)
        omin = oe;
    memset(rec, 0, offsetof(struct dw_session_record, sample));
    if (omin == UINT64_MAX && !frames_left)
        return 0;
    /* A table row whose turn it is goes first; otherwise the next frame row
     * holds this order number. */
    if (omin <= r->next_order || !frames_left) {
        rec->order = omin;
        r->next_order = omin + 1;
        if (omin == oh) {
            const struct dw_row_hello *x = (const struct dw_row_hello *)r->hellos.rows + r->hellos.pos++;
            rec->kind = DW_REC_HELLO;
            rec->seq = x->seq;
            rec->has_device_seq = true;
            rec->device_seq = x->device_seq;
            rec->t_device_us = x->t_device_us;
            rec->t_host_ns = x->t_host_ns;
        } else if (omin == os) {
            const struct dw_row_status *x = (const struct dw_row_status *)r->status.rows + r->status.pos++;
            rec->kind = DW_REC_STATUS;
            rec->seq = x->seq;
            rec->has_device_seq = true;
            rec->device_seq = x->device_seq;
            rec->t_device_us = x->t_device_us;
            rec->t_host_ns = x->t_host_ns;
            dw_put_le16(rec->status_raw, x->battery_mv);
            rec->status_raw[2] = x->battery_pct;
            rec->status_raw[3] = x->flags;
            dw_put_le16(rec->status_raw + 4, (uint16_t)x->mcu_temp_cc);
            dw_put_le16(rec->status_raw + 6, x->reserved);
        } else {
            const struct dw_row_event *x = (const struct dw_row_event *)r->events.rows + r->events.pos++;
            rec->kind = DW_REC_EVENT;
            rec->seq = x->seq;
            rec->event = *x;
            rec->has_device_seq = x->device_seq >= 0;
            rec->device_seq = x->device_seq >= 0 ? (uint32_t)x->device_seq : 0;
            rec->t_device_us = x->t_device_us;
            rec->t_host_ns = x->t_host_ns;
        }
    } else {
        rec->order = r->next_order++;
        if ((e = frame_record(r, rec)) < 0)
            return e;
    }
    if (!r->have_last) {
        r->have_last = true;
        r->elapsed = 0;
    } else if (rec->t_device_us > r->last_t) {
        r->elapsed += rec->t_device_us - r->last_t;
    }
    /* Host-side events are stamped from host time and can run a little
     * ahead of the frames; only garment frames move the clock back. */
    if (rec->has_device_seq || rec->t_device_us > r->last_t)
        r->last_t = rec->t_device_us;
    rec->elapsed_us = r->elapsed;
    return 1;
}

int dw_session_record_payload(const struct dw_session_reader *r,
                              const struct dw_session_record *rec,
                              uint8_t *type, uint8_t *payload, size_t cap)
{
    ssize_t n;
    switch (rec->kind) {
    case DW_REC_SAMPLE:
        *type = DW_FRAME_SAMPLE;
        n = dw_sample_pack(&rec->sample, payload, cap);
        return n < 0 ? -EBADMSG : (int)n;
    case DW_REC_HELLO:
        if (cap < r->hello_len)
            return -EBADMSG;
        *type = DW_FRAME_HELLO;
        memcpy(payload, r->hello_raw, r->hello_len);
        return (int)r->hello_len;
    case DW_REC_STATUS:
        if (cap < DW_STATUS_PAYLOAD_SIZE)
            return -EBADMSG;
        *type = DW_FRAME_STATUS;
        memcpy(payload, rec->status_raw, DW_STATUS_PAYLOAD_SIZE);
        return DW_STATUS_PAYLOAD_SIZE;
    case DW_REC_EVENT: {
        struct dw_event ev;
        char kind[DW_S_KIND + 1], side[DW_S_SIDE + 1], source[DW_S_SOURCE + 1];
        int k, s;
        dw_session_strget(source, rec->event.source, DW_S_SOURCE);
        if (strcmp(source, "garment"))
            return 0;
        dw_session_strget(kind, rec->event.kind, DW_S_KIND);
        dw_session_strget(side, rec->event.side, DW_S_SIDE);
        k = dw_event_kind_from_name(kind);
        s = dw_side_from_name(side);
        if (k <= 0 || k >= DW_EV_LINK_DOWN || s < 0)
            return -EBADMSG;
        memset(&ev, 0, sizeof(ev));
        ev.kind = (uint8_t)k;
        ev.side = (uint8_t)s;
        ev.value = isnan(rec->event.value) ? 0 : (int32_t)lround(rec->event.value * 1000.0);
        dw_session_strget(ev.text, rec->event.text, DW_S_TEXT);
        *type = DW_FRAME_EVENT;
        n = dw_event_pack(&ev, payload, cap);
        return n < 0 ? -EBADMSG : (int)n;
    }
    }
    return -EBADMSG;
}
