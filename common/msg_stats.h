/* stats.<dev> bodies: acquisition's loss and health counters, JSON,
 * published every few seconds (docs/messages.md section 5). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"

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
