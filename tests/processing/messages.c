/* Enumerates the detector's messages for test_messages_fit and for the
 * storage test of the longest message (through detect-longest-message). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "detector_internal.h"
#include "layout.h"
#include "messages.h"

/* The highest level each rule escalates to (docs/detection.md). */
static int top_level(int rule)
{
    switch (rule) {
    case DW_RULE_F1: return DW_L2; /* F1 > 7 days */
    case DW_RULE_D1: case DW_RULE_I1: case DW_RULE_E1: case DW_RULE_E2:
    case DW_RULE_G1: case DW_RULE_G2: case DW_RULE_G3: return DW_L3;
    default: return DW_L0;
    }
}

/* Neither side nor zone, so never the note. */
static bool whole_body(int rule)
{
    return rule == DW_RULE_S2 || rule == DW_RULE_G1 || rule == DW_RULE_G2 ||
           rule == DW_RULE_G3 || rule == DW_RULE_E1 || rule == DW_RULE_E2;
}

static size_t one(int rule, int zone, int level, int state, int note, const struct dw_hello *h,
                  message_fn fn, void *u, char *longest, size_t cap, size_t best)
{
    char where[64], msg[2048];
    int side = zone >= 0 ? h->zone[zone].side : zone == -1 ? DW_SIDE_RIGHT : DW_SIDE_NONE;
    if (whole_body(rule) && zone != -2)
        return best;
    if (note && (side == DW_SIDE_NONE || !dw_det_rule(rule)->clinical))
        return best;
    dw_det_where(h, side, zone, where, sizeof(where));
    size_t n = dw_det_message(msg, sizeof(msg), (enum dw_rule)rule, level, state, where, note);
    fn(msg, n, u);
    if (n > best)
        snprintf(longest, cap, "%s", msg);
    return n > best ? n : best;
}

size_t messages_each(message_fn fn, void *u, char *longest, size_t cap)
{
    struct dw_hello h;
    size_t best = 0;
    dw_layout_default(&h, "synth01", "test", 10);
    for (int rule = 0; rule < DW_RULE_COUNT; rule++)
        for (int zone = -2; zone < (int)h.n_zones; zone++) /* -2: none, -1: a side */
            for (int level = dw_det_rule(rule)->step; level <= top_level(rule); level++)
                for (int state = DW_ALERT_RAISED; state <= DW_ALERT_CLEARED; state++)
                    for (int note = 0; note < 2; note++)
                        best = one(rule, zone, level, state, note, &h, fn, u, longest, cap, best);
    return best;
}
