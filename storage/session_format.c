#include <math.h>
#include <stdio.h>
#include <string.h>
#include "layout.h"
#include "session_format.h"

static hid_t str_type(size_t width)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    if (H5Tset_size(t, width) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* Builds a compound type column by column; any failure poisons it. */
struct builder {
    hid_t t;
    int bad;
};

static void col(struct builder *b, const char *name, size_t off, hid_t type)
{
    if (b->bad || H5Tinsert(b->t, name, off, type) < 0)
        b->bad = 1;
}

static void col_str(struct builder *b, const char *name, size_t off, size_t width)
{
    hid_t s = str_type(width);
    if (s < 0) {
        b->bad = 1;
        return;
    }
    col(b, name, off, s);
    H5Tclose(s);
}

#define COL(b, st, f, type) col(b, #f, offsetof(st, f), type)
#define COLS(b, st, f) col_str(b, #f, offsetof(st, f), sizeof(((st *)0)->f))

static void type_layout(struct builder *b)
{
    typedef struct dw_row_layout R;
    hsize_t n = DW_LAYOUT_NEIGHBOURS;
    hid_t arr = H5Tarray_create2(H5T_NATIVE_INT16, 1, &n);
    COL(b, R, zone, H5T_NATIVE_INT16);
    COL(b, R, side, H5T_NATIVE_UINT8);
    COL(b, R, quadrant, H5T_NATIVE_UINT8);
    COL(b, R, ring, H5T_NATIVE_UINT8);
    COL(b, R, mirror, H5T_NATIVE_INT16);
    if (arr < 0)
        b->bad = 1;
    else {
        COL(b, R, neighbours, arr);
        H5Tclose(arr);
    }
    COL(b, R, flags, H5T_NATIVE_UINT8);
    COLS(b, R, name);
}

static void type_hello(struct builder *b)
{
    typedef struct dw_row_hello R;
    COL(b, R, order, H5T_NATIVE_UINT64);
    COL(b, R, seq, H5T_NATIVE_UINT64);
    COL(b, R, device_seq, H5T_NATIVE_UINT32);
    COL(b, R, t_device_us, H5T_NATIVE_UINT64);
    COL(b, R, t_host_ns, H5T_NATIVE_UINT64);
}

static void type_status(struct builder *b)
{
    typedef struct dw_row_status R;
    COL(b, R, order, H5T_NATIVE_UINT64);
    COL(b, R, seq, H5T_NATIVE_UINT64);
    COL(b, R, device_seq, H5T_NATIVE_UINT32);
    COL(b, R, t_device_us, H5T_NATIVE_UINT64);
    COL(b, R, t_host_ns, H5T_NATIVE_UINT64);
    COL(b, R, battery_mv, H5T_NATIVE_UINT16);
    COL(b, R, battery_pct, H5T_NATIVE_UINT8);
    COL(b, R, flags, H5T_NATIVE_UINT8);
    COL(b, R, mcu_temp_cc, H5T_NATIVE_INT16);
    COL(b, R, reserved, H5T_NATIVE_UINT16);
}

static void type_event(struct builder *b)
{
    typedef struct dw_row_event R;
    COL(b, R, order, H5T_NATIVE_UINT64);
    COL(b, R, seq, H5T_NATIVE_UINT64);
    COL(b, R, t_device_us, H5T_NATIVE_UINT64);
    COL(b, R, t_host_ns, H5T_NATIVE_UINT64);
    COLS(b, R, kind);
    COLS(b, R, side);
    COL(b, R, value, H5T_NATIVE_DOUBLE);
    COL(b, R, missing, H5T_NATIVE_UINT64);
    COLS(b, R, source);
    COL(b, R, device_seq, H5T_NATIVE_INT64);
    COLS(b, R, text);
}

static void type_alert(struct builder *b)
{
    typedef struct dw_row_alert R;
    COL(b, R, order, H5T_NATIVE_UINT64);
    COL(b, R, seq, H5T_NATIVE_UINT64);
    COL(b, R, t_device_us, H5T_NATIVE_UINT64);
    COL(b, R, t_host_ns, H5T_NATIVE_UINT64);
    COL(b, R, id, H5T_NATIVE_UINT64);
    COLS(b, R, rule);
    COLS(b, R, level);
    COLS(b, R, state);
    COLS(b, R, side);
    COL(b, R, zone, H5T_NATIVE_INT16);
    COLS(b, R, zone_name);
    COL(b, R, value, H5T_NATIVE_DOUBLE);
    COL(b, R, threshold, H5T_NATIVE_DOUBLE);
    COLS(b, R, ruleset_version);
    COLS(b, R, params);
    COLS(b, R, message);
}

static void type_stats(struct builder *b)
{
    typedef struct dw_row_stats R;
    COL(b, R, order, H5T_NATIVE_UINT64);
    COL(b, R, t_host_ns, H5T_NATIVE_UINT64);
    COL(b, R, t_device_us, H5T_NATIVE_UINT64);
    COLS(b, R, source);
    COL(b, R, seq, H5T_NATIVE_UINT64);
    COL(b, R, bytes, H5T_NATIVE_UINT64);
    COL(b, R, frames, H5T_NATIVE_UINT64);
    COL(b, R, crc_errors, H5T_NATIVE_UINT64);
    COL(b, R, length_errors, H5T_NATIVE_UINT64);
    COL(b, R, cobs_errors, H5T_NATIVE_UINT64);
    COL(b, R, version_errors, H5T_NATIVE_UINT64);
    COL(b, R, resyncs, H5T_NATIVE_UINT64);
    COL(b, R, device_seq_gaps, H5T_NATIVE_UINT64);
    COL(b, R, frames_missing, H5T_NATIVE_UINT64);
    COL(b, R, reconnects, H5T_NATIVE_UINT64);
    COL(b, R, events_in, H5T_NATIVE_UINT64);
    COL(b, R, zmq_dropped, H5T_NATIVE_UINT64);
    COL(b, R, drift_ppm, H5T_NATIVE_DOUBLE);
    COL(b, R, link_up, H5T_NATIVE_UINT8);
    COL(b, R, stream_gaps, H5T_NATIVE_UINT64);
    COL(b, R, messages_missing, H5T_NATIVE_UINT64);
    COL(b, R, duplicates, H5T_NATIVE_UINT64);
    COL(b, R, restarts, H5T_NATIVE_UINT64);
    COL(b, R, write_queue, H5T_NATIVE_UINT64);
    COL(b, R, unrecordable, H5T_NATIVE_UINT64);
    COL(b, R, frames_written, H5T_NATIVE_UINT64);
}

hid_t dw_session_type(enum dw_session_table t)
{
    static const size_t size[DW_T_COUNT] = {
        [DW_T_LAYOUT] = sizeof(struct dw_row_layout),
        [DW_T_HELLO] = sizeof(struct dw_row_hello),
        [DW_T_STATUS] = sizeof(struct dw_row_status),
        [DW_T_EVENT] = sizeof(struct dw_row_event),
        [DW_T_ALERT] = sizeof(struct dw_row_alert),
        [DW_T_STATS] = sizeof(struct dw_row_stats),
    };
    struct builder b = { -1, 0 };
    if ((unsigned)t >= DW_T_COUNT)
        return -1;
    b.t = H5Tcreate(H5T_COMPOUND, size[t]);
    if (b.t < 0)
        return -1;
    switch (t) {
    case DW_T_LAYOUT: type_layout(&b); break;
    case DW_T_HELLO: type_hello(&b); break;
    case DW_T_STATUS: type_status(&b); break;
    case DW_T_EVENT: type_event(&b); break;
    case DW_T_ALERT: type_alert(&b); break;
    case DW_T_STATS: type_stats(&b); break;
    default: b.bad = 1; break;
    }
    if (b.bad) {
        H5Tclose(b.t);
        return -1;
    }
    return b.t;
}

void dw_session_own_event(struct dw_row_event *row, const char *kind, uint64_t seq,
                          uint64_t missing, uint64_t t_dev, uint64_t t_host, const char *text)
{
    memset(row, 0, sizeof(*row));
    row->seq = seq;
    row->t_device_us = t_dev;
    row->t_host_ns = t_host;
    dw_session_strset(row->kind, sizeof(row->kind), kind);
    dw_session_strset(row->side, sizeof(row->side), "none");
    row->value = NAN;
    row->missing = missing;
    dw_session_strset(row->source, sizeof(row->source), "record");
    row->device_seq = -1;
    dw_session_strset(row->text, sizeof(row->text), text);
}

void dw_session_strset(char *dst, size_t width, const char *s)
{
    size_t n = s ? strnlen(s, width) : 0;
    memset(dst, 0, width);
    if (n)
        memcpy(dst, s, n);
}

void dw_session_strget(char *dst, const char *src, size_t width)
{
    size_t n = strnlen(src, width);
    memcpy(dst, src, n);
    dst[n] = 0;
}

float dw_session_phys(int32_t raw, uint32_t scale)
{
    return (float)((double)raw * (double)scale / 1e6);
}

int32_t dw_session_raw(float v, uint32_t scale)
{
    return (int32_t)lround((double)v * 1e6 / (double)scale);
}

struct reason_ctx {
    char *buf;
    size_t cap;
    int done;
};

/* The innermost entry names the cause; a system error carries its strerror
 * text as "error message = '...'", which is all a person needs. */
static herr_t reason_walk(unsigned n, const H5E_error2_t *e, void *data)
{
    struct reason_ctx *c = data;
    const char *desc = e->desc ? e->desc : "";
    const char *m = strstr(desc, "error message = '");
    if (c->done)
        return 0;
    c->done = 1;
    if (m) {
        const char *start = m + strlen("error message = '");
        const char *end = strchr(start, '\'');
        int len = end ? (int)(end - start) : (int)strlen(start);
        snprintf(c->buf, c->cap, "%.*s (HDF5 %s)", len, start, e->func_name ? e->func_name : "?");
    } else {
        char minor[128] = "";
        if (H5Eget_msg(e->min_num, NULL, minor, sizeof(minor)) < 0)
            minor[0] = 0;
        snprintf(c->buf, c->cap, "%s%s%s (HDF5 %s)", desc, *desc && *minor ? ": " : "",
                 minor, e->func_name ? e->func_name : "?");
    }
    (void)n;
    return 0;
}

void dw_session_h5_reason(char *buf, size_t cap)
{
    struct reason_ctx c = { buf, cap, 0 };
    if (!cap)
        return;
    buf[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, reason_walk, &c);
    H5Eclear2(H5E_DEFAULT);
}

void dw_session_layout_row(const struct dw_hello *h, unsigned z, struct dw_row_layout *row)
{
    unsigned nb[DW_MAX_NEIGHBOURS];
    unsigned k = dw_layout_neighbours(h, z, nb);
    char name[64];
    memset(row, 0, sizeof(*row));
    row->zone = (int16_t)z;
    row->side = h->zone[z].side;
    row->quadrant = h->zone[z].quadrant;
    row->ring = h->zone[z].ring;
    row->mirror = h->zone[z].mirror;
    row->flags = h->zone[z].flags;
    for (unsigned i = 0; i < DW_LAYOUT_NEIGHBOURS; i++)
        row->neighbours[i] = i < k ? (int16_t)nb[i] : -1;
    dw_zone_name(h, z, name, sizeof(name));
    dw_session_strset(row->name, sizeof(row->name), name);
}
