/* The report library's entry point (dw_report.h): open and check the
 * session file, read it, write the page. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "report_int.h"

int dw_report_open(struct dw_report **out, const struct dw_report_request *req,
                   char *err, size_t errcap)
{
    struct dw_report *rep;
    struct stat sb;
    int e;

    *out = NULL;
    if (!req || !req->path)
        return -EINVAL;
    if (stat(req->path, &sb) < 0) {
        e = -errno;
        snprintf(err, errcap, "%s: %s", req->path, strerror(-e));
        return e;
    }
    if (S_ISDIR(sb.st_mode)) {
        snprintf(err, errcap, "%s is a directory, not a ductwatch session file", req->path);
        return -EISDIR;
    }
    rep = calloc(1, sizeof(*rep));
    if (!rep) {
        snprintf(err, errcap, "out of memory");
        return -ENOMEM;
    }
    rep->req = *req;
    rep->path = req->path;
    rep->progress.fn = req->progress;
    rep->progress.user = req->user;
    if ((e = dw_session_reader_open(&rep->reader, req->path, err, errcap)) < 0) {
        free(rep);
        return e;
    }
    *out = rep;
    return 0;
}

uint64_t dw_report_records(const struct dw_report *rep)
{
    const struct dw_session_info *info = dw_session_reader_info(rep->reader);
    return info->frames + info->events + info->hellos + info->status;
}

void dw_report_set_progress(struct dw_report *rep, dw_report_progress_fn fn, void *user)
{
    rep->progress.fn = fn;
    rep->progress.user = user;
}

int dw_report_write(struct dw_report *rep, FILE *f, char *err, size_t errcap)
{
    int e;
    if (rep->written)
        return -EALREADY;
    rep->written = true;
    if ((e = dw_report_collect(rep, rep->reader, rep->req.stop, err, errcap)) < 0)
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
    dw_session_reader_close(rep->reader);
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
