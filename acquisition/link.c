#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dwtime.h"
#include "frame.h"
#include "link.h"
#include "log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define READ_BUDGET (1u << 20) /* bytes per wake-up before serving sockets */

/* Resolves the port (auto: by USB id, and by serial number once known)
 * and opens it. quiet: a reconnection attempt, whose failures are
 * expected. */
static struct dw_serial *open_port(struct dw_link *l, bool quiet)
{
    char found[256];
    const char *path = l->o.port, *why = NULL;
    struct dw_serial *s;

    if (l->o.auto_port) {
        int r = dw_serial_find_usb(l->o.vid, l->o.pid, l->usb_serial, found, sizeof(found),
                                   l->usb_serial, sizeof(l->usb_serial));
        if (r < 0) {
            if (!quiet)
                dw_err("no serial port with USB id %04x:%04x%s%s found", l->o.vid, l->o.pid,
                       l->usb_serial[0] ? " serial " : "", l->usb_serial);
            errno = -r;
            return NULL;
        }
        path = found;
    }
    s = dw_serial_open(path, &l->o.so, &why);
    if (!s) {
        if (!quiet)
            dw_err("cannot open %s: %s", path, why ? why : strerror(errno));
        return NULL;
    }
    dw_info("opened %s (%s)", dw_serial_path(s),
            dw_serial_kind(s) == DW_SERIAL_DEVICE ? "serial port"
            : dw_serial_kind(s) == DW_SERIAL_TTY ? "terminal" : "FIFO");
    return s;
}

/* A pseudo-terminal named directly (not through a symlink) cannot come
 * back once its master closed: a later /dev/pts/N with the same number
 * belongs to someone else, and reading it would steal their bytes. */
static bool is_direct_pty(const struct dw_link_opts *o)
{
    struct stat st;
    char real[PATH_MAX];
    if (o->auto_port || lstat(o->port, &st) < 0 || S_ISLNK(st.st_mode))
        return false;
    return realpath(o->port, real) && strncmp(real, "/dev/pts/", 9) == 0;
}

int dw_link_open(struct dw_link *l, const struct dw_link_opts *o)
{
    memset(l, 0, sizeof(*l));
    l->o = *o;
    l->backoff_ms = BACKOFF_MIN_MS;
    l->s = open_port(l, false);
    if (!l->s)
        return errno ? -errno : -EIO;
    l->pty_direct = is_direct_pty(o);
    return 0;
}

void dw_link_close(struct dw_link *l)
{
    dw_serial_close(l->s);
    l->s = NULL;
}

int dw_link_fd(const struct dw_link *l)
{
    return l->s ? dw_serial_fd(l->s) : -1;
}

static void send_hello_request(struct dw_serial *s)
{
    uint8_t wire[32];
    /* A leading delimiter ends whatever the garment's reader had pending. */
    ssize_t n = dw_frame_encode(DW_FRAME_HELLO_REQUEST, 0, 0, NULL, 0, wire + 1, sizeof(wire) - 1);
    int r;
    wire[0] = 0;
    if (n < 0)
        return;
    r = dw_serial_write(s, wire, (size_t)n + 1);
    if (r < 0 && r != -ENOTSUP)
        dw_debug("HELLO_REQUEST: %s", strerror(-r));
    else if (r == 0)
        dw_debug("sent HELLO_REQUEST");
}

/* Reads what is there; returns false when the link is gone (*why set). */
static bool read_some(struct dw_link *l, struct dw_acquire *a, bool hup, const char **why)
{
    uint8_t buf[65536];
    size_t total = 0;
    int fd = dw_serial_fd(l->s);

    while (total < READ_BUDGET) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            uint64_t mono = dw_now_monotonic_ns();
            /* A subscriber that arrived meanwhile gets its replay before
             * these frames go out live. */
            dw_acquire_check_subscriptions(a, mono);
            dw_acquire_feed(a, buf, (size_t)n, dw_now_realtime_ns(), mono);
            total += (size_t)n;
            l->since_open += (size_t)n;
            continue;
        }
        if (n == 0) {
            /* A FIFO nobody has written to yet also reads 0: not a loss. */
            if (dw_serial_kind(l->s) == DW_SERIAL_FIFO && !l->since_open && !hup)
                return true;
            *why = "end of file";
            return false;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            if (hup && total == 0) {
                *why = "hang-up";
                return false;
            }
            return true;
        }
        *why = strerror(errno);
        return false;
    }
    return true;
}

void dw_link_read(struct dw_link *l, struct dw_acquire *a, bool hup)
{
    const char *why = NULL;
    if (!l->s || read_some(l, a, hup, &why))
        return;
    dw_warn("link down: %s: %s", dw_serial_path(l->s), why);
    dw_acquire_link_down(a, why, dw_now_realtime_ns(), dw_now_monotonic_ns());
    dw_link_close(l);
    l->backoff_ms = BACKOFF_MIN_MS;
    l->next_try_ns = dw_now_monotonic_ns() + l->backoff_ms * 1000000ull;
    l->down_logged = false;
    if (l->pty_direct) {
        dw_warn("%s is gone for good (a pseudo-terminal never comes back); "
                "not reconnecting. Give a symlink to follow a new one.", l->o.port);
        l->next_try_ns = UINT64_MAX;
    }
}

void dw_link_tick(struct dw_link *l, struct dw_acquire *a, uint64_t now)
{
    if (l->s) {
        if (dw_acquire_want_hello_request(a, now))
            send_hello_request(l->s);
        return;
    }
    if (now < l->next_try_ns)
        return;
    l->s = open_port(l, true);
    if (l->s) {
        dw_info("link up again");
        l->since_open = 0;
        dw_acquire_link_up(a, dw_now_realtime_ns(), dw_now_monotonic_ns());
        if (dw_acquire_want_hello_request(a, dw_now_monotonic_ns()))
            send_hello_request(l->s);
        return;
    }
    if (!l->down_logged)
        dw_info("waiting for %s to come back", l->o.auto_port ? "the garment" : l->o.port);
    l->down_logged = true;
    l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
    l->next_try_ns = now + l->backoff_ms * 1000000ull;
}

uint64_t dw_link_next_ns(const struct dw_link *l, const struct dw_acquire *a)
{
    if (!l->s)
        return l->next_try_ns;
    if (a->need_hello)
        return a->last_request_ns + DW_ACQ_HELLO_RETRY_NS;
    return UINT64_MAX;
}
