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
 * and two that read what the stream holds (--record given):
 *   fetch:  the batch phase's messages fetched by one bare pull consumer,
 *           explicit ack, 256 a fetch (the engine's ceiling for a worker);
 *   record: the bridge phase's messages taken by real ductwatch-record
 *           workers, one per partition (--nats --partition K), until every
 *           consumer has acked everything (acks follow the HDF5 flush).
 * bridge+record against batch+fetch is the whole fleet path against bare
 * libnats publish + fetch of the same messages.
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
#include <sys/stat.h>
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
    const char *url, *stream, *bridge, *dir, *record;
    uint64_t devices, seconds, rate, replicas, partitions;
};

static void usage(void)
{
    printf("Usage: %s --nats URL --bridge PATH --dir DIR [--record PATH] [--devices N] [--seconds S]\n"
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

/* A durable pull consumer on the whole stream: its subscription, or NULL. */
static natsSubscription *pull(jsCtx *js, const struct opts *o, const char *name)
{
    jsConsumerConfig cc;
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsSubscription *sub = NULL;
    jsConsumerConfig_Init(&cc);
    cc.Durable = name;
    cc.AckPolicy = js_AckExplicit;
    cc.MaxAckPending = 20000;
    cc.FilterSubject = "dw.p.>";
    if (js_AddConsumer(NULL, js, o->stream, &cc, NULL, &jerr) != NATS_OK)
        return NULL;
    jsSubOptions_Init(&so);
    so.Stream = o->stream;
    so.Consumer = name;
    if (js_PullSubscribe(&sub, js, "dw.p.>", name, NULL, &so, &jerr) != NATS_OK)
        return NULL;
    return sub;
}

/* Every message the stream holds, fetched and acked by a bare consumer:
 * seconds, or -1. */
static double bare_fetch(natsConnection *nc, const struct opts *o)
{
    jsCtx *js = js_open(nc, 4096);
    natsSubscription *sub = js ? pull(js, o, "bare") : NULL;
    int64_t want = js ? stored(js, o->stream) : -1, got = 0;
    uint64_t t0 = dw_now_monotonic_ns(), limit = t0 + 600000000000ull;
    jsErrCode jerr = 0;

    while (sub && got < want && dw_now_monotonic_ns() < limit) {
        natsMsgList l = { 0 };
        if (natsSubscription_Fetch(&l, sub, 256, 1000, &jerr) != NATS_OK)
            continue;
        for (int i = 0; i < l.Count; i++)
            natsMsg_Ack(l.Msgs[i], NULL);
        got += l.Count;
        natsMsgList_Destroy(&l);
    }
    double sec = (double)(dw_now_monotonic_ns() - t0) / 1e9;
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    if (!sub || got < want)
        fprintf(stderr, "%s: the bare fetch failed (%" PRId64 " of %" PRId64 ")\n", prog, got,
                want);
    return sub && got >= want ? sec : -1;
}

static pid_t start_record(const struct opts *o, unsigned k)
{
    char part[16], dir[600];
    pid_t pid;
    snprintf(part, sizeof(part), "%u", k);
    snprintf(dir, sizeof(dir), "%s/rec%u", o->dir, k);
    mkdir(dir, 0700);
    if ((pid = fork()) == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(o->record, o->record, "--nats", o->url, "--partition", part, "--stream",
              o->stream, "--dir", dir, "-q", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Whether consumer record-pK of every partition has acked everything. */
static bool records_done(jsCtx *js, const struct opts *o)
{
    for (unsigned k = 0; k < o->partitions; k++) {
        jsConsumerInfo *ci = NULL;
        jsErrCode jerr = 0;
        char name[32];
        bool done;
        snprintf(name, sizeof(name), "record-p%u", k);
        if (js_GetConsumerInfo(&ci, js, o->stream, name, NULL, &jerr) != NATS_OK)
            return false;
        done = ci->NumPending == 0 && ci->NumAckPending == 0;
        jsConsumerInfo_Destroy(ci);
        if (!done)
            return false;
    }
    return true;
}

/* What the bridge phase stored, taken by one ductwatch-record per
 * partition until every consumer acked it all: seconds, or -1. */
static double through_record(natsConnection *nc, const struct opts *o)
{
    jsCtx *js = js_open(nc, 4096);
    pid_t pids[1024];
    uint64_t t0 = dw_now_monotonic_ns(), limit = t0 + 600000000000ull;
    bool done = false;
    double sec;

    for (unsigned k = 0; k < o->partitions; k++)
        pids[k] = start_record(o, k);
    while (js && !(done = records_done(js, o)) && dw_now_monotonic_ns() < limit)
        nats_Sleep(20);
    sec = (double)(dw_now_monotonic_ns() - t0) / 1e9;
    for (unsigned k = 0; k < o->partitions; k++)
        if (pids[k] > 0) {
            kill(pids[k], SIGTERM);
            waitpid(pids[k], NULL, 0);
        }
    jsCtx_Destroy(js);
    if (!done)
        fprintf(stderr, "%s: the record workers did not ack everything\n", prog);
    return done ? sec : -1;
}

static void parse(int argc, char **argv, struct opts *o)
{
    const struct dw_bench_opt opts[] = {
        DW_BENCH_OPT_STR("nats", &o->url),
        DW_BENCH_OPT_STR("bridge", &o->bridge),
        DW_BENCH_OPT_STR("dir", &o->dir),
        DW_BENCH_OPT_STR("record", &o->record),
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
    double fps_frame, fps_batch, fps_bridge, t_fetch = 0, t_record = 0, frames;

    parse(argc, argv, &o);
    if (natsConnection_ConnectTo(&nc, o.url) != NATS_OK) {
        fprintf(stderr, "%s: cannot connect to %s\n", prog, o.url);
        return 1;
    }
    ctx = zmq_ctx_new();
    fps_frame = bare(nc, &o, false);
    fps_batch = bare(nc, &o, true);
    if (o.record && fps_batch > 0)
        t_fetch = bare_fetch(nc, &o);
    fps_bridge = through_bridge(nc, ctx, &o);
    if (o.record && fps_bridge > 0)
        t_record = through_record(nc, &o);
    zmq_ctx_term(ctx);
    natsConnection_Destroy(nc);
    nats_Close();
    if (fps_frame < 0 || fps_batch < 0 || fps_bridge < 0 || t_fetch < 0 || t_record < 0)
        return 1;
    frames = (double)o.devices * o.seconds * o.rate;
    /* the whole path against bare publish + fetch, phase times added; 0
     * without --record */
    double bare_pf = o.record ? frames / (frames / fps_batch + t_fetch) : 0;
    double path = o.record ? frames / (frames / fps_bridge + t_record) : 0;
    dw_bench_result("\"replicas\":%" PRIu64 ",\"devices\":%" PRIu64 ",\"frames\":%.0f,\"frame_fps\":%.0f,"
                    "\"batch_fps\":%.0f,\"bridge_fps\":%.0f,\"bridge_vs_batch\":%.3f,"
                    "\"batch_vs_frame\":%.2f,\"fetch_fps\":%.0f,\"record_fps\":%.0f,"
                    "\"bare_pub_fetch_fps\":%.0f,\"bridge_record_fps\":%.0f,"
                    "\"path_vs_bare\":%.3f", o.replicas, o.devices, frames, fps_frame, fps_batch,
                    fps_bridge, fps_bridge / fps_batch, fps_batch / fps_frame,
                    o.record ? frames / t_fetch : 0, o.record ? frames / t_record : 0, bare_pf,
                    path, o.record ? path / bare_pf : 0);
    return 0;
}
