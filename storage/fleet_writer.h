/* Writes a fleet file: the rows of many garments in one HDF5 file in SWMR
 * mode (docs/storage.md, "Fleet files"). One multiplexed /frames group
 * with the session file's columns plus `device`, an index into /devices
 * (one row per garment and HELLO); the tables likewise. Every row is
 * buffered in memory and appended by dw_fleet_writer_flush(), which the
 * caller runs at least once a second: one flush for the whole fleet, so
 * the cost per garment is the cost of its rows. Failures are sticky as in
 * the session writer. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "msg.h"
#include "session_format.h"
#include "session_writer.h"

#define DW_FLEET_FORMAT "ductwatch-fleet"
#define DW_FLEET_FORMAT_VERSION 1
/* The width of the per-zone /frames columns: every garment fits; the
 * zones past a garment's own hold NaN (status 0). */
#define DW_FLEET_ZONES DW_MAX_ZONES

struct dw_fleet_writer;

struct dw_fleet_start {
    const char *path;        /* shown; must not exist yet */
    const char *name;        /* created as name under dir_fd (dw_session_file_create) */
    int dir_fd;
    const char *recorder;    /* the recorder's name, a root attribute */
    uint64_t t_host_ns;      /* period start, host clock */
    uint64_t period_ns;      /* the period the file covers */
};

/* The /devices row (memory = file layout). */
struct dw_fleet_device {
    uint32_t index;
    char device_id[DW_ID_LEN + 1];
    char reason[DW_S_KIND];   /* "first-hello", "rotation", "hello-changed", ... */
    uint64_t stream;          /* acquire's stream id when the row was made */
    uint64_t t_host_ns, t_device_us;
    uint16_t hello_len;
    uint8_t hello[DW_MAX_PAYLOAD];
};

int dw_fleet_writer_create(struct dw_fleet_writer **out, const struct dw_fleet_start *s,
                           char *err, size_t errcap);
/* A garment's HELLO (payload as on the wire) opens a /devices row: its
 * index (>= 0) for the calls below, or a negative errno. */
int dw_fleet_writer_device(struct dw_fleet_writer *w, const uint8_t *hello, size_t len,
                           uint64_t stream, uint64_t t_host_ns, uint64_t t_device_us,
                           const char *reason);
/* As the session writer's calls, for device dev. */
int dw_fleet_writer_frame(struct dw_fleet_writer *w, int dev, const struct dw_msg_frame *m);
int dw_fleet_writer_event(struct dw_fleet_writer *w, int dev, struct dw_row_event *r);
int dw_fleet_writer_alert(struct dw_fleet_writer *w, int dev, struct dw_row_alert *r);
int dw_fleet_writer_stats(struct dw_fleet_writer *w, int dev, struct dw_row_stats *r);

int dw_fleet_writer_flush(struct dw_fleet_writer *w);
int dw_fleet_writer_sync(struct dw_fleet_writer *w);
/* Flushes, syncs, closes, frees. counts (optional): the file's totals. */
int dw_fleet_writer_close(struct dw_fleet_writer *w, struct dw_session_counts *counts,
                          char *err, size_t errcap);

const char *dw_fleet_writer_path(const struct dw_fleet_writer *w);
const char *dw_fleet_writer_error(const struct dw_fleet_writer *w);
bool dw_fleet_writer_unlinked(const struct dw_fleet_writer *w);
size_t dw_fleet_writer_queued(const struct dw_fleet_writer *w);
void dw_fleet_writer_counts(const struct dw_fleet_writer *w, struct dw_session_counts *c);
uint64_t dw_fleet_writer_start_ns(const struct dw_fleet_writer *w);

/* Bytes before the session row in a fleet table row (the uint32 device
 * and padding). */
#define DW_FLEET_ROW_PREFIX 8

/* The file types of the fleet tables: the session table's type with a
 * uint32 `device` member first (row = 8 bytes of device, then the session
 * row); and /devices. Caller closes. */
hid_t dw_fleet_table_type(enum dw_session_table t, size_t *row_bytes);
hid_t dw_fleet_device_type(void);
