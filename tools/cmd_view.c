/* ductwatch view: both breasts laid out like the garment, refreshed in place
 * (ANSI home + clear, no curses: works over ssh and in tmux), or plain text
 * lines when stdout is not a terminal. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <zmq.h>
#include "cli.h"
#include "duration.h"
#include "dwtime.h"
#include "endpoint.h"
#include "layout.h"
#include "livestate.h"
#include "log.h"
#include "loop.h"
#include "parse_num.h"
#include "pipewatch.h"
#include "termsafe.h"
#include "tool.h"

static const char *prog = "ductwatch view";
static volatile sig_atomic_t stop;

#define WARM_C 0.5        /* above the breast's median: yellow */
#define HOT_C 1.0         /* red */
#define COOL_C (-1.0)     /* blue */
#define PRESSING_KPA 4.0  /* detection.md P1: magenta */

#define VIEW_EVENTS 4
/* acquire publishes stats every 2 s and frames at the garment's rate */
#define SILENCE_NS 8000000000ull

#define VIEW_MAX_SUBS 16

struct view {
    bool tty, color, once, no_color;
    int level;
    const char *eps[VIEW_MAX_SUBS];
    unsigned n_eps;
    char ep_acq[PATH_MAX + 16], ep_det[PATH_MAX + 16];
    struct dw_msg_event events[VIEW_EVENTS]; /* the latest, newest last */
    unsigned n_events;
    double interval_s, timeout_s;
    struct dw_live live;
    struct dw_pipewatch watch;
    char *buf;
    size_t len, cap;
};

/* --once: waiting for the first sample and what follows it. */
struct once {
    uint64_t start, first_sample, ready;
    bool quiet;             /* the last poll found nothing */
};

static void usage(void)
{
    printf(
"Usage: ductwatch view [--sub EP]... [--once] [--interval S] [--no-color]\n"
"Shows both breasts laid out like the garment -- per quadrant and ring each\n"
"zone's skin temperature and contact pressure -- with ambient temperature,\n"
"link state, loss counters, the latest events and the alerts raised since\n"
"the view started.\n"
"On a terminal it redraws in place; otherwise it prints plain text lines.\n"
"\n"
"  -s, --sub EP        publisher to follow (repeatable; default\n"
"                      ipc://RUN/acquire and ipc://RUN/detect)\n"
"  -1, --once          print one snapshot (after the first sample) and exit\n"
"  -i, --interval S    seconds between redraws (default 1)\n"
"  -t, --timeout S     with --once: give up after S seconds (default 10)\n"
"      --no-color      no colours on a terminal\n"
"  -v, --verbose       more log output\n"
"  -q, --quiet         errors only\n"
"  -h, --help          this text\n"
"\n"
"Colours: yellow/red = %.1f/%.1f C above that breast's median, blue = %.1f C\n"
"below, magenta = pressure >= %.1f kPa, '!' = a zone with an active alert.\n"
"Exit: 0, or 1 when --once saw no sample in time.\n",
        WARM_C, HOT_C, -COOL_C, PRESSING_KPA);
}

static void out(struct view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct view *v, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = v->cap - v->len;
        int n;
        va_start(ap, fmt);
        n = vsnprintf(v->buf + v->len, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            v->len += (size_t)n;
            return;
        }
        size_t ncap = v->cap * 2 + (size_t)n;
        char *nb = realloc(v->buf, ncap);
        if (!nb)
            return;
        v->buf = nb;
        v->cap = ncap;
    }
}

/* Text from the stream, escaped for the terminal (termsafe.h). */
static void out_text(struct view *v, const char *fmt, const char *s)
{
    char safe[4 * (DW_EVENT_TEXT_MAX + 1)];
    dw_term_safe(s, strlen(s), safe, sizeof(safe));
    out(v, fmt, safe);
}

static const char *sgr(struct view *v, const char *code)
{
    return v->color ? code : "";
}

static int zone_at(const struct dw_hello *h, unsigned side, unsigned q, unsigned ring)
{
    for (unsigned z = 0; z < h->n_zones; z++)
        if (h->zone[z].side == side && h->zone[z].quadrant == q && h->zone[z].ring == ring)
            return (int)z;
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double side_median(const struct dw_live *l, unsigned side)
{
    double t[DW_MAX_ZONES];
    unsigned n = 0;
    for (unsigned z = 0; z < l->hello.n_zones; z++)
        if (l->hello.zone[z].side == side && !(l->sample.status[z] & DW_ZS_TEMP_FAULT))
            t[n++] = dw_sample_temp_c(&l->hello, &l->sample, z);
    if (!n)
        return NAN;
    qsort(t, n, sizeof(*t), cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static bool zone_alerted(const struct dw_live *l, int z)
{
    for (unsigned i = 0; i < l->n_active; i++)
        if (l->active[i].zone == z)
            return true;
    return false;
}

/* One grid cell: "o 34.12C 1.20kPa" (17 visible columns). */
static void cell(struct view *v, int z, const char *ring, double median)
{
    const struct dw_live *l = &v->live;
    if (z < 0 || !l->have_sample) {
        out(v, "%-18s", z < 0 ? "" : "  --.--C  -.--kPa ");
        return;
    }
    double t = dw_sample_temp_c(&l->hello, &l->sample, (unsigned)z);
    double p = dw_sample_pressure_kpa(&l->hello, &l->sample, (unsigned)z);
    double d = t - median;
    const char *tc = d >= HOT_C ? "\033[1;31m" : d >= WARM_C ? "\033[33m"
                   : d <= COOL_C ? "\033[34m" : "";
    bool alert = zone_alerted(l, z);
    out(v, "%s%s%s", alert ? sgr(v, "\033[7m") : "", alert ? "!" : " ", ring);
    if (l->sample.status[z] & (DW_ZS_TEMP_FAULT | DW_ZS_TEMP_RAIL))
        out(v, " %6s ", "fault");
    else
        out(v, " %s%5.2fC%s", sgr(v, tc), t, *tc ? sgr(v, "\033[0m") : "");
    if (alert)
        out(v, "%s", sgr(v, "\033[7m"));
    if (l->sample.status[z] & DW_ZS_PRES_FAULT)
        out(v, " %7s", "fault");
    else
        out(v, " %s%4.2fkPa%s", p >= PRESSING_KPA ? sgr(v, "\033[35m") : "", p,
            p >= PRESSING_KPA ? sgr(v, "\033[0m") : "");
    out(v, "%s ", alert ? sgr(v, "\033[0m") : "");
}

/* Once the pipeline is gone, what the view shows is its last state. */
static void stopped_line(struct view *v, bool plain)
{
    char why[256];
    if (!v->watch.stopped)
        return;
    dw_pipewatch_describe(&v->watch, dw_now_monotonic_ns(), why, sizeof(why));
    out(v, "%s%s%s%s\n", plain ? "" : sgr(v, "\033[1;31m"), plain ? "" : "** ", why,
        plain ? "" : sgr(v, "\033[0m"));
}

/* The loss counters of the header, as printf's %llu takes them. */
struct loss {
    unsigned long long crc, length, cobs, resyncs, gaps, missing, reconnects, drops;
};

static struct loss loss_of(const struct dw_msg_stats *s)
{
    return (struct loss){
        .crc = s->crc_errors, .length = s->length_errors, .cobs = s->cobs_errors,
        .resyncs = s->resyncs, .gaps = s->device_seq_gaps, .missing = s->frames_missing,
        .reconnects = s->reconnects, .drops = s->zmq_dropped,
    };
}

static void header(struct view *v, bool plain)
{
    const struct dw_live *l = &v->live;
    const struct dw_msg_stats *s = &l->stats;
    const struct loss n = loss_of(s);
    char t[32], now[32], dev[4 * (DW_ID_LEN + 1)] = "-";
    if (l->device[0]) /* from the topic: no control character on the terminal */
        dw_term_safe(l->device, strlen(l->device), dev, sizeof(dev));
    dw_format_utc(dw_now_realtime_ns(), now, sizeof(now), 0);
    dw_duration_format(l->have_sample ? l->sample_t_device_us : s->t_device_us, t, sizeof(t));
    if (plain) {
        out(v, "device %s link %s t+%s at %s\n", dev,
            v->watch.stopped ? "stopped" : !l->have_stats ? "unknown"
                                         : s->link_up ? "up" : "down", t, now);
        stopped_line(v, true);
        out(v, "loss crc %llu length %llu cobs %llu resyncs %llu seq_gaps %llu missing %llu "
            "reconnects %llu zmq_drops %llu\n", n.crc, n.length, n.cobs, n.resyncs, n.gaps,
            n.missing, n.reconnects, n.drops);
        return;
    }
    bool bad = v->watch.stopped || (l->have_stats && !s->link_up);
    out(v, "%sductwatch view%s  %s  link %s%s%s  t+%s  %s\n", sgr(v, "\033[1m"),
        sgr(v, "\033[0m"), dev, bad ? sgr(v, "\033[1;31m") : "",
        v->watch.stopped ? "STOPPED" : !l->have_stats ? "?" : s->link_up ? "up" : "DOWN",
        bad ? sgr(v, "\033[0m") : "", t, now + 11); /* the time of day */
    stopped_line(v, false);
    out(v, "loss: crc %llu len %llu cobs %llu  seq gaps %llu (missing %llu)  "
        "reconnects %llu  drops %llu\n", n.crc, n.length, n.cobs, n.gaps, n.missing,
        n.reconnects, n.drops);
}

static void alerts_block(struct view *v, bool plain)
{
    const struct dw_live *l = &v->live;
    char line[1024];
    if (!plain)
        out(v, "\nactive alerts: %u%s\n", l->n_active, l->n_active ? "" : " (since the view started)");
    for (unsigned i = 0; i < l->n_active; i++) {
        dw_alert_format(&l->active[i], line, sizeof(line));
        if (plain)
            out(v, "alert %s\n", line);
        else
            out(v, "  %s%s%s\n", strcmp(l->active[i].level, "L2") >= 0 ? sgr(v, "\033[1;31m") : "",
                line, strcmp(l->active[i].level, "L2") >= 0 ? sgr(v, "\033[0m") : "");
    }
}

static void on_msg(struct dw_live *l, enum dw_live_kind k, const uint8_t *body, size_t len,
                   void *user)
{
    struct view *v = user;
    (void)body; (void)len;
    dw_pipewatch_heard(&v->watch, dw_now_monotonic_ns());
    if (k != DW_LIVE_EVENT)
        return;
    if (v->n_events == VIEW_EVENTS) {
        memmove(v->events, v->events + 1, sizeof(v->events[0]) * (VIEW_EVENTS - 1));
        v->n_events--;
    }
    v->events[v->n_events++] = l->last_event;
}

static void events_block(struct view *v, bool plain)
{
    char t[32];
    if (!plain && v->n_events)
        out(v, "\nlatest events:\n");
    for (unsigned i = 0; i < v->n_events; i++) {
        const struct dw_msg_event *e = &v->events[i];
        const char *kind = dw_event_kind_name((unsigned)e->kind);
        dw_duration_format(e->t_device_us, t, sizeof(t));
        out(v, "%st+%s %s", plain ? "event " : "  ", t, kind ? kind : "?");
        if (e->side != DW_SIDE_NONE)
            out(v, " %s", dw_side_name((unsigned)e->side));
        if (e->has_value)
            out(v, " %.2f", e->value);
        if (e->text[0])
            out_text(v, " \"%s\"", e->text);
        out_text(v, " (%s)\n", e->source[0] ? e->source : "acquire");
    }
}

static void render_plain(struct view *v)
{
    const struct dw_live *l = &v->live;
    char name[64];
    header(v, true);
    for (unsigned z = 0; l->have_sample && z < l->hello.n_zones; z++) {
        dw_zone_name(&l->hello, z, name, sizeof(name));
        out(v, "zone %u %s temperature %.2f C pressure %.3f kPa%s\n", z, name,
            dw_sample_temp_c(&l->hello, &l->sample, z),
            dw_sample_pressure_kpa(&l->hello, &l->sample, z),
            l->sample.status[z] ? " fault" : "");
    }
    if (l->have_sample)
        out(v, "ambient left %.2f C right %.2f C\n", dw_sample_ambient_c(&l->hello, &l->sample, 0),
            dw_sample_ambient_c(&l->hello, &l->sample, 1));
    else
        out(v, "no sample yet\n");
    events_block(v, true);
    alerts_block(v, true);
}

static void render_grid(struct view *v)
{
    const struct dw_live *l = &v->live;
    /* Seen by the wearer looking down: left breast on the left, outer
     * quadrants at the outside, inner rings (near the nipple) in the middle
     * rows. */
    static const struct { unsigned upper, lower; } cols[2][2] = {
        { { DW_Q_UPPER_OUTER, DW_Q_LOWER_OUTER }, { DW_Q_UPPER_INNER, DW_Q_LOWER_INNER } },
        { { DW_Q_UPPER_INNER, DW_Q_LOWER_INNER }, { DW_Q_UPPER_OUTER, DW_Q_LOWER_OUTER } },
    };
    static const struct { bool upper; unsigned ring; const char *label, *tag; } rows[4] = {
        { true, DW_RING_OUTER, "upper", "o" }, { true, DW_RING_INNER, "", "i" },
        { false, DW_RING_INNER, "lower", "i" }, { false, DW_RING_OUTER, "", "o" },
    };
    double med[2] = { NAN, NAN };

    header(v, false);
    if (l->have_sample) {
        med[0] = side_median(l, DW_SIDE_LEFT);
        med[1] = side_median(l, DW_SIDE_RIGHT);
    }
    out(v, "\n       %s%-37s%s%sRIGHT breast%s\n", sgr(v, "\033[1m"), "LEFT breast",
        sgr(v, "\033[0m"), sgr(v, "\033[1m"), sgr(v, "\033[0m"));
    out(v, "       %-18s%-18s %-18s%-18s\n", "outer side", "inner side", "inner side", "outer side");
    for (unsigned r = 0; r < 4; r++) {
        out(v, "%-6s ", rows[r].label);
        for (unsigned side = 0; side < 2; side++) {
            for (unsigned c = 0; c < 2; c++) {
                unsigned q = rows[r].upper ? cols[side][c].upper : cols[side][c].lower;
                cell(v, zone_at(&l->hello, side, q, rows[r].ring), rows[r].tag, med[side]);
            }
            out(v, side == 0 ? " " : "\n");
        }
    }
    if (l->have_sample) {
        char amb[2][48];
        for (unsigned side = 0; side < 2; side++)
            snprintf(amb[side], sizeof(amb[side]), "ambient %5.2fC, skin median %5.2fC",
                     dw_sample_ambient_c(&l->hello, &l->sample, side), med[side]);
        out(v, "       %-37s%s\n", amb[0], amb[1]);
    }
    else
        out(v, "waiting for the garment's first sample...\n");
    out(v, "(o = outer ring, i = inner ring near the nipple)\n");
    events_block(v, false);
    alerts_block(v, false);
}

/* Visible columns of n bytes of a line: escape sequences take none, a
 * UTF-8 character one. */
static size_t visible(const char *p, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\033') {
            while (i < n && !(p[i] >= '@' && p[i] <= '~' && p[i] != '['))
                i++;
            continue;
        }
        w += ((unsigned char)p[i] & 0xc0) != 0x80;
    }
    return w;
}

/* On a terminal no line may be wider than it (80 columns when it does not
 * say): a wrapped line would break the redraw. Long lines (alert messages)
 * wrap at a space, continued with an indent. */
static void fit(struct view *v, FILE *f, unsigned width)
{
    const char *p = v->buf, *end = v->buf + v->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        size_t n = (size_t)((nl ? nl : end) - p);
        bool first = true;
        while (n > 0 && p[n - 1] == ' ') /* padding at the end shows nothing */
            n--;
        while (visible(p, n) > (first ? width : width - 4)) {
            size_t cut = n, sp, lim = first ? width : width - 4;
            while (cut > 0 && visible(p, cut) > lim)
                cut--;
            for (sp = cut; sp > 0 && p[sp] != ' '; sp--)
                ;
            if (sp > cut / 2)
                cut = sp;
            fprintf(f, "%s%.*s\n", first ? "" : "    ", (int)cut, p);
            while (cut < n && p[cut] == ' ')
                cut++;
            p += cut;
            n -= cut;
            first = false;
        }
        fprintf(f, "%s%.*s%s", first ? "" : "    ", (int)n, p, nl ? "\n" : "");
        p = next;
    }
}

static unsigned term_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col;
    return 80;
}

static void render(struct view *v)
{
    v->len = 0;
    if (v->tty && !v->once)
        out(v, "\033[H\033[2J");
    if (v->tty)
        render_grid(v);
    else
        render_plain(v);
    if (!v->tty && !v->once)
        out(v, "\n");
    if (v->tty)
        fit(v, stdout, term_width() - 1); /* the last column would wrap on some */
    else
        fwrite(v->buf, 1, v->len, stdout);
    fflush(stdout);
}

/* Options into v; exits on --help (0) and bad usage (2). */
static void parse_args(struct view *v, int argc, char **argv)
{
    static const struct option opts[] = {
        { "sub", required_argument, NULL, 's' },
        { "once", no_argument, NULL, '1' },
        { "interval", required_argument, NULL, 'i' },
        { "timeout", required_argument, NULL, 't' },
        { "no-color", no_argument, NULL, 'C' },
        DW_CLI_LONGOPTS_VQH,
        { 0 },
    };
    int ch;
    v->interval_s = 1.0;
    v->timeout_s = 10.0;
    v->level = DW_LOG_INFO;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":s:1i:t:vqh", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            if (v->n_eps >= VIEW_MAX_SUBS)
                dw_usage_error(prog, "too many --sub (at most 16)");
            v->eps[v->n_eps++] = optarg;
            break;
        case '1': v->once = true; break;
        case 'i':
            if (dw_parse_double(optarg, 0.05, 3600, &v->interval_s) < 0)
                dw_usage_error(prog, "bad --interval '%s' (seconds, 0.05..3600)", optarg);
            break;
        case 't':
            if (dw_parse_double(optarg, 0.1, 3600, &v->timeout_s) < 0)
                dw_usage_error(prog, "bad --timeout '%s' (seconds)", optarg);
            break;
        case 'C': v->no_color = true; break;
        default: dw_cli_std_option(prog, ch, argv, &v->level, usage);
        }
    }
    dw_usage_no_operands(prog, argc, argv);
}

/* The SUB socket on every endpoint (the defaults: acquire and detect). */
static void *subscribe(struct view *v, void *ctx)
{
    static const char *const topics[] = { "frame.", "stats.", "alert.", "event." };
    void *sub;
    int r;
    if (!v->n_eps) {
        if ((r = dw_tool_default_endpoint("acquire", v->ep_acq, sizeof(v->ep_acq))) < 0 ||
            (r = dw_tool_default_endpoint("detect", v->ep_det, sizeof(v->ep_det))) < 0) {
            dw_tool_runtime_dir_error(r);
            return NULL;
        }
        v->eps[v->n_eps++] = v->ep_acq;
        v->eps[v->n_eps++] = v->ep_det;
    }
    if (!(sub = dw_zmq_socket(ctx, ZMQ_SUB))) {
        dw_err("zmq: %s", zmq_strerror(errno));
        return NULL;
    }
    for (size_t i = 0; i < sizeof(topics) / sizeof(*topics); i++)
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topics[i], strlen(topics[i]));
    for (unsigned i = 0; i < v->n_eps; i++) {
        if (zmq_connect(sub, v->eps[i]) < 0) {
            fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, v->eps[i],
                    zmq_strerror(errno));
            zmq_close(sub);
            return NULL;
        }
        if (!dw_tool_endpoint_present(v->eps[i]))
            dw_warn("nothing publishes on %s yet; waiting", v->eps[i]);
    }
    return sub;
}

/* --once: after the first sample and the stats that follow it within
 * their period, the rest of what already waits (a new subscriber first
 * gets acquire's backlog, its recent events too, maybe in several pieces:
 * ready, then up to 0.5 s more). 1 done, 0 go on, -1 timed out. */
static int once_step(struct view *v, struct once *o, uint64_t now)
{
    if (v->live.have_sample && !o->first_sample)
        o->first_sample = now;
    if (o->first_sample && !o->ready &&
        (v->live.have_stats || now - o->first_sample > 2500000000ull)) {
        o->ready = now;
        o->quiet = false; /* a quiet poll after this one */
    }
    if (o->ready && (o->quiet || now - o->ready > 500000000ull)) {
        render(v);
        return 1;
    }
    if (now - o->start > (uint64_t)(v->timeout_s * 1e9)) {
        render(v);
        fprintf(stderr, "%s: no sample within %.0f s\n", prog, v->timeout_s);
        return -1;
    }
    return 0;
}

/* A look every 100 ms (the draw interval and the silence watch are
 * checked on it), every 30 ms once --once has what it waits for. */
static int watch(struct view *v, void *sub)
{
    struct once o = { .start = dw_now_monotonic_ns() };
    uint64_t next_draw = 0;
    struct dw_loop l;
    dw_loop_init(&l, &stop);
    while (!dw_loop_stopped(&l)) {
        uint64_t now = dw_now_monotonic_ns();
        zmq_pollitem_t it = { .socket = sub, .events = ZMQ_POLLIN };
        int np;
        if (v->once) {
            int k = once_step(v, &o, now);
            if (k)
                return k > 0 ? DW_EXIT_OK : DW_EXIT_FAILURE;
        } else if (now >= next_draw || dw_pipewatch_check(&v->watch, now)) {
            render(v);
            next_draw = now + (uint64_t)(v->interval_s * 1e9);
        }
        dw_loop_begin(&l);
        dw_loop_wake_at(&l, dw_now_monotonic_ns() + (o.ready ? 30 : 100) * 1000000ull);
        np = dw_loop_poll(&l, &it, 1);
        if (np < 0) {
            dw_err("zmq_poll: %s", zmq_strerror(-np));
            return DW_EXIT_FAILURE;
        }
        o.quiet = np == 0;
        dw_live_drain(&v->live, sub, on_msg, v);
    }
    return DW_EXIT_OK;
}

int dw_cmd_view(int argc, char **argv)
{
    struct view *v = calloc(1, sizeof(*v));
    int status = DW_EXIT_FAILURE;
    void *ctx = NULL, *sub = NULL;

    if (!v) {
        dw_err("out of memory");
        return DW_EXIT_FAILURE;
    }
    parse_args(v, argc, argv);
    dw_log_set_level(v->level);
    dw_install_stop_signals(&stop);
    v->tty = isatty(STDOUT_FILENO);
    v->color = v->tty && !v->no_color && !getenv("NO_COLOR");
    dw_live_init(&v->live);
    if (!(ctx = zmq_ctx_new())) {
        dw_err("zmq: %s", zmq_strerror(errno));
        goto out;
    }
    if (!(sub = subscribe(v, ctx)))
        goto out;
    dw_pipewatch_init(&v->watch, v->eps, v->n_eps, SILENCE_NS);
    status = watch(v, sub);
out:
    if (sub)
        zmq_close(sub);
    if (ctx)
        zmq_ctx_term(ctx);
    dw_live_fini(&v->live);
    free(v->buf);
    free(v);
    return status;
}
