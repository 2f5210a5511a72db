/* Alert bodies for people: parsing, one-line form, counts. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "duration.h"
#include "dwtime.h"
#include "livestate.h"
#include "msg.h"
#include "termsafe.h"

static void copy_str(const cJSON *o, const char *k, char *buf, size_t cap)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsString(it))
        snprintf(buf, cap, "%s", it->valuestring);
    else if (cJSON_IsNumber(it))
        snprintf(buf, cap, "%.0f", it->valuedouble);
}

static bool get_num(const cJSON *o, const char *k, double *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return false;
    *v = it->valuedouble;
    return true;
}

int dw_alert_parse(const char *json, size_t len, struct dw_alert_info *a)
{
    cJSON *o = cJSON_ParseWithLength(json, len);
    double d;

    memset(a, 0, sizeof(*a));
    a->zone = -1;
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -EBADMSG;
    }
    copy_str(o, "device", a->device, sizeof(a->device));
    copy_str(o, "id", a->id, sizeof(a->id));
    copy_str(o, "rule", a->rule, sizeof(a->rule));
    copy_str(o, "level", a->level, sizeof(a->level));
    copy_str(o, "state", a->state, sizeof(a->state));
    copy_str(o, "side", a->side, sizeof(a->side));
    copy_str(o, "zone_name", a->zone_name, sizeof(a->zone_name));
    copy_str(o, "message", a->message, sizeof(a->message));
    if (get_num(o, "zone", &d) && d >= 0 && d < DW_MAX_ZONES)
        a->zone = (int)d;
    a->has_value = get_num(o, "value", &a->value);
    a->has_threshold = get_num(o, "threshold", &a->threshold);
    /* Out of range or not whole: left at 0 (a cast would be undefined). */
    if (dw_msg_json_u64(o, "t_device_us", &a->t_device_us) < 0)
        a->t_device_us = 0;
    if (dw_msg_json_u64(o, "t_host_ns", &a->t_host_ns) < 0)
        a->t_host_ns = 0;
    cJSON_Delete(o);
    return 0;
}

void dw_alert_format(const struct dw_alert_info *a, char *buf, size_t cap)
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

void dw_alert_count(struct dw_alert_counts *c, const struct dw_alert_info *a)
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
