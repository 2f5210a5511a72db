/* The session report page (docs/report.md): one HTML file, inline CSS and
 * SVG, no script and nothing fetched. First what a parent needs (the
 * summary box), then what a clinician needs (the recording, the findings
 * with their levels, values and parameters, every alert row), then the
 * pictures and the full tables. Every string from a file goes through
 * html.h. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dw_config.h"
#include "dwtime.h"
#include "html.h"
#include "report_findings.h"
#include "report_int.h"
#include "session_format.h"

/* Closes the open cell and writes the next one's text (a fixed field). */
static void td(FILE *f, const char *cls, const char *field, size_t width)
{
    fputs("</td><td", f);
    if (cls[0])
        fprintf(f, " class=\"%s\"", cls);
    fputc('>', f);
    dw_html_textn(f, field, width);
}

static void head(const struct dw_report *rep, FILE *f)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"ductwatch " DW_VERSION "\">\n"
          "<title>ductwatch report: ", f);
    dw_html_text(f, rep->info.device_id);
    fputs(", ", f);
    dw_html_text(f, rep->info.session_start);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;margin:1em auto;padding:0 .8em;color:#222;"
          "max-width:1260px;line-height:1.4}\n"
          "h1{font-size:1.5em}h2{border-bottom:1px solid #aaa;margin-top:1.6em}\n"
          "table{border-collapse:collapse;margin:.5em 0}\n"
          "td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}\n"
          "th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums;"
          "white-space:nowrap}\n"
          "svg{max-width:100%;height:auto}svg text{font-family:sans-serif}\n"
          ".wide{overflow-x:auto}\n"
          ".summary-box{border:3px solid #444;border-radius:8px;padding:.2em 1em .6em;"
          "background:#fafafa}\n.summary-box h2{border:0;margin:.4em 0}\n"
          ".finding{border-left:8px solid #999;padding:.1em .8em;margin:.8em 0;background:#fff}\n"
          ".finding.level-1{border-color:#e6a100}.finding.level-2{border-color:#e66101}"
          ".finding.level-3{border-color:#b2182b}\n"
          ".headline{font-size:1.3em;font-weight:bold;margin:.4em 0}\n"
          ".finding dt{font-weight:bold;margin-top:.4em}.finding dd{margin:0 0 0 1em}\n"
          ".headline-map svg{width:320px}\n.caption{font-size:.9em;color:#444;max-width:40em}\n"
          ".anytime{border:2px solid #b2182b;padding:.5em;background:#fff5f5}\n"
          ".warn{color:#b2182b;font-weight:bold}\n.when{white-space:nowrap}\n"
          ".moment{display:inline-block;margin:.4em 1em .8em 0;vertical-align:top;"
          "max-width:100%}\n.moment h3{font-size:1em;margin:.2em 0}\n"
          ".legend .sw{display:inline-block;width:1.2em;height:.8em;margin:0 .3em 0 .8em}\n"
          ".legend .mk,.legend .zone-range{white-space:nowrap}\n"
          "details{margin:.6em 0}summary{cursor:pointer;font-weight:bold}\n"
          "code{font-size:.9em}\n"
          "td.cut::after{content:\"\\2026 (cut: files recorded before 2026-12 keep 256 "
          "bytes)\";color:#666}\n"
          "td.params{font-family:monospace;font-size:.85em;word-break:break-all}\n"
          "</style>\n</head>\n<body>\n", f);
}

/* ---- the recording ----------------------------------------------------- */

static uint64_t gap_missing(const struct dw_report *rep, unsigned *n_gaps, unsigned *n_down)
{
    uint64_t missing = 0;
    *n_gaps = *n_down = 0;
    for (size_t i = 0; i < rep->n_events; i++) {
        char kind[DW_S_KIND + 1];
        DW_FIELD(kind, rep->events[i].kind);
        if (!strcmp(kind, "gap")) {
            missing += rep->events[i].missing;
            (*n_gaps)++;
        }
        *n_down += !strcmp(kind, "link-down");
    }
    return missing;
}

/* A replay or simulation at N x: host clock times say when the data
 * arrived; the report's clock times are the garment's. */
static void speed_note(const struct dw_report *rep, FILE *f)
{
    uint64_t span = rep->end_us - rep->start_us;
    double host = (double)(rep->last_sample_ns - rep->first_sample_ns);
    if (span > 60000000ull && host < 0.5e3 * (double)span)
        fprintf(f, "<p class=\"warn fast\">This session was received %.0f&times; faster than "
                "real time (a replay or a simulation): its clock times are the session start "
                "plus the garment's own time, as if it had been worn in real time.</p>\n",
                host > 0 ? 1e3 * (double)span / host : 0.0);
}

static void files_cell(const struct dw_report *rep, FILE *f)
{
    for (size_t i = 0; i < rep->n_files; i++) {
        const char *base = strrchr(rep->files[i].path, '/');
        if (i)
            fputs("<br>", f);
        dw_html_text(f, base ? base + 1 : rep->files[i].path);
    }
}

static void recording(const struct dw_report *rep, FILE *f)
{
    const struct dw_session_info *in = &rep->info;
    char dur[48], iso[64];
    unsigned n_gaps, n_down, raised = 0;
    uint64_t missing = gap_missing(rep, &n_gaps, &n_down), span = rep->end_us - rep->start_us;
    double expected = rep->hello.sample_rate_hz * (span / 1e6) + 1;

    for (size_t i = 0; i < rep->n_alerts; i++)
        raised += !strncmp(rep->alerts[i].state, "raised", sizeof(rep->alerts[i].state));
    dw_report_format_span(span, dur, sizeof(dur));
    dw_report_format_clock(rep->clock0_ns, DW_CLOCK_ISO, iso, sizeof(iso));
    fputs("<h3 id=\"recording\">The recording</h3>\n", f);
    for (size_t i = 0; i < rep->n_files; i++)
        if (rep->files[i].info.swmr_open)
            fputs("<p class=\"warn\">A file was still being written, or its writer stopped "
                  "without closing it: the report shows what had been saved when it was "
                  "read.</p>\n", f);
    speed_note(rep, f);
    fputs("<table class=\"summary\">\n<tr><th>Device</th><td class=\"device\">", f);
    dw_html_text(f, in->device_id);
    fputs("</td></tr>\n<tr><th>Firmware</th><td>", f);
    dw_html_text(f, in->firmware);
    fputs("</td></tr>\n<tr><th>Recorded by</th><td>", f);
    dw_html_text(f, in->software_version);
    fprintf(f, "</td></tr>\n<tr><th>Session files (%zu)</th><td class=\"files\">", rep->n_files);
    files_cell(rep, f);
    fputs("</td></tr>\n<tr><th>First / last sample</th><td>", f);
    dw_report_when(f, rep, rep->start_us, DW_CLOCK_FULL);
    fputs(" &ndash; ", f);
    dw_report_when(f, rep, rep->end_us, DW_CLOCK_FULL);
    /* the zone's offset: the last field of the ISO form */
    fprintf(f, " (local time, UTC%s; hover a time for the garment's own)</td></tr>\n"
            "<tr><th>Duration (garment time)</th><td>%s (%.2f h)</td></tr>\n",
            strrchr(iso, ' ') ? strrchr(iso, ' ') + 1 : "", dur, span / 3.6e9);
    fprintf(f, "<tr><th>Sample rate</th><td>%u Hz, %u zones</td></tr>\n",
            rep->hello.sample_rate_hz, rep->nz);
    fprintf(f, "<tr><th>Samples recorded</th><td>%llu of about %.0f expected (%.2f%%)</td></tr>\n",
            (unsigned long long)rep->samples, expected,
            expected > 0 ? 100.0 * (double)rep->samples / expected : 0.0);
    fprintf(f, "<tr><th>Data loss</th><td>%u gap%s (%llu frames or messages missing), "
            "link down %u time%s</td></tr>\n", n_gaps, n_gaps == 1 ? "" : "s",
            (unsigned long long)missing, n_down, n_down == 1 ? "" : "s");
    fprintf(f, "<tr><th>Events</th><td>%zu</td></tr>\n", rep->n_events);
    fprintf(f, "<tr><th>Alerts</th><td>%u raised (%zu alert rows)</td></tr>\n</table>\n",
            raised, rep->n_alerts);
}

/* ---- every alert row --------------------------------------------------- */

static void alert_row(const struct dw_report *rep, FILE *f, size_t i)
{
    const struct dw_row_alert *a = &rep->alerts[i];
    char rule[DW_S_RULE + 1];
    DW_FIELD(rule, a->rule);
    fputs("<tr class=\"alert-row\" data-rule=\"", f);
    dw_html_text(f, rule);
    fputs("\" data-state=\"", f);
    dw_html_textn(f, a->state, sizeof(a->state));
    fprintf(f, "\" data-id=\"%llu\"><td>", (unsigned long long)a->id);
    dw_report_when(f, rep, rep->alert_elapsed[i], DW_CLOCK_SHORT);
    td(f, "", a->rule, sizeof(a->rule));
    td(f, "", a->level, sizeof(a->level));
    td(f, "", a->state, sizeof(a->state));
    fputs("</td><td>", f);
    dw_report_where(f, a);
    fputs("</td><td class=\"num\">", f);
    dw_report_value(f, rule, a->value);
    fputs("</td><td class=\"num\">", f);
    dw_report_value(f, rule, a->threshold);
    /* a message that filled its file's column (256 bytes before 2026-12) was cut there */
    td(f, rep->alert_cut[i] ? "message cut" : "message", a->message, sizeof(a->message));
    /* the rule's parameters as detection ran them; files before format 2 have none */
    td(f, "params", a->params[0] ? a->params : "not recorded", sizeof(a->params));
    fputs("</td></tr>\n", f);
}

static const char alert_header[] =
    "<div class=\"wide\"><table class=\"alerts\">\n<tr><th>Time</th><th>Rule</th>"
    "<th>Level</th><th>State</th><th>Where</th><th>Value</th><th>Threshold</th>"
    "<th>Message</th><th>Parameters</th></tr>\n";

static void alerts_table(const struct dw_report *rep, FILE *f)
{
    size_t n_info = 0, n = 0;
    fputs("<h3 id=\"alerts\">Every alert row</h3>\n", f);
    if (!rep->n_alerts) {
        fputs("<p>No alerts were recorded.</p>\n", f);
        return;
    }
    for (size_t i = 0; i < rep->n_alerts; i++) {
        char rule[DW_S_RULE + 1];
        DW_FIELD(rule, rep->alerts[i].rule);
        if (dw_report_rule_info(rule)) {
            n_info++;
            continue;
        }
        if (!n++)
            fprintf(f, "<p>As detection recorded them: raised, updated (still present, new "
                    "value or level) and cleared; the message is detection's own words, the "
                    "parameters those its rule ran with.</p>\n%s",
                    alert_header);
        alert_row(rep, f, i);
    }
    if (n)
        fputs("</table></div>\n", f);
    if (!n_info)
        return;
    fprintf(f, "<details class=\"info\"><summary>Information: which breast was firmer at "
            "the start of a feed (H1, %zu rows)</summary>\n%s", n_info, alert_header);
    for (size_t i = 0; i < rep->n_alerts; i++) {
        char rule[DW_S_RULE + 1];
        DW_FIELD(rule, rep->alerts[i].rule);
        if (dw_report_rule_info(rule))
            alert_row(rep, f, i);
    }
    fputs("</table></div></details>\n", f);
}

/* ---- pictures ---------------------------------------------------------- */

static void charts(const struct dw_report *rep, FILE *f)
{
    char w[48];
    dw_report_format_span(rep->bucket_us, w, sizeof(w));
    fprintf(f, "<h2 id=\"timeseries\">Zones over time</h2>\n"
            "<p>One line per zone: the mean of each time bucket (%u buckets of %s each); "
            "the shaded band reaches from the lowest to the highest reading in the bucket, "
            "so a short spike still shows. Breaks in a line are times without data. The "
            "axis is local clock time (midnight in bold); hover a time for the garment's own "
            "time. Vertical lines: events and alerts (hover for details); a feed or an alert "
            "on one breast is marked on that breast's charts only.</p>\n", rep->n_buckets, w);
    dw_report_chart_legend(f);
    for (unsigned q = 0; q < DW_RQ_COUNT; q++)
        for (unsigned side = 0; side < 2; side++)
            dw_report_chart(f, rep, (enum dw_report_qty)q, side);
}

static void moment_title(const struct dw_report *rep, const struct dw_report_moment *m, FILE *f)
{
    if (m->kind == DW_MOMENT_ALERT) {
        const struct dw_row_alert *a = &rep->alerts[m->alert];
        char rule[DW_S_RULE + 1], level[DW_S_LEVEL + 1];
        DW_FIELD(rule, a->rule);
        DW_FIELD(level, a->level);
        dw_html_text(f, rule);
        fputs(" (", f);
        dw_html_text(f, level);
        fputs(") raised, ", f);
        dw_report_where(f, a);
        fputs(": ", f);
        dw_report_when(f, rep, rep->alert_elapsed[m->alert], DW_CLOCK_SHORT);
    } else {
        fputs(m->kind == DW_MOMENT_START ? "Start: " : "End: ", f);
        dw_report_when(f, rep, m->elapsed_us, DW_CLOCK_SHORT);
    }
}

static void moment(const struct dw_report *rep, const struct dw_report_moment *m, FILE *f)
{
    static const char *const kind[] = { "start", "alert", "end" };
    fprintf(f, "<div class=\"moment\" data-kind=\"%s\"><h3>", kind[m->kind]);
    moment_title(rep, m, f);
    fputs("</h3>\n", f);
    if (!m->filled) {
        fputs("<p>No sample in the file.</p></div>\n", f);
        return;
    }
    dw_report_heatmap(f, rep, m, DW_RQ_TEMP, -1);
    dw_report_heatmap(f, rep, m, DW_RQ_PRES, -1);
    fputs("</div>\n", f);
}

static bool info_moment(const struct dw_report *rep, const struct dw_report_moment *m)
{
    char rule[DW_S_RULE + 1];
    if (m->kind != DW_MOMENT_ALERT)
        return false;
    DW_FIELD(rule, rep->alerts[m->alert].rule);
    return dw_report_rule_info(rule);
}

static void heatmaps(const struct dw_report *rep, FILE *f)
{
    size_t n_info = 0;
    fputs("<h2 id=\"heatmaps\">Zones at the moments that matter</h2>\n"
          "<p>Each breast is drawn as the wearer sees it looking down: left breast on the "
          "left, outer quadrants (towards the arm) on the outside, upper quadrants at the "
          "top, the inner ring around the nipple (dot). The colours are what detection's "
          "rules compare at that time: <strong>warmth</strong> is the zone's temperature "
          "against the median of its neighbouring zones, minus that difference's own usual "
          "value over the last days (dL, &deg;C; red is warmer than usual for that spot); "
          "<strong>firmness</strong> is the zone's pressure divided by its pressure after "
          "recent feeds (R; orange is firmer than after a feed). White is as usual. Grey: "
          "the rules had no value there then (the first hours while they learn, during and "
          "after a feed or a shower, no contact, a sensor fault). An alert's zone has a "
          "thick black outline. Hover a zone for its reading.</p>\n<div class=\"legend\">", f);
    dw_report_scale_legend(f, rep, DW_RQ_TEMP);
    dw_report_scale_legend(f, rep, DW_RQ_PRES);
    fputs("</div>\n", f);
    for (size_t i = 0; i < rep->n_moments; i++) {
        if (info_moment(rep, &rep->moments[i]))
            n_info++;
        else
            moment(rep, &rep->moments[i], f);
    }
    if (n_info) {
        fprintf(f, "<details class=\"info\"><summary>Information: the firmer side at feed "
                "starts (H1, %zu maps)</summary>\n", n_info);
        for (size_t i = 0; i < rep->n_moments; i++)
            if (info_moment(rep, &rep->moments[i]))
                moment(rep, &rep->moments[i], f);
        fputs("</details>\n", f);
    }
    if (rep->alerts_not_drawn)
        fprintf(f, "<p class=\"warn\">%zu more raised alerts are in the table above but "
                "not drawn here.</p>\n", rep->alerts_not_drawn);
}

/* ---- loss and events --------------------------------------------------- */

static void event_row(FILE *f, const struct dw_report *rep, size_t i)
{
    const struct dw_row_event *ev = &rep->events[i];
    fputs("<tr class=\"event-row\" data-kind=\"", f);
    dw_html_textn(f, ev->kind, sizeof(ev->kind));
    fputs("\"><td>", f);
    dw_report_when(f, rep, rep->event_elapsed[i], DW_CLOCK_SHORT);
    td(f, "", ev->kind, sizeof(ev->kind));
    td(f, "", ev->side, sizeof(ev->side));
    fputs("</td><td class=\"num\">", f);
    if (isfinite(ev->value))
        fprintf(f, "%.2f", ev->value);
    else
        fputs("&ndash;", f);
    fprintf(f, "</td><td class=\"num\">%llu", (unsigned long long)ev->missing);
    td(f, "", ev->source, sizeof(ev->source));
    td(f, "text", ev->text, sizeof(ev->text));
    fputs("</td></tr>\n", f);
}

static const char event_header[] =
    "<div class=\"wide\"><table class=\"%s\">\n<tr><th>Time</th><th>Kind</th><th>Side</th>"
    "<th>Value</th><th>Missing</th><th>Source</th><th>Text</th></tr>\n";

static bool is_link_event(const char *kind)
{
    return !strcmp(kind, "gap") || !strcmp(kind, "link-down") || !strcmp(kind, "link-up") ||
           !strcmp(kind, "stream-restart");
}

/* The last stats row of each source: the counters are cumulative since that
 * program started. */
static void stats_table(const struct dw_report *rep, FILE *f)
{
    static const char *const sources[2] = { "acquire", "record" };
    const struct dw_row_stats *last[2] = { NULL, NULL };
    size_t rows[2] = { 0, 0 };
    static const struct { const char *name; size_t off; } cols[] = {
#define C(x) { #x, offsetof(struct dw_row_stats, x) }
        C(frames), C(bytes), C(crc_errors), C(length_errors), C(cobs_errors),
        C(version_errors), C(resyncs), C(device_seq_gaps), C(frames_missing), C(reconnects),
        C(events_in), C(zmq_dropped), C(stream_gaps), C(messages_missing), C(duplicates),
        C(restarts), C(write_queue), C(unrecordable), C(frames_written),
#undef C
    };

    for (size_t i = 0; i < rep->n_stats; i++) {
        char src[DW_S_SOURCE + 1];
        DW_FIELD(src, rep->stats[i].source);
        for (unsigned s = 0; s < 2; s++)
            if (!strcmp(src, sources[s])) {
                last[s] = &rep->stats[i];
                rows[s]++;
            }
    }
    fputs("<h3>Loss and health counters</h3>\n", f);
    if (!last[0] && !last[1]) {
        fputs("<p>The files have no stats rows.</p>\n", f);
        return;
    }
    fputs("<p>Last value reported by each program (counted since it started): "
          "acquisition's serial link counters and the recorder's stream counters.</p>\n"
          "<table class=\"stats\">\n<tr><th>counter</th>", f);
    for (unsigned s = 0; s < 2; s++)
        if (last[s])
            fprintf(f, "<th>%s (%zu rows)</th>", sources[s], rows[s]);
    fputs("</tr>\n", f);
    for (size_t c = 0; c < sizeof(cols) / sizeof(*cols); c++) {
        fprintf(f, "<tr data-counter=\"%s\"><th>%s</th>", cols[c].name, cols[c].name);
        for (unsigned s = 0; s < 2; s++) {
            uint64_t v;
            if (!last[s])
                continue;
            memcpy(&v, (const char *)last[s] + cols[c].off, sizeof(v));
            fprintf(f, "<td class=\"num\">%llu</td>", (unsigned long long)v);
        }
        fputs("</tr>\n", f);
    }
    fputs("<tr data-counter=\"drift_ppm\"><th>drift_ppm</th>", f);
    for (unsigned s = 0; s < 2; s++)
        if (last[s])
            fprintf(f, "<td class=\"num\">%.1f</td>", last[s]->drift_ppm);
    fputs("</tr>\n<tr data-counter=\"link_up\"><th>link_up</th>", f);
    for (unsigned s = 0; s < 2; s++)
        if (last[s])
            fprintf(f, "<td class=\"num\">%u</td>", last[s]->link_up);
    fputs("</tr>\n</table>\n", f);
}

static void loss(const struct dw_report *rep, FILE *f)
{
    size_t n = 0;
    fputs("<h2 id=\"loss\">Data loss and link</h2>\n", f);
    stats_table(rep, f);
    fputs("<h3>Gaps, link down and up</h3>\n", f);
    for (size_t i = 0; i < rep->n_events; i++) {
        char kind[DW_S_KIND + 1];
        DW_FIELD(kind, rep->events[i].kind);
        if (!is_link_event(kind))
            continue;
        if (!n++)
            fprintf(f, event_header, "gaps");
        event_row(f, rep, i);
    }
    fputs(n ? "</table></div>\n" : "<p>No gaps and no link interruptions were recorded.</p>\n", f);
}

static void events(const struct dw_report *rep, FILE *f)
{
    fputs("<h2 id=\"events\">Events</h2>\n", f);
    if (!rep->n_events) {
        fputs("<p>No events were recorded.</p>\n", f);
        return;
    }
    fprintf(f, event_header, "events");
    for (size_t i = 0; i < rep->n_events; i++)
        event_row(f, rep, i);
    fputs("</table></div>\n", f);
}

static void title(const struct dw_report *rep, FILE *f)
{
    fputs("<h1>ductwatch report: ", f);
    dw_html_text(f, rep->info.device_id);
    fputs("</h1>\n<p class=\"span\">", f);
    if (rep->samples) {
        dw_report_when(f, rep, rep->start_us, DW_CLOCK_FULL);
        fputs(" &ndash; ", f);
        dw_report_when(f, rep, rep->end_us, DW_CLOCK_FULL);
    } else {
        fputs("No sample was recorded.", f);
    }
    fputs("</p>\n", f);
}

int dw_report_write_html(const struct dw_report *rep, FILE *f)
{
    struct dw_episode *ep = NULL;
    size_t n_ep = 0;
    char now[40];

    if (dw_report_episodes(rep, &ep, &n_ep) < 0) {
        errno = ENOMEM;
        return -EIO;
    }
    head(rep, f);
    title(rep, f);
    dw_report_summary_box(f, rep, ep, n_ep);
    fputs("<h2 id=\"clinician\">For a clinician</h2>\n", f);
    recording(rep, f);
    dw_report_findings_table(f, rep, ep, n_ep);
    dw_report_parameters(f, rep, ep, n_ep);
    alerts_table(rep, f);
    charts(rep, f);
    heatmaps(rep, f);
    loss(rep, f);
    events(rep, f);
    fputs("<footer><p>Made by ductwatch " DW_VERSION " from ", f);
    for (size_t i = 0; i < rep->n_files; i++) {
        const char *base = strrchr(rep->files[i].path, '/');
        fputs(i ? ", " : "", f);
        dw_html_text(f, base ? base + 1 : rep->files[i].path);
    }
    if (rep->req.generated_ns) {
        dw_format_utc(rep->req.generated_ns, now, sizeof(now), 0);
        fprintf(f, " at %s", now);
    }
    fputs(".</p></footer>\n</body>\n</html>\n", f);
    free(ep);
    return ferror(f) ? -EIO : 0;
}
