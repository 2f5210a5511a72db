/* nats_bench: frames/s through ductwatch-bridge into JetStream, against
 * bare libnats publishes of the same messages in the same run (Debian has
 * no `nats bench`). docs/performance.md, "Across machines".
 *
 * Three phases on one stream (purged before each), the same frames each
 * time (DEVICES garments x SECONDS x RATE frames of 130 bytes):
 *   frame:  bare async JetStream publishes, one frame per message;
 *   batch:  bare async JetStream publishes, one garment-second per message
 *           (what the bridge sends: the engine's ceiling for the bridge);
 *   bridge: the frames as acquire publishes them on a ZeroMQ socket, read
 *           by a real ductwatch-bridge, until the stream holds them all.
 * Every publish has a Nats-Msg-Id and an ack, as the bridge's do.
 * Prints one "json: {...}" line (bench/lib). */
#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "benchutil.h"
#include "dwtime.h"
#include "endpoint.h"
#include "frame.h"
#include "frame_batch.h"
#include "msg_frame.h"
#include "partition.h"

static const char *prog = "nats_bench";

struct opts {
    const char *url, *stream, *bridge, *dir;
    uint64_t devices, seconds, rate, replicas, partitions;
};

static void usage(void)
{
    printf("Usage: %s --nats URL --bridge PATH --dir DIR [--devices N] [--seconds S]\n"
           "       [--rate HZ] [--replicas R] [--partitions P] [--stream NAME]\n"
           "Frames/s through ductwatch-bridge into JetStream and bare libnats publishes\n"
           "of the same messages; DIR holds the ZeroMQ endpoint. See docs/performance.md.\n",
           prog);
}

/* Frame body of device d at tick k (stream seq k + 1). */
static size_t frame(unsigned d, uint64_t k, uint64_t rate, uint8_t *out, size_t cap)
{
    uint8_t payload[128];
    ssize_t n = dw_bench_sample_payload(k, d, payload, sizeof(payload));
    struct dw_msg_frame f = {
        .version = DW_MSG_VERSION, .type = DW_FRAME_SAMPLE, .len = (uint16_t)n,
        .device_seq = (uint32_t)k, .seq = k + 1, .stream = 0xbe00000000ull + d,
        .t_device_us = k * 1000000 / rate, .t_host_ns = dw_now_realtime_ns(), .payload = payload,
    };
    return (size_t)dw_msg_frame_pack(&f, out, cap);
}

static jsCtx *js_open(natsConnection *nc, int64_t max_pending)
{
    jsOptions o;
    jsCtx *js = NULL;
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = max_pending;
    return natsConnection_JetStream(&js, nc, &o) == NATS_OK ? js : NULL;
}

static int stream_reset(jsCtx *js, const struct opts *o)
{
    jsStreamConfig cfg;
    jsErrCode jerr = 0;
    const char *subjects[] = { "dw.p.>" };
    js_DeleteStream(js, o->stream, NULL, &jerr);
    jsStreamConfig_Init(&cfg);
    cfg.Name = o->stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = o->replicas;
    return js_AddStream(NULL, js, &cfg, NULL, &jerr) == NATS_OK ? 0 : -EIO;
}

static int publish(jsCtx *js, const char *subject, const char *id, const void *p, size_t n)
{
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, p, (int)n);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
    /* a full window fails after StallWait (200 ms): try again, as the
     * bridge does (10 minutes at most) */
    for (int tries = 0; s == NATS_OK && tries < 3000; tries++)
        if ((s = js_PublishMsgAsync(js, &m, NULL)) == NATS_OK || s == NATS_INVALID_ARG)
            break;
        else
            s = NATS_OK;
    natsMsg_Destroy(m);
    return s == NATS_OK && m == NULL ? 0 : -EIO;
}

/* Bare publishes of every frame, one per message or one garment-second
 * per message: frames/s until the last ack. */
static double bare(natsConnection *nc, const struct opts *o, bool batched)
{
    jsCtx *js = js_open(nc, 4096);
    struct dw_frame_batch *b = calloc(o->devices, sizeof(*b));
    uint64_t ticks = (uint64_t)o->seconds * o->rate, t0, t1;
    uint8_t body[256];
    char subject[128], id[64], dev[32];
    int bad = !js || !b || stream_reset(js, o) < 0;

    t0 = dw_now_monotonic_ns();
    for (uint64_t k = 0; k < ticks && !bad; k++)
        for (unsigned d = 0; d < o->devices && !bad; d++) {
            size_t n = frame(d, k, o->rate, body, sizeof(body));
            snprintf(dev, sizeof(dev), "bench-%05u", d);
            dw_nats_subject(subject, sizeof(subject), dw_partition(dev, (unsigned)o->partitions),
                            "frame", dev);
            if (!batched) {
                snprintf(id, sizeof(id), "f-%u-%" PRIu64, d, k);
                bad = publish(js, subject, id, body, n) < 0;
                continue;
            }
            bad = dw_frame_batch_add(&b[d], body, n) < 0;
            if (!bad && k % o->rate == o->rate - 1) {
                snprintf(id, sizeof(id), "b-%u-%" PRIu64, d, k);
                bad = publish(js, subject, id, b[d].buf, b[d].len) < 0;
                dw_frame_batch_reset(&b[d]);
            }
        }
    if (!bad)
        bad = js_PublishAsyncComplete(js, NULL) != NATS_OK;
    t1 = dw_now_monotonic_ns();
    for (unsigned d = 0; b && d < o->devices; d++)
        dw_frame_batch_free(&b[d]);
    free(b);
    jsCtx_Destroy(js);
    if (bad)
        fprintf(stderr, "%s: bare %s publish failed: %s\n", prog, batched ? "batch" : "frame",
                nats_GetLastError(NULL));
    return bad ? -1 : (double)ticks * o->devices / ((double)(t1 - t0) / 1e9);
}

static pid_t start_bridge(const struct opts *o, const char *ep)
{
    char parts[16];
    pid_t pid = fork();
    snprintf(parts, sizeof(parts), "%" PRIu64, o->partitions);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(o->bridge, o->bridge, "--nats", o->url, "--sub", ep, "--stream", o->stream,
              "--partitions", parts, "--name", "bench", "-q", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Messages the stream holds, or -1. */
static int64_t stored(jsCtx *js, const char *stream)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    int64_t n;
    if (js_GetStreamInfo(&si, js, stream, NULL, &jerr) != NATS_OK)
        return -1;
    n = (int64_t)si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

/* Sends every frame (and one more tick that closes the last second) as
 * acquire would: [frame.<dev>, body]. */
static int feed(void *pub, const struct opts *o)
{
    uint8_t body[256];
    char topic[64];
    for (uint64_t k = 0; k <= (uint64_t)o->seconds * o->rate; k++)
        for (unsigned d = 0; d < o->devices; d++) {
            size_t n = frame(d, k, o->rate, body, sizeof(body));
            snprintf(topic, sizeof(topic), "frame.bench-%05u", d);
            if (zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE) < 0 ||
                zmq_send(pub, body, n, 0) < 0)
                return -errno;
        }
    return 0;
}

/* The bridge phase: frames/s from the first frame sent to the last
 * garment-second stored. */
static double through_bridge(natsConnection *nc, void *ctx, const struct opts *o)
{
    jsCtx *js = js_open(nc, 4096);
    char ep[512];
    void *pub = dw_zmq_socket(ctx, ZMQ_XPUB);
    int zero = 0, timeo = 20000, bad = !js || !pub || stream_reset(js, o) < 0;
    int64_t want = (int64_t)o->devices * o->seconds, end;
    uint8_t sub[64];
    uint64_t t0 = 0, t1 = 0;
    pid_t pid = -1;

    snprintf(ep, sizeof(ep), "ipc://%s/bench-pub", o->dir);
    if (!bad) {
        zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof(zero));
        zmq_setsockopt(pub, ZMQ_RCVTIMEO, &timeo, sizeof(timeo));
        bad = zmq_bind(pub, ep) < 0 || (pid = start_bridge(o, ep)) < 0 ||
              zmq_recv(pub, sub, sizeof(sub), 0) < 0; /* the bridge subscribed */
    }
    if (!bad) {
        t0 = dw_now_monotonic_ns();
        bad = feed(pub, o) < 0;
        end = (int64_t)(t0 / 1000000) + 600000;
        while (!bad && stored(js, o->stream) < want && (int64_t)(dw_now_monotonic_ns() / 1000000) < end)
            nats_Sleep(5);
        t1 = dw_now_monotonic_ns();
        bad = stored(js, o->stream) < want;
    }
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    dw_zmq_close(pub);
    jsCtx_Destroy(js);
    if (bad)
        fprintf(stderr, "%s: the bridge phase failed\n", prog);
    return bad ? -1 : (double)o->seconds * o->rate * o->devices / ((double)(t1 - t0) / 1e9);
}

static void parse(int argc, char **argv, struct opts *o)
{
    const struct dw_bench_opt opts[] = {
        DW_BENCH_OPT_STR("nats", &o->url),
        DW_BENCH_OPT_STR("bridge", &o->bridge),
        DW_BENCH_OPT_STR("dir", &o->dir),
        DW_BENCH_OPT_U64("devices", &o->devices, 1, 100000),
        DW_BENCH_OPT_U64("seconds", &o->seconds, 1, 3600),
        DW_BENCH_OPT_U64("rate", &o->rate, 1, 1000),
        DW_BENCH_OPT_U64("replicas", &o->replicas, 1, 5),
        DW_BENCH_OPT_U64("partitions", &o->partitions, 1, 1024),
        DW_BENCH_OPT_STR("stream", &o->stream),
        { 0 },
    };

    dw_bench_parse_args(prog, argc, argv, opts, usage);
    if (!o->url || !o->bridge || !o->dir) {
        fprintf(stderr, "%s: --nats, --bridge and --dir are needed\n", prog);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    struct opts o = { .stream = "DWBENCH", .devices = 100, .seconds = 10, .rate = 10,
                      .replicas = 1, .partitions = 4 };
    natsConnection *nc = NULL;
    void *ctx;
    double fps_frame, fps_batch, fps_bridge;

    parse(argc, argv, &o);
    if (natsConnection_ConnectTo(&nc, o.url) != NATS_OK) {
        fprintf(stderr, "%s: cannot connect to %s\n", prog, o.url);
        return 1;
    }
    ctx = zmq_ctx_new();
    fps_frame = bare(nc, &o, false);
    fps_batch = bare(nc, &o, true);
    fps_bridge = through_bridge(nc, ctx, &o);
    zmq_ctx_term(ctx);
    natsConnection_Destroy(nc);
    nats_Close();
    if (fps_frame < 0 || fps_batch < 0 || fps_bridge < 0)
        return 1;
    dw_bench_result("\"replicas\":%" PRIu64 ",\"devices\":%" PRIu64 ",\"frames\":%" PRIu64
                    ",\"frame_fps\":%.0f,\"batch_fps\":%.0f,\"bridge_fps\":%.0f,"
                    "\"bridge_vs_batch\":%.3f,\"batch_vs_frame\":%.2f", o.replicas, o.devices,
                    o.devices * o.seconds * o.rate, fps_frame, fps_batch, fps_bridge,
                    fps_bridge / fps_batch, fps_batch / fps_frame);
    return 0;
}
