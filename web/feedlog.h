/* The feeding log the page shows and offers as CSV: the last hours of
 * feeds (start, side, duration, gap since the feed before), pumping,
 * thermometer readings and the other things a person logs, drawn from
 * the hub's events (live, and read from the session file after a
 * restart). A cancelled event and its cancel are left out. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hub.h"
#include "strbuf.h"

struct dw_feed_row {
    int kind;                  /* DW_EV_FEED_START (a feed), DW_EV_PUMP_START, or the event's */
    int side;
    uint64_t seq, order;
    uint64_t clock_ns;         /* when it started (dw_hub_event_clock_ns) */
    bool ended;
    uint64_t duration_s;       /* feeds and pumping that ended */
    bool has_gap;
    uint64_t gap_s;            /* feeds: since the previous feed started */
    bool has_value;
    double value;              /* thermometer: deg C */
    char text[DW_EVENT_TEXT_MAX + 1];
};

/* Rows of the last `hours` before now_ns (CLOCK_REALTIME), oldest first,
 * into a malloc'd array (*rows, free it); -ENOMEM. */
int dw_feedlog_rows(const struct dw_hub *h, const struct dw_hub_device *d, uint64_t now_ns,
                    unsigned hours, struct dw_feed_row **rows, size_t *n);
void dw_feedlog_json(const struct dw_feed_row *rows, size_t n, struct dw_strbuf *b);
/* One header line and a line per row; text a spreadsheet cannot take for
 * a formula. */
void dw_feedlog_csv(const struct dw_feed_row *rows, size_t n, struct dw_strbuf *b);
/* {"last_side", "last_clock_ns", "in_feed", "pumping", "suggest",
 *  "suggest_why", "hint_side"} (docs/web.md) */
void dw_feedlog_summary_json(const struct dw_hub *h, const struct dw_hub_device *d,
                             struct dw_strbuf *b);
