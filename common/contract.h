/* The lines programs print on stdout for scripts and for `ductwatch run`
 * (the contract of docs/CODING_STYLE.md: stdout is for these only). The
 * program that writes a line and the one that reads it use the same
 * prefix, and for the lines with more than a value, the same functions.
 *
 *   pub: EP          acquire, detect: the endpoint bound (docs/messages.md 1)
 *   events: EP       acquire: its events endpoint
 *   pty: PATH        ductwatch-sim --out pty and the test garments
 *   file: PATH       record: every session file it opens (docs/storage.md)
 *   closed: PATH: …  record: every file it closes, with its counts
 *   lost: N …        record: garment frames lost while acquire restarted
 *   deleted: PATH: … record: a session file deleted while written
 *   url: URL         web: the page to open, with its token
 *   nats: URL        bridge: connected to NATS and subscribed
 *   bridged: {JSON}  bridge: its counters at the end (docs/operations.md)
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DW_LINE_PUB "pub: "
#define DW_LINE_EVENTS "events: "
#define DW_LINE_PTY "pty: "
#define DW_LINE_FILE "file: "
#define DW_LINE_CLOSED "closed: "
#define DW_LINE_LOST "lost: "
#define DW_LINE_DELETED "deleted: "
#define DW_LINE_URL "url: "
#define DW_LINE_NATS "nats: "
#define DW_LINE_BRIDGED "bridged: "

/* What follows prefix in line, or NULL when line does not start with it. */
const char *dw_line_value(const char *line, const char *prefix);

/* "lost: N garment frame(s) of DEV while acquire restarted (device seq A
 * to B)", written and flushed. */
void dw_line_print_lost(FILE *f, uint32_t lost, const char *device, uint32_t from);
/* Reads a lost: line: 0 with the count and the device id (cut to dcap - 1
 * bytes), or -EINVAL for any other line. */
int dw_line_parse_lost(const char *line, uint64_t *lost, char *device, size_t dcap);
