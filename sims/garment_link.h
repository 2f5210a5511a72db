/* The garment's end of the serial link, shared by the simulator and replay:
 * a pseudo-terminal (kept open on both sides so readers may come and go,
 * raw mode, an optional stable symlink such as udev's /dev/serial/by-id
 * names), stdout or a file; blocking writes that keep reading what the host
 * sends, and HELLO_REQUEST recognition (docs/protocol.md 3.5). */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

struct dw_garment_link {
    const char *out;            /* "pty", "stdout" or a file name */
    const char *pty_link;       /* symlink kept to the current pty, or NULL */
    volatile sig_atomic_t *stop;
    int fd;                     /* where the bytes go */
    int pty_slave;              /* our own slave fd: the pty never hangs up */
    bool is_pty;
    char pty_name[64];
    struct dw_decoder dec;      /* host -> garment bytes */
    bool hello_requested;       /* a HELLO_REQUEST arrived, not yet taken */
    uint64_t bytes_out;
    uint64_t requests;          /* HELLO_REQUESTs seen */
    uint64_t write_ns;          /* time spent in dw_garment_link_write */
    uint8_t *buf;               /* dw_garment_link_put's batch, allocated on first use */
    size_t fill;
};

/* Prepares l for out (pty, stdout or FILE). With a pty, prints
 * "pty: /dev/pts/N" (flushed) on stdout. stop ends blocked writes. Returns
 * 0 or -1 (logged). */
int dw_garment_link_open(struct dw_garment_link *l, const char *out, const char *pty_link,
                         volatile sig_atomic_t *stop);
/* Closes everything and removes the link. */
void dw_garment_link_close(struct dw_garment_link *l);
/* Unplug: the pty and its link go away (pty only). */
void dw_garment_link_unplug(struct dw_garment_link *l);
/* Replug: a new pty (printed as "pty: ..." again) and the link re-pointed. */
int dw_garment_link_replug(struct dw_garment_link *l);

/* Writes all of p, waiting for a slow reader and reading the host meanwhile.
 * 0 (also when stopped: the caller checks its stop flag), or -1 on a
 * write error (logged). */
int dw_garment_link_write(struct dw_garment_link *l, const uint8_t *p, size_t len);
/* Batched writes: put appends to a 256 KiB batch (written when full), flush
 * writes the batch. Fewer, larger writes are what lets a garment reach the
 * pty's own rate. 0, or -1 (logged) as dw_garment_link_write. */
int dw_garment_link_put(struct dw_garment_link *l, const uint8_t *p, size_t len);
int dw_garment_link_flush(struct dw_garment_link *l);
/* Reads whatever the host sent (pty only), without blocking. */
void dw_garment_link_read_host(struct dw_garment_link *l);
/* Whether a HELLO_REQUEST arrived since the last call (reads the host first). */
bool dw_garment_link_take_request(struct dw_garment_link *l);
/* Waits up to timeout_ms for the host to send something (pty only). */
void dw_garment_link_wait_host(struct dw_garment_link *l, int timeout_ms);
/* Bytes written that the reader has not taken yet (pty only, else 0). */
int dw_garment_link_pending(struct dw_garment_link *l);
/* Waits until the reader took every byte, at most max_ns. true if it did. */
bool dw_garment_link_drain(struct dw_garment_link *l, uint64_t max_ns);
