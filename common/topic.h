/* ZeroMQ topics: "<kind>.<device>" (docs/messages.md section 1). */
#pragma once
#include <stddef.h>

#define DW_TOPIC_MAX 64

enum dw_topic_kind {
    DW_TOPIC_FRAME = 0, /* frame.<dev>: binary frame body (msg_frame.h) */
    DW_TOPIC_EVENT,     /* event.<dev>: event JSON (msg_event.h) */
    DW_TOPIC_STATS,     /* stats.<dev>: acquisition stats JSON (msg_stats.h) */
    DW_TOPIC_ALERT,     /* alert.<dev>: alert JSON (msg_alert.h) */
    DW_TOPIC_N
};

/* "frame", "event", "stats", "alert"; NULL for anything else. */
const char *dw_topic_kind_name(int kind);
/* Builds "kind.device" in buf; returns its length or -ENAMETOOLONG. */
int dw_topic(char *buf, size_t cap, const char *kind, const char *device);
/* Reads a topic of one of the four kinds (the length is honoured: ZeroMQ
 * topics are bytes, not C strings): returns its enum dw_topic_kind and
 * copies the device id (1..dcap-1 bytes, no NUL inside) into dev.
 * -ENOENT for another kind, -EBADMSG for a device part that is no valid
 * device id (device_id.h: it would name a file) or does not fit dcap. */
int dw_topic_parse(const char *topic, size_t len, char *dev, size_t dcap);
