/* Test helper: the synthetic garment of synth.c as a raw byte stream
 * (--out FILE, like ductwatch-sim --out) or as an acquisition-like ZeroMQ
 * stream (--pub EP: frame.<dev> and event.<dev> messages with one stream
 * sequence). Scenario "warm": 30 h healthy, then zone 10 (right) 1.6 C
 * warmer; "healthy": no anomaly. --hours N (36), --rate HZ (1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "dwtime.h"
#include "endpoint.h"
#include "msg.h"
#include "synth.h"

#define H_US 3600000000ULL

struct pubctx {
    void *sock;
    uint64_t seq, stream;
    struct dw_decoder dec;
    FILE *out;
};

static void on_frame(const struct dw_frame *f, void *u)
{
    struct pubctx *p = u;
    char topic[DW_TOPIC_MAX];
    if (f->type == DW_FRAME_EVENT) {
        struct dw_event e;
        struct dw_msg_event m;
        if (dw_event_parse(f->payload, f->len, &e) < 0)
            return;
        memset(&m, 0, sizeof(m));
        m.seq = p->seq++;
        m.stream = p->stream;
        snprintf(m.device, sizeof(m.device), "synth01");
        m.t_device_us = f->t_device_us;
        m.t_host_ns = dw_now_realtime_ns();
        m.kind = e.kind;
        m.side = e.side;
        m.has_value = false;
        snprintf(m.source, sizeof(m.source), "garment");
        char *js = dw_msg_event_to_json(&m);
        dw_topic(topic, sizeof(topic), "event", "synth01");
        while (dw_zmq_send2(p->sock, topic, js, strlen(js)) == -EAGAIN)
            ;
        free(js);
        return;
    }
    struct dw_msg_frame m = {
        .version = DW_MSG_VERSION, .type = f->type, .len = f->len, .device_seq = f->seq,
        .seq = p->seq++, .stream = p->stream, .t_device_us = f->t_device_us,
        .t_host_ns = dw_now_realtime_ns(), .payload = f->payload,
    };
    uint8_t body[DW_MSG_FRAME_HDR + DW_MAX_PAYLOAD];
    ssize_t n = dw_msg_frame_pack(&m, body, sizeof(body));
    if (n < 0)
        return;
    dw_topic(topic, sizeof(topic), "frame", "synth01");
    while (dw_zmq_send2(p->sock, topic, body, (size_t)n) == -EAGAIN)
        zmq_poll(NULL, 0, 1);
}

static void on_bytes(const uint8_t *b, size_t n, void *u)
{
    struct pubctx *p = u;
    if (p->out)
        fwrite(b, 1, n, p->out);
    else
        dw_decoder_feed(&p->dec, b, n);
}

int main(int argc, char **argv)
{
    const char *pub = NULL, *out = NULL, *scenario = "warm";
    unsigned rate = 1, hours = 36;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--pub")) pub = argv[i + 1];
        else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
        else if (!strcmp(argv[i], "--scenario")) scenario = argv[i + 1];
        else if (!strcmp(argv[i], "--rate")) rate = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--hours")) hours = (unsigned)atoi(argv[i + 1]);
    }
    if (!pub == !out) {
        fprintf(stderr, "usage: synthgen --pub EP|--out FILE [--scenario warm|healthy]\n");
        return 2;
    }
    struct pubctx p = { 0 };
    void *ctx = NULL;
    if (out) {
        p.out = fopen(out, "wb");
        if (!p.out)
            return 1;
    } else {
        ctx = zmq_ctx_new();
        p.sock = dw_zmq_socket(ctx, ZMQ_XPUB);
        int hwm = 0;
        zmq_setsockopt(p.sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
        if (zmq_bind(p.sock, pub) < 0) {
            fprintf(stderr, "bind %s: %s\n", pub, zmq_strerror(zmq_errno()));
            return 1;
        }
        printf("pub: %s\n", pub);
        fflush(stdout);
        /* wait for the first subscription, so nothing is lost */
        zmq_pollitem_t pi = { p.sock, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&pi, 1, 20000) <= 0) {
            fprintf(stderr, "no subscriber\n");
            return 1;
        }
        char sb[256];
        zmq_recv(p.sock, sb, sizeof(sb), 0);
        p.stream = dw_now_realtime_ns();
        dw_decoder_init(&p.dec, on_frame, &p);
    }
    struct synth s;
    synth_init(&s, 7, rate ? rate : 1);
    if (!strcmp(scenario, "warm")) {
        synth_run_wire(&s, 30 * H_US, on_bytes, &p);
        s.warm[10] = 1.6;
        synth_run_wire(&s, (hours > 30 ? hours - 30 : 1) * H_US, on_bytes, &p);
    } else {
        synth_run_wire(&s, hours * H_US, on_bytes, &p);
    }
    if (p.out) {
        fclose(p.out);
    } else {
        zmq_poll(NULL, 0, 500); /* let the queue drain */
        zmq_close(p.sock);
        zmq_ctx_term(ctx);
    }
    return 0;
}
