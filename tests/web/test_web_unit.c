/* web/: the request checks, the token, the hub built from real message
 * bodies (the same bytes acquire and detect publish), the feeding log and
 * its CSV, the trend's warmth, and the API's answers to requests. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "api.h"
#include "auth.h"
#include "dwcmocka.h"
#include "evreq.h"
#include "feedlog.h"
#include "hub.h"
#include "layout.h"
#include "msg.h"
#include "msg_alert.h"
#include "notify.h"
#include "options.h"

#define DEV "bra-7"
#define STREAM 1764000000000000000ull
#define HOST_NS 1764000000123456789ull
#define TOKEN "0123456789abcdef0123456789abcdef01234567"

/* ---- POST bodies ---- */

static void test_evreq(void **state)
{
    static const struct { const char *body; const char *why; } cases[] = {
        { "{\"kind\":\"feed-start\",\"side\":\"left\",\"id\":\"a-1_B\"}", NULL },
        { "{\"kind\":\"thermometer\",\"value\":38.6}", NULL },
        { " {\"kind\":\"shower\"} \n", NULL },
        { "{\"kind\":\"cancel\",\"value\":9007199254740992,\"text\":\"feed-start\"}", NULL },
        { "{\"kind\":\"alert-seen\",\"text\":\"12\",\"side\":\"right\"}", NULL },
        { "{\"kind\":\"symptom\",\"text\":\"red patch\",\"device\":\"bra-7\"}", NULL },
        { "", "not a JSON object" },
        { "[]", "not a JSON object" },
        { "{\"kind\":\"shower\"}x", "bytes after" },
        { "{\"kind\":\"gap\"}", "kind" },
        { "{\"kind\":\"button\"}", "kind" },
        { "{\"kind\":7}", "kind" },
        { "{\"kind\":\"shower\",\"side\":\"up\"}", "side" },
        { "{\"kind\":\"thermometer\",\"value\":45.1}", "thermometer" },
        { "{\"kind\":\"thermometer\",\"value\":null}", "thermometer" },
        { "{\"kind\":\"cancel\",\"value\":0}", "cancel" },
        { "{\"kind\":\"cancel\",\"value\":9007199254740994}", "cancel" },
        { "{\"kind\":\"alert-seen\",\"text\":\"1a\"}", "alert-seen" },
        { "{\"kind\":\"symptom\"}", "symptom" },
        { "{\"kind\":\"shower\",\"value\":2}", "no \"value\"" },
        { "{\"kind\":\"shower\",\"id\":\"\"}", "id" },
        { "{\"kind\":\"shower\",\"device\":\"\"}", "device" },
        { "{\"kind\":\"shower\",\"text\":\"tab\\there\"}", "text" },
        { "{\"kind\":\"shower\",\"x\":1}", "unknown member" },
        { "{\"kind\":\"shower\",\"side\":\"left\",\"side\":\"left\"}", "twice" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct dw_web_evreq r;
        const char *why = NULL;
        int e = dw_web_evreq_parse(cases[i].body, strlen(cases[i].body), &r, &why);
        if (!cases[i].why) {
            assert_int_equal(e, 0);
            assert_null(why);
        } else {
            assert_int_equal(e, -EBADMSG);
            assert_non_null(strstr(why, cases[i].why));
        }
    }
}

static void test_evreq_to_acquire(void **state)
{
    const char *b = "{\"device\":\"bra-7\",\"kind\":\"thermometer\",\"value\":38.6,\"id\":\"t\"}";
    struct dw_web_evreq r;
    struct dw_msg_event e;
    char out[512];
    assert_int_equal(dw_web_evreq_parse(b, strlen(b), &r, NULL), 0);
    assert_string_equal(r.tap, "t");
    ssize_t n = dw_web_evreq_to_acquire(&r, out, sizeof(out));
    assert_true(n > 0);
    /* what acquire reads: the tap id stays here */
    assert_null(strstr(out, "\"id\""));
    assert_int_equal(dw_msg_event_parse_general(out, (size_t)n, &e, NULL), 0);
    assert_int_equal(e.kind, DW_EV_THERMOMETER);
    assert_true(e.has_value && e.value == 38.6);
    assert_string_equal(e.device, "bra-7");
    assert_int_equal(dw_web_evreq_to_acquire(&r, out, 10), -ENOBUFS);
}

/* ---- the token ---- */

static void test_token_file(void **state)
{
    char dir[] = "/tmp/dwweb-unit-XXXXXX", path[64], t1[DW_WEB_TOKEN_LEN + 1], t2[sizeof(t1)];
    struct stat st;
    bool created;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/tok", dir);
    assert_int_equal(dw_web_token_load(path, t1, &created), 0);
    assert_true(created && dw_web_token_valid(t1));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(dw_web_token_load(path, t2, &created), 0);
    assert_false(created);
    assert_string_equal(t1, t2);
    chmod(path, 0640);
    assert_int_equal(dw_web_token_load(path, t2, &created), -EPERM);
    FILE *f = fopen(path, "w");
    fputs("not a token\n", f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(dw_web_token_load(path, t2, &created), -EBADMSG);
    unlink(path);
    rmdir(dir);
}

static void test_auth(void **state)
{
    assert_int_equal(dw_web_auth_check(TOKEN, NULL, NULL), DW_WEB_AUTH_NONE);
    assert_int_equal(dw_web_auth_check(TOKEN, TOKEN, NULL), DW_WEB_AUTH_COOKIE);
    assert_int_equal(dw_web_auth_check(TOKEN, NULL, "Bearer " TOKEN), DW_WEB_AUTH_BEARER);
    assert_int_equal(dw_web_auth_check(TOKEN, TOKEN "0", "Bearer " TOKEN "0"), DW_WEB_AUTH_NONE);
    assert_int_equal(dw_web_auth_check(TOKEN, "", "Bearer"), DW_WEB_AUTH_NONE);
    assert_int_equal(dw_web_auth_check(TOKEN, NULL, "Basic " TOKEN), DW_WEB_AUTH_NONE);
    assert_true(dw_web_same_origin(DW_WEB_AUTH_COOKIE, "http://127.0.0.1:8080", "127.0.0.1:8080",
                                   false));
    assert_false(dw_web_same_origin(DW_WEB_AUTH_COOKIE, NULL, "127.0.0.1:8080", false));
    assert_false(dw_web_same_origin(DW_WEB_AUTH_COOKIE, "https://127.0.0.1:8080",
                                    "127.0.0.1:8080", false));
    assert_false(dw_web_same_origin(DW_WEB_AUTH_COOKIE, "http://127.0.0.1:8080",
                                    "127.0.0.1:8081", false));
    assert_false(dw_web_same_origin(DW_WEB_AUTH_COOKIE, "null", "127.0.0.1:8080", false));
    assert_true(dw_web_same_origin(DW_WEB_AUTH_BEARER, NULL, "127.0.0.1:8080", false));
    assert_false(dw_web_same_origin(DW_WEB_AUTH_BEARER, "http://evil", "127.0.0.1:8080", false));
    assert_false(dw_web_same_origin(DW_WEB_AUTH_NONE, NULL, NULL, false));
}

static void test_listen_parse(void **state)
{
    struct sockaddr_storage a;
    socklen_t n;
    bool lo;
    assert_int_equal(dw_web_listen_parse("127.0.0.1:8080", &a, &n, &lo), 0);
    assert_true(lo);
    assert_int_equal(dw_web_listen_parse("127.3.4.5:0", &a, &n, &lo), 0);
    assert_true(lo);
    assert_int_equal(dw_web_listen_parse("localhost:1", &a, &n, &lo), 0);
    assert_true(lo);
    assert_int_equal(dw_web_listen_parse("[::1]:8080", &a, &n, &lo), 0);
    assert_true(lo && a.ss_family == AF_INET6);
    assert_int_equal(dw_web_listen_parse("0.0.0.0:8080", &a, &n, &lo), 0);
    assert_false(lo);
    assert_int_equal(dw_web_listen_parse("[::]:8080", &a, &n, &lo), 0);
    assert_false(lo);
    const char *bad[] = { "", ":80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "host:80",
                          "[::1:80", "1.2.3:80", "127.0.0.1:8x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_int_equal(dw_web_listen_parse(bad[i], &a, &n, &lo), -EINVAL);
}

/* ---- --on-alert's command line: words, quotes, no shell ---- */

static void test_notify_words(void **state)
{
    struct dw_notify n;
    assert_int_equal(dw_notify_init(&n, "  /usr/bin/curl -d 'a b' \"c 'd'\" e\"f g\"h $HOME ", 1,
                                    0, 1), 0);
    const char *want[] = { "/usr/bin/curl", "-d", "a b", "c 'd'", "ef gh", "$HOME", NULL };
    for (unsigned i = 0; want[i]; i++)
        assert_string_equal(n.argv[i], want[i]);
    assert_null(n.argv[6]);
    dw_notify_fini(&n);
    assert_int_equal(dw_notify_init(&n, "   ", 1, 0, 1), -EINVAL);
    dw_notify_fini(&n);
    assert_int_equal(dw_notify_init(&n, "x 'open", 1, 0, 1), -EINVAL);
    dw_notify_fini(&n);
    assert_int_equal(dw_notify_level("L2"), 2);
    assert_int_equal(dw_notify_level("L4"), -1);
    assert_int_equal(dw_notify_level("L1x"), -1);
}

/* ---- the hub from message bodies ---- */

static uint64_t seq;

static void feed(struct dw_hub *h, const char *kind, const void *body, size_t len)
{
    char topic[64];
    snprintf(topic, sizeof(topic), "%s." DEV, kind);
    assert_int_equal(dw_hub_handle(h, topic, strlen(topic), body, len), 1);
}

static void frame(struct dw_hub *h, uint8_t type, const uint8_t *payload, size_t n, uint64_t t_us)
{
    uint8_t body[DW_MSG_FRAME_HDR + DW_MAX_PAYLOAD];
    struct dw_msg_frame m = { .version = DW_MSG_VERSION, .type = type, .len = (uint16_t)n,
                              .device_seq = (uint32_t)seq, .seq = ++seq, .stream = STREAM,
                              .t_device_us = t_us, .t_host_ns = HOST_NS + t_us * 1000,
                              .payload = payload };
    ssize_t bn = dw_msg_frame_pack(&m, body, sizeof(body));
    assert_true(bn > 0);
    feed(h, "frame", body, (size_t)bn);
}

static void hello(struct dw_hub *h)
{
    struct dw_hello hl;
    uint8_t p[DW_MAX_PAYLOAD];
    dw_layout_default(&hl, DEV, "fw-1", 10);
    frame(h, DW_FRAME_HELLO, p, (size_t)dw_hello_pack(&hl, p, sizeof(p)), 0);
}

/* Every zone at 34.00 C and 1.000 kPa, one zone warmer and firmer. */
static void sample(struct dw_hub *h, uint64_t t_us, int hot_zone, double dt, double dp)
{
    struct dw_sample s = { .n_zones = 16 };
    uint8_t p[DW_MAX_PAYLOAD];
    for (int z = 0; z < 16; z++) {
        s.temp[z] = (int16_t)lround((34.0 + (z == hot_zone ? dt : 0)) * 100);
        s.pressure[z] = (uint16_t)lround((1.0 + (z == hot_zone ? dp : 0)) * 1000);
    }
    s.ambient[0] = s.ambient[1] = 2500;
    frame(h, DW_FRAME_SAMPLE, p, (size_t)dw_sample_pack(&s, p, sizeof(p)), t_us);
}

static uint64_t event(struct dw_hub *h, const char *kind, const char *side, double value,
                      bool has_value, const char *text, uint64_t t_us)
{
    struct dw_msg_event e = { .seq = ++seq, .stream = STREAM, .t_device_us = t_us,
                              .t_host_ns = HOST_NS + t_us * 1000, .has_value = has_value,
                              .value = value };
    snprintf(e.device, sizeof(e.device), DEV);
    e.kind = dw_event_kind_from_name(kind);
    e.side = dw_side_from_name(side);
    snprintf(e.source, sizeof(e.source), "user");
    snprintf(e.text, sizeof(e.text), "%s", text);
    char *j = dw_msg_event_to_json(&e);
    feed(h, "event", j, strlen(j));
    free(j);
    return e.seq;
}

static void alert(struct dw_hub *h, uint64_t id, const char *rule, const char *level,
                  const char *state_, int zone, const char *side, uint64_t t_us)
{
    static uint64_t aseq;
    struct dw_msg_alert a = { .seq = ++aseq, .stream = STREAM + 1, .id = id, .zone = zone,
                              .t_device_us = t_us, .t_host_ns = HOST_NS };
    char j[DW_MSG_ALERT_JSON_MAX];
    snprintf(a.device, sizeof(a.device), DEV);
    snprintf(a.rule, sizeof(a.rule), "%s", rule);
    snprintf(a.level, sizeof(a.level), "%s", level);
    snprintf(a.state, sizeof(a.state), "%s", state_);
    snprintf(a.side, sizeof(a.side), "%s", side);
    snprintf(a.message, sizeof(a.message), "Possible %s \"quoted\"", rule);
    ssize_t n = dw_msg_alert_write(&a, j, sizeof(j));
    assert_true(n > 0);
    feed(h, "alert", j, (size_t)n);
}

static cJSON *parse(struct dw_strbuf *b)
{
    cJSON *o = cJSON_Parse(b->p);
    assert_non_null(o);
    return o;
}

struct notes { int calls; char prev[8], level[8]; };

static void on_alert(void *user, const struct dw_hub_device *d, const struct dw_msg_alert *a,
                     const char *prev, const uint8_t *body, size_t len)
{
    struct notes *n = user;
    n->calls++;
    snprintf(n->prev, sizeof(n->prev), "%s", prev);
    snprintf(n->level, sizeof(n->level), "%s", a->level);
    assert_non_null(memchr(body, '{', len));
}

static void test_hub_state(void **state)
{
    struct dw_hub h;
    struct dw_strbuf b;
    struct notes notes = { 0 };
    seq = 0;
    assert_int_equal(dw_hub_init(&h), 0);
    h.on_alert = on_alert;
    h.on_alert_user = &notes;
    dw_strbuf_init(&b);
    hello(&h);
    /* 30 minutes at 1 Hz: baselines learnt, then zone 3 warmer and firmer */
    for (uint64_t t = 0; t < 1800; t++)
        sample(&h, t * 1000000, -1, 0, 0);
    sample(&h, 1800 * 1000000ull, 3, 0.8, 0.5);
    struct dw_hub_device *d = dw_hub_find(&h, DEV);
    assert_non_null(d);
    dw_hub_json_state(&h, d, &b);
    cJSON *o = parse(&b), *v = cJSON_GetObjectItem(o, "values");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "zones")), 16);
    assert_float_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "t"), 3)->valuedouble, 34.8, 0.001);
    assert_float_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "warmth"), 3)->valuedouble, 0.8, 0.011);
    assert_float_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "warmth"), 2)->valuedouble, 0.0, 0.011);
    assert_float_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "firmness"), 3)->valuedouble, 1.5, 0.011);
    cJSON_Delete(o);

    /* alerts: raised, updated higher, acknowledged, cleared */
    alert(&h, 5, "D1", "L1", "raised", 3, "left", 1800000000);
    assert_int_equal(notes.calls, 1);
    assert_string_equal(notes.prev, "");
    alert(&h, 5, "D1", "L2", "updated", 3, "left", 1900000000);
    assert_string_equal(notes.prev, "L1");
    assert_int_equal(d->n_active, 1);
    assert_true(dw_hub_alert_pending(&h, DEV, 5));
    event(&h, "alert-seen", "left", 0, false, "5", 1950000000);
    assert_false(dw_hub_alert_pending(&h, DEV, 5));
    dw_strbuf_reset(&b);
    dw_hub_json_alerts(&h, d, 0, 100, &b);
    o = parse(&b);
    assert_int_equal(cJSON_GetArraySize(o), 2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 1), "acked")));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 1), "message")->valuestring,
                        "Possible D1 \"quoted\"");
    cJSON_Delete(o);
    alert(&h, 5, "D1", "L2", "cleared", 3, "left", 2000000000);
    assert_int_equal(d->n_active, 0);
    assert_false(dw_hub_alert_pending(&h, DEV, 5));

    /* the stream's own messages reach the page's stream text */
    assert_non_null(strstr(h.out.p, "event: alert\ndata: {"));
    dw_hub_tick(&h, 1000000000ull);
    assert_non_null(strstr(h.out.p, "event: values\ndata: {\"device\":\"" DEV "\""));
    dw_strbuf_reset(&h.out);
    dw_hub_tick(&h, 1000000001ull); /* nothing new */
    assert_int_equal(h.out.len, 0);
    dw_strbuf_free(&b);
    dw_hub_fini(&h);
}

/* Every zone at all_kpa, zone z at z_kpa (34 C everywhere). */
static void sample_p(struct dw_hub *h, uint64_t t_us, double all_kpa, int z, double z_kpa)
{
    struct dw_sample s = { .n_zones = 16 };
    uint8_t p[DW_MAX_PAYLOAD];
    for (int i = 0; i < 16; i++) {
        s.temp[i] = 3400;
        s.pressure[i] = (uint16_t)lround((i == z ? z_kpa : all_kpa) * 1000);
    }
    s.ambient[0] = s.ambient[1] = 2500;
    frame(h, DW_FRAME_SAMPLE, p, (size_t)dw_sample_pack(&s, p, sizeof(p)), t_us);
}

static double values_at(struct dw_hub *h, const char *key, int z)
{
    struct dw_strbuf b;
    dw_strbuf_init(&b);
    dw_hub_json_values(dw_hub_find(h, DEV), &b);
    cJSON *o = parse(&b);
    cJSON *x = cJSON_GetArrayItem(cJSON_GetObjectItem(o, key), z);
    double v = cJSON_IsNumber(x) ? x->valuedouble : NAN;
    cJSON_Delete(o);
    dw_strbuf_free(&b);
    return v;
}

/* Firmness is what the rules compare (R: pressure over the soft baseline
 * learnt after a feed), not the pressure over a plain median: three full
 * hours, a feed on the left, two soft hours, then zone 3 half firmer. */
static void test_hub_rules_colour(void **state)
{
    struct dw_hub h;
    const uint64_t M = 60000000ull, S10 = 10000000ull;
    uint64_t t = 0;
    seq = 0;
    assert_int_equal(dw_hub_init(&h), 0);
    hello(&h);
    for (; t < 180 * M; t += S10)
        sample_p(&h, t, 2.0, -1, 0);
    /* the detector has no R yet: the trend's ratio to the 24 h median */
    assert_float_equal(values_at(&h, "firmness", 3), 1.0, 0.011);
    event(&h, "feed-start", "left", 0, false, "", t);
    for (; t < 190 * M; t += S10)
        sample_p(&h, t, 1.0, -1, 0);
    event(&h, "feed-end", "left", 0, false, "", t);
    for (; t < 310 * M; t += S10)
        sample_p(&h, t, 1.0, -1, 0);
    for (; t <= 313 * M; t += S10)
        sample_p(&h, t, 1.0, 3, 1.5);
    struct dw_hub_device *d = dw_hub_find(&h, DEV);
    /* the plain median is still the firm hours' 2 kPa: 0.75, softer */
    assert_float_equal(dw_trend_firmness(d->trend, 3, d->p_kpa[3]), 0.75, 0.011);
    assert_float_equal(values_at(&h, "firmness", 3), 1.5, 0.011);
    /* a soft zone of the fed side: as soft as after the feed (the plain
     * median would say 0.5) */
    assert_float_equal(values_at(&h, "firmness", 0), 1.0, 0.011);
    /* the right side had no feed: no R there, the trend's ratio */
    assert_float_equal(values_at(&h, "firmness", 10), 0.5, 0.011);
    dw_hub_fini(&h);
}

static void test_feedlog(void **state)
{
    struct dw_hub h;
    struct dw_feed_row *rows;
    struct dw_strbuf b;
    size_t n;
    const uint64_t M = 60000000ull;
    seq = 0;
    assert_int_equal(dw_hub_init(&h), 0);
    dw_strbuf_init(&b);
    hello(&h);
    sample(&h, 0, -1, 0, 0);
    event(&h, "feed-start", "left", 0, false, "", 10 * M);
    event(&h, "feed-end", "left", 0, false, "", 28 * M);
    uint64_t mistaken = event(&h, "feed-start", "right", 0, false, "", 60 * M);
    event(&h, "cancel", "none", (double)mistaken, true, "feed-start", 60 * M + 5000000);
    event(&h, "feed-start", "right", 0, false, "", 160 * M);
    event(&h, "thermometer", "none", 38.6, true, "", 170 * M);
    event(&h, "symptom", "none", 0, false, "=1+2 \"x\"", 171 * M);
    event(&h, "pump-start", "none", 0, false, "", 200 * M);
    sample(&h, 300 * M, -1, 0, 0);
    struct dw_hub_device *d = dw_hub_find(&h, DEV);
    uint64_t now = HOST_NS + 300 * M * 1000;
    assert_int_equal(dw_feedlog_rows(&h, d, now, 48, &rows, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(rows[0].kind, DW_EV_FEED_START);
    assert_true(rows[0].ended);
    assert_int_equal(rows[0].duration_s, 18 * 60);
    assert_false(rows[0].has_gap);
    /* the cancelled feed is not there; the next one's gap is from the first */
    assert_int_equal(rows[1].kind, DW_EV_FEED_START);
    assert_int_equal(rows[1].side, DW_SIDE_RIGHT);
    assert_false(rows[1].ended);
    assert_true(rows[1].has_gap);
    assert_int_equal(rows[1].gap_s, 150 * 60);
    assert_int_equal(rows[2].kind, DW_EV_THERMOMETER);
    assert_true(rows[2].has_value && rows[2].value == 38.6);
    assert_int_equal(rows[4].kind, DW_EV_PUMP_START);
    dw_feedlog_csv(rows, n, &b);
    assert_non_null(strstr(b.p, "start_utc,kind,side,duration_min,gap_min,value_c,text\r\n"));
    assert_non_null(strstr(b.p, ",feed,left,18.0,,,\"\"\r\n"));
    assert_non_null(strstr(b.p, ",feed,right,,150.0,,\"\"\r\n"));
    assert_non_null(strstr(b.p, ",thermometer,none,,,38.6,\"\"\r\n"));
    assert_non_null(strstr(b.p, ",symptom,none,,,,\"'=1+2 \"\"x\"\"\"\r\n"));
    /* the last 2 h only: the pumping (100 min before) */
    free(rows);
    assert_int_equal(dw_feedlog_rows(&h, d, now, 2, &rows, &n), 0);
    assert_int_equal(n, 1);
    free(rows);
    dw_strbuf_reset(&b);
    dw_feedlog_summary_json(&h, d, &b);
    cJSON *o = parse(&b);
    assert_string_equal(cJSON_GetObjectItem(o, "last_side")->valuestring, "right");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "in_feed")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "pumping")));
    assert_string_equal(cJSON_GetObjectItem(o, "suggest")->valuestring, "left");
    cJSON_Delete(o);
    /* H1's hint wins over "the other side" */
    alert(&h, 9, "H1", "L0", "raised", -1, "right", 300 * M);
    dw_strbuf_reset(&b);
    dw_feedlog_summary_json(&h, d, &b);
    o = parse(&b);
    assert_string_equal(cJSON_GetObjectItem(o, "suggest")->valuestring, "right");
    assert_string_equal(cJSON_GetObjectItem(o, "suggest_why")->valuestring, "firmer");
    cJSON_Delete(o);
    dw_strbuf_free(&b);
    dw_hub_fini(&h);
}

/* ---- the API without sockets ---- */

static const char *no_args(const void *ctx, const char *key)
{
    const char *const *kv = ctx;
    for (; kv && kv[0]; kv += 2)
        if (!strcmp(kv[0], key))
            return kv[1];
    return NULL;
}

static unsigned call(const struct dw_web_api *api, const char *method, const char *path,
                     const char *const *args, const char *auth, const char *body,
                     struct dw_web_resp *r)
{
    struct dw_web_req q = { .method = method, .path = path, .arg = no_args, .arg_ctx = args,
                            .authorization = auth, .host = "127.0.0.1:1",
                            .content_type = "application/json", .body = body,
                            .body_len = body ? strlen(body) : 0 };
    dw_web_api_handle(api, &q, r);
    return r->status;
}

static void test_api_routes(void **state)
{
    static const unsigned char page[] = "<html>";
    const struct dw_web_file files[] = { { "/index.html", "text/html", page, 6 }, { 0 } };
    struct dw_hub h;
    struct dw_web_api api = { .hub = &h, .token = TOKEN, .files = files };
    struct dw_web_resp r;
    const char *bearer = "Bearer " TOKEN;
    const char *zone0[] = { "zone", "0", NULL }, *tok[] = { "token", TOKEN, NULL };
    const char *bad_since[] = { "since", "x", NULL };
    seq = 0;
    assert_int_equal(dw_hub_init(&h), 0);
    hello(&h);
    sample(&h, 0, -1, 0, 0);

    assert_int_equal(call(&api, "GET", "/", NULL, NULL, NULL, &r), 200);
    dw_web_resp_free(&r);
    assert_int_equal(call(&api, "GET", "/", tok, NULL, NULL, &r), 303);
    assert_true(r.set_cookie);
    assert_string_equal(r.location, "/");
    dw_web_resp_free(&r);
    assert_int_equal(call(&api, "GET", "/api/garments", NULL, NULL, NULL, &r), 401);
    assert_string_equal(r.body, "{\"error\":\"missing or wrong token\"}");
    dw_web_resp_free(&r);
    assert_int_equal(call(&api, "GET", "/api/garments", NULL, bearer, NULL, &r), 200);
    dw_web_resp_free(&r);
    assert_int_equal(call(&api, "GET", "/api/state/" DEV, NULL, bearer, NULL, &r), 200);
    dw_web_resp_free(&r);
    assert_int_equal(call(&api, "GET", "/api/state/x", NULL, bearer, NULL, &r), 404);
    dw_web_resp_free(&r);
    assert_int_equal(call(&api, "GET", "/api/trend/" DEV, zone0, bearer, NULL, &r), 200);
    dw_web_resp_free(&r);
    assert_int_equal(call(&api, "GET", "/api/events", bad_since, bearer, NULL, &r), 400);
    dw_web_resp_free(&r);
    assert_int_equal(call(&api, "DELETE", "/api/garments", NULL, bearer, NULL, &r), 405);
    dw_web_resp_free(&r);
    assert_int_equal(call(&api, "GET", "/api/stream", NULL, bearer, NULL, &r), 0);
    assert_int_equal(r.action, DW_WEB_STREAM);
    assert_int_equal(call(&api, "POST", "/api/events", NULL, bearer,
                          "{\"kind\":\"feed-start\",\"side\":\"left\"}", &r), 0);
    assert_int_equal(r.action, DW_WEB_FORWARD);
    assert_int_equal(r.ev.kind, DW_EV_FEED_START);
    assert_int_equal(call(&api, "POST", "/api/events", NULL, bearer, "{\"kind\":1}", &r), 400);
    dw_web_resp_free(&r);
    assert_int_equal(call(&api, "GET", "/api/sessions", NULL, bearer, NULL, &r), 200);
    assert_string_equal(r.body, "{\"sessions\":[]}");
    dw_web_resp_free(&r);
    /* no --dir: no reports */
    assert_int_equal(call(&api, "GET", "/sessions/a-20260101T000000Z.html", NULL, bearer, NULL,
                          &r), 404);
    dw_web_resp_free(&r);
    api.dir = "/nonexistent";
    assert_int_equal(call(&api, "GET", "/sessions/a-20260101T000000Z.html", NULL, bearer, NULL,
                          &r), 0);
    assert_int_equal(r.action, DW_WEB_REPORT);
    assert_string_equal(r.report, "a-20260101T000000Z.h5");
    assert_int_equal(call(&api, "GET", "/sessions/../x.html", NULL, bearer, NULL, &r), 404);
    dw_web_resp_free(&r);
    dw_hub_fini(&h);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evreq),
        cmocka_unit_test(test_evreq_to_acquire),
        cmocka_unit_test(test_token_file),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_listen_parse),
        cmocka_unit_test(test_notify_words),
        cmocka_unit_test(test_hub_state),
        cmocka_unit_test(test_hub_rules_colour),
        cmocka_unit_test(test_feedlog),
        cmocka_unit_test(test_api_routes),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
