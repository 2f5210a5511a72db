/* One small interface over the two ways a garment reaches us:
 *  - a real serial device (USB CDC, UART) through libserialport: baud rate,
 *    8N1, flow control, USB identity;
 *  - a pseudo-terminal or a FIFO through a plain file descriptor (termios raw
 *    mode on ttys). libserialport cannot open ptys (no /sys/class/tty/X/device
 *    entry) and 0.1.1 rejects symlinks, so every path is realpath()'d first.
 * Reading is done by the caller with read() on dw_serial_fd() (non-blocking). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum dw_flow { DW_FLOW_NONE = 0, DW_FLOW_RTSCTS, DW_FLOW_XONXOFF };

enum dw_serial_kind { DW_SERIAL_DEVICE = 0, DW_SERIAL_TTY, DW_SERIAL_FIFO };

struct dw_serial_opts {
    int baud;
    enum dw_flow flow;
};

struct dw_serial;

/* Resolves path (symlinks anew every call), picks the backend and opens it.
 * Returns NULL with errno set; *why (may be NULL) gets a static reason for
 * libserialport failures that have no errno. */
struct dw_serial *dw_serial_open(const char *path, const struct dw_serial_opts *o,
                                 const char **why);
void dw_serial_close(struct dw_serial *s);
int dw_serial_fd(const struct dw_serial *s);
enum dw_serial_kind dw_serial_kind(const struct dw_serial *s);
/* The resolved path actually opened. */
const char *dw_serial_path(const struct dw_serial *s);
/* Writes all of buf without blocking for long; returns 0 or -errno
 * (-EAGAIN when the output buffer is full; -ENOTSUP on a read-only FIFO). */
int dw_serial_write(struct dw_serial *s, const void *buf, size_t len);

/* USB identity of serial ports, for --list-ports and --port auto. */
struct dw_port_info {
    char name[256];
    bool usb;
    int vid, pid;
    char serial[128];
    char description[256];
};

/* Fills up to cap entries; returns how many ports exist (may exceed cap) or
 * -errno. */
int dw_serial_list(struct dw_port_info *out, int cap);
/* Finds the first USB port with vid:pid (and serial, if serial is non-empty).
 * Returns 0 and copies its path into buf, -ENOENT if none. */
int dw_serial_find_usb(int vid, int pid, const char *serial, char *buf, size_t cap,
                       char *serial_out, size_t scap);
