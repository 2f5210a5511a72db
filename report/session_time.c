/* Session time across files and garment restarts (session_time.h). */
#include "session_time.h"

uint64_t dw_session_clock_at(const struct dw_session_clock *c, uint64_t t_us)
{
    int64_t e = (int64_t)t_us + c->offset;
    return e > 0 ? (uint64_t)e : 0;
}

uint64_t dw_session_clock_step(struct dw_session_clock *c, const struct dw_session_record *rec)
{
    uint64_t t = rec->t_device_us;
    if (!c->have) {
        c->have = true;
        c->offset = -(int64_t)t;
        c->max_t_us = t;
    } else if (rec->has_device_seq && (int64_t)t + DW_RESTART_SLACK_US < (int64_t)c->max_t_us) {
        c->offset = (int64_t)dw_session_clock_at(c, c->max_t_us) + (int64_t)c->dt_us - (int64_t)t;
        c->max_t_us = t;
        c->epoch++;
    }
    if (rec->has_device_seq && t > c->max_t_us)
        c->max_t_us = t;
    return dw_session_clock_at(c, t);
}
