/* `ductwatch-sim replay FILE.h5`: a recorded session back into the bytes the
 * garment sent (docs/storage.md, "Replay"). Every HELLO, SAMPLE, STATUS and
 * garment EVENT is re-encoded with its recorded device seq and device time,
 * in the order the stream delivered them. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "duration.h"
#include "dwtime.h"
#include "frame.h"
#include "garment_link.h"
#include "log.h"
#include "parse_num.h"
#include "replay.h"
#include "session_reader.h"

#define PROGRESS_NS 5000000000ull
#define DRAIN_MAX_NS 30000000000ull

static const char *prog = "ductwatch-sim replay";
static volatile sig_atomic_t stop;

struct replay {
    const char *file;
    double speed;            /* 0 = as fast as the reader takes it */
    bool loop;
    uint64_t from_us, to_us; /* elapsed device time; to_us 0 = end */
    const char *out;
    const char *pty_link;
    struct dw_garment_link link;
    bool sent_any;
    uint32_t last_seq;
    uint64_t last_t_us;
    uint64_t frames_out, answers;
    struct dw_session_reader *rd;
};

static void usage(void)
{
    printf(
"Usage: ductwatch-sim replay FILE.h5 [options]\n"
"Sends a recorded session again as the garment's serial byte stream: the same\n"
"frames with their original device seqs and times (see docs/storage.md).\n"
"\n"
"      --speed X        X times real time, by device time (default 1)\n"
"      --fast           as fast as the reader takes it\n"
"      --loop           start again at the end, until stopped\n"
"      --from T         start T (e.g. 90s, 2h) after the session start\n"
"      --to T           stop T after the session start\n"
"      --out pty|stdout|FILE  where the bytes go (default pty; prints\n"
"                       'pty: /dev/pts/N' as its first line)\n"
"      --pty-link PATH  keep a symlink PATH to the pty while it exists\n");
    dw_cli_usage_std(23, 0);
    printf(
"\n"
"A HELLO_REQUEST read from the pty is answered with the session's HELLO,\n"
"numbered like the last frame sent (a reader that had it sees a restart, not a\n"
"gap). A progress line goes to stderr every 5 s.\n");
}

static int parse_args(int argc, char **argv, struct replay *r)
{
    enum { O_SPEED = 256, O_FAST, O_LOOP, O_FROM, O_TO, O_OUT, O_PTY_LINK };
    static const struct option opts[] = {
        { "speed", required_argument, NULL, O_SPEED },
        { "fast", no_argument, NULL, O_FAST },
        { "loop", no_argument, NULL, O_LOOP },
        { "from", required_argument, NULL, O_FROM },
        { "to", required_argument, NULL, O_TO },
        { "out", required_argument, NULL, O_OUT },
        { "pty-link", required_argument, NULL, O_PTY_LINK },
        DW_CLI_LONGOPTS_VQH,
        { 0 },
    };
    int ch, level = DW_LOG_INFO;
    bool speed_set = false, fast = false;

    r->speed = 1.0;
    r->out = "pty";
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":vqh", opts, NULL)) != -1) {
        switch (ch) {
        case O_SPEED:
            if (dw_parse_double(optarg, 1e-3, 1e9, &r->speed) < 0)
                dw_usage_error(prog, "bad --speed '%s' (a number from 0.001 to 1e9)", optarg);
            speed_set = true;
            break;
        case O_FAST: fast = true; break;
        case O_LOOP: r->loop = true; break;
        case O_FROM:
            if (dw_duration_parse_us(optarg, &r->from_us) < 0)
                dw_usage_error(prog, "bad --from '%s' (a duration such as 90s or 2h)", optarg);
            break;
        case O_TO:
            if (dw_duration_parse_us(optarg, &r->to_us) < 0 || !r->to_us)
                dw_usage_error(prog, "bad --to '%s' (a duration such as 90s or 2h)", optarg);
            break;
        case O_OUT: r->out = optarg; break;
        case O_PTY_LINK: r->pty_link = optarg; break;
        default: dw_cli_std_option(prog, ch, argv, &level, usage);
        }
    }
    if (fast && speed_set)
        dw_usage_error(prog, "--speed and --fast exclude each other");
    if (fast)
        r->speed = 0;
    if (optind >= argc)
        dw_usage_error(prog, "which session file? (ductwatch-sim replay FILE.h5)");
    r->file = argv[optind++];
    dw_usage_no_operands(prog, argc, argv);
    if (r->to_us && r->to_us <= r->from_us)
        dw_usage_error(prog, "--to must be after --from");
    if (r->pty_link && strcmp(r->out, "pty"))
        dw_usage_error(prog, "--pty-link goes with --out pty");
    dw_log_set_level(level);
    return 0;
}

/* ---- output ---- */

static int send_frame(struct replay *r, uint8_t type, uint32_t seq, uint64_t t_us,
                      const uint8_t *payload, size_t len)
{
    uint8_t wire[DW_MAX_WIRE];
    ssize_t n = dw_frame_encode(type, seq, t_us, payload, len, wire, sizeof(wire));
    if (n < 0) {
        dw_err("%s: cannot encode a %s frame (seq %u): %s", r->file, dw_frame_type_name(type),
               seq, strerror((int)-n));
        return -1;
    }
    if (dw_garment_link_write(&r->link, wire, (size_t)n) < 0)
        return -1;
    r->sent_any = true;
    r->last_seq = seq;
    r->last_t_us = t_us;
    r->frames_out++;
    return 0;
}

static int send_delimiter(struct replay *r)
{
    static const uint8_t zero = 0;
    return dw_garment_link_write(&r->link, &zero, 1);
}

/* A HELLO_REQUEST is answered like a garment would, as the next frame; its
 * number repeats the last frame's so the recorded numbering goes on. */
static int answer_requests(struct replay *r)
{
    size_t len;
    const uint8_t *hello = dw_session_reader_hello_payload(r->rd, &len);
    if (!dw_garment_link_take_request(&r->link))
        return 0;
    if (!r->sent_any)
        return 0; /* the HELLO that starts the replay answers it */
    r->answers++;
    dw_debug("answering a HELLO_REQUEST");
    return send_frame(r, DW_FRAME_HELLO, r->last_seq, r->last_t_us, hello, len);
}

/* ---- the replay ---- */

static void progress(struct replay *r, const struct dw_session_record *rec, uint64_t total_us)
{
    char at[48], of[48];
    dw_duration_format(rec->elapsed_us, at, sizeof(at));
    dw_duration_format(total_us, of, sizeof(of));
    fprintf(stderr, "%s: %s of %s (%.1f%%), %llu frames, %llu bytes\n", prog, at, of,
            total_us ? 100.0 * (double)rec->elapsed_us / (double)total_us : 100.0,
            (unsigned long long)r->frames_out, (unsigned long long)r->link.bytes_out);
}

/* One pass over the file. 0 at the end, 1 when stopped, -1 on error. */
static int replay_once(struct replay *r, uint64_t total_us)
{
    struct dw_session_record rec;
    uint8_t payload[DW_MAX_PAYLOAD];
    uint64_t t0_ns = 0, next_progress = dw_now_monotonic_ns() + PROGRESS_NS;
    bool started = false, link_up = false;
    int e = 0;

    dw_session_reader_rewind(r->rd);
    while (!stop && (e = dw_session_reader_next(r->rd, &rec)) > 0) {
        uint8_t type = 0;
        int n;
        if (rec.elapsed_us < r->from_us)
            continue;
        if (r->to_us && rec.elapsed_us > r->to_us)
            break;
        if (rec.kind == DW_REC_EVENT) {
            char kind[DW_S_KIND + 1];
            dw_session_strget(kind, rec.event.kind, DW_S_KIND);
            /* The garment sends its lone 0x00 again when the link comes back. */
            if (!strcmp(kind, "link-up"))
                link_up = true;
        }
        n = dw_session_record_payload(r->rd, &rec, &type, payload, sizeof(payload));
        if (n < 0) {
            dw_warn("%s: record %llu cannot be re-encoded, skipped", r->file,
                    (unsigned long long)rec.order);
            continue;
        }
        if (!n && rec.kind == DW_REC_EVENT)
            continue; /* host-side event: nothing on the wire */
        if (r->speed > 0) {
            if (!started)
                t0_ns = dw_now_monotonic_ns();
            dw_sleep_until_monotonic(t0_ns + (uint64_t)((double)(rec.elapsed_us - r->from_us) *
                                                        1000.0 / r->speed), &stop);
            if (stop)
                break;
        }
        if (!started) {
            size_t hl;
            const uint8_t *hello = dw_session_reader_hello_payload(r->rd, &hl);
            started = true;
            if (send_delimiter(r) < 0)
                return -1;
            /* A replay that does not begin at a HELLO gets one first, numbered
             * just before the first frame. */
            if (type != DW_FRAME_HELLO &&
                send_frame(r, DW_FRAME_HELLO, rec.device_seq - 1, rec.t_device_us, hello, hl) < 0)
                return -1;
        } else if (type == DW_FRAME_HELLO && link_up) {
            if (send_delimiter(r) < 0)
                return -1;
        }
        if (type == DW_FRAME_HELLO)
            link_up = false;
        if (send_frame(r, type, rec.device_seq, rec.t_device_us, payload, (size_t)n) < 0)
            return -1;
        if (answer_requests(r) < 0)
            return -1;
        if (dw_now_monotonic_ns() >= next_progress) {
            progress(r, &rec, total_us);
            next_progress = dw_now_monotonic_ns() + PROGRESS_NS;
        }
    }
    if (e < 0 && !stop) {
        dw_err("%s", dw_session_reader_error(r->rd));
        return -1;
    }
    return stop ? 1 : 0;
}

/* Lets the reader take what is still in the pty before it goes away. */
static void drain_pty(struct replay *r)
{
    uint64_t until = dw_now_monotonic_ns() + DRAIN_MAX_NS;
    while (!stop && dw_now_monotonic_ns() < until && dw_garment_link_pending(&r->link) > 0) {
        dw_garment_link_wait_host(&r->link, 50);
        if (answer_requests(r) < 0)
            break;
    }
    usleep(200000);
}

int sim_replay_main(int argc, char **argv)
{
    struct replay r;
    char err[DW_SESSION_ERR_MAX];
    const struct dw_session_info *in;
    uint64_t total_us;
    int status = DW_EXIT_OK, e;

    memset(&r, 0, sizeof(r));
    dw_log_init("ductwatch-sim");
    parse_args(argc, argv, &r);
    if (dw_session_reader_open(&r.rd, r.file, err, sizeof(err)) < 0) {
        dw_err("replay: %s", err);
        return DW_EXIT_FAILURE;
    }
    in = dw_session_reader_info(r.rd);
    total_us = in->frames ? in->t_last_us - in->t_first_us : 0;
    if (!in->frames && !in->hellos) {
        dw_err("replay: %s holds no frames", r.file);
        dw_session_reader_close(r.rd);
        return DW_EXIT_FAILURE;
    }
    /* dw_install_stop_signals sets no SA_RESTART: a write blocked on a
     * full pty nobody reads must end. */
    dw_install_stop_signals(&stop);
    if (dw_garment_link_open(&r.link, r.out, r.pty_link, &stop) < 0) {
        dw_session_reader_close(r.rd);
        return DW_EXIT_FAILURE;
    }
    dw_info("replaying %s: device %s, %llu frames, %llu events", r.file, in->device_id,
            (unsigned long long)in->frames, (unsigned long long)in->events);
    do {
        e = replay_once(&r, total_us);
    } while (e == 0 && r.loop && !stop);
    if (e < 0)
        status = DW_EXIT_FAILURE;
    if (r.link.is_pty && e == 0)
        drain_pty(&r);
    dw_info("replay done: %llu frames, %llu bytes, %llu HELLO_REQUEST answered",
            (unsigned long long)r.frames_out, (unsigned long long)r.link.bytes_out,
            (unsigned long long)r.answers);
    dw_garment_link_close(&r.link);
    dw_session_reader_close(r.rd);
    return status;
}
