/* The bare libzmq baseline: one PUB process and one SUB process on the same
 * machine moving [topic, body] messages of a given size, with nothing of
 * ductwatch in between. Throughput mode sends --count messages as fast as
 * they go with unlimited high-water marks (so nothing is dropped) and
 * reports messages/s from the first send to the last receive; --rate paces
 * them and reports the one-way latency (send to receive, CLOCK_MONOTONIC,
 * which both processes share). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "benchutil.h"
#include "cli.h"
#include "dwtime.h"
#include "endpoint.h"
#include "frame.h"
#include "log.h"

static const char *prog = "zmq-bare";
static volatile sig_atomic_t stop;

#define TOPIC "frame.bench0001"
#define STAMP_BYTES 16

struct opts {
    uint64_t size, count;
    double rate; /* 0: throughput mode */
    const char *endpoint;
};

static void usage(void)
{
    printf(
"Usage: %s [--size BYTES] [--count N] [--rate HZ] [--endpoint EP]\n"
"The bare libzmq baseline for bench/run: a PUB process and a SUB process\n"
"moving [\"" TOPIC "\", BYTES-byte body] messages over EP.\n"
"\n"
"      --size BYTES   body size (default 130, a 16-zone frame.<dev> body)\n"
"      --count N      messages (default 1000000)\n"
"      --rate HZ      pace the messages and report one-way latency p50/p99\n"
"                     instead of throughput\n"
"      --endpoint EP  default ipc://RUN/bench-bare-PID\n"
"  -h, --help         this text\n"
"  -V, --version      print the version\n"
"\n"
"Prints what it measured and a 'json: {...}' line; exit 1 if any message\n"
"was lost.\n", prog);
}

static int subscriber(const struct opts *o)
{
    void *ctx = zmq_ctx_new();
    void *s = dw_zmq_socket(ctx, ZMQ_SUB);
    int zero = 0, rc = DW_EXIT_FAILURE, timeout = 5000;
    uint64_t *lat = NULL, got = 0, missing = 0, expect = 1, t_first_send = 0, t_last = 0;
    if (!s)
        goto out;
    if (o->rate > 0 && !(lat = calloc(o->count, sizeof(*lat))))
        goto out;
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof(zero));
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(s, o->endpoint) < 0) {
        dw_err("connect %s: %s", o->endpoint, zmq_strerror(zmq_errno()));
        goto out;
    }
    uint8_t body[65536];
    char topic[64];
    while (!stop && expect <= o->count) {
        if (zmq_recv(s, topic, sizeof(topic), 0) < 0)
            break; /* timeout: the rest is lost */
        int n = zmq_recv(s, body, sizeof(body), 0);
        uint64_t now = dw_now_monotonic_ns();
        if (n < STAMP_BYTES)
            break;
        uint64_t seq = dw_get_le64(body), sent = dw_get_le64(body + 8);
        if (seq < expect)
            continue;
        missing += seq - expect;
        expect = seq + 1;
        if (!t_first_send)
            t_first_send = sent;
        t_last = now;
        if (lat)
            lat[got] = now - sent;
        got++;
    }
    missing += o->count >= expect ? o->count - expect + 1 : 0;
    if (o->rate > 0) {
        double p50 = dw_bench_quantile(lat, got, 0.50) / 1e3;
        double p99 = dw_bench_quantile(lat, got, 0.99) / 1e3;
        printf("bare zmq latency: %" PRIu64 " messages of %" PRIu64 " B at %.0f Hz: "
               "p50 %.1f us, p99 %.1f us, lost %" PRIu64 "\n",
               got, o->size, o->rate, p50, p99, missing);
        dw_bench_result("\"bench\":\"zmq-latency\",\"size\":%" PRIu64 ",\"messages\":%" PRIu64
                        ",\"lost\":%" PRIu64 ",\"p50_us\":%.1f,\"p99_us\":%.1f",
                        o->size, got, missing, p50, p99);
    } else {
        double dt = (double)(t_last - t_first_send) * 1e-9;
        double mps = dt > 0 ? (double)got / dt : 0;
        printf("bare zmq throughput: %" PRIu64 " messages of %" PRIu64 " B in %.3f s: "
               "%.0f msg/s, %.1f MB/s, lost %" PRIu64 "\n",
               got, o->size, dt, mps, mps * (double)o->size / 1e6, missing);
        dw_bench_result("\"bench\":\"zmq-throughput\",\"size\":%" PRIu64 ",\"messages\":%" PRIu64
                        ",\"lost\":%" PRIu64 ",\"msg_per_s\":%.0f",
                        o->size, got, missing, mps);
    }
    rc = missing ? DW_EXIT_FAILURE : DW_EXIT_OK;
out:
    free(lat);
    if (s)
        zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}

/* Sends everything; the socket stays open (LINGER is 0) until the
 * subscriber has exited, so queued messages are not thrown away. */
static int publisher(const struct opts *o, void *s)
{
    int zero = 0;
    uint8_t body[65536] = { 0 };
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof(zero));
    if (zmq_bind(s, o->endpoint) < 0) {
        dw_err("bind %s: %s", o->endpoint, zmq_strerror(zmq_errno()));
        return DW_EXIT_FAILURE;
    }
    /* XPUB shows the subscription: nothing is sent before the subscriber
     * is there, so a lost message is a real loss. */
    zmq_pollitem_t pi = { s, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll(&pi, 1, 10000) <= 0) {
        dw_err("no subscriber within 10 s");
        return DW_EXIT_FAILURE;
    }
    char sub[64];
    zmq_recv(s, sub, sizeof(sub), 0);
    for (size_t i = STAMP_BYTES; i < o->size; i++)
        body[i] = (uint8_t)(i * 31);
    uint64_t t0 = dw_now_monotonic_ns();
    for (uint64_t i = 1; i <= o->count && !stop; i++) {
        if (o->rate > 0)
            dw_sleep_until_monotonic(t0 + (uint64_t)((double)(i - 1) * 1e9 / o->rate), &stop);
        dw_put_le64(body, i);
        dw_put_le64(body + 8, dw_now_monotonic_ns());
        if (zmq_send(s, TOPIC, strlen(TOPIC), ZMQ_SNDMORE) < 0 ||
            zmq_send(s, body, o->size, 0) < 0) {
            dw_err("send: %s", zmq_strerror(zmq_errno()));
            return DW_EXIT_FAILURE;
        }
    }
    return DW_EXIT_OK;
}

int main(int argc, char **argv)
{
    struct opts o = { .size = 130, .count = 1000000 };
    const struct dw_bench_opt opts[] = {
        DW_BENCH_OPT_U64("size", &o.size, STAMP_BYTES, 65536),
        DW_BENCH_OPT_U64("count", &o.count, 1, 100000000),
        DW_BENCH_OPT_DOUBLE("rate", &o.rate, 1, 1e7),
        DW_BENCH_OPT_STR("endpoint", &o.endpoint),
        { 0 },
    };
    char ipc[256];

    dw_log_init(prog);
    dw_bench_parse_args(prog, argc, argv, opts, usage);
    if (o.rate > 0 && o.count > 10000000)
        dw_usage_error(prog, "--rate keeps every latency: at most 10000000 messages");
    if (!o.endpoint) {
        char dir[200];
        if (dw_runtime_dir(dir, sizeof(dir)) < 0) {
            dw_err("no runtime directory");
            return DW_EXIT_FAILURE;
        }
        snprintf(ipc, sizeof(ipc), "ipc://%s/bench-bare-%d", dir, (int)getpid());
        o.endpoint = ipc;
    }
    dw_install_stop_signals(&stop);
    fflush(stdout);
    /* Fork before any libzmq context exists: contexts do not survive fork. */
    pid_t pid = fork();
    if (pid < 0) {
        dw_err("fork: %s", strerror(errno));
        return DW_EXIT_FAILURE;
    }
    if (pid == 0)
        _exit(subscriber(&o));
    void *ctx = zmq_ctx_new();
    void *s = dw_zmq_socket(ctx, ZMQ_XPUB);
    int rc = s ? publisher(&o, s) : DW_EXIT_FAILURE, st = 0;
    if (rc != DW_EXIT_OK)
        kill(pid, SIGTERM);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (s)
        zmq_close(s);
    zmq_ctx_term(ctx);
    if (!strncmp(o.endpoint, "ipc://", 6))
        unlink(o.endpoint + 6);
    if (rc == DW_EXIT_OK && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        rc = DW_EXIT_FAILURE;
    return rc;
}
