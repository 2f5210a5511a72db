/* What `ductwatch run` and `ductwatch view` know about a live pipeline,
 * built from the messages they receive: the garment's layout and latest
 * sample, acquisition's stats, and the alerts (see docs/messages.md). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"
#include "msg.h"

#define DW_LIVE_MAX_ACTIVE 64
#define DW_LIVE_MAX_COUNTS 64

struct dw_alert_info {
    char device[DW_ID_LEN + 1];
    char id[48], rule[16], level[8], state[16], side[8], zone_name[48];
    char message[512];
    int zone;              /* -1 if none */
    bool has_value, has_threshold;
    double value, threshold;
    uint64_t t_device_us, t_host_ns;
};

/* Parses an alert JSON body; 0 or -EBADMSG. Missing fields stay empty. */
int dw_alert_parse(const char *json, size_t len, struct dw_alert_info *a);
/* One readable line (no newline): time, level, state, rule, where, message. */
void dw_alert_format(const struct dw_alert_info *a, char *buf, size_t cap);

/* Alert counts by rule and level (raised ones), for summaries. */
struct dw_alert_count { char rule[16], level[8]; unsigned raised, updated, cleared; };
struct dw_alert_counts { struct dw_alert_count c[DW_LIVE_MAX_COUNTS]; unsigned n; };
void dw_alert_count(struct dw_alert_counts *c, const struct dw_alert_info *a);

enum dw_live_kind { DW_LIVE_NONE = 0, DW_LIVE_FRAME, DW_LIVE_EVENT, DW_LIVE_STATS, DW_LIVE_ALERT };

struct dw_live {
    char device[DW_ID_LEN + 1];      /* the device shown (first seen) */
    bool any_device;                 /* take every device's messages */
    struct dw_seq_tracker acq, det;  /* duplicate drops (acquire replays) */
    bool have_hello, have_sample, have_stats;
    struct dw_hello hello;           /* default layout until a HELLO arrives */
    struct dw_sample sample;
    uint64_t sample_t_device_us, sample_t_host_ns;
    uint64_t frames_seen;
    struct dw_msg_stats stats;
    struct dw_msg_event last_event;
    bool have_event;
    struct dw_alert_info last_alert;
    struct dw_alert_info active[DW_LIVE_MAX_ACTIVE];
    unsigned n_active;
    struct dw_alert_counts counts;
    uint64_t alerts_seen;
};

void dw_live_init(struct dw_live *l);
/* Handles one [topic, body] message. Returns what it was (DW_LIVE_NONE for
 * duplicates, other devices and bodies that do not parse). */
enum dw_live_kind dw_live_handle(struct dw_live *l, const char *topic, size_t tlen,
                                 const uint8_t *body, size_t blen);
/* Receives every message waiting on a SUB socket and handles it; calls cb
 * for each handled one. Returns the number handled. */
typedef void (*dw_live_cb)(struct dw_live *l, enum dw_live_kind k, const uint8_t *body,
                           size_t len, void *user);
int dw_live_drain(struct dw_live *l, void *sub, dw_live_cb cb, void *user);
