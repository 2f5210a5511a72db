/* Alert bodies (msg_alert.h) for people: the one-line form, counts. */
#include <stdio.h>
#include <string.h>
#include "duration.h"
#include "dwtime.h"
#include "livestate.h"
#include "termsafe.h"

void dw_alert_format(const struct dw_msg_alert *a, char *buf, size_t cap)
{
    char when[32] = "", dev[32] = "", where[64], line[1024];
    int n;

    if (a->t_host_ns) {
        dw_format_utc(a->t_host_ns, when, sizeof(when), 0);
    } else {
        snprintf(when, sizeof(when), "-");
    }
    dw_duration_format(a->t_device_us, dev, sizeof(dev));
    if (a->zone_name[0])
        snprintf(where, sizeof(where), "%s", a->zone_name);
    else if (a->side[0] && strcmp(a->side, "none"))
        snprintf(where, sizeof(where), "%s side", a->side);
    else
        snprintf(where, sizeof(where), "both sides");
    n = snprintf(line, sizeof(line), "%s [t+%s] %-2s %-7s %-5s %s: %s", when, dev,
                 a->level[0] ? a->level : "?", a->state[0] ? a->state : "?",
                 a->rule[0] ? a->rule : "?", where, a->message);
    /* Every field comes from the publisher: no control character reaches
     * the terminal. */
    if (cap)
        dw_term_safe(line, n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1,
                     buf, cap);
}

void dw_alert_count(struct dw_alert_counts *c, const struct dw_msg_alert *a)
{
    struct dw_alert_count *e = NULL;
    for (unsigned i = 0; i < c->n; i++)
        if (!strcmp(c->c[i].rule, a->rule) && !strcmp(c->c[i].level, a->level))
            e = &c->c[i];
    if (!e) {
        if (c->n >= DW_LIVE_MAX_COUNTS)
            return;
        e = &c->c[c->n++];
        memset(e, 0, sizeof(*e));
        snprintf(e->rule, sizeof(e->rule), "%s", a->rule);
        snprintf(e->level, sizeof(e->level), "%s", a->level);
    }
    if (!strcmp(a->state, "raised"))
        e->raised++;
    else if (!strcmp(a->state, "cleared"))
        e->cleared++;
    else
        e->updated++;
}
