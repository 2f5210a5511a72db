/* The many-garments load generator: publishes exactly what N acquisitions
 * would for N garments at --rate each, on one XPUB endpoint (as N
 * acquisitions behind the design's XSUB/XPUB proxy would appear): per
 * device a frame.<dev> HELLO first, then SAMPLEs, each with its own stream
 * id and stream sequence from 1 (docs/messages.md). Devices are spread
 * evenly over the sample period, and the send high-water mark is
 * acquisition's (100 000 per subscriber, dropping beyond), so a subscriber
 * that does not keep up loses messages and sees them as sequence gaps. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>
#include "benchutil.h"
#include "cli.h"
#include "dwtime.h"
#include "endpoint.h"
#include "log.h"
#include "msg.h"

static const char *prog = "loadgen";
static volatile sig_atomic_t stop;

struct opts {
    uint64_t devices, first, wait_subs, duration_us, linger_us;
    double rate;
    const char *pub, *start_file;
};

static void usage(void)
{
    printf(
"Usage: %s --pub EP --devices N [options]\n"
"Publishes frame.<dev> messages for N garments (ids gNNNNN) at HZ each, as N\n"
"acquisitions would: HELLO first, then SAMPLEs, one stream per device.\n"
"\n"
"      --pub EP              XPUB endpoint to bind (required)\n"
"      --devices N           garments (required)\n"
"      --first K             number of the first garment (default 0)\n"
"      --rate HZ             frames per second per garment (default 10)\n"
"      --duration D          how long to publish (default 10s)\n"
"      --wait-subscribers S  start once S subscriptions arrived (default 1)\n"
"      --start-file PATH     send the HELLOs, then wait until PATH exists\n"
"                            before the samples (to start many together)\n"
"      --linger D            keep the socket open this long at the end (2s)\n"
"  -h, --help                this text\n"
"  -V, --version             print the version\n"
"\n"
"Prints 'pub: EP' once bound, and at the end what it sent and a 'json:' line.\n",
        prog);
}

static int send_frame(void *s, const struct opts *o, uint64_t dev, uint64_t k, uint64_t stream0,
                      uint64_t *dropped)
{
    char id[DW_ID_LEN + 1], topic[DW_TOPIC_MAX];
    uint8_t p[DW_MAX_PAYLOAD], body[DW_MSG_FRAME_HDR + DW_MAX_PAYLOAD];
    snprintf(id, sizeof(id), "g%05" PRIu64, o->first + dev);
    ssize_t pl = k == 0 ? dw_bench_hello_payload(id, (unsigned)o->rate, p, sizeof(p))
                        : dw_bench_sample_payload(k, (unsigned)dev, p, sizeof(p));
    if (pl < 0)
        return (int)pl;
    struct dw_msg_frame m = {
        .version = DW_MSG_VERSION, .type = k == 0 ? DW_FRAME_HELLO : DW_FRAME_SAMPLE,
        .len = (uint16_t)pl, .device_seq = (uint32_t)k, .seq = k + 1,
        .stream = stream0 + (o->first + dev) * 1024, .t_device_us = 1000000 + (uint64_t)((double)k * 1e6 / o->rate),
        .t_host_ns = dw_now_realtime_ns(), .payload = p,
    };
    ssize_t n = dw_msg_frame_pack(&m, body, sizeof(body));
    if (n < 0 || dw_topic(topic, sizeof(topic), "frame", id) < 0)
        return -EINVAL;
    int rc = dw_zmq_send2(s, topic, body, (size_t)n);
    if (rc == -EAGAIN) {
        (*dropped)++;
        rc = 0;
    }
    return rc;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    const struct dw_bench_opt opts[] = {
        DW_BENCH_OPT_STR("pub", &o->pub),
        DW_BENCH_OPT_U64("devices", &o->devices, 1, 99999),
        DW_BENCH_OPT_U64("first", &o->first, 0, 99998),
        DW_BENCH_OPT_DOUBLE("rate", &o->rate, 0.1, 1000),
        DW_BENCH_OPT_DURATION("duration", &o->duration_us),
        DW_BENCH_OPT_U64("wait-subscribers", &o->wait_subs, 0, 1000),
        DW_BENCH_OPT_DURATION("linger", &o->linger_us),
        DW_BENCH_OPT_STR("start-file", &o->start_file),
        { 0 },
    };

    dw_bench_parse_args(prog, argc, argv, opts, usage);
    if (!o->pub || !o->devices)
        dw_usage_error(prog, "--pub and --devices are required");
    if (o->first + o->devices > 100000)
        dw_usage_error(prog, "garment numbers go up to 99999");
}

/* Waits for n subscriptions on the XPUB socket s (or a stop). */
static void wait_subscribers(void *s, uint64_t n)
{
    for (uint64_t got = 0; got < n && !stop;) {
        zmq_pollitem_t pi = { s, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&pi, 1, 200) > 0) {
            char sb[256];
            if (zmq_recv(s, sb, sizeof(sb), 0) > 0 && sb[0] == 1)
                got++;
        }
    }
    zmq_poll(NULL, 0, 200); /* the subscribers' other connections settle */
}

/* Sends every garment's frames at the rate asked: *sent frames (total when
 * all went), *el the seconds the samples took. -1 when a send failed. */
static int send_all(void *s, const struct opts *o, uint64_t total, uint64_t *sent,
                    uint64_t *dropped, double *el)
{
    uint64_t stream0 = dw_now_realtime_ns() & ~(uint64_t)0x3ffffff;
    uint64_t n = 0;

    /* Every garment's HELLO first, then (once the start file exists) the
     * samples: opening a session file per garment is start-up work that
     * the steady state should not be charged with. */
    for (; n < o->devices; n++, *sent = n)
        if (send_frame(s, o, n, 0, stream0, dropped) < 0)
            goto fail;
    while (o->start_file && !stop && access(o->start_file, F_OK) < 0)
        zmq_poll(NULL, 0, 10);
    uint64_t t0 = dw_now_monotonic_ns(), t_end = t0;
    double per_ns = o->rate * (double)o->devices * 1e-9;
    while (!stop && n < total) {
        uint64_t due = o->devices + (uint64_t)((double)(dw_now_monotonic_ns() - t0) * per_ns) + 1;
        if (due > total)
            due = total;
        for (; n < due; n++, *sent = n)
            if (send_frame(s, o, n % o->devices, n / o->devices, stream0, dropped) < 0)
                goto fail;
        t_end = dw_now_monotonic_ns();
        dw_sleep_until_monotonic(t0 + (uint64_t)((double)(due - o->devices) / per_ns), &stop);
    }
    *el = (double)(t_end - t0) * 1e-9;
    return 0;
fail:
    dw_err("send: %s", zmq_strerror(zmq_errno()));
    return -1;
}

int main(int argc, char **argv)
{
    struct opts o = { .rate = 10, .duration_us = 10000000, .wait_subs = 1, .linger_us = 2000000 };
    int rc = DW_EXIT_FAILURE;
    dw_log_init(prog);
    parse_args(argc, argv, &o);
    dw_install_stop_signals(&stop);

    void *ctx = zmq_ctx_new();
    void *s = dw_zmq_socket(ctx, ZMQ_XPUB);
    int hwm = 100000, one = 1;
    if (!s)
        goto out;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_XPUB_VERBOSE, &one, sizeof(one));
    if (zmq_bind(s, o.pub) < 0) {
        dw_err("bind %s: %s", o.pub, zmq_strerror(zmq_errno()));
        goto out;
    }
    printf("pub: %s\n", o.pub);
    fflush(stdout);
    wait_subscribers(s, o.wait_subs);

    uint64_t per_dev = (uint64_t)((double)o.duration_us * 1e-6 * o.rate) + 1; /* + HELLO */
    uint64_t total = per_dev * o.devices, sent = 0, dropped = 0;
    double el = 0;
    if (send_all(s, &o, total, &sent, &dropped, &el) < 0)
        goto out;
    dw_sleep_until_monotonic(dw_now_monotonic_ns() + o.linger_us * 1000, &stop);
    printf("loadgen: %" PRIu64 " garments, %" PRIu64 " frames (%" PRIu64 " per garment) in %.2f s:"
           " %.0f frames/s of %.0f asked, %" PRIu64 " refused by libzmq\n", o.devices, sent,
           per_dev, el, el > 0 ? (double)sent / el : 0, o.rate * (double)o.devices, dropped);
    dw_bench_result("\"bench\":\"loadgen\",\"devices\":%" PRIu64 ",\"frames\":%" PRIu64
                    ",\"per_device\":%" PRIu64 ",\"elapsed_s\":%.3f,\"achieved\":%.1f,"
                    "\"dropped\":%" PRIu64, o.devices, sent, per_dev, el,
                    el > 0 ? (double)sent / el : 0, dropped);
    rc = sent == total ? DW_EXIT_OK : DW_EXIT_FAILURE;
out:
    if (s)
        zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}
