/* `ductwatch run` on the terminal: one status line rewritten in place (on a
 * terminal; a line every 10 s otherwise), and the alerts and events of the
 * pipeline as lines above it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "duration.h"
#include "layout.h"
#include "log.h"
#include "run.h"
#include "termsafe.h"

void dw_run_clear_status(struct run *r)
{
    if (r->tty && r->status_shown) {
        fputs("\r\033[K", stdout);
        fflush(stdout);
        r->status_shown = false;
    }
}

void dw_run_say(struct run *r, const char *fmt, ...)
{
    va_list ap;
    dw_run_clear_status(r);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

/* The status line is made of parts; on a terminal the ones that fit its
 * width, by priority, in their order: never a part cut in the middle. */
#define MAX_PARTS 12

struct status_parts {
    char text[MAX_PARTS][96];
    int prio[MAX_PARTS];           /* 0 first */
    unsigned n;
};

static void part(struct status_parts *sp, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void part(struct status_parts *sp, int prio, const char *fmt, ...)
{
    va_list ap;
    if (sp->n == MAX_PARTS)
        return;
    va_start(ap, fmt);
    vsnprintf(sp->text[sp->n], sizeof(sp->text[0]), fmt, ap);
    va_end(ap);
    sp->prio[sp->n++] = prio;
}

/* The latest readings, per breast: mean skin temperature and pressure of
 * the zones in contact (>= 0.2 kPa), and the ambient of each cup. */
static void readings(const struct dw_live *l, struct status_parts *sp)
{
    double t[2] = { 0, 0 }, p[2] = { 0, 0 };
    unsigned n[2] = { 0, 0 };
    if (!l->have_sample)
        return;
    for (unsigned z = 0; z < l->hello.n_zones && z < l->sample.n_zones; z++) {
        unsigned side = l->hello.zone[z].side;
        double kpa = dw_sample_pressure_kpa(&l->hello, &l->sample, z);
        if (side > DW_SIDE_RIGHT || kpa < 0.2)
            continue;
        t[side] += dw_sample_temp_c(&l->hello, &l->sample, z);
        p[side] += kpa;
        n[side]++;
    }
    for (unsigned side = 0; side < 2; side++) {
        if (n[side])
            part(sp, 1, "%s %.1fC %.2fkPa", side ? "R" : "L", t[side] / n[side],
                 p[side] / n[side]);
        else
            part(sp, 1, "%s no contact", side ? "R" : "L");
    }
    part(sp, 4, "amb %.1f/%.1f C", dw_sample_ambient_c(&l->hello, &l->sample, 0),
         dw_sample_ambient_c(&l->hello, &l->sample, 1));
}

/* Loss: the counters that are not zero (they matter), or "no loss". */
static void loss(const struct dw_msg_stats *s, struct status_parts *sp)
{
    if (s->crc_errors || s->length_errors || s->cobs_errors)
        part(sp, 2, "crc %llu len %llu cobs %llu", (unsigned long long)s->crc_errors,
             (unsigned long long)s->length_errors, (unsigned long long)s->cobs_errors);
    if (s->device_seq_gaps)
        part(sp, 2, "seq-gaps %llu (missing %llu)", (unsigned long long)s->device_seq_gaps,
             (unsigned long long)s->frames_missing);
    if (s->reconnects)
        part(sp, 2, "reconnects %llu", (unsigned long long)s->reconnects);
    if (s->zmq_dropped)
        part(sp, 2, "drops %llu", (unsigned long long)s->zmq_dropped);
    if (!s->crc_errors && !s->length_errors && !s->cobs_errors && !s->device_seq_gaps &&
        !s->reconnects && !s->zmq_dropped)
        part(sp, 5, "no loss");
}

/* The parts joined by two spaces, those of priority up to the highest that
 * keeps the line within width (0: all). */
static void join(const struct status_parts *sp, size_t width, char *line, size_t cap)
{
    int limit = 9;
    for (; limit > 0; limit--) {
        size_t len = 0;
        for (unsigned i = 0; i < sp->n; i++)
            if (sp->prio[i] <= limit)
                len += strlen(sp->text[i]) + (len ? 2 : 0);
        if (!width || len <= width)
            break;
    }
    line[0] = 0;
    for (unsigned i = 0; i < sp->n; i++) {
        size_t k = strlen(line);
        if (sp->prio[i] > limit)
            continue;
        snprintf(line + k, cap - k, "%s%s", k ? "  " : "", sp->text[i]);
    }
    if (width && strlen(line) > width) /* a very narrow terminal */
        line[width] = 0;
}

void dw_run_show_status(struct run *r)
{
    const struct dw_msg_stats *s = &r->live.stats;
    struct status_parts sp = { .n = 0 };
    char sim[32], line[640];
    size_t width = 0;
    struct winsize ws;
    if (r->level < DW_LOG_INFO)
        return;
    if (!r->live.have_stats) {
        part(&sp, 0, "waiting for the garment (%s)...", r->use_sim ? "simulator" : r->port);
    } else {
        dw_duration_format(s->t_device_us, sim, sizeof(sim));
        /* at 80 columns: time, readings and alerts first; a link that is
         * down always */
        part(&sp, 2, "%s", s->device);
        part(&sp, 0, "t+%s", sim);
        part(&sp, s->link_up ? 3 : 0, "link %s", s->link_up ? "up" : "DOWN");
        readings(&r->live, &sp);
        part(&sp, 3, "frames %llu", (unsigned long long)s->frames);
        loss(s, &sp);
        part(&sp, 0, "alerts %llu (%u active)", (unsigned long long)r->live.alerts_seen,
             r->live.n_active);
    }
    /* One line refreshed in place: a wrapped line could not be cleared. */
    if (r->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
        width = ws.ws_col - 1u;
    join(&sp, width, line, sizeof(line));
    if (r->tty) {
        dw_run_clear_status(r);
        fputs(line, stdout);
        r->status_shown = true;
    } else {
        fputs(line, stdout);
        fputc('\n', stdout);
    }
    fflush(stdout);
}

/* ---- messages from the pipeline --------------------------------------- */

void dw_run_on_msg(struct dw_live *l, enum dw_live_kind k, const uint8_t *body, size_t len,
                   void *user)
{
    struct run *r = user;
    char line[1024], safe[4 * 1024], t[32];
    if (k == DW_LIVE_STATS) {
        /* A restarted acquire counts from zero: keep the earlier totals. */
        if (r->last_stream && l->stats.stream != r->last_stream) {
#define ADD(f) r->prev_total.f += r->last_stats.f;
            ADD(bytes) ADD(frames) ADD(crc_errors) ADD(length_errors) ADD(cobs_errors)
            ADD(version_errors) ADD(resyncs) ADD(device_seq_gaps) ADD(frames_missing)
            ADD(reconnects) ADD(events_in) ADD(zmq_dropped)
#undef ADD
        }
        r->last_stream = l->stats.stream;
        r->last_stats = l->stats;
    } else if (k == DW_LIVE_ALERT) {
        dw_alert_format(&l->last_alert, line, sizeof(line));
        dw_run_say(r, "alert: %s", line);
    } else if (k == DW_LIVE_EVENT && r->level >= DW_LOG_INFO) {
        const struct dw_msg_event *e = &l->last_event;
        dw_duration_format(e->t_device_us, t, sizeof(t));
        snprintf(line, sizeof(line), "event: t+%s %s", t,
                 dw_event_kind_name((unsigned)e->kind) ? dw_event_kind_name((unsigned)e->kind) : "?");
        if (e->side != DW_SIDE_NONE)
            snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s",
                     dw_side_name((unsigned)e->side));
        /* a garment sends 0 for kinds without a value (a feed, a shower) */
        if (e->has_value && (dw_event_kind_has_value((unsigned)e->kind) || e->value != 0))
            snprintf(line + strlen(line), sizeof(line) - strlen(line), " %.2f", e->value);
        if (e->kind == DW_EV_GAP)
            snprintf(line + strlen(line), sizeof(line) - strlen(line), " (%llu frames missing)",
                     (unsigned long long)e->missing);
        if (e->text[0])
            snprintf(line + strlen(line), sizeof(line) - strlen(line), " \"%s\"", e->text);
        snprintf(line + strlen(line), sizeof(line) - strlen(line), " [%s]",
                 e->source[0] ? e->source : "acquire");
        dw_term_safe(line, strlen(line), safe, sizeof(safe)); /* text from the stream */
        dw_run_say(r, "%s", safe);
    }
}
