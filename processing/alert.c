/* The rules table, the messages of docs/detection.md, and an alert's life:
 * raised, updated (level, zone, rule or the 7-day note), cleared. */
#include <stdio.h>
#include <string.h>
#include "detector_internal.h"
#include "layout.h"

static const struct dw_rule_info rules[DW_RULE_COUNT] = {
    [DW_RULE_T1] = { "T1", "Possible localized warmth", true, DW_L0 },
    [DW_RULE_T2] = { "T2", "Possible marked localized warmth", true, DW_L0 },
    [DW_RULE_F1] = { "F1", "Possible localized firmness", true, DW_L0 },
    [DW_RULE_FR] = { "F1-FR", "Possible firmness that a feed did not relieve", true, DW_L0 },
    [DW_RULE_P1] = { "P1", "The bra may be pressing here", false, DW_L0 },
    [DW_RULE_S1] = { "S1", "A sensor seems detached; please adjust the garment", false, DW_L0 },
    [DW_RULE_S2] = { "S2", "The garment seems to be off", false, DW_L0 },
    [DW_RULE_S3] = { "S3", "A sensor seems stuck (its reading does not change)", false, DW_L0 },
    [DW_RULE_S4] = { "S4", "A sensor reads out of range", false, DW_L0 },
    [DW_RULE_S5] = { "S5", "A heat or cold source seems to be on the skin here; readings "
                           "of this spot are paused for an hour. Did you use an ice or "
                           "heat pack? Please log it", false, DW_L0 },
    [DW_RULE_D1] = { "D1", "Possible blocked milk duct", true, DW_L1 },
    [DW_RULE_I1] = { "I1", "Possible inflammation (early mastitis)", true, DW_L1 },
    [DW_RULE_G1] = { "G1", "Possible fever: the whole breast area is warmer than usual. "
                           "Please measure your temperature with a thermometer and log it",
                     true, DW_L1 },
    [DW_RULE_G2] = { "G2", "Fever logged (38.0 C or more)", true, DW_L2 },
    [DW_RULE_G3] = { "G3", "High fever logged (38.5 C or more)", true, DW_L3 },
    [DW_RULE_E1] = { "E1", "Possible engorgement: both breasts are firmer than usual", true, DW_L1 },
    [DW_RULE_E2] = { "E2", "Possible engorgement that feeds are not relieving", true, DW_L2 },
    [DW_RULE_H1] = { "H1", " feels firmer; you may start the next feed on that side.",
                     false, DW_L0 },
};

const struct dw_rule_info *dw_det_rule(enum dw_rule rule)
{
    return &rules[rule];
}

const char *dw_alert_level_name(int level)
{
    static const char *const n[] = { "L0", "L1", "L2", "L3" };
    return level >= 0 && level <= 3 ? n[level] : "L?";
}

const char *dw_alert_state_name(int state)
{
    static const char *const n[] = { "raised", "updated", "cleared" };
    return state >= 0 && state <= 2 ? n[state] : "?";
}

static const char *advice(int level)
{
    switch (level) {
    case DW_L1:
        return "Feed on demand, no extra pumping; cold pack; a loose bra. Fever or no "
               "better in 2 days: get care.";
    case DW_L2:
        return "Please contact your breastfeeding clinic, midwife or GP within 24 hours.";
    case DW_L3:
        return "This likely needs a medical assessment today: contact your GP, midwife or "
               "urgent care now.";
    default:
        return "Noticed only; nothing to do now.";
    }
}

/* The longest message: a one-sided L1 finding at the longest place with
 * this note; the test builds it (test_messages_fit). */
#define NOTE_7_DAYS " Over a week: other conditions can look like mastitis; get checked."

size_t dw_det_message(char *buf, size_t cap, enum dw_rule rule, int level, int state,
                      const char *where, bool note)
{
    const struct dw_rule_info *r = &rules[rule];
    int n;
    if (state == DW_ALERT_CLEARED)
        n = snprintf(buf, cap, "No longer seen: %s%s%s.", r->id, where[0] ? " at " : "", where);
    else if (rule == DW_RULE_H1) /* the place leads: which breast to start with */
        n = snprintf(buf, cap, "Information: %s%s", where[0] ? where : "one breast", r->name);
    else
        n = snprintf(buf, cap, "%s%s%s. %s%s", r->name, where[0] ? " at " : "", where,
                     !r->clinical && level == DW_L0 ? "" : advice(level),
                     note ? NOTE_7_DAYS : "");
    return n < 0 ? 0 : (size_t)n;
}

/* "the left breast, upper-inner, inner ring", as the web page and the
 * report word it (the zone name "left upper-inner inner" read as a typo). */
void dw_det_where(const struct dw_hello *hello, int side, int zone, char *buf, size_t cap)
{
    if (zone >= 0 && (unsigned)zone < hello->n_zones) {
        const struct dw_zone_desc *z = &hello->zone[zone];
        snprintf(buf, cap, "the %s breast, %s, %s", dw_side_name(z->side),
                 dw_quadrant_name(z->quadrant), z->ring ? "outer ring" : "inner ring");
    } else if (side == DW_SIDE_LEFT || side == DW_SIDE_RIGHT)
        snprintf(buf, cap, "the %s breast", dw_side_name((unsigned)side));
    else
        buf[0] = 0;
}

/* One-sided clinical findings lasting beyond note_after carry the 7-day
 * note (whole-body rules have no side, so never). */
static bool episode_note(const struct dw_detector *d, const struct dw_device *dv,
                         enum dw_rule rule, int side, uint64_t t)
{
    if (!rules[rule].clinical || (side != DW_SIDE_LEFT && side != DW_SIDE_RIGHT))
        return false;
    const struct dw_breast *b = &dv->breast[side];
    return b->episode_open && t - b->episode_start_us >= d->c.note_after_us;
}

static void emit(struct dw_detector *d, struct dw_device *dv, const struct dw_handle *h,
                 int state, int side, struct dw_measure m, uint64_t t)
{
    const struct dw_rule_info *r = &rules[h->rule];
    char where[64], msg[DW_ALERT_MESSAGE_MAX];
    struct dw_alert a;
    memset(&a, 0, sizeof(a));
    a.device = dv->id;
    a.id = h->id;
    a.rule = r->id;
    a.level = h->level;
    a.state = state;
    a.side = side;
    a.zone = h->zone;
    if (h->zone >= 0 && (unsigned)h->zone < dv->n_zones)
        dw_zone_name(&dv->hello, (unsigned)h->zone, a.zone_name, sizeof(a.zone_name));
    a.value = m.value;
    a.threshold = m.threshold;
    a.t_device_us = t;
    a.clinical = r->clinical;
    dw_det_where(&dv->hello, side, h->zone, where, sizeof(where));
    dw_det_message(msg, sizeof(msg), h->rule, h->level, state, where,
                   state != DW_ALERT_CLEARED && episode_note(d, dv, h->rule, side, t));
    a.message = msg;
    dv->stats.alerts++;
    d->fn(&a, d->user);
}

/* Raises or updates (on a level, zone or rule change) the alert of h. */
void dw_det_alert_set(struct dw_detector *d, struct dw_device *dv, struct dw_handle *h,
                      enum dw_rule rule, int level, int side, int zone, struct dw_measure m,
                      uint64_t t)
{
    bool note = episode_note(d, dv, rule, side, t);
    if (!h->active) {
        h->active = true;
        h->id = ++dv->next_alert_id;
        h->level = level;
        h->zone = zone;
        h->rule = rule;
        h->side = side;
        h->since_us = t;
        h->noted = note;
        emit(d, dv, h, DW_ALERT_RAISED, side, m, t);
        return;
    }
    if (h->level != level || h->zone != zone || h->rule != rule || (note && !h->noted)) {
        h->noted |= note;
        h->level = level;
        h->zone = zone;
        h->rule = rule;
        h->side = side;
        emit(d, dv, h, DW_ALERT_UPDATED, side, m, t);
    }
}

void dw_det_alert_clear(struct dw_detector *d, struct dw_device *dv, struct dw_handle *h,
                        int side, struct dw_measure m, uint64_t t)
{
    if (!h->active)
        return;
    emit(d, dv, h, DW_ALERT_CLEARED, side, m, t);
    h->active = false;
}
