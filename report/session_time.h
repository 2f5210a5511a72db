/* Session time: the garment's clock since the first record, continued
 * across files and garment restarts (docs/report.md, "Time"). Used by the
 * report and by `ductwatch export`.
 *
 * A restart is a garment record more than DW_RESTART_SLACK_US behind the
 * latest one; smaller steps back are the garment stamping an event with the
 * moment it happened, and move nothing. (The session reader's elapsed_us
 * counts such a step twice: every feed event of processing's synthetic
 * garment, stamped ~10 s back, added ~10 s.) */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "session_reader.h"

#define DW_RESTART_SLACK_US 60000000ll

struct dw_session_clock {
    int64_t offset;             /* session time = device time + offset */
    uint64_t max_t_us;          /* latest garment time on this clock */
    uint64_t dt_us;             /* one sample period (set by the caller) */
    bool have;
    unsigned epoch;             /* garment clock restarts seen */
};

/* Session time of device time t_us on the clock as it is now. */
uint64_t dw_session_clock_at(const struct dw_session_clock *c, uint64_t t_us);
/* The record's session time, after noting a restart it reveals. */
uint64_t dw_session_clock_step(struct dw_session_clock *c, const struct dw_session_record *rec);
