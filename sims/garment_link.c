/* See garment_link.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "contract.h"
#include "dwtime.h"
#include "garment_link.h"
#include "log.h"

#define BATCH_BYTES (256 * 1024)
/* How long the reader's queue must stay empty before a drain is done. */
#define DRAIN_QUIET_NS 100000000ull

static void on_host_frame(const struct dw_frame *f, void *user)
{
    struct dw_garment_link *l = user;
    if (f->type == DW_FRAME_HELLO_REQUEST) {
        l->hello_requested = true;
        l->requests++;
    }
}

static int make_link(struct dw_garment_link *l)
{
    char tmp[4096];
    if (!l->pty_link)
        return 0;
    /* rename() replaces the link atomically: a reader never sees none. */
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", l->pty_link, (long)getpid());
    unlink(tmp);
    if (symlink(l->pty_name, tmp) < 0 || rename(tmp, l->pty_link) < 0) {
        dw_err("cannot make the link %s: %s", l->pty_link, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int open_pty(struct dw_garment_link *l)
{
    struct termios tio;
    char *name;
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(name = ptsname(m))) {
        dw_err("cannot create a pseudo-terminal: %s", strerror(errno));
        if (m >= 0)
            close(m);
        return -1;
    }
    snprintf(l->pty_name, sizeof(l->pty_name), "%s", name);
    /* Keep the slave open in raw mode: readers may come and go. */
    l->pty_slave = open(l->pty_name, O_RDWR | O_NOCTTY);
    if (l->pty_slave < 0 || tcgetattr(l->pty_slave, &tio) < 0) {
        dw_err("cannot open %s: %s", l->pty_name, strerror(errno));
        close(m);
        if (l->pty_slave >= 0)
            close(l->pty_slave);
        l->pty_slave = -1;
        return -1;
    }
    cfmakeraw(&tio);
    tcsetattr(l->pty_slave, TCSANOW, &tio);
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    l->fd = m;
    l->is_pty = true;
    dw_decoder_init(&l->dec, on_host_frame, l);
    if (make_link(l) < 0)
        return -1;
    printf(DW_LINE_PTY "%s\n", l->pty_name);
    fflush(stdout);
    return 0;
}

int dw_garment_link_open(struct dw_garment_link *l, const char *out, const char *pty_link,
                         volatile sig_atomic_t *stop)
{
    memset(l, 0, sizeof(*l));
    l->out = out;
    l->pty_link = pty_link;
    l->stop = stop;
    l->fd = l->pty_slave = -1;
    dw_decoder_init(&l->dec, on_host_frame, l);
    if (!strcmp(out, "stdout")) {
        l->fd = STDOUT_FILENO;
        return 0;
    }
    if (!strcmp(out, "pty"))
        return open_pty(l);
    l->fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (l->fd < 0) {
        dw_err("cannot write %s: %s", out, strerror(errno));
        return -1;
    }
    return 0;
}

void dw_garment_link_unplug(struct dw_garment_link *l)
{
    if (!l->is_pty)
        return;
    if (l->pty_link)
        unlink(l->pty_link);
    if (l->fd >= 0)
        close(l->fd);
    if (l->pty_slave >= 0)
        close(l->pty_slave);
    l->fd = l->pty_slave = -1;
    l->hello_requested = false;
    l->fill = 0; /* a batch not written goes with the link */
}

int dw_garment_link_replug(struct dw_garment_link *l)
{
    if (!l->is_pty)
        return 0;
    return open_pty(l);
}

void dw_garment_link_close(struct dw_garment_link *l)
{
    free(l->buf);
    l->buf = NULL;
    l->fill = 0;
    if (l->is_pty) {
        dw_garment_link_unplug(l);
        return;
    }
    if (l->fd >= 0 && l->fd != STDOUT_FILENO)
        close(l->fd);
    l->fd = -1;
}

void dw_garment_link_read_host(struct dw_garment_link *l)
{
    uint8_t buf[512];
    ssize_t n;
    if (!l->is_pty || l->fd < 0)
        return;
    while ((n = read(l->fd, buf, sizeof(buf))) > 0)
        dw_decoder_feed(&l->dec, buf, (size_t)n);
}

bool dw_garment_link_take_request(struct dw_garment_link *l)
{
    bool r;
    dw_garment_link_read_host(l);
    r = l->hello_requested;
    l->hello_requested = false;
    return r;
}

void dw_garment_link_wait_host(struct dw_garment_link *l, int timeout_ms)
{
    struct pollfd pf = { l->fd, POLLIN, 0 };
    if (!l->is_pty || l->fd < 0) {
        usleep((useconds_t)timeout_ms * 1000u);
        return;
    }
    if (poll(&pf, 1, timeout_ms) > 0 && (pf.revents & POLLIN))
        dw_garment_link_read_host(l);
}

int dw_garment_link_write(struct dw_garment_link *l, const uint8_t *p, size_t len)
{
    uint64_t t0 = dw_now_monotonic_ns();
    int r = 0;
    while (len && !*l->stop) {
        ssize_t n = write(l->fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            l->bytes_out += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            /* The reader is behind: wait, and keep listening to it. */
            struct pollfd pf = { l->fd, POLLOUT | POLLIN, 0 };
            if (poll(&pf, 1, 200) > 0 && (pf.revents & POLLIN))
                dw_garment_link_read_host(l);
            continue;
        }
        dw_err("writing to %s: %s", l->is_pty ? l->pty_name : l->out,
               n < 0 ? strerror(errno) : "short write");
        r = -1;
        break;
    }
    l->write_ns += dw_now_monotonic_ns() - t0;
    return r;
}

int dw_garment_link_flush(struct dw_garment_link *l)
{
    size_t n = l->fill;
    l->fill = 0;
    return n ? dw_garment_link_write(l, l->buf, n) : 0;
}

int dw_garment_link_put(struct dw_garment_link *l, const uint8_t *p, size_t len)
{
    if (!l->buf && !(l->buf = malloc(BATCH_BYTES))) {
        dw_err("out of memory");
        return -1;
    }
    if (l->fill + len > BATCH_BYTES && dw_garment_link_flush(l) < 0)
        return -1;
    if (len > BATCH_BYTES)
        return dw_garment_link_write(l, p, len);
    memcpy(l->buf + l->fill, p, len);
    l->fill += len;
    return 0;
}

int dw_garment_link_pending(struct dw_garment_link *l)
{
    int pending = 0;
    if (!l->is_pty || l->pty_slave < 0 || ioctl(l->pty_slave, FIONREAD, &pending) < 0)
        return 0;
    return pending;
}

bool dw_garment_link_drain(struct dw_garment_link *l, uint64_t max_ns)
{
    uint64_t now = dw_now_monotonic_ns(), until = now + max_ns, empty_since = 0;
    /* The reader's queue (FIONREAD on our slave) must stay empty for a
     * while: bytes still in the kernel's flip buffer reach that queue only
     * when its worker runs, which a loaded machine delays. Closing the pty
     * earlier would throw them away (Linux drops unread input at hangup). */
    while (!*l->stop && now < until) {
        if (dw_garment_link_pending(l) > 0) {
            empty_since = 0;
            dw_garment_link_wait_host(l, 20);
        } else if (!empty_since) {
            empty_since = now;
        } else if (now - empty_since >= DRAIN_QUIET_NS) {
            return true;
        } else {
            usleep(10000);
        }
        now = dw_now_monotonic_ns();
    }
    return false;
}
