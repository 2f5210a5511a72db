#include <stdlib.h>
#include <string.h>
#include "fleet_writer.h"
#include "h5read.h"
#include "session_format.h"
#include "session_tail.h"

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* The last row of a table of the session file f into buf (its rows in *n). */
static int last_row(hid_t f, const char *name, enum dw_session_table tt, void *buf, hsize_t *n)
{
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT), t = dw_session_type(tt);
    int r = -1;
    *n = ds >= 0 ? dw_h5_rows(ds) : 0;
    if (ds >= 0)
        H5Dclose(ds);
    if (t >= 0 && *n)
        r = dw_h5_read_rows(f, name, t, 0, *n - 1, 1, buf);
    if (t >= 0)
        H5Tclose(t);
    H5Eclear2(H5E_DEFAULT);
    return *n ? r : 0;
}

/* Acquire's rows among the events and stats (the recorder's own are not
 * its messages): the latest seq and host time into tl. */
static int stream_rows(hid_t f, struct dw_session_tail *tl)
{
    return dw_session_tail_table(f, "events", DW_T_EVENT, false, tl, 1) < 0 ||
                   dw_session_tail_table(f, "stats", DW_T_STATS, false, tl, 1) < 0
               ? -1
               : 0;
}

/* Acquire's last message by seq and host time (its last sample, HELLO,
 * STATUS or event of acquire's stream), detect's last alert. */
int dw_session_tail_read(hid_t f, struct dw_session_tail *tl)
{
    struct dw_row_hello h = { 0 };
    struct dw_row_status st = { 0 };
    struct dw_row_alert al;
    hsize_t n;
    hid_t ds;

    memset(tl, 0, sizeof(*tl));
    ds = H5Dopen2(f, "frames/seq", H5P_DEFAULT);
    n = ds >= 0 ? dw_h5_rows(ds) : 0;
    if (ds >= 0)
        H5Dclose(ds);
    if (n && (dw_h5_read_rows(f, "frames/seq", H5T_NATIVE_UINT64, 0, n - 1, 1, &tl->seq) < 0 ||
              dw_h5_read_rows(f, "frames/t_host_ns", H5T_NATIVE_UINT64, 0, n - 1, 1, &tl->thost) < 0))
        return -1;
    if (last_row(f, "hellos", DW_T_HELLO, &h, &n) < 0 ||
        last_row(f, "device_status", DW_T_STATUS, &st, &n) < 0)
        return -1;
    tl->seq = max64(tl->seq, max64(h.seq, st.seq));
    tl->thost = max64(tl->thost, max64(h.t_host_ns, st.t_host_ns));
    memset(&al, 0, sizeof(al));
    if (last_row(f, "alerts", DW_T_ALERT, &al, &n) < 0)
        return -1;
    tl->aseq = al.seq;
    tl->athost = al.t_host_ns;
    return stream_rows(f, tl);
}

void dw_session_tail_frame(struct dw_session_tail *tl, uint64_t seq, uint64_t t_host_ns)
{
    tl->seq = max64(tl->seq, seq);
    tl->thost = max64(tl->thost, t_host_ns);
}

void dw_session_tail_row(struct dw_session_tail *tl, enum dw_session_table t, const void *row)
{
    const struct dw_row_hello *h = row;
    const struct dw_row_status *st = row;
    const struct dw_row_event *ev = row;
    const struct dw_row_stats *sr = row;
    const struct dw_row_alert *al = row;

    if (t == DW_T_HELLO)
        dw_session_tail_frame(tl, h->seq, h->t_host_ns);
    else if (t == DW_T_STATUS)
        dw_session_tail_frame(tl, st->seq, st->t_host_ns);
    else if (t == DW_T_EVENT && strncmp(ev->source, "record", sizeof(ev->source)))
        dw_session_tail_frame(tl, ev->seq, ev->t_host_ns);
    else if (t == DW_T_STATS && !strncmp(sr->source, "acquire", sizeof(sr->source)))
        dw_session_tail_frame(tl, sr->seq, sr->t_host_ns);
    else if (t == DW_T_ALERT) {
        tl->aseq = max64(tl->aseq, al->seq);
        tl->athost = max64(tl->athost, al->t_host_ns);
    }
}

void dw_session_tail_merge(struct dw_session_tail *tl, const struct dw_session_tail *o)
{
    dw_session_tail_frame(tl, o->seq, o->thost);
    tl->aseq = max64(tl->aseq, o->aseq);
    tl->athost = max64(tl->athost, o->athost);
}

int dw_session_tail_table(hid_t f, const char *name, enum dw_session_table tt, bool fleet,
                          struct dw_session_tail *tl, size_t n)
{
    size_t bytes = 0, rows_n = 0;
    uint8_t *rows = NULL;
    hid_t t = fleet ? dw_fleet_table_type(tt, &bytes) : dw_session_type(tt);
    int r;
    if (t < 0)
        return -1;
    if (!fleet)
        bytes = H5Tget_size(t);
    r = dw_h5_read_rows_all(f, name, t, bytes, &rows, &rows_n);
    for (size_t k = 0; r == 0 && k < rows_n; k++) {
        const uint8_t *row = rows + k * bytes;
        uint32_t dev = 0;
        if (fleet)
            memcpy(&dev, row, sizeof(dev));
        if (dev < n)
            dw_session_tail_row(&tl[dev], tt, row + (fleet ? DW_FLEET_ROW_PREFIX : 0));
    }
    free(rows);
    H5Tclose(t);
    return r;
}
