#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include "jsonw.h"
#include "msg_json.h"
#include "msg_stats.h"

#define STATS_FIELDS(X) \
    X(bytes) X(frames) X(crc_errors) X(length_errors) X(cobs_errors) X(version_errors) \
    X(resyncs) X(device_seq_gaps) X(frames_missing) X(reconnects) X(events_in) X(zmq_dropped)

/* Written as cJSON would print the same object (jsonw.h). */
char *dw_msg_stats_to_json(const struct dw_msg_stats *s)
{
    char buf[2048];
    struct dw_jsonw w;
    dw_msg_json_begin(&w, buf, sizeof(buf), s->seq, s->stream, s->device);
    dw_jsonw_u64(&w, "t_device_us", s->t_device_us);
    dw_jsonw_u64(&w, "t_host_ns", s->t_host_ns);
#define X(f) dw_jsonw_u64(&w, #f, s->f);
    STATS_FIELDS(X)
#undef X
    dw_jsonw_number(&w, "drift_ppm", isfinite(s->drift_ppm) ? s->drift_ppm : 0.0);
    dw_jsonw_bool(&w, "link_up", s->link_up);
    dw_jsonw_end(&w);
    return dw_jsonw_dup(&w);
}

int dw_msg_stats_parse(const char *json, size_t len, struct dw_msg_stats *s)
{
    struct dw_json_doc d;
    int r = -EBADMSG;
    memset(s, 0, sizeof(*s));
    if (dw_json_open(&d, json, len) < 0)
        return r;
    if (dw_json_field_u64(&d, "seq", &s->seq, true) || dw_json_field_u64(&d, "stream", &s->stream, false) ||
        dw_json_field_str(&d, "device", s->device, sizeof(s->device), false) ||
        dw_json_field_u64(&d, "t_device_us", &s->t_device_us, false) ||
        dw_json_field_u64(&d, "t_host_ns", &s->t_host_ns, false))
        goto out;
#define X(f) if (dw_json_field_u64(&d, #f, &s->f, false)) goto out;
    STATS_FIELDS(X)
#undef X
    const cJSON *dr = dw_json_get(&d, "drift_ppm");
    if (cJSON_IsNumber(dr))
        s->drift_ppm = dr->valuedouble;
    s->link_up = cJSON_IsTrue(dw_json_get(&d, "link_up"));
    r = 0;
out:
    dw_json_close(&d);
    return r;
}
