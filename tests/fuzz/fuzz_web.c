/* Fuzz target for what ductwatch-web takes from the network and the
 * streams: HTTP requests as the API sees them (method, path, query,
 * cookie, Authorization, Origin, Content-Type, body: web/api.c), POST
 * bodies (web/evreq.c), and stream messages into the hub (web/hub.c).
 *
 * Input: first byte picks the mode: a request ('\n'-separated fields), a
 * run of stream messages (length-prefixed), or a POST body.
 * Besides memory safety: every JSON reply parses and a 4xx says why in
 * "error"; a forwarded event becomes a request acquisition reads back to
 * the same kind; every JSON text the hub gives the page parses. Plain
 * replay main(): fuzz_replay.c. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "evreq.h"
#include "hub.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define TOKEN "0123456789abcdef0123456789abcdef01234567"
#define FIELDS 8

struct query { const char *k[8], *v[8]; unsigned n; };

static const char *query_arg(const void *ctx, const char *key)
{
    const struct query *q = ctx;
    for (unsigned i = 0; i < q->n; i++)
        if (!strcmp(q->k[i], key))
            return q->v[i];
    return NULL;
}

/* "a=1&b=2" in place */
static void parse_query(char *s, struct query *q)
{
    q->n = 0;
    for (char *p = strtok(s, "&"); p && q->n < 8; p = strtok(NULL, "&")) {
        char *eq = strchr(p, '=');
        q->k[q->n] = p;
        q->v[q->n] = eq ? eq + 1 : "";
        if (eq)
            *eq = 0;
        q->n++;
    }
}

static void check_json(const char *text, size_t len, bool error)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    CHECK(o);
    if (error)
        CHECK(cJSON_IsString(cJSON_GetObjectItem(o, "error")));
    cJSON_Delete(o);
}

/* Every "data: " line of the page's stream text is JSON. */
static void check_sse(const struct dw_strbuf *out)
{
    const char *p = out->p;
    while (p && (p = strstr(p, "data: "))) {
        const char *e = strchr(p, '\n');
        CHECK(e);
        check_json(p + 6, (size_t)(e - p - 6), false);
        p = e;
    }
}

static void feed_hub(struct dw_hub *h)
{
    static const char *const msgs[][2] = {
        { "event.bra", "{\"seq\":1,\"stream\":7,\"device\":\"bra\",\"t_device_us\":5,\"t_host_ns\":9,"
                       "\"kind\":\"feed-start\",\"side\":\"left\",\"value\":null,\"source\":\"user\","
                       "\"text\":\"\"}" },
        { "alert.bra", "{\"seq\":1,\"stream\":8,\"device\":\"bra\",\"id\":3,\"rule\":\"D1\",\"level\":"
                       "\"L1\",\"state\":\"raised\",\"side\":\"left\",\"zone\":2,\"message\":\"m\"}" },
    };
    for (size_t i = 0; i < sizeof(msgs) / sizeof(*msgs); i++)
        dw_hub_handle(h, msgs[i][0], strlen(msgs[i][0]), (const uint8_t *)msgs[i][1],
                      strlen(msgs[i][1]));
}

static void request(char **f, unsigned n, struct dw_hub *h)
{
    static const unsigned char page[] = "<html></html>";
    const struct dw_web_file files[] = { { "/index.html", "text/html", page, 13 }, { 0 } };
    struct dw_web_api api = { .hub = h, .token = TOKEN, .files = files, .dir = "/nonexistent" };
    struct query qa;
    struct dw_web_resp r;
    char *body = n > 7 ? f[7] : "";

    parse_query(n > 2 ? f[2] : (char[]){ 0 }, &qa);
    struct dw_web_req q = {
        .method = f[0], .path = n > 1 ? f[1] : "/", .arg = query_arg, .arg_ctx = &qa,
        .cookie = n > 3 && f[3][0] ? f[3] : NULL, .authorization = n > 4 && f[4][0] ? f[4] : NULL,
        .origin = n > 5 && f[5][0] ? f[5] : NULL, .host = "127.0.0.1:8080",
        .content_type = n > 6 ? f[6] : NULL, .body = body, .body_len = strlen(body),
        .body_too_long = strlen(body) > DW_WEB_BODY_MAX,
    };
    dw_web_api_handle(&api, &q, &r);
    if (r.action == DW_WEB_REPLY) {
        CHECK(r.status >= 200 && r.status < 600);
        if (r.type && !strcmp(r.type, "application/json"))
            check_json(r.body, r.len, r.status >= 400);
    } else if (r.action == DW_WEB_FORWARD) {
        char out[1024];
        struct dw_msg_event e;
        ssize_t len = dw_web_evreq_to_acquire(&r.ev, out, sizeof(out));
        CHECK(len > 0);
        CHECK(dw_msg_event_parse_general(out, (size_t)len, &e, NULL) == 0 && e.kind == r.ev.kind);
    }
    dw_web_resp_free(&r);
}

/* Messages, each [topic length u8][topic][body length u16 LE][body]:
 * bodies are bytes (frame bodies are binary). */
static void message(const uint8_t *p, size_t len, struct dw_hub *h)
{
    struct dw_strbuf b;
    while (len >= 3) {
        size_t tl = p[0], bl;
        if (len < 1 + tl + 2)
            break;
        bl = (size_t)p[1 + tl] | (size_t)p[2 + tl] << 8;
        if (len < 3 + tl + bl)
            break;
        dw_hub_handle(h, (const char *)p + 1, tl, p + 3 + tl, bl);
        p += 3 + tl + bl;
        len -= 3 + tl + bl;
    }
    dw_hub_tick(h, 1000000000ull);
    check_sse(&h->out);
    dw_strbuf_init(&b);
    for (unsigned i = 0; i < dw_hub_count(h); i++) {
        dw_strbuf_reset(&b);
        dw_hub_json_state(h, dw_hub_at(h, i), &b);
        check_json(b.p, b.len, false);
    }
    dw_strbuf_reset(&b);
    dw_hub_json_events(h, NULL, 0, 100, &b);
    check_json(b.p, b.len, false);
    dw_strbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, *f[FIELDS];
    unsigned n = 0;
    struct dw_hub h;

    if (size < 1 || size > 16384)
        return 0;
    if (!(s = malloc(size))) /* the mode byte makes room for the NUL */
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    if (data[0] % 3 == 1 && dw_hub_init(&h) == 0) {
        feed_hub(&h);
        message(data + 1, size - 1, &h);
        dw_hub_fini(&h);
        free(s);
        return 0;
    }
    if (data[0] % 3 == 2) {
        struct dw_web_evreq r;
        const char *why = NULL;
        if (dw_web_evreq_parse(s, size - 1, &r, &why) < 0)
            CHECK(why);
        free(s);
        return 0;
    }
    for (char *p = s; p && n < FIELDS; n++) {
        f[n] = p;
        /* the last field (a body) keeps its newlines */
        if ((p = n + 1 < FIELDS ? strchr(p, '\n') : NULL))
            *p++ = 0;
    }
    if (dw_hub_init(&h) == 0) {
        feed_hub(&h);
        request(f, n, &h);
        dw_hub_fini(&h);
    }
    free(s);
    return 0;
}
