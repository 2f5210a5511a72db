#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <libserialport.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include "serial.h"

struct dw_serial {
    enum dw_serial_kind kind;
    int fd;
    struct sp_port *sp; /* DW_SERIAL_DEVICE only */
    char path[PATH_MAX];
};

/* A character device is a "real" serial port (libserialport's job) when the
 * kernel shows a device behind its tty class entry; ptys and virtual
 * consoles have none. */
static bool has_sysfs_device(const char *resolved)
{
    char tmp[PATH_MAX], sys[PATH_MAX + 64];
    struct stat st;
    snprintf(tmp, sizeof(tmp), "%s", resolved);
    snprintf(sys, sizeof(sys), "/sys/class/tty/%s/device", basename(tmp));
    return stat(sys, &st) == 0;
}

static int open_plain(struct dw_serial *s)
{
    struct termios t;
    int flags = s->kind == DW_SERIAL_FIFO ? O_RDONLY : O_RDWR;

    s->fd = open(s->path, flags | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (s->fd < 0)
        return -errno;
    if (s->kind == DW_SERIAL_TTY) {
        if (tcgetattr(s->fd, &t) < 0) {
            int e = errno;
            close(s->fd);
            return -e;
        }
        cfmakeraw(&t);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(s->fd, TCSANOW, &t) < 0) {
            int e = errno;
            close(s->fd);
            return -e;
        }
    }
    return 0;
}

static const char *sp_why(enum sp_return r)
{
    switch (r) {
    case SP_ERR_ARG: return "invalid argument (libserialport)";
    case SP_ERR_MEM: return "out of memory";
    case SP_ERR_SUPP: return "not supported by this port";
    default: return NULL;
    }
}

static int open_device(struct dw_serial *s, const struct dw_serial_opts *o, const char **why)
{
    enum sp_return r;
    enum sp_flowcontrol fc = o->flow == DW_FLOW_RTSCTS ? SP_FLOWCONTROL_RTSCTS
                           : o->flow == DW_FLOW_XONXOFF ? SP_FLOWCONTROL_XONXOFF
                           : SP_FLOWCONTROL_NONE;
    int e;

    if ((r = sp_get_port_by_name(s->path, &s->sp)) != SP_OK)
        goto fail;
    if ((r = sp_open(s->sp, SP_MODE_READ_WRITE)) != SP_OK)
        goto fail;
    if ((r = sp_set_baudrate(s->sp, o->baud)) != SP_OK ||
        (r = sp_set_bits(s->sp, 8)) != SP_OK ||
        (r = sp_set_parity(s->sp, SP_PARITY_NONE)) != SP_OK ||
        (r = sp_set_stopbits(s->sp, 1)) != SP_OK ||
        (r = sp_set_flowcontrol(s->sp, fc)) != SP_OK)
        goto fail;
    /* CDC-ACM firmware commonly waits for DTR before it talks. */
    sp_set_dtr(s->sp, SP_DTR_ON);
    if (o->flow != DW_FLOW_RTSCTS)
        sp_set_rts(s->sp, SP_RTS_ON);
    if ((r = sp_get_port_handle(s->sp, &s->fd)) != SP_OK)
        goto fail;
    /* We poll and read the descriptor ourselves: make sure it never blocks. */
    fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
    return 0;
fail:
    e = r == SP_ERR_FAIL ? (sp_last_error_code() ? sp_last_error_code() : EIO)
        : r == SP_ERR_MEM ? ENOMEM : EINVAL;
    if (why)
        *why = r == SP_ERR_FAIL ? NULL : sp_why(r);
    if (s->sp) {
        sp_close(s->sp);
        sp_free_port(s->sp);
        s->sp = NULL;
    }
    return -e;
}

struct dw_serial *dw_serial_open(const char *path, const struct dw_serial_opts *o,
                                 const char **why)
{
    struct dw_serial *s;
    struct stat st;
    int r;

    if (why)
        *why = NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->fd = -1;
    /* Anew each time: a /dev/serial/by-id link may point elsewhere after a
     * replug, a test's symlink at a new pty. */
    if (!realpath(path, s->path) || stat(s->path, &st) < 0)
        goto fail;
    if (S_ISFIFO(st.st_mode))
        s->kind = DW_SERIAL_FIFO;
    else if (S_ISCHR(st.st_mode))
        s->kind = has_sysfs_device(s->path) ? DW_SERIAL_DEVICE : DW_SERIAL_TTY;
    else {
        errno = ENOTTY;
        if (why)
            *why = "not a serial device, pseudo-terminal or FIFO";
        goto fail;
    }
    r = s->kind == DW_SERIAL_DEVICE ? open_device(s, o, why) : open_plain(s);
    if (r < 0) {
        errno = -r;
        goto fail;
    }
    return s;
fail:
    r = errno;
    free(s);
    errno = r;
    return NULL;
}

void dw_serial_close(struct dw_serial *s)
{
    if (!s)
        return;
    if (s->sp) {
        sp_close(s->sp);
        sp_free_port(s->sp);
    } else if (s->fd >= 0) {
        close(s->fd);
    }
    free(s);
}

int dw_serial_fd(const struct dw_serial *s) { return s->fd; }
enum dw_serial_kind dw_serial_kind(const struct dw_serial *s) { return s->kind; }
const char *dw_serial_path(const struct dw_serial *s) { return s->path; }

int dw_serial_write(struct dw_serial *s, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (s->kind == DW_SERIAL_FIFO)
        return -ENOTSUP;
    while (len) {
        ssize_t n = write(s->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                /* A few bytes of request: wait briefly for room rather than
                 * leave half a frame behind. */
                struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
                if (poll(&pfd, 1, 50) <= 0)
                    return -EAGAIN;
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void fill_info(struct sp_port *p, struct dw_port_info *i)
{
    const char *v;
    memset(i, 0, sizeof(*i));
    snprintf(i->name, sizeof(i->name), "%s", sp_get_port_name(p));
    v = sp_get_port_description(p);
    snprintf(i->description, sizeof(i->description), "%s", v ? v : "");
    if (sp_get_port_transport(p) == SP_TRANSPORT_USB &&
        sp_get_port_usb_vid_pid(p, &i->vid, &i->pid) == SP_OK) {
        i->usb = true;
        v = sp_get_port_usb_serial(p);
        snprintf(i->serial, sizeof(i->serial), "%s", v ? v : "");
    }
}

int dw_serial_list(struct dw_port_info *out, int cap)
{
    struct sp_port **list;
    int n = 0;
    if (sp_list_ports(&list) != SP_OK)
        return sp_last_error_code() ? -sp_last_error_code() : -EIO;
    for (; list[n]; n++)
        if (n < cap)
            fill_info(list[n], &out[n]);
    sp_free_port_list(list);
    return n;
}

int dw_serial_find_usb(int vid, int pid, const char *serial, char *buf, size_t cap,
                       char *serial_out, size_t scap)
{
    struct sp_port **list;
    int r = -ENOENT;
    if (sp_list_ports(&list) != SP_OK)
        return sp_last_error_code() ? -sp_last_error_code() : -EIO;
    for (int i = 0; list[i]; i++) {
        struct dw_port_info info;
        fill_info(list[i], &info);
        if (!info.usb || info.vid != vid || info.pid != pid)
            continue;
        if (serial && *serial && strcmp(serial, info.serial) != 0)
            continue;
        snprintf(buf, cap, "%s", info.name);
        if (serial_out)
            snprintf(serial_out, scap, "%s", info.serial);
        r = 0;
        break;
    }
    sp_free_port_list(list);
    return r;
}
