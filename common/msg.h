/* ZeroMQ message bodies (docs/messages.md is the specification).
 *
 * Every message is two parts: [topic, body]. Topics are "frame.<device>",
 * "event.<device>", "stats.<device>" and "alert.<device>". Every body carries
 * its stream's id and 64-bit sequence number; one stream is one publisher's
 * messages for one device, all topics together. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "frame.h"
#include "msg_json.h"
#include "topic.h"

#define DW_MSG_VERSION 1
#define DW_MSG_FRAME_HDR 40

struct dw_msg_frame {
    uint8_t version;
    uint8_t type;          /* DW_FRAME_HELLO, _SAMPLE or _STATUS */
    uint16_t len;
    uint32_t device_seq;
    uint64_t seq;          /* stream sequence */
    uint64_t stream;       /* stream id */
    uint64_t t_device_us;
    uint64_t t_host_ns;
    const uint8_t *payload;
};

ssize_t dw_msg_frame_pack(const struct dw_msg_frame *m, uint8_t *out, size_t cap);
int dw_msg_frame_parse(const uint8_t *body, size_t len, struct dw_msg_frame *m);

/* Events: JSON bodies. */
struct dw_msg_event {
    uint64_t seq, stream;
    char device[DW_ID_LEN + 1];
    uint64_t t_device_us;
    uint64_t t_host_ns;
    int kind;          /* enum dw_event_kind */
    int side;          /* enum dw_side */
    bool has_value;
    double value;      /* in the kind's unit: degrees C for thermometer */
    uint64_t missing;  /* gap: frames missing; link-down: 0 */
    char source[16];   /* "garment", "user", "acquire" */
    char text[DW_EVENT_TEXT_MAX + 1];
};

/* Returns a malloc'd NUL-terminated JSON string, or NULL (errno set). */
char *dw_msg_event_to_json(const struct dw_msg_event *e);
/* 0, or -EBADMSG with a reason in *why (static string). */
int dw_msg_event_parse(const char *json, size_t len, struct dw_msg_event *e, const char **why);
/* The same through a cJSON tree, for any member order and spacing:
 * dw_msg_event_parse takes this path when the text is not exactly the form
 * acquire writes (exposed so that tests compare the two). */
int dw_msg_event_parse_general(const char *json, size_t len, struct dw_msg_event *e,
                               const char **why);

/* Acquisition stats: JSON bodies, published every few seconds. */
struct dw_msg_stats {
    uint64_t seq, stream;
    char device[DW_ID_LEN + 1];
    uint64_t t_device_us, t_host_ns;
    uint64_t bytes, frames, crc_errors, length_errors, cobs_errors, version_errors;
    uint64_t resyncs, device_seq_gaps, frames_missing, reconnects, events_in;
    uint64_t zmq_dropped; /* messages the publisher could not queue */
    double drift_ppm;
    bool link_up;
};

char *dw_msg_stats_to_json(const struct dw_msg_stats *s);
int dw_msg_stats_parse(const char *json, size_t len, struct dw_msg_stats *s);

struct cJSON;
/* Member key of a cJSON object as an unsigned 64-bit integer: 0, -ENOENT
 * (absent) or -EBADMSG (not a whole number in [0, 2^64)). cJSON holds
 * numbers as doubles, and converting one outside that range is undefined
 * behaviour in C: never cast a JSON number without this check. */
int dw_msg_json_u64(const struct cJSON *o, const char *key, uint64_t *v);

/* Splits a topic: *kind gets the part before the first dot (copied into
 * kind_buf), returns a pointer to the device id part or NULL. */
const char *dw_topic_split(const char *topic, size_t len, char *kind_buf, size_t kcap,
                           char *dev_buf, size_t dcap);

/* Sequence tracking on the subscriber side. */
struct dw_seq_tracker {
    bool started;
    uint64_t stream;
    uint64_t last;
    uint64_t received;   /* messages accepted */
    uint64_t gaps;       /* gap occurrences */
    uint64_t missing;    /* messages missing in total */
    uint64_t duplicates; /* replayed or repeated messages dropped */
    uint64_t restarts;   /* a new stream id appeared (publisher restarted) */
};

enum dw_seq_result { DW_SEQ_OK = 0, DW_SEQ_DUP = -1, DW_SEQ_RESTART = -2 };
/* Returns the number of messages missing before this one (>= 0; 0 = in
 * order), DW_SEQ_DUP (drop it: already seen) or DW_SEQ_RESTART (a new stream;
 * accept it). */
int64_t dw_seq_check(struct dw_seq_tracker *t, uint64_t stream, uint64_t seq);

/* The garment's device sequence as a subscriber of the acquire stream
 * follows it: SAMPLE, HELLO and STATUS frames carry their device seq, a
 * garment EVENT takes the next one, acquire's gap event skips the frames it
 * says are missing. A restarted acquire counts gaps only from its own first
 * frame on: the frames the killed one had read but not published, and the
 * frame a kill cut in two, fall between the two streams, and only a
 * subscriber that saw both can count them (dw_dseq_frame). */
struct dw_dseq {
    bool known;              /* next is the device seq of the next garment frame */
    uint32_t next;
    bool bridging;           /* a new stream began after a known one... */
    uint32_t bridge_from;    /* ...where the old one would have gone on */
    uint32_t bridge_known;   /* device seqs the new stream accounted before its first frame */
};
/* Every accepted message of the acquire stream: res is dw_seq_check's
 * result for it, seq its stream seq. A gap in the stream loses track; a
 * restart bridges, if this subscriber has the new stream from its start. */
void dw_dseq_message(struct dw_dseq *d, int64_t res, uint64_t seq);
/* A garment frame: returns the number of garment frames lost between the
 * last stream and this one when this is the new stream's first frame. */
uint32_t dw_dseq_frame(struct dw_dseq *d, uint32_t device_seq);
/* A garment EVENT: its device seq, or -1 when not known. */
int64_t dw_dseq_garment_event(struct dw_dseq *d);
/* Acquire's gap event: missing garment frames before the next one. */
void dw_dseq_gap(struct dw_dseq *d, uint64_t missing);
