#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "dwtime.h"
#include "fleet_compact.h"
#include "fleet_writer.h"
#include "frame.h"
#include "h5column.h"
#include "h5read.h"
#include "log.h"
#include "session_file.h"
#include "session_format.h"
#include "session_tail.h"
#include "session_writer.h"

#define BLOCK_ROWS 8192 /* /frames rows read at a time */
#define KEEP_MAPPED (32 << 20) /* malloc: blocks below it from the heap */
#define KEEP_HEAP (1 << 30)    /* malloc: heap kept up to it when freed */

enum { C_HELLO, C_STATUS, C_EVENT, C_ALERT, C_STATS, C_COUNT };

static const struct {
    const char *name;
    enum dw_session_table t;
} ctab[C_COUNT] = {
    [C_HELLO] = { "hellos", DW_T_HELLO },   [C_STATUS] = { "device_status", DW_T_STATUS },
    [C_EVENT] = { "events", DW_T_EVENT },   [C_ALERT] = { "alerts", DW_T_ALERT },
    [C_STATS] = { "stats", DW_T_STATS },
};

struct table_in {
    uint8_t *rows;
    size_t n, row_bytes, cur;
};

/* A garment's rows read from the fleet file and not yet in its session
 * file, in the file's message order: a kind byte (C_COUNT for a sample),
 * then a struct queued_frame and its payload, or the table's session row. */
struct queue {
    uint8_t *p;
    size_t n, cap;
};

struct queued_frame {
    uint64_t seq, t_device_us, t_host_ns;
    uint32_t device_seq;
    uint16_t len;
};

/* What a session file appended to holds last, for the rows that go on
 * from it (append_keep). */
struct tail {
    struct dw_session_tail last;  /* what the file holds last of each stream */
    bool same_stream;             /* the /devices row goes on in acquire's stream of the file */
    bool bridged, abridged;       /* the first row of acquire's, detect's stream queued */
};

struct target {
    bool todo;                    /* to be written (not done by an earlier run) */
    bool append;                  /* onto the session file final (a copy as tmp) */
    char *files;                  /* its compacted_fleet_files, this fleet file's added */
    struct tail tail;
    struct dw_session_writer *w;  /* created at its first round, suspended between */
    bool renaming;                /* closed, to be renamed */
    char tmp[NAME_MAX + 16], final[NAME_MAX + 1];
    struct dw_hello h;
    struct queue q;
};

/* The /frames columns, read BLOCK_ROWS at a time. */
struct block {
    uint32_t dev[BLOCK_ROWS], dseq[BLOCK_ROWS];
    uint64_t tdev[BLOCK_ROWS], thost[BLOCK_ROWS], seq[BLOCK_ROWS];
    float temp[BLOCK_ROWS][DW_FLEET_ZONES], pres[BLOCK_ROWS][DW_FLEET_ZONES];
    float amb[BLOCK_ROWS][DW_N_AMBIENT], acc[BLOCK_ROWS][3];
    uint8_t status[BLOCK_ROWS][DW_FLEET_ZONES];
    hsize_t first, n, cur;
};

struct compact {
    const char *path;
    char dir[PATH_MAX];
    int dir_fd;
    hid_t file;
    struct dw_fleet_device *dev;
    size_t n_dev;
    struct target *tg;
    struct table_in tab[C_COUNT];
    struct block *blk;
    hsize_t n_frames;
    size_t queued;   /* bytes in the targets' queues */
    size_t memory;   /* a round starts when they reach it */
    unsigned rounds;
    uint64_t start_ns;        /* the fleet file's period_start_ns (when it was opened) */
    uint64_t period, period_ns; /* the fleet period it belongs to: start, length */
    char id[NAME_MAX + 32];   /* "<name> <start_ns>": its entry in compacted_fleet_files */
    char **names;             /* the directory's names (append candidates), once read */
    size_t n_names;
    bool listed;
    struct dw_fleet_compact_report *rep;
    char *err;
    size_t errcap;
};

static int say(struct compact *c, int e, const char *what)
{
    char why[384];
    dw_session_h5_reason(why, sizeof(why));
    snprintf(c->err, c->errcap, "%s: %s%s%s", c->path, what, why[0] ? ": " : "", why);
    return e;
}

/* ---- reading the fleet file ---- */

static int read_whole(struct compact *c, const char *name, hid_t t, size_t row_bytes,
                      uint8_t **rows, size_t *n)
{
    hid_t ds = H5Dopen2(c->file, name, H5P_DEFAULT);
    hsize_t k;
    if (ds < 0)
        return say(c, -EBADMSG, name);
    k = dw_h5_rows(ds);
    H5Dclose(ds);
    *rows = calloc(k ? k : 1, row_bytes);
    if (!*rows)
        return say(c, -ENOMEM, "out of memory");
    *n = k;
    if (dw_h5_read_rows(c->file, name, t, 0, 0, k, *rows) < 0)
        return say(c, -EIO, name);
    return 0;
}

static int read_tables(struct compact *c)
{
    hid_t t = dw_fleet_device_type();
    uint8_t *rows = NULL;
    int e;
    if (t < 0)
        return say(c, -EIO, "the /devices type");
    e = read_whole(c, "devices", t, sizeof(struct dw_fleet_device), &rows, &c->n_dev);
    H5Tclose(t);
    c->dev = (struct dw_fleet_device *)rows;
    if (e < 0)
        return e;
    for (int i = 0; i < C_COUNT; i++) {
        struct table_in *ti = &c->tab[i];
        if ((t = dw_fleet_table_type(ctab[i].t, &ti->row_bytes)) < 0)
            return say(c, -EIO, "a table type");
        e = read_whole(c, ctab[i].name, t, ti->row_bytes, &ti->rows, &ti->n);
        H5Tclose(t);
        if (e < 0)
            return e;
    }
    return 0;
}

static hsize_t frame_rows(struct compact *c)
{
    static const char *const cols[] = { "frames/device", "frames/temperature_c",
                                        "frames/pressure_kpa", "frames/ambient_c",
                                        "frames/accel_g", "frames/status",
                                        "frames/device_seq", "frames/t_device_us",
                                        "frames/t_host_ns", "frames/seq" };
    hsize_t n = (hsize_t)-1;
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        hid_t ds = H5Dopen2(c->file, cols[i], H5P_DEFAULT);
        hsize_t k = ds >= 0 ? dw_h5_rows(ds) : 0;
        if (ds >= 0)
            H5Dclose(ds);
        if (k < n)
            n = k;
    }
    return n;
}

static int read_block(struct compact *c, hsize_t first)
{
    struct block *b = c->blk;
    hsize_t n = c->n_frames - first < BLOCK_ROWS ? c->n_frames - first : BLOCK_ROWS;
    hid_t f = c->file;
    if (dw_h5_read_rows(f, "frames/device", H5T_NATIVE_UINT32, 0, first, n, b->dev) < 0 ||
        dw_h5_read_rows(f, "frames/device_seq", H5T_NATIVE_UINT32, 0, first, n, b->dseq) < 0 ||
        dw_h5_read_rows(f, "frames/t_device_us", H5T_NATIVE_UINT64, 0, first, n, b->tdev) < 0 ||
        dw_h5_read_rows(f, "frames/t_host_ns", H5T_NATIVE_UINT64, 0, first, n, b->thost) < 0 ||
        dw_h5_read_rows(f, "frames/seq", H5T_NATIVE_UINT64, 0, first, n, b->seq) < 0 ||
        dw_h5_read_rows(f, "frames/temperature_c", H5T_NATIVE_FLOAT, DW_FLEET_ZONES, first, n,
                  b->temp) < 0 ||
        dw_h5_read_rows(f, "frames/pressure_kpa", H5T_NATIVE_FLOAT, DW_FLEET_ZONES, first, n,
                  b->pres) < 0 ||
        dw_h5_read_rows(f, "frames/ambient_c", H5T_NATIVE_FLOAT, DW_N_AMBIENT, first, n, b->amb) < 0 ||
        dw_h5_read_rows(f, "frames/accel_g", H5T_NATIVE_FLOAT, 3, first, n, b->acc) < 0 ||
        dw_h5_read_rows(f, "frames/status", H5T_NATIVE_UINT8, DW_FLEET_ZONES, first, n, b->status) < 0)
        return say(c, -EIO, "reading /frames");
    b->first = first;
    b->n = n;
    b->cur = 0;
    return 0;
}

/* ---- the session files ---- */

/* A fixed-length UTF-8 string attribute of loc into buf (cap bytes, the
 * last kept for the NUL); buf unchanged when there is none. */
static void read_str_attr(hid_t loc, const char *name, char *buf, size_t cap)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t;
    if (a < 0)
        return;
    t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, cap - 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    H5Aread(a, t, buf);
    H5Tclose(t);
    H5Aclose(a);
}

/* Whether the session file name under dir_fd was compacted from the
 * fleet file `from` (its root attribute compacted_from). */
static bool ours(struct compact *c, const char *name, const char *from)
{
    char path[PATH_MAX + NAME_MAX + 2], got[NAME_MAX + 1] = "";
    hid_t f;
    snprintf(path, sizeof(path), "%s/%s", c->dir, name);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
    }
    read_str_attr(f, "compacted_from", got, sizeof(got));
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return !strcmp(got, from);
}

/* The final name of /devices row i: the recorder's, stamped with the row's
 * start; -k after the k-th name taken by another file (a session file the
 * recorder wrote in the same second, or another row of the garment). 1
 * when that file was already compacted from this fleet file (a run
 * stopped after renaming it), 0 when it is to be written, <0 on error. */
static int target_name(struct compact *c, size_t i, char *buf, size_t cap)
{
    const char *base = strrchr(c->path, '/') ? strrchr(c->path, '/') + 1 : c->path;
    char stamp[32];
    dw_format_utc(c->dev[i].t_host_ns, stamp, sizeof(stamp), 1);
    for (int k = 0; k < 1000; k++) {
        bool taken = false;
        if (dw_session_name(buf, cap, c->dev[i].device_id, stamp, k) < 0)
            return -EBADMSG;
        for (size_t j = 0; j < i && !taken; j++)
            taken = !strcmp(c->tg[j].final, buf);
        if (taken)
            continue;
        if (faccessat(c->dir_fd, buf, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
            return 0;
        if (ours(c, buf, base))
            return 1;
    }
    return -EEXIST;
}

/* ---- the garment's session file of the period (appending) ---- */

/* The directory's names, read once per fleet file. */
static int list_dir(struct compact *c)
{
    int e = dw_dir_names(c->dir_fd, &c->names, &c->n_names);
    if (e < 0)
        return say(c, e, e == -ENOMEM ? "out of memory" : "listing the directory");
    c->listed = true;
    return 0;
}

/* The compacted session file of the garment of /devices row i whose fleet
 * period is this fleet file's and that started last, into best (""
 * when none). */
static void period_file(struct compact *c, size_t i, char *best, size_t cap)
{
    uint64_t best_ns = 0;
    best[0] = 0;
    for (size_t k = 0; k < c->n_names; k++) {
        uint64_t t = dw_session_name_start(c->names[k], c->dev[i].device_id), st;
        char path[PATH_MAX + NAME_MAX + 2];
        hid_t f;
        if (!t || t >= c->period + c->period_ns || t + 1000000000ull <= c->period)
            continue;
        snprintf(path, sizeof(path), "%s/%s", c->dir, c->names[k]);
        if ((f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
            H5Eclear2(H5E_DEFAULT);
            continue;
        }
        st = dw_h5_attr_u64(f, "session_start_ns");
        if (dw_h5_attr_u64(f, "fleet_period_start_ns") == c->period &&
            dw_h5_attr_u64(f, "fleet_period_ns") == c->period_ns && st >= best_ns) {
            best_ns = st;
            snprintf(best, cap, "%s", c->names[k]);
        }
        H5Fclose(f);
    }
}

/* Whether list (compacted_fleet_files) names this fleet file, and the
 * latest start among the fleet files it names in *latest. */
static bool lists_us(const struct compact *c, const char *list, uint64_t *latest)
{
    bool found = false;
    *latest = 0;
    for (const char *p = list; *p;) {
        const char *nl = strchr(p, '\n'), *sp;
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        uint64_t t;
        if (n == strlen(c->id) && !strncmp(p, c->id, n))
            found = true;
        for (sp = p + n; sp > p && sp[-1] != ' '; sp--)
            ;
        t = strtoull(sp, NULL, 10);
        if (t > *latest)
            *latest = t;
        p += n + (nl ? 1 : 0);
    }
    return found;
}

/* Whether /devices row i goes onto the session file `name` of its period:
 * 1 when that file holds this fleet file already (a run stopped after
 * renaming it), 2 when the rows go onto its end (t->files, t->tail set),
 * 0 when not (another HELLO, or it holds a later fleet file). */
static int can_append(struct compact *c, size_t i, const char *name)
{
    struct target *t = &c->tg[i];
    char path[PATH_MAX + NAME_MAX + 2], list[4096] = "";
    uint8_t hello[DW_MAX_PAYLOAD];
    uint64_t latest;
    hid_t f, a;
    int r = 0;
    snprintf(path, sizeof(path), "%s/%s", c->dir, name);
    if ((f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    read_str_attr(f, "compacted_fleet_files", list, sizeof(list));
    memset(hello, 0, sizeof(hello));
    if ((a = H5Aopen(f, "hello_payload", H5P_DEFAULT)) >= 0) {
        hid_t sp = H5Aget_space(a);
        if (sp >= 0 && H5Sget_simple_extent_npoints(sp) == c->dev[i].hello_len)
            H5Aread(a, H5T_NATIVE_UINT8, hello);
        if (sp >= 0)
            H5Sclose(sp);
        H5Aclose(a);
    }
    if (lists_us(c, list, &latest)) {
        r = 1;
    } else if (latest < c->start_ns && strlen(list) + strlen(c->id) + 2 < sizeof(list) &&
               !memcmp(hello, c->dev[i].hello, c->dev[i].hello_len) &&
               dw_session_tail_read(f, &t->tail.last) == 0) {
        t->tail.same_stream = dw_h5_attr_u64(f, "stream") == c->dev[i].stream;
        r = (t->files = malloc(strlen(list) + strlen(c->id) + 2)) ? 2 : -ENOMEM;
        if (t->files)
            sprintf(t->files, "%s%s%s", list, list[0] ? "\n" : "", c->id);
    }
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return r;
}

/* The first /devices row of its garment in this fleet file goes onto the
 * garment's session file of the period when there is one to go on
 * (can_append's answer, t->final set), else 0. */
static int find_append(struct compact *c, size_t i)
{
    struct target *t = &c->tg[i];
    int e;
    for (size_t j = 0; j < i; j++)
        if (!strcmp(c->dev[j].device_id, c->dev[i].device_id))
            return 0;
    if (!c->period_ns)
        return 0;
    if (!c->listed && (e = list_dir(c)) < 0)
        return e;
    period_file(c, i, t->final, sizeof(t->final));
    if (!t->final[0])
        return 0;
    if ((e = can_append(c, i, t->final)) <= 0)
        t->final[0] = 0;
    return e;
}

/* The session file copied aside (tmp) to be appended to: the copy, not
 * the file, gets the rows, and replaces it once complete and synced. */
static int copy_aside(struct compact *c, struct target *t)
{
    int in = openat(c->dir_fd, t->final, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out, e = 0;
    struct stat sb;
    if (in < 0)
        return say(c, -errno, "opening a session file to append to");
    unlinkat(c->dir_fd, t->tmp, 0); /* a crashed run's partial copy */
    if ((out = dw_session_file_create(c->dir_fd, t->tmp)) < 0) {
        close(in);
        return say(c, out, "creating a copy of a session file");
    }
    if (fstat(in, &sb) < 0)
        e = -errno;
    for (off_t left = sb.st_size; !e && left > 0;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (n <= 0)
            e = n < 0 ? -errno : -EIO;
        else
            left -= n;
    }
    close(in);
    close(out);
    return e < 0 ? say(c, e, "copying a session file to append to") : 0;
}

static int start_target(struct compact *c, size_t i)
{
    struct target *t = &c->tg[i];
    struct dw_fleet_device *d = &c->dev[i];
    int e;
    d->device_id[DW_ID_LEN] = 0;
    d->reason[DW_S_KIND - 1] = 0;
    if (d->hello_len > DW_MAX_PAYLOAD || dw_hello_parse(d->hello, d->hello_len, &t->h) < 0)
        return say(c, -EBADMSG, "a /devices row whose HELLO does not parse");
    if ((e = find_append(c, i)) < 0)
        return e;
    if (e == 2) {
        snprintf(t->tmp, sizeof(t->tmp), ".%s.compacting", t->final);
        unlinkat(c->dir_fd, t->tmp, 0); /* a crashed run's partial copy */
        t->todo = t->append = true;
        return 0;
    }
    if (e == 0 && (e = target_name(c, i, t->final, sizeof(t->final))) < 0)
        return say(c, e, "a /devices row that names no free session file");
    snprintf(t->tmp, sizeof(t->tmp), ".%s.compacting", t->final);
    if (e == 1) {
        c->rep->redone = true; /* renamed only once complete: keep it */
        return 0;
    }
    unlinkat(c->dir_fd, t->tmp, 0); /* a crashed run's partial file */
    t->todo = true;
    return 0;
}

/* The session file of /devices row i, created at its first round and
 * resumed at the next ones. */
static int open_target(struct compact *c, size_t i)
{
    struct target *t = &c->tg[i];
    struct dw_fleet_device *d = &c->dev[i];
    const char *base = strrchr(c->path, '/') ? strrchr(c->path, '/') + 1 : c->path;
    char path[PATH_MAX + NAME_MAX + 32], err[DW_SESSION_ERR_MAX];
    struct dw_session_start s = { .name = t->tmp, .dir_fd = c->dir_fd, .hello = d->hello,
                                  .hello_len = d->hello_len, .t_host_ns = d->t_host_ns,
                                  .t_device_us = d->t_device_us, .stream = d->stream,
                                  .reason = d->reason, .compacted_from = base,
                                  .compacted_fleet_files = c->id,
                                  .fleet_period_start_ns = c->period,
                                  .fleet_period_ns = c->period_ns, .defer_sync = true };
    struct dw_session_append a = { .path = path, .name = t->tmp, .dir_fd = c->dir_fd,
                                   .fleet_files = t->files, .defer_sync = true };
    int e;
    if (t->w) {
        if ((e = dw_session_writer_resume(t->w)) < 0)
            snprintf(c->err, c->errcap, "%s", dw_session_writer_error(t->w));
        return e;
    }
    snprintf(path, sizeof(path), "%s/%s", c->dir, t->tmp);
    s.path = path;
    if (t->append && (e = copy_aside(c, t)) < 0)
        return e;
    e = t->append ? dw_session_writer_append(&t->w, &a, err, sizeof(err))
                  : dw_session_writer_create(&t->w, &s, err, sizeof(err));
    if (e < 0) {
        snprintf(c->err, c->errcap, "%s", err);
        return e;
    }
    return 0;
}

static int queue_put(struct compact *c, struct target *t, uint8_t kind, const void *a,
                     size_t na, const void *b, size_t nb)
{
    struct queue *q = &t->q;
    size_t need = 1 + na + nb;
    if (q->cap - q->n < need) {
        size_t cap = q->cap ? q->cap : 4096;
        uint8_t *p;
        while (cap - q->n < need)
            cap *= 2;
        if (!(p = realloc(q->p, cap)))
            return say(c, -ENOMEM, "out of memory");
        q->p = p;
        q->cap = cap;
    }
    q->p[q->n] = kind;
    memcpy(q->p + q->n + 1, a, na);
    if (nb)
        memcpy(q->p + q->n + 1 + na, b, nb);
    q->n += need;
    c->queued += need;
    return 0;
}

/* ---- rows going on from a session file (appending) ---- */

enum { S_ACQUIRE, S_DETECT, S_OWN };

/* The recorder's gap row for n messages of a stream (which: "acquire" or
 * "detect") missing before seq, queued for t. */
static int queue_bridge(struct compact *c, struct target *t, const char *which, uint64_t seq,
                        uint64_t n, uint64_t t_dev, uint64_t t_host)
{
    struct dw_row_event ev;
    dw_session_own_event(&ev, "gap", seq, n, t_dev, t_host, which);
    c->rep->events++;
    c->rep->bridged += n;
    return queue_put(c, t, C_EVENT, &ev, sizeof(ev), NULL, 0);
}

/* Whether a row of stream `s` (seq, times) goes onto an appended session
 * file: not when the file holds it already (not later by seq nor by host
 * time: a recorder restarted within acquire's backlog got it again). The
 * first row of a stream that goes on gets the recorder's gap row first
 * for the messages between the file's last of the stream and it: for
 * acquire's when the /devices row goes on in the file's stream (same
 * stream id), for detect's (whose stream id no file keeps) when its seq
 * goes on from the file's last alert. 1 to keep, 0 to drop, <0. */
static int append_keep(struct compact *c, struct target *t, int s, const uint64_t *seq,
                       uint64_t t_dev, uint64_t t_host)
{
    struct tail *tl = &t->tail;
    int e;
    if (!t->append || s == S_OWN)
        return 1;
    if (dw_session_tail_holds(&tl->last, s == S_DETECT, *seq, t_host)) {
        c->rep->duplicates++;
        return 0;
    }
    if (s == S_ACQUIRE && !tl->bridged) {
        tl->bridged = true;
        if (tl->same_stream && *seq > tl->last.seq + 1 &&
            (e = queue_bridge(c, t, "acquire", *seq, *seq - tl->last.seq - 1, t_dev, t_host)) < 0)
            return e;
    }
    if (s == S_DETECT && !tl->abridged) {
        tl->abridged = true;
        if (*seq > tl->last.aseq + 1 &&
            (e = queue_bridge(c, t, "detect", *seq, *seq - tl->last.aseq - 1, t_dev, t_host)) < 0)
            return e;
    }
    return 1;
}

/* append_keep for a table row r (the session row) of table i. The
 * recorder's own gap rows of a stream before that stream's first row that
 * goes on are dropped: they count the jump its restart saw (a fresh
 * recorder counts from seq 1), which the gap row append_keep writes
 * counts again from the file's last message of the stream. */
static int row_keep(struct compact *c, struct target *t, int i, const uint8_t *r)
{
    struct dw_row_event ev;
    struct dw_row_stats st;
    uint64_t seq, thost, tdev;
    if (!t->append)
        return 1;
    if (i == C_EVENT) {
        memcpy(&ev, r, sizeof(ev));
        if (strncmp(ev.source, "record", sizeof(ev.source)))
            return append_keep(c, t, S_ACQUIRE, &ev.seq, ev.t_device_us, ev.t_host_ns);
        if (strncmp(ev.kind, "gap", sizeof(ev.kind)))
            return 1;
        if (!strncmp(ev.text, "acquire", sizeof(ev.text)))
            return !(t->tail.same_stream && !t->tail.bridged);
        return !strncmp(ev.text, "detect", sizeof(ev.text)) ? t->tail.abridged : 1;
    }
    if (i == C_STATS) {
        memcpy(&st, r, sizeof(st));
        if (strncmp(st.source, "acquire", sizeof(st.source)))
            return 1;
        return append_keep(c, t, S_ACQUIRE, &st.seq, st.t_device_us, st.t_host_ns);
    }
    /* hellos, device_status, alerts: order, seq, then the times */
    memcpy(&seq, r + 8, 8);
    if (i == C_ALERT) {
        memcpy(&tdev, r + 16, 8);
        memcpy(&thost, r + 24, 8);
    } else {
        struct dw_row_hello h;
        memcpy(&h, r, sizeof(h));
        tdev = h.t_device_us;
        thost = h.t_host_ns;
    }
    return append_keep(c, t, i == C_ALERT ? S_DETECT : S_ACQUIRE, &seq, tdev, thost);
}

/* A /frames row as the garment's SAMPLE, queued for its session file
 * (a row that does not fit its HELLO is left out). */
static int put_sample(struct compact *c, struct target *t, const struct block *b, size_t k)
{
    const struct dw_hello *h = &t->h;
    struct dw_sample smp = { .n_zones = h->n_zones };
    uint8_t payload[DW_MAX_PAYLOAD];
    struct queued_frame m = { .seq = b->seq[k], .device_seq = b->dseq[k],
                              .t_device_us = b->tdev[k], .t_host_ns = b->thost[k] };
    ssize_t n;
    int e;
    for (unsigned z = 0; z < h->n_zones; z++) {
        smp.temp[z] = (int16_t)dw_session_raw(b->temp[k][z], h->temp_scale);
        smp.pressure[z] = (uint16_t)dw_session_raw(b->pres[k][z], h->pressure_scale);
        smp.status[z] = b->status[k][z];
    }
    for (unsigned a = 0; a < DW_N_AMBIENT; a++)
        smp.ambient[a] = (int16_t)dw_session_raw(b->amb[k][a], h->temp_scale);
    for (unsigned a = 0; a < 3; a++)
        smp.accel[a] = (int16_t)dw_session_raw(b->acc[k][a], h->accel_scale);
    if ((n = dw_sample_pack(&smp, payload, sizeof(payload))) < 0)
        return 0;
    if ((e = append_keep(c, t, S_ACQUIRE, &m.seq, m.t_device_us, m.t_host_ns)) <= 0)
        return e;
    m.len = (uint16_t)n;
    c->rep->frames++;
    return queue_put(c, t, C_COUNT, &m, sizeof(m), payload, (size_t)n);
}

/* A frame message of type with a row's stream seq, device seq and times. */
static struct dw_msg_frame frame_head(uint8_t type, uint64_t seq, uint32_t device_seq,
                                      uint64_t t_device_us, uint64_t t_host_ns)
{
    struct dw_msg_frame m = { .type = type };
    m.seq = seq;
    m.device_seq = device_seq;
    m.t_device_us = t_device_us;
    m.t_host_ns = t_host_ns;
    return m;
}

static int write_frame(struct target *t, const uint8_t *p, size_t *used)
{
    struct queued_frame x;
    struct dw_msg_frame m;
    memcpy(&x, p, sizeof(x));
    m = frame_head(DW_FRAME_SAMPLE, x.seq, x.device_seq, x.t_device_us, x.t_host_ns);
    m.payload = p + sizeof(x);
    m.len = x.len;
    *used = sizeof(x) + x.len;
    return dw_session_writer_frame(t->w, &m);
}

static int write_hello(struct target *t, const uint8_t *r)
{
    struct dw_row_hello x;
    struct dw_msg_frame m;
    memcpy(&x, r, sizeof(x));
    m = frame_head(DW_FRAME_HELLO, x.seq, x.device_seq, x.t_device_us, x.t_host_ns);
    return dw_session_writer_frame(t->w, &m);
}

static int write_status(struct target *t, const uint8_t *r)
{
    struct dw_row_status x;
    struct dw_status st = { 0 };
    uint8_t payload[DW_MAX_PAYLOAD];
    struct dw_msg_frame m = { .type = DW_FRAME_STATUS, .payload = payload };
    ssize_t n;
    memcpy(&x, r, sizeof(x));
    st.battery_mv = x.battery_mv;
    st.battery_pct = x.battery_pct;
    st.flags = x.flags;
    st.mcu_temp_cc = x.mcu_temp_cc;
    if ((n = dw_status_pack(&st, payload, sizeof(payload))) < 8)
        return -EBADMSG;
    dw_put_le16(payload + 6, x.reserved);
    m.len = (size_t)n;
    m.seq = x.seq;
    m.device_seq = x.device_seq;
    m.t_device_us = x.t_device_us;
    m.t_host_ns = x.t_host_ns;
    return dw_session_writer_frame(t->w, &m);
}

/* One queued table row r (the session row) of table i to the file. */
static int write_row(struct target *t, int i, const uint8_t *r)
{
    switch (i) {
    case C_HELLO:
        return write_hello(t, r);
    case C_STATUS:
        return write_status(t, r);
    case C_EVENT: {
        struct dw_row_event x;
        memcpy(&x, r, sizeof(x));
        return dw_session_writer_event(t->w, &x);
    }
    case C_ALERT: {
        struct dw_row_alert x;
        memcpy(&x, r, sizeof(x));
        return dw_session_writer_alert(t->w, &x);
    }
    default: {
        struct dw_row_stats x;
        memcpy(&x, r, sizeof(x));
        return dw_session_writer_stats(t->w, &x);
    }
    }
}

/* A table row of the fleet file queued for its garment's session file. */
static int put_row(struct compact *c, struct target *t, int i, const uint8_t *row)
{
    int e = row_keep(c, t, i, row + 8);
    if (e <= 0)
        return e;
    if (i == C_EVENT)
        c->rep->events++;
    else if (i == C_ALERT)
        c->rep->alerts++;
    return queue_put(c, t, (uint8_t)i, row + 8, c->tab[i].row_bytes - 8, NULL, 0);
}

/* Writes a target's queue to its session file, in order, and empties it
 * (its memory goes back: the next round may be far off). */
static int write_queue(struct compact *c, struct target *t)
{
    size_t at = 0;
    int e = 0;
    while (at < t->q.n && (e >= 0 || e == -EBADMSG)) {
        int kind = t->q.p[at++];
        size_t used = 0;
        if (kind == C_COUNT) {
            e = write_frame(t, t->q.p + at, &used);
        } else {
            e = write_row(t, kind, t->q.p + at);
            used = c->tab[kind].row_bytes - 8;
        }
        at += used;
    }
    c->queued -= t->q.n;
    free(t->q.p);
    memset(&t->q, 0, sizeof(t->q));
    if (e < 0 && e != -EBADMSG) {
        snprintf(c->err, c->errcap, "%s", dw_session_writer_error(t->w) ?
                 dw_session_writer_error(t->w) : "writing a session file");
        return e;
    }
    return 0;
}

/* A round: every garment with queued rows gets them into its session
 * file, one file open at a time; the last round closes each file
 * (flushed, not yet synced: finish_targets syncs them all at once). */
static int write_round(struct compact *c, bool last)
{
    char err[DW_SESSION_ERR_MAX];
    int e;
    dw_debug("%s: round %u, %zu bytes of rows%s", c->path, ++c->rounds, c->queued,
             last ? " (the last)" : "");
    for (size_t i = 0; i < c->n_dev; i++) {
        struct target *t = &c->tg[i];
        if (!t->todo || (!last && !t->q.n))
            continue;
        if ((e = open_target(c, i)) < 0 || (e = write_queue(c, t)) < 0)
            return e;
        if (!last) {
            if ((e = dw_session_writer_suspend(t->w)) < 0) {
                snprintf(c->err, c->errcap, "%s", dw_session_writer_error(t->w));
                return e;
            }
            continue;
        }
        e = dw_session_writer_close(t->w, NULL, err, sizeof(err));
        t->w = NULL;
        t->todo = false;
        t->renaming = true;
        if (e < 0) {
            snprintf(c->err, c->errcap, "%s", err);
            return e;
        }
    }
    return 0;
}

/* The garment of a fleet row, or NULL when its session file is already
 * done (or the index is out of range: a row no /devices row names). */
static struct target *target_of(struct compact *c, uint32_t dev)
{
    return dev < c->n_dev && c->tg[dev].todo ? &c->tg[dev] : NULL;
}

static uint64_t row_order(const struct table_in *ti)
{
    uint64_t o;
    memcpy(&o, ti->rows + ti->cur * ti->row_bytes + 8, sizeof(o));
    return o;
}

/* The table with the next row in the file's message order, or -1. */
static int next_table(const struct compact *c, uint64_t *order)
{
    int best = -1;
    for (int i = 0; i < C_COUNT; i++) {
        const struct table_in *ti = &c->tab[i];
        if (ti->cur < ti->n && (best < 0 || row_order(ti) < *order)) {
            best = i;
            *order = row_order(ti);
        }
    }
    return best;
}

/* The next /frames row: a round first when the queues are full, the next
 * block read when this one is done. */
static int next_frame(struct compact *c, hsize_t f)
{
    int e;
    if (c->queued >= c->memory && (e = write_round(c, false)) < 0)
        return e;
    if (f < c->blk->first + c->blk->n)
        return 0;
    return read_block(c, f);
}

/* Every row, in the fleet file's message order: a table row where its
 * `order` says, a /frames row in every order no table row has; queued
 * per garment, and written in rounds. */
static int replay_rows(struct compact *c)
{
    hsize_t f = 0;
    uint64_t o = 0;
    int e = 0;
    for (;; o++) {
        uint64_t to = 0;
        int ti = next_table(c, &to);
        uint32_t dev;
        struct target *t;
        if (ti >= 0 && (to <= o || f >= c->n_frames)) {
            const uint8_t *row = c->tab[ti].rows + c->tab[ti].cur++ * c->tab[ti].row_bytes;
            memcpy(&dev, row, sizeof(dev));
            if ((t = target_of(c, dev)) && (e = put_row(c, t, ti, row)) < 0)
                return e;
            continue;
        }
        if (f >= c->n_frames)
            return write_round(c, true);
        if ((e = next_frame(c, f)) < 0)
            return e;
        dev = c->blk->dev[c->blk->cur];
        if ((t = target_of(c, dev)) && (e = put_sample(c, t, c->blk, c->blk->cur)) < 0)
            return e;
        c->blk->cur++;
        f++;
    }
}

/* Syncs the file system once for all the closed session files (an fsync
 * per file cost about 0.1 s each here, most of the time of a fleet file
 * of many garments), renames them, and syncs the directory, so that the
 * names are on disk too. */
static int finish_targets(struct compact *c)
{
    if (syncfs(c->dir_fd) < 0)
        return say(c, -errno, "syncing the session files");
    for (size_t i = 0; i < c->n_dev; i++)
        if (c->tg[i].renaming &&
            renameat(c->dir_fd, c->tg[i].tmp, c->dir_fd, c->tg[i].final) < 0)
            return say(c, -errno, "renaming a compacted session file");
    if (fsync(c->dir_fd) < 0)
        return say(c, -errno, "syncing the directory");
    return 0;
}

static int note_paths(struct compact *c)
{
    c->rep->paths = calloc(c->n_dev ? c->n_dev : 1, sizeof(char *));
    if (!c->rep->paths)
        return -ENOMEM;
    for (size_t i = 0; i < c->n_dev; i++) {
        size_t n = strlen(c->dir) + strlen(c->tg[i].final) + 2, k = c->rep->files;
        if (!c->tg[i].final[0])
            continue;
        if (!(c->rep->paths[k] = malloc(n)))
            return -ENOMEM;
        snprintf(c->rep->paths[k], n, "%s/%s", c->dir, c->tg[i].final);
        c->rep->files++;
    }
    return 0;
}

/* ---- the fleet file ---- */

static bool is_fleet(hid_t file)
{
    char fmt[32] = "";
    read_str_attr(file, "format", fmt, sizeof(fmt));
    H5Eclear2(H5E_DEFAULT);
    return strcmp(fmt, DW_FLEET_FORMAT) == 0;
}

int dw_fleet_file_summary(const char *path, uint64_t *devices, uint64_t *frames)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), ds;
    int r = 0;
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    if (is_fleet(f)) {
        r = 1;
        *devices = (ds = H5Dopen2(f, "devices", H5P_DEFAULT)) >= 0 ? dw_h5_rows(ds) : 0;
        if (ds >= 0)
            H5Dclose(ds);
        *frames = (ds = H5Dopen2(f, "frames/seq", H5P_DEFAULT)) >= 0 ? dw_h5_rows(ds) : 0;
        if (ds >= 0)
            H5Dclose(ds);
    }
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return r;
}

static int open_fleet(struct compact *c, bool *done)
{
    int busy = dw_session_file_busy(c->path);
    if (busy > 0) {
        snprintf(c->err, c->errcap, "%s: is being written by a live ductwatch-record; a "
                 "fleet file is compacted once closed", c->path);
        return -EBUSY;
    }
    c->file = H5Fopen(c->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (c->file < 0)
        return say(c, -EIO, "cannot open (a fleet file whose recorder was killed needs "
                   "'ductwatch-record --recover' first)");
    if (!is_fleet(c->file)) {
        snprintf(c->err, c->errcap, "%s: not a ductwatch fleet file", c->path);
        return -EBADMSG;
    }
    *done = H5Aexists(c->file, "compacted") > 0;
    c->start_ns = dw_h5_attr_u64(c->file, "period_start_ns");
    c->period_ns = dw_h5_attr_u64(c->file, "period_ns");
    c->period = c->period_ns ? c->start_ns / c->period_ns * c->period_ns : 0;
    snprintf(c->id, sizeof(c->id), "%s %llu", strrchr(c->path, '/') ? strrchr(c->path, '/') + 1
             : c->path, (unsigned long long)c->start_ns);
    return 0;
}

/* Marks the fleet file compacted (a run that stops after this only has the
 * removal left), then removes it. */
static int mark_and_remove(struct compact *c)
{
    hid_t f = H5Fopen(c->path, H5F_ACC_RDWR, H5P_DEFAULT);
    uint8_t one = 1;
    int fd;
    if (f < 0)
        return say(c, -EIO, "cannot open to mark it compacted");
    if (H5Aexists(f, "compacted") <= 0 &&
        (H5Aexists(f, "compacted") < 0 || dw_h5_attr_scalar(f, "compacted", H5T_NATIVE_UINT8, &one) < 0)) {
        H5Fclose(f);
        return say(c, -EIO, "marking it compacted");
    }
    if (H5Fclose(f) < 0)
        return say(c, -EIO, "closing it marked");
    if ((fd = open(c->path, O_RDONLY | O_CLOEXEC)) >= 0) {
        fsync(fd);
        close(fd);
    }
    if (unlink(c->path) < 0)
        return say(c, -errno, "removing it");
    fsync(c->dir_fd);
    return 0;
}

static int compact_file(struct compact *c)
{
    bool done = false;
    int e;
    if ((e = open_fleet(c, &done)) < 0)
        return e;
    if ((e = read_tables(c)) < 0)
        return e;
    c->n_frames = frame_rows(c);
    if (!(c->tg = calloc(c->n_dev ? c->n_dev : 1, sizeof(*c->tg))) ||
        !(c->blk = calloc(1, sizeof(*c->blk))))
        return say(c, -ENOMEM, "out of memory");
    for (size_t i = 0; i < c->n_dev && !done; i++)
        if ((e = start_target(c, i)) < 0)
            return e;
    for (size_t i = 0; i < c->n_dev && done; i++)
        if (find_append(c, i) != 1 &&
            target_name(c, i, c->tg[i].final, sizeof(c->tg[i].final)) != 1)
            c->tg[i].final[0] = 0; /* removed since: not reported */
    if (!done && ((e = replay_rows(c)) < 0 || (e = finish_targets(c)) < 0))
        return e;
    H5Fclose(c->file);
    c->file = -1;
    if (done)
        c->rep->redone = true;
    if ((e = mark_and_remove(c)) < 0)
        return e;
    return note_paths(c) < 0 ? say(c, -ENOMEM, "out of memory") : 0;
}

/* Compaction allocates and frees by the megabyte (HDF5's buffers for
 * each /frames block and each session file, the queues growing and freed
 * at each round): glibc's adaptive thresholds gave that memory back to the
 * kernel and it was faulted in again, 262 000 page faults for 1000
 * garments x 120 s, 56 000 with these, 6-30 % less CPU (docs/performance.md
 * 3.10). The queues stay bounded by --compact-memory; what is freed is kept
 * for the next round. Compaction is a process of its own (`--compact`,
 * also the recorder's SCHED_IDLE child). */
static void keep_memory(void)
{
    mallopt(M_MMAP_THRESHOLD, KEEP_MAPPED);
    mallopt(M_TRIM_THRESHOLD, KEEP_HEAP);
}

int dw_fleet_compact(const char *path, size_t memory, struct dw_fleet_compact_report *rep,
                     char *err, size_t errcap)
{
    struct compact c = { .path = path, .dir_fd = -1, .file = -1, .rep = rep, .err = err,
                         .errcap = errcap, .memory = memory ? memory : DW_FLEET_COMPACT_MEMORY };
    const char *slash = strrchr(path, '/');
    int e;
    memset(rep, 0, sizeof(*rep));
    keep_memory();
    if (slash)
        snprintf(c.dir, sizeof(c.dir), "%.*s", (int)(slash - path ? slash - path : 1), path);
    else
        snprintf(c.dir, sizeof(c.dir), ".");
    c.dir_fd = open(c.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    /* One compaction at a time in a directory: two that appended to the
     * same session file would each copy it aside, and the second rename
     * would drop the first one's rows (the lock goes with a kill -9). */
    if (c.dir_fd < 0 || flock(c.dir_fd, LOCK_EX) < 0) {
        e = -errno;
        snprintf(err, errcap, "%s: %s", c.dir, strerror(errno));
        if (c.dir_fd >= 0)
            close(c.dir_fd);
        return e;
    }
    e = compact_file(&c);
    for (size_t i = 0; c.tg && i < c.n_dev; i++) {
        if (e < 0 && (c.tg[i].w || c.tg[i].renaming)) {
            /* Failed mid-way: the partial file goes; a new run redoes it. */
            dw_session_writer_close(c.tg[i].w, NULL, NULL, 0);
            unlinkat(c.dir_fd, c.tg[i].tmp, 0);
        }
        free(c.tg[i].q.p);
        free(c.tg[i].files);
        c.rep->appended += c.tg[i].append && e >= 0;
    }
    dw_dir_names_free(c.names, c.n_names);
    if (c.file >= 0)
        H5Fclose(c.file);
    for (int i = 0; i < C_COUNT; i++)
        free(c.tab[i].rows);
    free(c.dev);
    free(c.tg);
    free(c.blk);
    close(c.dir_fd);
    return e;
}

void dw_fleet_compact_report_free(struct dw_fleet_compact_report *rep)
{
    for (size_t i = 0; rep->paths && i < rep->files; i++)
        free(rep->paths[i]);
    free(rep->paths);
    memset(rep, 0, sizeof(*rep));
}
