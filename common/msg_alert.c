#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "jsonw.h"
#include "msg_alert.h"
#include "msg_json.h"

ssize_t dw_msg_alert_write(const struct dw_msg_alert *a, char *buf, size_t cap)
{
    struct dw_jsonw w;
    size_t len;

    dw_msg_json_begin(&w, buf, cap, a->seq, a->stream, a->device);
    dw_jsonw_u64(&w, "id", a->id);
    dw_jsonw_str(&w, "rule", a->rule);
    dw_jsonw_str(&w, "level", a->level);
    dw_jsonw_str(&w, "state", a->state);
    dw_jsonw_str(&w, "side", a->side);
    if (a->zone >= 0) {
        dw_jsonw_number(&w, "zone", a->zone);
        dw_jsonw_str(&w, "zone_name", a->zone_name);
    } else {
        dw_jsonw_null(&w, "zone");
        dw_jsonw_null(&w, "zone_name");
    }
    dw_jsonw_number(&w, "value", a->has_value && !isnan(a->value) ? a->value : 0);
    if (a->has_threshold)
        dw_jsonw_number(&w, "threshold", a->threshold);
    else
        dw_jsonw_null(&w, "threshold");
    dw_jsonw_u64(&w, "t_device_us", a->t_device_us);
    dw_jsonw_u64(&w, "t_host_ns", a->t_host_ns);
    dw_jsonw_str(&w, "ruleset_version", a->ruleset_version);
    dw_jsonw_bool(&w, "clinical", a->clinical);
    dw_jsonw_raw(&w, "params", a->params[0] ? a->params : "{}");
    dw_jsonw_str(&w, "message", a->message);
    dw_jsonw_end(&w);
    return dw_jsonw_text(&w, &len) ? (ssize_t)len : -ENOBUFS;
}

/* s into buf, cut at a UTF-8 character boundary when it does not fit. */
static void copy_cut(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
}

static void get_str(const struct dw_json_doc *d, const char *k, char *buf, size_t cap)
{
    const cJSON *it = dw_json_get(d, k);
    if (cJSON_IsString(it))
        copy_cut(buf, cap, it->valuestring);
}

static bool get_num(const struct dw_json_doc *d, const char *k, double *v)
{
    const cJSON *it = dw_json_get(d, k);
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return false;
    *v = it->valuedouble;
    return true;
}

/* The object as cJSON prints it; {} when there is none (or it is too
 * long to carry). */
static void get_params(const struct dw_json_doc *d, char *buf, size_t cap)
{
    const cJSON *it = dw_json_get(d, "params");
    if (!cJSON_IsObject(it) || !cJSON_PrintPreallocated((cJSON *)it, buf, (int)cap, 0))
        snprintf(buf, cap, "{}");
}

/* Every member but seq and stream, each optional. */
static void get_rest(const struct dw_json_doc *d, struct dw_msg_alert *a)
{
    double z;
    /* Out of range or not whole: left at 0, as when absent. */
    if (dw_json_u64(d, "id", &a->id) < 0)
        a->id = 0;
    if (dw_json_u64(d, "t_device_us", &a->t_device_us) < 0)
        a->t_device_us = 0;
    if (dw_json_u64(d, "t_host_ns", &a->t_host_ns) < 0)
        a->t_host_ns = 0;
    get_str(d, "device", a->device, sizeof(a->device));
    get_str(d, "rule", a->rule, sizeof(a->rule));
    get_str(d, "level", a->level, sizeof(a->level));
    get_str(d, "state", a->state, sizeof(a->state));
    get_str(d, "side", a->side, sizeof(a->side));
    get_str(d, "zone_name", a->zone_name, sizeof(a->zone_name));
    get_str(d, "ruleset_version", a->ruleset_version, sizeof(a->ruleset_version));
    get_str(d, "message", a->message, sizeof(a->message));
    if (get_num(d, "zone", &z) && z >= 0 && z < DW_MAX_ZONES)
        a->zone = (int)z;
    a->has_value = get_num(d, "value", &a->value);
    a->has_threshold = get_num(d, "threshold", &a->threshold);
    a->clinical = cJSON_IsTrue(dw_json_get(d, "clinical"));
    get_params(d, a->params, sizeof(a->params));
}

int dw_msg_alert_parse(const char *json, size_t len, struct dw_msg_alert *a, const char **why)
{
    struct dw_json_doc d;
    const char *reason = "not a JSON object";
    int r = -EBADMSG;

    memset(a, 0, sizeof(*a));
    a->zone = -1;
    if (dw_json_open(&d, json, len) < 0)
        goto out;
    reason = "bad or missing \"seq\", or a bad \"stream\"";
    if (dw_json_u64(&d, "seq", &a->seq) == 0 && dw_json_u64(&d, "stream", &a->stream) != -EBADMSG) {
        get_rest(&d, a);
        reason = NULL;
        r = 0;
    }
    dw_json_close(&d);
out:
    if (why)
        *why = reason;
    return r;
}
