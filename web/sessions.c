#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "jsonw.h"
#include "log.h"
#include "session_reader.h"
#include "sessions.h"

#define NAME_MAX_WEB 200
#define HOUR_NS 3600000000000ull

bool dw_web_session_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 4 || n > NAME_MAX_WEB || name[0] == '.' || strcmp(name + n - 3, ".h5"))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._+~-", c)))
            return false;
    }
    return true;
}

struct entry {
    char name[NAME_MAX_WEB + 1];
    off_t bytes;
    uint64_t mtime_ns;
};

static int by_mtime_desc(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return x->mtime_ns < y->mtime_ns ? 1 : x->mtime_ns > y->mtime_ns ? -1 : 0;
}

/* The session files of dir (regular files, good names), newest first. */
static int list(const char *dir, struct entry **out, size_t *n)
{
    DIR *d = opendir(dir);
    struct entry *e = NULL;
    size_t k = 0, cap = 0;
    struct dirent *de;

    if (!d)
        return -errno;
    while ((de = readdir(d))) {
        struct stat st;
        if (!dw_web_session_name_ok(de->d_name) || !strncmp(de->d_name, "fleet-", 6) ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (k == cap) {
            struct entry *ne = realloc(e, (cap = cap ? 2 * cap : 16) * sizeof(*e));
            if (!ne)
                break;
            e = ne;
        }
        snprintf(e[k].name, sizeof(e[k].name), "%.200s", de->d_name);
        e[k].bytes = st.st_size;
        e[k].mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
        k++;
    }
    closedir(d);
    if (k)
        qsort(e, k, sizeof(*e), by_mtime_desc);
    *out = e;
    *n = k;
    return 0;
}

/* "<device>-<YYYYmmddTHHMMSSZ>.h5": the parts, or "" when not that form. */
static void name_parts(const char *name, char *dev, size_t dcap, char *start, size_t scap)
{
    size_t n = strlen(name);
    dev[0] = start[0] = 0;
    if (n < 3 + 17 + 1 || name[n - 3 - 17] != '-')
        return;
    snprintf(dev, dcap, "%.*s", (int)(n - 3 - 17), name);
    snprintf(start, scap, "%.16s", name + n - 3 - 16);
}

int dw_web_sessions_json(const char *dir, struct dw_strbuf *b)
{
    struct entry *e = NULL;
    size_t n = 0;
    bool first = true;
    int r = list(dir, &e, &n);

    if (r < 0)
        return r;
    dw_strbuf_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        char dev[NAME_MAX_WEB + 1], start[32], url[NAME_MAX_WEB + 32], buf[1024];
        struct dw_jsonw w;
        name_parts(e[i].name, dev, sizeof(dev), start, sizeof(start));
        snprintf(url, sizeof(url), "/sessions/%.*s.html", (int)strlen(e[i].name) - 3, e[i].name);
        dw_jsonw_init(&w, buf, sizeof(buf));
        dw_jsonw_begin(&w);
        dw_jsonw_str(&w, "file", e[i].name);
        dw_jsonw_str(&w, "device", dev);
        dw_jsonw_str(&w, "start", start);
        dw_jsonw_u64(&w, "bytes", (uint64_t)e[i].bytes);
        dw_jsonw_u64(&w, "modified_ns", e[i].mtime_ns);
        dw_jsonw_str(&w, "report", url);
        dw_jsonw_end(&w);
        dw_strbuf_sep(b, &first);
        dw_strbuf_jsonw(b, &w);
    }
    dw_strbuf_puts(b, "]");
    free(e);
    return 0;
}

static bool row_event(const struct dw_row_event *row, const char *device, struct dw_msg_event *e)
{
    char kind[DW_S_KIND + 1], side[DW_S_SIDE + 1];
    memset(e, 0, sizeof(*e));
    dw_session_strget(kind, row->kind, DW_S_KIND);
    dw_session_strget(side, row->side, DW_S_SIDE);
    e->kind = dw_event_kind_from_name(kind);
    e->side = dw_side_from_name(side);
    if (e->kind < 0 || e->side < 0)
        return false;
    snprintf(e->device, sizeof(e->device), "%s", device);
    e->seq = row->seq;
    e->t_device_us = row->t_device_us;
    e->t_host_ns = row->t_host_ns;
    e->has_value = !isnan(row->value);
    e->value = e->has_value ? row->value : 0;
    e->missing = row->missing;
    dw_session_strget(e->source, row->source, DW_S_SOURCE);
    dw_session_strget(e->text, row->text, DW_S_TEXT);
    return true;
}

static int load_file(struct dw_hub *h, const char *path, uint64_t from_ns)
{
    struct dw_session_reader *rd;
    const struct dw_row_event *rows;
    struct dw_hub_device *d;
    char err[512];
    size_t n;
    int k = 0;

    if (dw_session_reader_open(&rd, path, err, sizeof(err)) < 0) {
        dw_warn("not read: %s", err);
        return 0;
    }
    d = dw_hub_get(h, dw_session_reader_info(rd)->device_id);
    rows = dw_session_reader_events(rd, &n);
    for (size_t i = 0; d && rows && i < n; i++) {
        struct dw_msg_event e;
        if (rows[i].t_host_ns >= from_ns && row_event(&rows[i], d->sub.id, &e)) {
            dw_hub_add_file_event(h, d, &e);
            k++;
        }
    }
    dw_session_reader_close(rd);
    return k;
}

int dw_web_sessions_load(struct dw_hub *h, const char *dir, uint64_t now_ns, unsigned hours)
{
    uint64_t from = now_ns > hours * HOUR_NS ? now_ns - hours * HOUR_NS : 0;
    struct entry *e = NULL;
    size_t n = 0;
    int total = 0, r = list(dir, &e, &n);

    if (r < 0)
        return r;
    /* oldest first, so that the events keep their order */
    for (size_t i = n; i-- > 0;) {
        char path[4096 + NAME_MAX_WEB];
        if (e[i].mtime_ns < from)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e[i].name);
        total += load_file(h, path, from);
    }
    free(e);
    return total;
}
