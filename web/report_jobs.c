#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dw_report.h"
#include "log.h"
#include "report_jobs.h"

/* The report is one page of inline CSS and SVG, nothing else. */
#define REPORT_CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " \
                   "frame-ancestors 'none'"

struct dw_report_jobs {
    pthread_mutex_t lock, render;
    pthread_cond_t idle;
    unsigned running;
    volatile sig_atomic_t stop;
};

struct dw_report_job {
    struct dw_report_jobs *jobs;
    struct MHD_Connection *conn;
    char dir[PATH_MAX], name[256];
    unsigned status;
    char *page;
    size_t len;
    char err[DW_REPORT_ERR_MAX];
};

struct dw_report_jobs *dw_report_jobs_new(void)
{
    struct dw_report_jobs *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    pthread_mutex_init(&j->lock, NULL);
    pthread_mutex_init(&j->render, NULL);
    pthread_cond_init(&j->idle, NULL);
    return j;
}

void dw_report_jobs_stop(struct dw_report_jobs *j)
{
    pthread_mutex_lock(&j->lock);
    j->stop = 1;
    while (j->running)
        pthread_cond_wait(&j->idle, &j->lock);
    pthread_mutex_unlock(&j->lock);
}

void dw_report_jobs_free(struct dw_report_jobs *j)
{
    if (!j)
        return;
    pthread_mutex_destroy(&j->lock);
    pthread_mutex_destroy(&j->render);
    pthread_cond_destroy(&j->idle);
    free(j);
}

static uint64_t mtime_ns(const struct stat *st)
{
    return (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec;
}

/* The cached page when it is newer than the session file. */
static bool read_cache(struct dw_report_job *job, int dfd, const char *cache,
                       const struct stat *h5)
{
    struct stat st;
    int fd = openat(dfd, cache, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    bool ok = false;

    if (fd < 0)
        return false;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && mtime_ns(&st) > mtime_ns(h5) &&
        (job->page = malloc((size_t)st.st_size + 1))) {
        ok = read(fd, job->page, (size_t)st.st_size) == st.st_size;
        job->len = (size_t)st.st_size;
        if (!ok) {
            free(job->page);
            job->page = NULL;
        }
    }
    close(fd);
    return ok;
}

/* Written aside and renamed: a reader never sees half a page. */
static void write_cache(struct dw_report_job *job, int dfd, const char *cache)
{
    char tmp[320];
    int fd;

    snprintf(tmp, sizeof(tmp), ".%s.tmp", cache);
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        dw_warn("report of %s not cached: %s", job->name, strerror(errno));
        return;
    }
    if (write(fd, job->page, job->len) != (ssize_t)job->len || close(fd) < 0 ||
        renameat(dfd, tmp, dfd, cache) < 0) {
        dw_warn("report of %s not cached: %s", job->name, strerror(errno));
        unlinkat(dfd, tmp, 0);
    }
}

static void make(struct dw_report_job *job)
{
    char cache[300], path[PATH_MAX + 300];
    struct stat st;
    int dfd = open(job->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    job->status = 404;
    snprintf(job->err, sizeof(job->err), "no such session");
    if (dfd < 0 || fstatat(dfd, job->name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISREG(st.st_mode))
        goto out;
    snprintf(cache, sizeof(cache), "%.*s.html", (int)strlen(job->name) - 3, job->name);
    job->status = 200;
    if (read_cache(job, dfd, cache, &st))
        goto out;
    snprintf(path, sizeof(path), "%s/%s", job->dir, job->name);
    const char *paths[1] = { path };
    struct dw_report_request req = { .paths = paths, .n_paths = 1, .stop = &job->jobs->stop };
    pthread_mutex_lock(&job->jobs->render);
    int r = dw_report_render_buffer(&req, &job->page, &job->len, job->err, sizeof(job->err));
    pthread_mutex_unlock(&job->jobs->render);
    if (r < 0) {
        job->status = r == -EBADF ? 404 : 500;
        dw_warn("report of %s: %s", job->name, job->err);
        goto out;
    }
    write_cache(job, dfd, cache);
out:
    if (dfd >= 0)
        close(dfd);
}

static void *run(void *arg)
{
    struct dw_report_job *job = arg;
    struct dw_report_jobs *j = job->jobs;
    make(job);
    MHD_resume_connection(job->conn);
    pthread_mutex_lock(&j->lock);
    j->running--;
    pthread_cond_broadcast(&j->idle);
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

struct dw_report_job *dw_report_job_start(struct dw_report_jobs *j, const char *dir,
                                          const char *h5name, void *conn)
{
    struct dw_report_job *job = calloc(1, sizeof(*job));
    pthread_attr_t at;
    pthread_t t;
    bool ok;

    if (!job)
        return NULL;
    job->jobs = j;
    job->conn = conn;
    snprintf(job->dir, sizeof(job->dir), "%s", dir);
    snprintf(job->name, sizeof(job->name), "%s", h5name);
    pthread_mutex_lock(&j->lock);
    ok = !j->stop && j->running < DW_REPORT_JOBS_MAX;
    if (ok) {
        j->running++;
        MHD_suspend_connection(conn);
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, run, job) != 0) {
            j->running--;
            MHD_resume_connection(conn);
            ok = false;
        }
        pthread_attr_destroy(&at);
    }
    pthread_mutex_unlock(&j->lock);
    if (!ok) {
        free(job);
        return NULL;
    }
    return job;
}

void dw_report_job_result(struct dw_report_job *job, struct dw_web_resp *r)
{
    memset(r, 0, sizeof(*r));
    if (job->status != 200 || !job->page) {
        dw_web_resp_error(r, job->status == 200 ? 500 : job->status,
                          job->status == 404 ? "no such session" : "the report could not be made");
        return;
    }
    r->status = 200;
    r->type = "text/html; charset=utf-8";
    r->body = job->page;
    r->len = job->len;
    r->csp = REPORT_CSP;
    job->page = NULL;
}

void dw_report_job_free(struct dw_report_job *job)
{
    free(job->page);
    free(job);
}
