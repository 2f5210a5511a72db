/* The report library's entry points (dw_report.h): find and check the
 * session files, read them, write the page. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "duration.h"
#include "dw_config.h"
#include "report_int.h"

/* ---- the time window --------------------------------------------------- */

/* "YYYY-mm-ddTHH:MM[:SS]" (T or a space), then nothing (local time), "Z"
 * or "+hh:mm" / "-hh:mm". */
static int parse_clock(const char *s, uint64_t *ns)
{
    struct tm tm;
    const char *p;
    char *end;
    long off = 0;
    time_t t;
    bool local = false;

    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%d", &tm);
    if (!p || (*p != 'T' && *p != ' '))
        return -EINVAL;
    end = strptime(p + 1, "%H:%M", &tm);
    if (!end)
        return -EINVAL;
    p = end;
    if (*p == ':' && !(p = strptime(p + 1, "%S", &tm)))
        return -EINVAL;
    if (!*p) {
        local = true;
    } else if (!strcmp(p, "Z")) {
        off = 0;
    } else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':') {
        int h = (p[1] - '0') * 10 + (p[2] - '0'), m = (p[4] - '0') * 10 + (p[5] - '0');
        if (h < 0 || h > 23 || m < 0 || m > 59)
            return -EINVAL;
        off = (p[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
    } else {
        return -EINVAL;
    }
    tm.tm_isdst = -1;
    t = local ? mktime(&tm) : timegm(&tm) - off;
    if (t == (time_t)-1 || t < 0)
        return -EINVAL;
    *ns = (uint64_t)t * 1000000000ull;
    return 0;
}

int dw_report_parse_bound(const char *s, struct dw_report_bound *out)
{
    uint64_t us;
    if (!s || !*s)
        return -EINVAL;
    if (s[0] == '+' || s[0] == '-') {
        if (dw_duration_parse_us(s + 1, &us) < 0 || us > UINT64_MAX / 1000)
            return -EINVAL;
        out->kind = s[0] == '+' ? DW_REPORT_AFTER_START : DW_REPORT_BEFORE_END;
        out->ns = us * 1000;
        return 0;
    }
    if (parse_clock(s, &out->ns) < 0)
        return -EINVAL;
    out->kind = DW_REPORT_AT_CLOCK;
    return 0;
}

/* ---- finding the files ------------------------------------------------- */

/* The clock time a file starts: its session start (ns since the epoch). */
static int64_t file_start_ns(const struct dw_report_file *f)
{
    return (int64_t)f->info.start_ns;
}

static int64_t file_end_ns(const struct dw_report_file *f)
{
    int64_t span = f->info.t_last_us > f->info.start_device_us
        ? (int64_t)(f->info.t_last_us - f->info.start_device_us) : 0;
    return file_start_ns(f) + span * 1000;
}

static int add_file(struct dw_report *rep, const char *path, size_t *cap)
{
    char real[PATH_MAX];
    struct dw_report_file *f;
    if (!realpath(path, real))
        snprintf(real, sizeof(real), "%s", path);
    for (size_t i = 0; i < rep->n_files; i++)
        if (!strcmp(rep->files[i].path, real))
            return 1; /* named twice */
    if (rep->n_files == *cap) {
        size_t n = *cap ? *cap * 2 : 8;
        struct dw_report_file *nf = realloc(rep->files, n * sizeof(*nf));
        if (!nf)
            return -ENOMEM;
        rep->files = nf;
        *cap = n;
    }
    f = &rep->files[rep->n_files];
    memset(f, 0, sizeof(*f));
    if (!(f->path = strdup(real)))
        return -ENOMEM;
    rep->n_files++;
    return 0;
}

/* Opens the file to read its header; a directory's files that are not
 * ductwatch sessions are skipped (1). */
static int probe_file(struct dw_report_file *f, bool from_dir, char *err, size_t errcap)
{
    struct dw_session_reader *r;
    struct stat sb;
    int e = dw_session_reader_open(&r, f->path, err, errcap);
    if (e == -EBADF && from_dir)
        return 1;
    if (e < 0)
        return e;
    f->info = *dw_session_reader_info(r);
    f->hello = *dw_session_reader_hello(r);
    dw_session_reader_close(r);
    if (stat(f->path, &sb) == 0) {
        f->size = sb.st_size;
        f->mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000ll + sb.st_mtim.tv_nsec;
    }
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.h5 in dir that is a session, in name order. */
static int add_dir(struct dw_report *rep, const char *dir, size_t *cap, char *err, size_t errcap)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, ncap = 0;
    int e = 0;
    if (!d) {
        e = -errno;
        snprintf(err, errcap, "%s: %s", dir, strerror(-e));
        return e;
    }
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        char **nn;
        if (de->d_name[0] == '.' || len < 4 || strcmp(de->d_name + len - 3, ".h5"))
            continue;
        if (n == ncap) {
            ncap = ncap ? ncap * 2 : 16;
            if (!(nn = realloc(names, ncap * sizeof(*names)))) {
                e = -ENOMEM;
                goto out;
            }
            names = nn;
        }
        if (!(names[n] = malloc(strlen(dir) + len + 2))) {
            e = -ENOMEM;
            goto out;
        }
        sprintf(names[n++], "%s/%s", dir, de->d_name);
    }
    if (n)
        qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n && e >= 0; i++) {
        size_t before = rep->n_files;
        if ((e = add_file(rep, names[i], cap)) != 0)
            continue;
        e = probe_file(&rep->files[before], true, err, errcap);
        if (e == 1) {
            free(rep->files[--rep->n_files].path);
            e = 0;
        }
    }
out:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (e == -ENOMEM)
        snprintf(err, errcap, "out of memory");
    return e < 0 ? e : 0;
}

static int add_path(struct dw_report *rep, const char *path, size_t *cap, char *err, size_t errcap)
{
    struct stat sb;
    int e;
    if (stat(path, &sb) < 0) {
        e = -errno;
        snprintf(err, errcap, "%s: %s", path, strerror(-e));
        return e;
    }
    if (S_ISDIR(sb.st_mode))
        return add_dir(rep, path, cap, err, errcap);
    if ((e = add_file(rep, path, cap)) != 0) {
        if (e < 0)
            snprintf(err, errcap, "out of memory");
        return e < 0 ? e : 0;
    }
    return probe_file(&rep->files[rep->n_files - 1], false, err, errcap);
}

static int file_cmp(const void *a, const void *b)
{
    const struct dw_report_file *x = a, *y = b;
    if (x->info.start_ns != y->info.start_ns)
        return x->info.start_ns < y->info.start_ns ? -1 : 1;
    return strcmp(x->path, y->path);
}

static void drop_file(struct dw_report *rep, size_t i)
{
    free(rep->files[i].path);
    memmove(&rep->files[i], &rep->files[i + 1], (rep->n_files - i - 1) * sizeof(*rep->files));
    rep->n_files--;
}

/* One garment: the named one, or the only one there is. */
static int pick_device(struct dw_report *rep, char *err, size_t errcap)
{
    const char *dev = rep->req.device;
    if (dev) {
        for (size_t i = rep->n_files; i-- > 0;)
            if (strcmp(rep->files[i].info.device_id, dev))
                drop_file(rep, i);
        if (!rep->n_files) {
            snprintf(err, errcap, "no session of garment %s", dev);
            return -ENOENT;
        }
        return 0;
    }
    for (size_t i = 1; i < rep->n_files; i++) {
        if (strcmp(rep->files[i].info.device_id, rep->files[0].info.device_id)) {
            snprintf(err, errcap, "sessions of several garments (%s, %s): one report is "
                     "about one garment", rep->files[0].info.device_id,
                     rep->files[i].info.device_id);
            return -ENOTUNIQ;
        }
    }
    return 0;
}

static bool same_layout(const struct dw_hello *a, const struct dw_hello *b)
{
    if (a->n_zones != b->n_zones)
        return false;
    for (unsigned z = 0; z < a->n_zones; z++)
        if (a->zone[z].side != b->zone[z].side || a->zone[z].quadrant != b->zone[z].quadrant ||
            a->zone[z].ring != b->zone[z].ring)
            return false;
    return true;
}

/* Files that start after the window ends are left out; the ones before it
 * stay: detection re-runs over them to have its baselines. */
static void prune_after_window(struct dw_report *rep)
{
    const struct dw_report_bound *to = &rep->req.to;
    int64_t limit;
    if (!rep->n_files || (to->kind != DW_REPORT_AT_CLOCK && to->kind != DW_REPORT_AFTER_START))
        return;
    limit = to->kind == DW_REPORT_AT_CLOCK ? (int64_t)to->ns
                                          : file_start_ns(&rep->files[0]) + (int64_t)to->ns;
    for (size_t i = rep->n_files; i-- > 1;)
        if (file_start_ns(&rep->files[i]) > limit)
            drop_file(rep, i);
}

static int load_config(struct dw_report *rep, char *err, size_t errcap)
{
    dw_detect_config_default(&rep->cfg);
    if (!rep->req.config)
        return 0;
    snprintf(rep->config_name, sizeof(rep->config_name), "%s", rep->req.config);
    if (dw_detect_config_load(&rep->cfg, rep->req.config, err, errcap) < 0)
        return -EINVAL;
    return 0;
}

static int find_files(struct dw_report *rep, char *err, size_t errcap)
{
    size_t cap = 0;
    int e;
    for (size_t i = 0; i < rep->req.n_paths; i++)
        if ((e = add_path(rep, rep->req.paths[i], &cap, err, errcap)) < 0)
            return e;
    if (!rep->n_files) {
        snprintf(err, errcap, "%s: no ductwatch session file there",
                 rep->req.n_paths ? rep->req.paths[0] : "(no input)");
        return -ENOENT;
    }
    if ((e = pick_device(rep, err, errcap)) < 0)
        return e;
    qsort(rep->files, rep->n_files, sizeof(*rep->files), file_cmp);
    for (size_t i = 1; i < rep->n_files; i++) {
        if (!same_layout(&rep->files[0].hello, &rep->files[i].hello)) {
            snprintf(err, errcap, "%s has another zone layout than %s: one report is about "
                     "one layout", rep->files[i].path, rep->files[0].path);
            return -EINVAL;
        }
    }
    prune_after_window(rep);
    rep->paths = calloc(rep->n_files, sizeof(*rep->paths));
    if (!rep->paths) {
        snprintf(err, errcap, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < rep->n_files; i++)
        rep->paths[i] = rep->files[i].path;
    return 0;
}

/* The window in clock time, resolved against the files' span. Clock
 * bounds are kept as they are; the others become clock times here. */
static void resolve_window(struct dw_report *rep)
{
    int64_t start = file_start_ns(&rep->files[0]);
    int64_t end = file_end_ns(&rep->files[rep->n_files - 1]);
    const struct dw_report_bound *b[2] = { &rep->req.from, &rep->req.to };
    for (int i = 0; i < 2; i++) {
        int64_t ns;
        switch (b[i]->kind) {
        case DW_REPORT_AT_CLOCK: ns = (int64_t)b[i]->ns; break;
        case DW_REPORT_AFTER_START: ns = start + (int64_t)b[i]->ns; break;
        case DW_REPORT_BEFORE_END: ns = end - (int64_t)b[i]->ns; break;
        default: continue;
        }
        /* session time once the first record fixes clock0 */
        if (i == 0) {
            rep->window_from = true;
            rep->from_clock_ns = ns;
        } else {
            rep->window_to = true;
            rep->to_clock_ns = ns;
        }
    }
}

int dw_report_open(struct dw_report **out, const struct dw_report_request *req,
                   char *err, size_t errcap)
{
    struct dw_report *rep;
    int e;

    *out = NULL;
    if (!req || !req->paths || !req->n_paths)
        return -EINVAL;
    rep = calloc(1, sizeof(*rep));
    if (!rep) {
        snprintf(err, errcap, "out of memory");
        return -ENOMEM;
    }
    rep->req = *req;
    rep->progress.fn = req->progress;
    rep->progress.user = req->user;
    if ((e = load_config(rep, err, errcap)) < 0 || (e = find_files(rep, err, errcap)) < 0) {
        dw_report_close(rep);
        return e;
    }
    resolve_window(rep);
    if (rep->window_from && rep->window_to && rep->to_clock_ns <= rep->from_clock_ns) {
        snprintf(err, errcap, "the time window ends before it starts");
        dw_report_close(rep);
        return -EINVAL;
    }
    rep->info = rep->files[0].info;
    rep->hello = rep->files[0].hello;
    rep->nz = rep->hello.n_zones;
    rep->path = rep->files[0].path;
    *out = rep;
    return 0;
}

size_t dw_report_files(const struct dw_report *rep, const char *const **paths)
{
    *paths = rep->paths;
    return rep->n_files;
}

uint64_t dw_report_records(const struct dw_report *rep)
{
    uint64_t n = 0;
    for (size_t i = 0; i < rep->n_files; i++) {
        const struct dw_session_info *in = &rep->files[i].info;
        n += in->frames + in->events + in->hellos + in->status;
    }
    return n;
}

void dw_report_set_progress(struct dw_report *rep, dw_report_progress_fn fn, void *user)
{
    rep->progress.fn = fn;
    rep->progress.user = user;
}

/* FNV-1a, 64 bits. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

void dw_report_cache_key(const struct dw_report *rep, char *buf, size_t cap)
{
    /* two differently seeded hashes: 128 bits, no accidental hits */
    uint64_t h[2] = { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull };
    struct stat sb;
    for (int k = 0; k < 2; k++) {
        h[k] = fnv(h[k], DW_VERSION, sizeof(DW_VERSION));
        for (size_t i = 0; i < rep->n_files; i++) {
            const struct dw_report_file *f = &rep->files[i];
            h[k] = fnv(h[k], f->path, strlen(f->path) + 1);
            h[k] = fnv(h[k], &f->size, sizeof(f->size));
            h[k] = fnv(h[k], &f->mtime_ns, sizeof(f->mtime_ns));
        }
        h[k] = fnv(h[k], &rep->req.from, sizeof(rep->req.from));
        h[k] = fnv(h[k], &rep->req.to, sizeof(rep->req.to));
        h[k] = fnv(h[k], &rep->req.generated_ns, sizeof(rep->req.generated_ns));
        if (rep->req.config) {
            h[k] = fnv(h[k], rep->req.config, strlen(rep->req.config) + 1);
            if (stat(rep->req.config, &sb) == 0) {
                h[k] = fnv(h[k], &sb.st_size, sizeof(sb.st_size));
                h[k] = fnv(h[k], &sb.st_mtim, sizeof(sb.st_mtim));
            }
        }
    }
    snprintf(buf, cap, "%016llx%016llx", (unsigned long long)h[0], (unsigned long long)h[1]);
}

int dw_report_write(struct dw_report *rep, FILE *f, char *err, size_t errcap)
{
    int e;
    if (rep->written)
        return -EALREADY;
    rep->written = true;
    if ((e = dw_report_collect(rep, rep->req.stop, err, errcap)) < 0)
        return e;
    if (dw_report_write_html(rep, f) < 0) {
        int saved = errno;
        snprintf(err, errcap, "write error: %s", strerror(saved));
        errno = saved;
        return -EIO;
    }
    return 0;
}

void dw_report_close(struct dw_report *rep)
{
    if (!rep)
        return;
    dw_report_free(rep);
    for (size_t i = 0; i < rep->n_files; i++)
        free(rep->files[i].path);
    free(rep->files);
    free(rep->paths);
    free(rep);
}

int dw_report_render(const struct dw_report_request *req, FILE *f, char *err, size_t errcap)
{
    struct dw_report *rep;
    int e = dw_report_open(&rep, req, err, errcap);
    if (e < 0)
        return e;
    e = dw_report_write(rep, f, err, errcap);
    dw_report_close(rep);
    return e;
}

int dw_report_render_buffer(const struct dw_report_request *req, char **buf, size_t *len,
                            char *err, size_t errcap)
{
    FILE *f;
    int e;
    *buf = NULL;
    *len = 0;
    f = open_memstream(buf, len);
    if (!f) {
        snprintf(err, errcap, "out of memory");
        return -ENOMEM;
    }
    e = dw_report_render(req, f, err, errcap);
    if (fclose(f) != 0 && !e) {
        snprintf(err, errcap, "out of memory");
        e = -ENOMEM;
    }
    if (e < 0) {
        free(*buf);
        *buf = NULL;
        *len = 0;
    }
    return e;
}
