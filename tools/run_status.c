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

/* The latest readings, per breast: mean skin temperature and pressure of
 * the zones in contact (>= 0.2 kPa), and the ambient of each cup. */
static void readings(const struct dw_live *l, char *buf, size_t cap)
{
    double t[2] = { 0, 0 }, p[2] = { 0, 0 };
    unsigned n[2] = { 0, 0 };
    size_t k;
    buf[0] = 0;
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
    k = 0;
    for (unsigned side = 0; side < 2; side++) {
        int w;
        if (n[side])
            w = snprintf(buf + k, cap - k, "%s %.1f C %.2f kPa  ", side ? "R" : "L",
                         t[side] / n[side], p[side] / n[side]);
        else
            w = snprintf(buf + k, cap - k, "%s no contact  ", side ? "R" : "L");
        if (w < 0 || (size_t)w >= cap - k)
            return;
        k += (size_t)w;
    }
    snprintf(buf + k, cap - k, "amb %.1f/%.1f C  ", dw_sample_ambient_c(&l->hello, &l->sample, 0),
             dw_sample_ambient_c(&l->hello, &l->sample, 1));
}

void dw_run_show_status(struct run *r)
{
    const struct dw_msg_stats *s = &r->live.stats;
    char sim[32], line[640], now[128];
    if (r->level < DW_LOG_INFO)
        return;
    if (!r->live.have_stats) {
        snprintf(line, sizeof(line), "waiting for the garment (%s)...",
                 r->use_sim ? "simulator" : r->port);
    } else {
        dw_duration_format(s->t_device_us, sim, sizeof(sim));
        readings(&r->live, now, sizeof(now));
        snprintf(line, sizeof(line),
                 "%s  t+%s  link %s  %sframes %llu  loss: crc %llu len %llu cobs %llu "
                 "seq-gaps %llu (missing %llu) reconnects %llu drops %llu  alerts %llu (%u active)",
                 s->device, sim, s->link_up ? "up" : "DOWN", now, (unsigned long long)s->frames,
                 (unsigned long long)s->crc_errors, (unsigned long long)s->length_errors,
                 (unsigned long long)s->cobs_errors, (unsigned long long)s->device_seq_gaps,
                 (unsigned long long)s->frames_missing, (unsigned long long)s->reconnects,
                 (unsigned long long)s->zmq_dropped, (unsigned long long)r->live.alerts_seen,
                 r->live.n_active);
    }
    if (r->tty) {
        /* One line refreshed in place: a wrapped line could not be cleared. */
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
            strlen(line) >= ws.ws_col)
            line[ws.ws_col - 1] = 0;
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
    char line[1024], t[32];
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
        dw_run_say(r, "%s", line);
    }
}
