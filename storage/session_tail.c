#include <stdlib.h>
#include <string.h>
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
    uint8_t *rows = NULL;
    size_t n = 0;
    hid_t t = dw_session_type(DW_T_EVENT);
    int r = t < 0 ? -1 : dw_h5_read_rows_all(f, "events", t, sizeof(struct dw_row_event), &rows, &n);
    for (size_t k = 0; r == 0 && k < n; k++) {
        const struct dw_row_event *ev = (const struct dw_row_event *)rows + k;
        if (strncmp(ev->source, "record", sizeof(ev->source))) {
            tl->seq = max64(tl->seq, ev->seq);
            tl->thost = max64(tl->thost, ev->t_host_ns);
        }
    }
    free(rows);
    rows = NULL;
    if (t >= 0)
        H5Tclose(t);
    if (r < 0 || (t = dw_session_type(DW_T_STATS)) < 0)
        return -1;
    r = dw_h5_read_rows_all(f, "stats", t, sizeof(struct dw_row_stats), &rows, &n);
    H5Tclose(t);
    for (size_t k = 0; r == 0 && k < n; k++) {
        const struct dw_row_stats *st = (const struct dw_row_stats *)rows + k;
        if (!strncmp(st->source, "acquire", sizeof(st->source))) {
            tl->seq = max64(tl->seq, st->seq);
            tl->thost = max64(tl->thost, st->t_host_ns);
        }
    }
    free(rows);
    return r;
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
