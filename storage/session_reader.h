/* Reads a session file (docs/storage.md): its attributes, and every garment
 * frame and event in the order the stream delivered them, so that replay
 * and reports see exactly what was recorded. Opens read-only; refuses files
 * that are not ductwatch sessions. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"
#include "session_format.h"

struct dw_session_reader;

struct dw_session_info {
    char device_id[DW_ID_LEN + 1];
    char firmware[DW_ID_LEN + 1];
    char session_start[40];        /* ISO 8601 UTC */
    char software_version[64];
    int format_version;
    uint64_t start_ns;             /* session_start_ns */
    uint64_t start_device_us;      /* session_start_device_us */
    bool swmr_open;                /* the file needed SWMR read mode (being written, or crashed) */
    uint64_t frames, hellos, status, events, alerts, stats; /* rows */
    /* /alerts message width in the file (256 before 2026-12): a message
     * this long was cut by the recorder. */
    size_t alert_message_width;
    uint64_t t_first_us, t_last_us; /* device time of the first and last frame rows */
    uint64_t t_first_ns, t_last_ns; /* host time of the same */
};

enum dw_record_kind {
    DW_REC_SAMPLE = 1,
    DW_REC_HELLO,
    DW_REC_STATUS,
    DW_REC_EVENT,
};

struct dw_session_record {
    enum dw_record_kind kind;
    uint64_t order;         /* position in the file's message order */
    uint64_t seq;           /* stream seq */
    bool has_device_seq;    /* false for host-side events */
    uint32_t device_seq;
    uint64_t t_device_us, t_host_ns;
    /* Device time since the file's first record, never going backwards: a
     * garment restart (clock back to 0) adds nothing. */
    uint64_t elapsed_us;
    struct dw_sample sample;     /* DW_REC_SAMPLE: raw values, as on the wire */
    uint8_t status_raw[DW_STATUS_PAYLOAD_SIZE]; /* DW_REC_STATUS: the payload */
    struct dw_row_event event;   /* DW_REC_EVENT */
};

/* 0, or a negative errno with a one-line reason in err: -ENOENT, -EBADF (not
 * HDF5, or not a ductwatch session), -EIO. */
int dw_session_reader_open(struct dw_session_reader **out, const char *path,
                           char *err, size_t errcap);
void dw_session_reader_close(struct dw_session_reader *r);

const struct dw_session_info *dw_session_reader_info(const struct dw_session_reader *r);
const struct dw_hello *dw_session_reader_hello(const struct dw_session_reader *r);
const uint8_t *dw_session_reader_hello_payload(const struct dw_session_reader *r, size_t *len);

/* The next record in stream order: 1, 0 at the end, or a negative errno
 * (reason in dw_session_reader_error). */
int dw_session_reader_next(struct dw_session_reader *r, struct dw_session_record *rec);
/* Back to the first record. */
void dw_session_reader_rewind(struct dw_session_reader *r);
const char *dw_session_reader_error(const struct dw_session_reader *r);

/* The small tables, read whole (valid until close). */
const struct dw_row_event *dw_session_reader_events(const struct dw_session_reader *r, size_t *n);
const struct dw_row_alert *dw_session_reader_alerts(const struct dw_session_reader *r, size_t *n);
const struct dw_row_stats *dw_session_reader_stats(const struct dw_session_reader *r, size_t *n);

/* The wire frame a record came from (header fields, payload), for replay:
 * SAMPLE, HELLO, STATUS and garment events. Returns the payload length, 0
 * when the record has no garment frame (host-side event), or -EBADMSG. */
int dw_session_record_payload(const struct dw_session_reader *r,
                              const struct dw_session_record *rec,
                              uint8_t *type, uint8_t *payload, size_t cap);
