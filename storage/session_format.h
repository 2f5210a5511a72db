/* The session file format (docs/storage.md is the specification): names,
 * row structures of the tables and their HDF5 types, shared by the writer
 * and the reader so the two can never disagree. */
#pragma once
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"
#include "msg_alert.h"

#define DW_SESSION_FORMAT "ductwatch-session"
/* 2: /alerts has `params` (2026-12); 1: no params, message 256 or 1024
 * wide. The reader takes both (docs/storage.md section 4). */
#define DW_SESSION_FORMAT_VERSION 2
/* Size for error message buffers: a path plus a reason. */
#define DW_SESSION_ERR_MAX 5120

/* Fixed string widths (NUL-padded; a value that fills the width has no NUL). */
#define DW_S_KIND 16
#define DW_S_SIDE 8
#define DW_S_SOURCE 8
#define DW_S_TEXT 64
#define DW_S_RULE 8
#define DW_S_LEVEL 4
#define DW_S_STATE 8
#define DW_S_ZONE_NAME 32
#define DW_S_RULESET 16
/* Fixed widths, not variable-length strings: HDF5 SWMR does not support
 * variable-length data (its global heap is not SWMR-safe); see storage.md. */
#define DW_S_MESSAGE DW_MSG_ALERT_MESSAGE_MAX /* every message detect writes, whole */
#define DW_S_PARAMS DW_MSG_ALERT_PARAMS_MAX   /* the rule's parameters as the body carries them */
#define DW_S_LAYOUT_NAME 32

#define DW_LAYOUT_NEIGHBOURS 4

/* Every table row carries `order`: the row's position in the file's single
 * message order, /frames rows included (frame row i has the order that no
 * table row has, counting up). The reader merges the tables with it, so a
 * file replays in exactly the order the stream delivered it. */

struct dw_row_layout {
    int16_t zone;
    uint8_t side, quadrant, ring;
    int16_t mirror;
    int16_t neighbours[DW_LAYOUT_NEIGHBOURS]; /* -1 pads */
    uint8_t flags;
    char name[DW_S_LAYOUT_NAME];
};

struct dw_row_hello {
    uint64_t order, seq;
    uint32_t device_seq;
    uint64_t t_device_us, t_host_ns;
};

struct dw_row_status {
    uint64_t order, seq;
    uint32_t device_seq;
    uint64_t t_device_us, t_host_ns;
    uint16_t battery_mv;
    uint8_t battery_pct;
    uint8_t flags;
    int16_t mcu_temp_cc;
    uint16_t reserved;
};

struct dw_row_event {
    uint64_t order, seq;
    uint64_t t_device_us, t_host_ns;
    char kind[DW_S_KIND];
    char side[DW_S_SIDE];
    double value;       /* NaN: none */
    uint64_t missing;
    char source[DW_S_SOURCE];
    int64_t device_seq; /* garment events: the frame's device seq; else -1 */
    char text[DW_S_TEXT];
};

struct dw_row_alert {
    uint64_t order, seq;
    uint64_t t_device_us, t_host_ns;
    uint64_t id;
    char rule[DW_S_RULE];
    char level[DW_S_LEVEL];
    char state[DW_S_STATE];
    char side[DW_S_SIDE];
    int16_t zone;       /* -1: no zone */
    char zone_name[DW_S_ZONE_NAME];
    double value, threshold;
    char ruleset_version[DW_S_RULESET];
    char params[DW_S_PARAMS];   /* JSON object text; "" in version 1 files */
    char message[DW_S_MESSAGE];
};

struct dw_row_stats {
    uint64_t order;
    uint64_t t_host_ns, t_device_us;
    char source[DW_S_SOURCE]; /* "acquire" or "record" */
    uint64_t seq;             /* acquire's stream seq; 0 for record rows */
    /* acquire's counters (stats.<dev>) */
    uint64_t bytes, frames, crc_errors, length_errors, cobs_errors, version_errors;
    uint64_t resyncs, device_seq_gaps, frames_missing, reconnects, events_in, zmq_dropped;
    double drift_ppm;
    uint8_t link_up;
    /* the recorder's own counters for this device */
    uint64_t stream_gaps, messages_missing, duplicates, restarts;
    uint64_t write_queue, unrecordable, frames_written;
};

enum dw_session_table {
    DW_T_LAYOUT, DW_T_HELLO, DW_T_STATUS, DW_T_EVENT, DW_T_ALERT, DW_T_STATS,
    DW_T_COUNT
};

/* HDF5 compound types for the rows (memory layout = file layout; caller
 * closes). Negative on failure. */
hid_t dw_session_type(enum dw_session_table t);

/* The /layout row of zone z of the garment h describes. */
void dw_session_layout_row(const struct dw_hello *h, unsigned z, struct dw_row_layout *row);

/* A row the recorder writes itself in /events (source "record", side
 * "none", no value, no device seq): kind with missing messages before
 * seq, text saying which stream or why. */
void dw_session_own_event(struct dw_row_event *row, const char *kind, uint64_t seq,
                          uint64_t missing, uint64_t t_dev, uint64_t t_host, const char *text);

/* Copies s into a fixed NUL-padded field. */
void dw_session_strset(char *dst, size_t width, const char *s);
/* Copies a fixed field into a NUL-terminated buffer of width + 1 bytes. */
void dw_session_strget(char *dst, const char *src, size_t width);

/* Physical value <-> raw LSBs: v = raw * scale * 1e-6, stored as float32.
 * dw_session_raw() inverts it exactly for every 16-bit raw value. */
float dw_session_phys(int32_t raw, uint32_t scale);
int32_t dw_session_raw(float v, uint32_t scale);

/* One clear line from the current HDF5 error stack (the innermost cause),
 * e.g. "File too large". Empty when the stack is empty. */
void dw_session_h5_reason(char *buf, size_t cap);
