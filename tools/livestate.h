/* What `ductwatch run`, `view` and `alerts` know about a live pipeline,
 * built from the messages they receive through the shared subscriber
 * (common/stream_sub.h): the garment's layout and latest sample,
 * acquisition's stats, and the alerts (see docs/messages.md). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"
#include "msg.h"
#include "msg_alert.h"
#include "stream_sub.h"

#define DW_LIVE_MAX_ACTIVE 64
#define DW_LIVE_MAX_COUNTS 64

/* One readable line (no newline): time, level, state, rule, where, message. */
void dw_alert_format(const struct dw_msg_alert *a, char *buf, size_t cap);

/* Alert counts by rule and level (raised ones), for summaries. */
struct dw_alert_count { char rule[16], level[8]; unsigned raised, updated, cleared; };
struct dw_alert_counts { struct dw_alert_count c[DW_LIVE_MAX_COUNTS]; unsigned n; };
void dw_alert_count(struct dw_alert_counts *c, const struct dw_msg_alert *a);

enum dw_live_kind { DW_LIVE_NONE = 0, DW_LIVE_FRAME, DW_LIVE_EVENT, DW_LIVE_STATS, DW_LIVE_ALERT };

struct dw_live;
/* Called for every message taken, while its body is still there. */
typedef void (*dw_live_cb)(struct dw_live *l, enum dw_live_kind k, const uint8_t *body,
                           size_t len, void *user);

struct dw_live {
    char device[DW_ID_LEN + 1];      /* the device shown (first seen) */
    bool any_device;                 /* take every device's messages */
    struct dw_stream_sub sub;        /* stream sequences and repeats, per device */
    bool have_hello, have_sample, have_stats;
    struct dw_hello hello;           /* default layout until a HELLO arrives */
    struct dw_sample sample;
    uint64_t sample_t_device_us, sample_t_host_ns;
    uint64_t frames_seen;
    struct dw_msg_stats stats;
    struct dw_msg_event last_event;
    bool have_event;
    struct dw_msg_alert last_alert;
    struct dw_msg_alert active[DW_LIVE_MAX_ACTIVE];
    unsigned n_active;
    struct dw_alert_counts counts;
    uint64_t alerts_seen;
    /* the message being handled */
    enum dw_live_kind kind;
    dw_live_cb cb;
    void *cb_user;
};

void dw_live_init(struct dw_live *l);
void dw_live_fini(struct dw_live *l);
/* Handles one [topic, body] message. Returns what it was (DW_LIVE_NONE for
 * duplicates, other devices and bodies that do not parse). */
enum dw_live_kind dw_live_handle(struct dw_live *l, const char *topic, size_t tlen,
                                 const uint8_t *body, size_t blen);
/* Receives every message waiting on a SUB socket and handles it; calls cb
 * for each one taken. Returns the number taken, or -errno. */
int dw_live_drain(struct dw_live *l, void *sub, dw_live_cb cb, void *user);
