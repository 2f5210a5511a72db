/* The garment wire protocol (docs/protocol.md is the specification).
 *
 * On the wire: COBS(header | payload | crc32c) followed by one 0x00.
 * Header, payload and CRC are little-endian. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cobs.h"

#define DW_PROTO_VERSION 1
#define DW_HDR_SIZE 16
#define DW_CRC_SIZE 4
#define DW_MAX_PAYLOAD 1024
#define DW_MAX_RAW (DW_HDR_SIZE + DW_MAX_PAYLOAD + DW_CRC_SIZE)
/* COBS of the largest frame plus its delimiter. */
#define DW_MAX_WIRE (DW_MAX_RAW + DW_MAX_RAW / 254 + 2)

#define DW_MAX_ZONES 64
#define DW_N_AMBIENT 2
#define DW_ID_LEN 16

enum dw_frame_type {
    DW_FRAME_HELLO = 1,
    DW_FRAME_SAMPLE = 2,
    DW_FRAME_EVENT = 3,
    DW_FRAME_STATUS = 4,
    DW_FRAME_HELLO_REQUEST = 5, /* host -> garment, empty payload */
};

/* Per-zone status bits in SAMPLE. */
enum {
    DW_ZS_TEMP_FAULT = 1 << 0,  /* thermistor open/short */
    DW_ZS_PRES_FAULT = 1 << 1,  /* taxel fault */
    DW_ZS_TEMP_RAIL = 1 << 2,   /* ADC at a rail */
    DW_ZS_PRES_SAT = 1 << 3,    /* pressure saturated */
};

/* Per-zone layout flags in HELLO. */
enum {
    DW_ZF_BAND = 1 << 0, /* under the band or a strap: garment pressure matters */
};

enum dw_side { DW_SIDE_LEFT = 0, DW_SIDE_RIGHT = 1, DW_SIDE_NONE = 2 };
enum dw_quadrant { DW_Q_UPPER_OUTER = 0, DW_Q_UPPER_INNER = 1,
                   DW_Q_LOWER_INNER = 2, DW_Q_LOWER_OUTER = 3 };
enum dw_ring { DW_RING_INNER = 0, DW_RING_OUTER = 1 };

struct dw_zone_desc {
    uint8_t side, quadrant, ring, mirror, flags;
};

struct dw_hello {
    char device_id[DW_ID_LEN + 1];  /* NUL-terminated */
    char firmware[DW_ID_LEN + 1];
    uint16_t sample_rate_hz;
    uint8_t n_zones;
    uint8_t n_ambient;
    uint32_t temp_scale;     /* millionths of a degree C per LSB */
    uint32_t pressure_scale; /* millionths of a kPa per LSB */
    uint32_t accel_scale;    /* millionths of a g per LSB */
    struct dw_zone_desc zone[DW_MAX_ZONES];
};

struct dw_sample {
    uint8_t n_zones;
    int16_t temp[DW_MAX_ZONES];
    uint16_t pressure[DW_MAX_ZONES];
    int16_t ambient[DW_N_AMBIENT];
    int16_t accel[3];
    uint8_t status[DW_MAX_ZONES];
};

enum dw_event_kind {
    DW_EV_FEED_START = 1,
    DW_EV_FEED_END = 2,
    DW_EV_THERMOMETER = 3, /* value: core temperature, milli-degrees C */
    DW_EV_ICE_PACK = 4,
    DW_EV_HEAT_PACK = 5,
    DW_EV_SHOWER = 6,
    DW_EV_GARMENT_ON = 7,
    DW_EV_GARMENT_OFF = 8,
    DW_EV_BUTTON = 9,
    DW_EV_SYMPTOM = 10,
    DW_EV_PUMP_START = 11,
    DW_EV_PUMP_END = 12,
    /* Host-side user kinds: accepted on the events endpoint, never on the
     * wire. cancel: value = stream seq of the event it cancels (an undo;
     * nothing is deleted); alert-seen: text = the alert id acknowledged. */
    DW_EV_CANCEL = 32,
    DW_EV_ALERT_SEEN = 33,
    /* Host-side only: never on the wire, published by acquisition. */
    DW_EV_LINK_DOWN = 64,
    DW_EV_LINK_UP = 65,
    DW_EV_GAP = 66,
};
#define DW_EVENT_TEXT_MAX 64

struct dw_event {
    uint8_t kind;
    uint8_t side;
    int32_t value; /* kind-specific, milli-units */
    char text[DW_EVENT_TEXT_MAX + 1];
};

struct dw_status {
    uint16_t battery_mv;
    uint8_t battery_pct;
    uint8_t flags; /* bit0 charging, bit1 low battery */
    int16_t mcu_temp_cc; /* centi-degrees C */
};

struct dw_frame {
    uint8_t version;
    uint8_t type;
    uint16_t len;         /* payload length */
    uint32_t seq;         /* device frame sequence, +1 per frame of any type */
    uint64_t t_device_us; /* device monotonic time */
    const uint8_t *payload; /* points into the decoder's buffer */
};

/* Defaults of the reference garment. */
#define DW_DEFAULT_ZONES 16
#define DW_DEFAULT_TEMP_SCALE 10000     /* 0.01 C */
#define DW_DEFAULT_PRESSURE_SCALE 1000  /* 0.001 kPa */
#define DW_DEFAULT_ACCEL_SCALE 1000     /* 0.001 g */

size_t dw_hello_payload_size(unsigned n_zones);
size_t dw_sample_payload_size(unsigned n_zones);
size_t dw_event_payload_size(const struct dw_event *ev);
#define DW_STATUS_PAYLOAD_SIZE 8

/* Payload packing: return the number of bytes written or a negative errno. */
ssize_t dw_hello_pack(const struct dw_hello *h, uint8_t *out, size_t cap);
ssize_t dw_sample_pack(const struct dw_sample *s, uint8_t *out, size_t cap);
ssize_t dw_event_pack(const struct dw_event *e, uint8_t *out, size_t cap);
ssize_t dw_status_pack(const struct dw_status *s, uint8_t *out, size_t cap);

/* Payload parsing: 0 or -EBADMSG (wrong size or absurd contents). */
int dw_hello_parse(const uint8_t *p, size_t len, struct dw_hello *h);
int dw_sample_parse(const uint8_t *p, size_t len, struct dw_sample *s);
int dw_event_parse(const uint8_t *p, size_t len, struct dw_event *e);
int dw_status_parse(const uint8_t *p, size_t len, struct dw_status *s);

/* Builds a whole wire frame (COBS + trailing 0x00) in out. Returns its
 * length or a negative errno. */
ssize_t dw_frame_encode(uint8_t type, uint32_t seq, uint64_t t_device_us,
                        const uint8_t *payload, size_t len,
                        uint8_t *out, size_t cap);

/* Streaming decoder: feed it any bytes; it calls back once per valid frame. */
struct dw_decoder_stats {
    uint64_t bytes;
    uint64_t frames;         /* valid frames delivered */
    uint64_t crc_errors;
    uint64_t length_errors;  /* too short, length field mismatch, oversize */
    uint64_t cobs_errors;    /* malformed stuffing */
    uint64_t version_errors; /* unknown protocol version or frame type */
    uint64_t resyncs;        /* times bytes were discarded up to a delimiter */
};

typedef void (*dw_frame_cb)(const struct dw_frame *f, void *user);

struct dw_decoder {
    /* A block that the end of an input cut, kept for the next one (a block
     * wholly inside an input is decoded from there). The slack lets the
     * COBS decoder read in whole pieces (dw_cobs_decode_block). */
    uint8_t buf[DW_MAX_WIRE + DW_COBS_SLACK];
    size_t fill;
    bool discarding;  /* overlong garbage: skip to the next delimiter */
    struct dw_decoder_stats st;
    dw_frame_cb cb;
    void *user;
    /* The decoded frame, where a delivered frame's payload points. */
    uint8_t raw[DW_MAX_WIRE + DW_COBS_SLACK];
};

void dw_decoder_init(struct dw_decoder *d, dw_frame_cb cb, void *user);
/* Empty blocks (consecutive delimiters) are ignored without counting. */
void dw_decoder_feed(struct dw_decoder *d, const uint8_t *data, size_t len);
/* Forget a partial frame (link went down). Counts it as a resync if any. */
void dw_decoder_reset(struct dw_decoder *d);
/* Decodes one complete COBS block (no delimiter). Exposed for tests/fuzzing.
 * Returns 0 and fills f, or a negative errno: -EBADMSG (COBS), -EMSGSIZE
 * (length), -EILSEQ (CRC), -EPROTO (version/type). */
int dw_frame_decode_block(uint8_t *block, size_t len, struct dw_frame *f);

const char *dw_frame_type_name(unsigned type);
const char *dw_event_kind_name(unsigned kind);
/* Returns the kind for a name such as "feed-start", or -1. */
int dw_event_kind_from_name(const char *name);
/* True for the kinds a garment may send in an EVENT frame (1..12). */
bool dw_event_kind_on_wire(unsigned kind);
/* True for the kinds whose value means something (a thermometer reading);
 * the garment sends 0 for the others (docs/protocol.md 3.3). */
bool dw_event_kind_has_value(unsigned kind);
const char *dw_side_name(unsigned side);
int dw_side_from_name(const char *name);

static inline void dw_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void dw_put_le32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void dw_put_le64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline uint16_t dw_get_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t dw_get_le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static inline uint64_t dw_get_le64(const uint8_t *p) { return (uint64_t)dw_get_le32(p) | (uint64_t)dw_get_le32(p + 4) << 32; }
