/* The garment's serial link as acquire keeps it: opening the port (a path,
 * or 'auto' by USB id and then by serial number), reading what arrived
 * into the acquisition state machine, and reconnecting with a backoff
 * (100 ms doubling to 2 s) after the link went down. A pseudo-terminal
 * named directly is never reopened: a later /dev/pts/N with the same number
 * belongs to someone else. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "acquire.h"
#include "serial.h"

struct dw_link_opts {
    const char *port;           /* path, or "auto" */
    bool auto_port;
    struct dw_serial_opts so;
    int vid, pid;               /* USB id for auto */
};

struct dw_link {
    struct dw_link_opts o;
    char usb_serial[128];       /* learnt at the first auto open */
    struct dw_serial *s;        /* NULL while down */
    bool pty_direct;            /* never reopened */
    bool down_logged;
    unsigned backoff_ms;
    uint64_t next_try_ns;       /* monotonic; UINT64_MAX = never */
    uint64_t since_open;        /* bytes read since the port opened */
};

/* Opens the port for the first time: 0, or -errno after logging why. */
int dw_link_open(struct dw_link *l, const struct dw_link_opts *o);
void dw_link_close(struct dw_link *l);
/* The descriptor to poll, -1 while the link is down. */
int dw_link_fd(const struct dw_link *l);

/* Reads what is there (up to a budget) into a. hup: poll reported an
 * error or hang-up. When the link is gone, reports it to a, closes the
 * port and schedules the first reconnection. */
void dw_link_read(struct dw_link *l, struct dw_acquire *a, bool hup);
/* While down and the backoff has run out: tries the port again. While up:
 * asks for a HELLO when a wants one. now: monotonic ns. */
void dw_link_tick(struct dw_link *l, struct dw_acquire *a, uint64_t now);
/* When dw_link_tick has something to do next (monotonic ns). */
uint64_t dw_link_next_ns(const struct dw_link *l, const struct dw_acquire *a);
