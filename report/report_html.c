/* The session report page (docs/report.md): one HTML file, inline CSS and
 * SVG, no script and nothing fetched. Every string from the session file
 * goes through html.h. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "duration.h"
#include "dw_config.h"
#include "dwtime.h"
#include "html.h"
#include "layout.h"
#include "report_int.h"
#include "session_format.h"

/* Time series geometry (px). */
#define CH_W 1240
#define CH_H 300
#define CH_L 70
#define CH_R 20
#define CH_T 24
#define CH_B 40
#define CH_PW (CH_W - CH_L - CH_R)
#define CH_PH (CH_H - CH_T - CH_B)

/* Heat map geometry (px). */
#define HM_W 500
#define HM_H 270
#define HM_R 100
#define HM_R1 50
#define HM_CY 140

/* Colour scales: deviation from the zone's median (°C), pressure ratio to
 * the zone's median (log2, so x0.5 and x2 are symmetric). */
#define DEV_SPAN 2.0
#define RATIO_SPAN 1.0

static const char *const zone_colour[8] = {
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#555555",
};

static const char *const qty_name[DW_RQ_COUNT] = { "temperature", "pressure" };
static const char *const qty_unit[DW_RQ_COUNT] = { "\xc2\xb0" "C", "kPa" };

static const char *side_word(unsigned side)
{
    return side == DW_SIDE_LEFT ? "left" : side == DW_SIDE_RIGHT ? "right" : "none";
}

/* A fixed-width field of the file as a C string. */
#define FIELD(buf, fld) dw_session_strget((buf), (fld), sizeof(fld))
/* ...and written as HTML text straight from the row. */
#define FIELD_HTML(f, fld) dw_html_textn((f), (fld), sizeof(fld))

/* Closes the open cell and writes the next one's text (a fixed field). */
static void td(FILE *f, const char *cls, const char *field, size_t width)
{
    fputs("</td><td", f);
    if (cls[0])
        fprintf(f, " class=\"%s\"", cls);
    fputc('>', f);
    dw_html_textn(f, field, width);
}

static void when(FILE *f, uint64_t t_host_ns, uint64_t elapsed_us)
{
    char utc[40], rel[40];
    if (t_host_ns) {
        dw_format_utc(t_host_ns, utc, sizeof(utc), 0);
    } else {
        snprintf(utc, sizeof(utc), "-");
    }
    dw_duration_format(elapsed_us, rel, sizeof(rel));
    fprintf(f, "<span class=\"utc\">%s</span> <span class=\"rel\">(t+%s)</span>", utc, rel);
}

static double hours(uint64_t us)
{
    return (double)us / 3.6e9;
}

static void lerp_colour(FILE *f, const unsigned char stops[][3], unsigned n, double u)
{
    double x;
    unsigned i;
    if (!(u >= 0.0))
        u = 0.0;
    if (u > 1.0)
        u = 1.0;
    x = u * (n - 1);
    i = (unsigned)x;
    if (i >= n - 1)
        i = n - 2;
    x -= i;
    fprintf(f, "#%02x%02x%02x",
            (unsigned)lround(stops[i][0] + (stops[i + 1][0] - stops[i][0]) * x),
            (unsigned)lround(stops[i][1] + (stops[i + 1][1] - stops[i][1]) * x),
            (unsigned)lround(stops[i][2] + (stops[i + 1][2] - stops[i][2]) * x));
}

/* Blue (cooler than usual) - white - red (warmer); purple (softer) - white -
 * orange (firmer). */
static void scale_colour(FILE *f, enum dw_report_qty q, double v)
{
    static const unsigned char temp_stops[5][3] = {
        { 0x21, 0x66, 0xac }, { 0x92, 0xc5, 0xde }, { 0xf7, 0xf7, 0xf7 },
        { 0xf4, 0xa5, 0x82 }, { 0xb2, 0x18, 0x2b } };
    static const unsigned char pres_stops[5][3] = {
        { 0x5e, 0x3c, 0x99 }, { 0xb2, 0xab, 0xd2 }, { 0xf7, 0xf7, 0xf7 },
        { 0xfd, 0xb8, 0x63 }, { 0xe6, 0x61, 0x01 } };
    if (!isfinite(v)) {
        fputs("#cccccc", f);
        return;
    }
    if (q == DW_RQ_TEMP)
        lerp_colour(f, temp_stops, 5, (v + DEV_SPAN) / (2 * DEV_SPAN));
    else
        lerp_colour(f, pres_stops, 5, (log2(v) + RATIO_SPAN) / (2 * RATIO_SPAN));
}

static void head(const struct dw_report *rep, FILE *f)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"generator\" content=\"ductwatch " DW_VERSION "\">\n<title>ductwatch report: ", f);
    dw_html_text(f, rep->info.device_id);
    fputs(", ", f);
    dw_html_text(f, rep->info.session_start);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1260px}\n"
          "h1{font-size:1.6em}h2{border-bottom:1px solid #aaa;margin-top:1.6em}\n"
          "table{border-collapse:collapse;margin:.5em 0}\n"
          "td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}\n"
          "th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
          ".disclaimer{border:2px solid #b2182b;padding:.6em;background:#fff5f5}\n"
          ".warn{color:#b2182b;font-weight:bold}.rel{color:#666;white-space:nowrap}\n"
          ".utc{white-space:nowrap}\n"
          ".moment{display:inline-block;margin:.4em 1em .8em 0;vertical-align:top}\n"
          ".moment h3{font-size:1em;margin:.2em 0}\n"
          ".legend span.sw{display:inline-block;width:1.2em;height:.8em;margin:0 .3em 0 1em}\n"
          "svg text{font-family:sans-serif}\n"
          "</style>\n</head>\n<body>\n", f);
}

static void disclaimer(FILE *f)
{
    fputs("<p class=\"disclaimer\"><strong>ductwatch is not a medical device.</strong> "
          "It measures skin temperature and contact pressure and flags patterns that "
          "are <em>possibly</em> related to a blocked duct, engorgement or mastitis. "
          "It does not diagnose. If you have a fever of 38 &deg;C or more, feel unwell, "
          "have a red, painful area that is spreading, or a lump that does not go away "
          "within a few days, contact a midwife, lactation consultant or doctor.</p>\n", f);
}

static uint64_t gap_missing(const struct dw_report *rep, unsigned *n_gaps)
{
    uint64_t missing = 0;
    *n_gaps = 0;
    for (size_t i = 0; i < rep->n_events; i++) {
        if (!strncmp(rep->events[i].kind, "gap", sizeof(rep->events[i].kind))) {
            missing += rep->events[i].missing;
            (*n_gaps)++;
        }
    }
    return missing;
}

static void summary(const struct dw_report *rep, FILE *f)
{
    const struct dw_session_info *in = &rep->info;
    char dur[40];
    unsigned n_gaps, raised = 0;
    uint64_t missing = gap_missing(rep, &n_gaps);
    double expected = rep->hello.sample_rate_hz * (rep->elapsed_end_us / 1e6) + 1;

    for (size_t i = 0; i < rep->n_alerts; i++)
        raised += !strncmp(rep->alerts[i].state, "raised", sizeof(rep->alerts[i].state));
    dw_duration_format(rep->elapsed_end_us, dur, sizeof(dur));
    fputs("<h2 id=\"summary\">Session</h2>\n", f);
    if (in->swmr_open)
        fputs("<p class=\"warn\">This file was still being written, or its writer stopped "
              "without closing it: the report shows what had been saved when it was "
              "read.</p>\n", f);
    /* A replay or simulation at N x: host clock times say when the data
     * arrived, not when it was measured. */
    if (rep->elapsed_end_us > 60000000ull &&
        (double)(rep->last_sample_ns - rep->first_sample_ns) < 0.5e3 * (double)rep->elapsed_end_us)
        fprintf(f, "<p class=\"warn fast\">This session was received %.0f&times; faster than "
                "real time (a replay or a simulation): the UTC times below are when the "
                "host received the data; the t+ times are the garment's.</p>\n",
                rep->last_sample_ns > rep->first_sample_ns
                    ? 1e3 * (double)rep->elapsed_end_us / (double)(rep->last_sample_ns - rep->first_sample_ns)
                    : 0.0);
    fputs("<table class=\"summary\">\n<tr><th>Device</th><td class=\"device\">", f);
    dw_html_text(f, in->device_id);
    fputs("</td></tr>\n<tr><th>Firmware</th><td>", f);
    dw_html_text(f, in->firmware);
    fputs("</td></tr>\n<tr><th>Recorded by</th><td>", f);
    dw_html_text(f, in->software_version);
    fputs("</td></tr>\n<tr><th>Session start</th><td>", f);
    dw_html_text(f, in->session_start);
    fputs("</td></tr>\n<tr><th>First / last sample</th><td>", f);
    when(f, rep->first_sample_ns, 0);
    fputs(" &ndash; ", f);
    when(f, rep->last_sample_ns, rep->elapsed_end_us);
    fprintf(f, "</td></tr>\n<tr><th>Duration (device time)</th><td>%s (%.2f h)</td></tr>\n",
            dur, hours(rep->elapsed_end_us));
    fprintf(f, "<tr><th>Sample rate</th><td>%u Hz, %u zones</td></tr>\n",
            rep->hello.sample_rate_hz, rep->nz);
    fprintf(f, "<tr><th>Samples recorded</th><td>%llu of about %.0f expected (%.2f%%)</td></tr>\n",
            (unsigned long long)rep->samples, expected,
            expected > 0 ? 100.0 * (double)rep->samples / expected : 0.0);
    fprintf(f, "<tr><th>Gaps</th><td>%u (%llu frames or messages missing)</td></tr>\n",
            n_gaps, (unsigned long long)missing);
    fprintf(f, "<tr><th>Events</th><td>%zu</td></tr>\n", rep->n_events);
    fprintf(f, "<tr><th>Alerts</th><td>%u raised (%zu alert rows)</td></tr>\n</table>\n",
            raised, rep->n_alerts);
}

/* A value of the file, or a dash for none (NaN). */
static void number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.2f", v);
    else
        fputs("&ndash;", f);
}

static void alert_where(FILE *f, const struct dw_row_alert *a)
{
    char zone[DW_S_ZONE_NAME + 1], side[DW_S_SIDE + 1];
    FIELD(zone, a->zone_name);
    FIELD(side, a->side);
    if (zone[0])
        dw_html_text(f, zone);
    else if (side[0] && strcmp(side, "none"))
        dw_html_text(f, side), fputs(" side", f);
    else
        fputs("both sides", f);
}

static void alerts_table(const struct dw_report *rep, FILE *f)
{
    fputs("<h2 id=\"alerts\">Alerts</h2>\n", f);
    if (!rep->n_alerts) {
        fputs("<p>No alerts were recorded in this session.</p>\n", f);
        return;
    }
    fputs("<p>Every alert row as detection recorded it: raised, updated (still "
          "present, new value) and cleared. The message is detection's own words.</p>\n"
          "<table class=\"alerts\">\n<tr><th>Time</th><th>Rule</th><th>Level</th>"
          "<th>State</th><th>Side</th><th>Where</th><th>Value</th><th>Threshold</th>"
          "<th>Message</th></tr>\n", f);
    for (size_t i = 0; i < rep->n_alerts; i++) {
        const struct dw_row_alert *a = &rep->alerts[i];
        fputs("<tr class=\"alert-row\" data-rule=\"", f);
        FIELD_HTML(f, a->rule);
        fputs("\" data-state=\"", f);
        FIELD_HTML(f, a->state);
        fprintf(f, "\" data-id=\"%llu\"><td>", (unsigned long long)a->id);
        when(f, a->t_host_ns, rep->alert_elapsed[i]);
        td(f, "", a->rule, sizeof(a->rule));
        td(f, "", a->level, sizeof(a->level));
        td(f, "", a->state, sizeof(a->state));
        td(f, "", a->side, sizeof(a->side));
        fputs("</td><td>", f);
        alert_where(f, a);
        fputs("</td><td class=\"num\">", f);
        number(f, a->value);
        fputs("</td><td class=\"num\">", f);
        number(f, a->threshold);
        td(f, "message", a->message, sizeof(a->message));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* One zone of one breast as an SVG sector. The picture is the wearer's own
 * view looking down (as `ductwatch view`): left breast on the left, outer
 * quadrants towards the outside, the inner ring around the nipple. */
static void zone_sector(FILE *f, const struct dw_report *rep, const struct dw_report_moment *m,
                        enum dw_report_qty q, unsigned z, int alert_zone)
{
    /* Start angles (degrees, SVG: clockwise from +x) for a breast whose
     * outer side is +x (the right one); the left one is its mirror. */
    static const double a0_right[4] = { 270, 180, 90, 0 };
    const struct dw_zone_desc *d = &rep->hello.zone[z];
    double cx = d->side == DW_SIDE_LEFT ? HM_W * 0.25 : HM_W * 0.75;
    double a0 = a0_right[d->quadrant & 3], a1 = a0 + 90, r0, r1, rl, am, v, shown;
    const double *vals = q == DW_RQ_TEMP ? m->temp : m->pres;
    const double med = rep->median[q][z];
    char name[64];

    if (d->side == DW_SIDE_LEFT) {
        double t = 180 - a1;
        a1 = 180 - a0;
        a0 = t;
    }
    a0 *= M_PI / 180;
    a1 *= M_PI / 180;
    am = (a0 + a1) / 2;
    r0 = d->ring == DW_RING_INNER ? 0 : HM_R1;
    r1 = d->ring == DW_RING_INNER ? HM_R1 : HM_R;
    rl = d->ring == DW_RING_INNER ? HM_R1 * 0.62 : (HM_R1 + HM_R) / 2.0;
    v = vals[z];
    shown = q == DW_RQ_TEMP ? v - med : v / med;
    if (!isfinite(med) || (q == DW_RQ_PRES && !(med > 0)))
        shown = NAN;

    fprintf(f, "<path class=\"zone%s\" data-zone=\"%u\" data-value=\"%.3f\" fill=\"",
            (int)z == alert_zone ? " alert-zone" : "", z, shown);
    scale_colour(f, q, shown);
    fprintf(f, "\" stroke=\"%s\" stroke-width=\"%s\" d=\"", (int)z == alert_zone ? "#000" : "#555",
            (int)z == alert_zone ? "4" : "1");
    if (r0 == 0)
        fprintf(f, "M%.1f %.1f", cx, (double)HM_CY);
    else
        fprintf(f, "M%.1f %.1fA%g %g 0 0 0 %.1f %.1f", cx + r0 * cos(a1), HM_CY + r0 * sin(a1),
                r0, r0, cx + r0 * cos(a0), HM_CY + r0 * sin(a0));
    fprintf(f, "L%.1f %.1fA%g %g 0 0 1 %.1f %.1fZ\">", cx + r1 * cos(a0), HM_CY + r1 * sin(a0),
            r1, r1, cx + r1 * cos(a1), HM_CY + r1 * sin(a1));
    dw_zone_name(&rep->hello, z, name, sizeof(name));
    fputs("<title>", f);
    dw_html_text(f, name);
    if (isfinite(v))
        fprintf(f, ": %.2f %s (session median %.2f)", v, qty_unit[q], med);
    else
        fputs(": no valid value", f);
    fputs("</title></path>\n", f);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" "
            "dominant-baseline=\"middle\">", cx + rl * cos(am), HM_CY + rl * sin(am));
    if (!isfinite(shown))
        fputs("&ndash;", f);
    else if (q == DW_RQ_TEMP && fabs(shown) < 0.05)
        fputs("0.0", f); /* not "-0.0" */
    else if (q == DW_RQ_TEMP)
        fprintf(f, "%+.1f", shown);
    else
        fprintf(f, "&times;%.2f", shown);
    fputs("</text>\n", f);
}

static void heatmap(FILE *f, const struct dw_report *rep, const struct dw_report_moment *m,
                    enum dw_report_qty q)
{
    int alert_zone = m->kind == DW_MOMENT_ALERT ? rep->alerts[m->alert].zone : -1;
    fprintf(f, "<svg class=\"heatmap\" data-qty=\"%s\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\">\n",
            qty_name[q], HM_W, HM_H, HM_W, HM_H);
    fprintf(f, "<text x=\"%d\" y=\"16\" font-size=\"14\" text-anchor=\"middle\">%s</text>\n",
            HM_W / 2, q == DW_RQ_TEMP ? "temperature minus the zone's session median (\xc2\xb0" "C)"
                                      : "pressure / the zone's session median");
    fprintf(f, "<text x=\"%d\" y=\"36\" font-size=\"13\" text-anchor=\"middle\" "
            "font-weight=\"bold\">LEFT</text>\n", HM_W / 4);
    fprintf(f, "<text x=\"%d\" y=\"36\" font-size=\"13\" text-anchor=\"middle\" "
            "font-weight=\"bold\">RIGHT</text>\n", HM_W * 3 / 4);
    fprintf(f, "<text x=\"%g\" y=\"%d\" font-size=\"11\">&larr; outer</text>\n"
            "<text x=\"%g\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">outer &rarr;</text>\n"
            "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">midline</text>\n"
            "<line x1=\"%d\" y1=\"44\" x2=\"%d\" y2=\"%d\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
            HM_W * 0.25 - HM_R, HM_CY - HM_R + 4, HM_W * 0.75 + HM_R, HM_CY - HM_R + 4,
            HM_W / 2, HM_H - 2, HM_W / 2, HM_W / 2, HM_H - 14);
    for (unsigned z = 0; z < rep->nz; z++)
        if (rep->hello.zone[z].side <= DW_SIDE_RIGHT)
            zone_sector(f, rep, m, q, z, alert_zone);
    fprintf(f, "<circle cx=\"%g\" cy=\"%d\" r=\"3\" fill=\"#333\"/>"
            "<circle cx=\"%g\" cy=\"%d\" r=\"3\" fill=\"#333\"/>\n</svg>\n",
            HM_W * 0.25, HM_CY, HM_W * 0.75, HM_CY);
}

static void colour_legend(FILE *f, enum dw_report_qty q)
{
    const unsigned n = 9;
    fprintf(f, "<svg class=\"scale\" data-qty=\"%s\" width=\"480\" height=\"46\" "
            "viewBox=\"0 0 480 46\">\n", qty_name[q]);
    for (unsigned i = 0; i < n; i++) {
        double u = (double)i / (n - 1);
        double v = q == DW_RQ_TEMP ? -DEV_SPAN + 2 * DEV_SPAN * u
                                   : exp2(-RATIO_SPAN + 2 * RATIO_SPAN * u);
        fprintf(f, "<rect x=\"%u\" y=\"4\" width=\"44\" height=\"16\" stroke=\"#555\" fill=\"", 20 + i * 48);
        scale_colour(f, q, v);
        fprintf(f, "\"/><text x=\"%u\" y=\"36\" font-size=\"12\" text-anchor=\"middle\">", 42 + i * 48);
        if (q == DW_RQ_TEMP)
            fprintf(f, "%s%+.1f", i == 0 ? "&le;" : i == n - 1 ? "&ge;" : "", v);
        else
            fprintf(f, "%s&times;%.2f", i == 0 ? "&le;" : i == n - 1 ? "&ge;" : "", v);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
}

static void heatmaps(const struct dw_report *rep, FILE *f)
{
    fputs("<h2 id=\"heatmaps\">Zones at the moments that matter</h2>\n"
          "<p>Each breast is drawn as the wearer sees it looking down: left breast on the "
          "left, outer quadrants (towards the arm) on the outside, upper quadrants at the "
          "top, the inner ring around the nipple (dot). Colour: the zone's temperature "
          "minus that zone's median over the whole session (&deg;C), and its pressure "
          "divided by its session median; grey means no valid reading (sensor fault). "
          "Hover a zone for the absolute value. An alert's zone has a black outline. "
          "Each map shows the first sample at or after the moment.</p>\n", f);
    fputs("<div class=\"legend\">", f);
    colour_legend(f, DW_RQ_TEMP);
    colour_legend(f, DW_RQ_PRES);
    fputs("</div>\n", f);
    for (size_t i = 0; i < rep->n_moments; i++) {
        const struct dw_report_moment *m = &rep->moments[i];
        static const char *const kind[] = { "start", "alert", "end" };
        fprintf(f, "<div class=\"moment\" data-kind=\"%s\"><h3>", kind[m->kind]);
        if (m->kind == DW_MOMENT_ALERT) {
            const struct dw_row_alert *a = &rep->alerts[m->alert];
            char rule[DW_S_RULE + 1], level[DW_S_LEVEL + 1];
            FIELD(rule, a->rule);
            FIELD(level, a->level);
            fputs("Alert ", f);
            dw_html_text(f, rule);
            fputs(" (", f);
            dw_html_text(f, level);
            fputs(") raised, ", f);
            alert_where(f, a);
            fputs(": ", f);
            when(f, a->t_host_ns, rep->alert_elapsed[m->alert]);
        } else {
            fputs(m->kind == DW_MOMENT_START ? "Start: " : "End: ", f);
            when(f, m->t_host_ns, m->elapsed_us);
        }
        fputs("</h3>\n", f);
        if (!m->filled) {
            fputs("<p>No sample in the file.</p></div>\n", f);
            continue;
        }
        heatmap(f, rep, m, DW_RQ_TEMP);
        heatmap(f, rep, m, DW_RQ_PRES);
        fputs("</div>\n", f);
    }
    if (rep->alerts_not_drawn)
        fprintf(f, "<p class=\"warn\">%zu more raised alerts are in the table above but "
                "not drawn here.</p>\n", rep->alerts_not_drawn);
}

struct marker_style { const char *kind, *colour, *dash, *label; };

static const struct marker_style marker_styles[] = {
    { "feed-start", "#1a9641", "", "feed start" },
    { "feed-end", "#1a9641", "5 3", "feed end" },
    { "pump-start", "#1a9641", "", "pumping start" },
    { "pump-end", "#1a9641", "5 3", "pumping end" },
    { "thermometer", "#d95f02", "", "thermometer reading" },
    { "shower", "#2c7bb6", "", "shower" },
    { "ice-pack", "#2c7bb6", "2 2", "ice pack" },
    { "heat-pack", "#fdae61", "2 2", "heat pack" },
    { "link-down", "#555555", "6 2", "link down" },
    { "link-up", "#555555", "2 2", "link up" },
    { "gap", "#000000", "1 2", "gap (data missing)" },
};

static const struct marker_style *marker_style(const char *kind)
{
    static const struct marker_style other = { "", "#aaaaaa", "3 3", "other event" };
    for (size_t i = 0; i < sizeof(marker_styles) / sizeof(*marker_styles); i++)
        if (!strcmp(marker_styles[i].kind, kind))
            return &marker_styles[i];
    return &other;
}

struct chart_geom {
    double ymin, ymax;   /* values at the bottom and top of the plot */
    double sx;           /* px per bucket */
    uint64_t bucket_us;
};

static double chart_x(const struct chart_geom *g, uint64_t elapsed_us)
{
    return CH_L + (double)elapsed_us / (double)g->bucket_us * g->sx;
}

/* y in tenths of a px below the plot top: integers keep the paths short. */
static long chart_y(const struct chart_geom *g, double v)
{
    return lround((g->ymax - v) / (g->ymax - g->ymin) * CH_PH * 10);
}

/* Nice tick step for a range, about n ticks. */
static double tick_step(double range, unsigned n)
{
    double raw = range / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Runs of non-empty buckets as paths in bucket units (x) and tenths of a
 * px (y): the mean line, and the band between min and max. */
static void series(FILE *f, const struct dw_report *rep, const struct chart_geom *g,
                   enum dw_report_qty q, unsigned z)
{
    const struct dw_report_bucket *b = rep->bk[q] + (size_t)z * DW_REPORT_MAX_BUCKETS;
    const char *col = zone_colour[(rep->hello.zone[z].quadrant * 2 + rep->hello.zone[z].ring) & 7];
    unsigned n = rep->n_buckets;

    fprintf(f, "<path class=\"band\" data-zone=\"%u\" fill=\"%s\" fill-opacity=\"0.25\" "
            "stroke=\"none\" d=\"", z, col);
    for (unsigned i = 0; i < n;) {
        unsigned a = i, e;
        long y;
        if (!b[i].n) {
            i++;
            continue;
        }
        for (e = a; e < n && b[e].n; e++)
            ;
        /* Along the maxima, then back along the minima. */
        y = chart_y(g, b[a].max);
        fprintf(f, "M%u %ldl", a, y);
        for (unsigned k = a + 1; k < e; k++) {
            long yk = chart_y(g, b[k].max);
            fprintf(f, " 1 %ld", yk - y);
            y = yk;
        }
        fprintf(f, " 1 0 0 %ld", chart_y(g, b[e - 1].min) - y);
        y = chart_y(g, b[e - 1].min);
        for (unsigned k = e; k-- > a;) {
            long yk = chart_y(g, b[k].min);
            fprintf(f, " -1 %ld", yk - y);
            y = yk;
        }
        fputs("Z", f);
        i = e;
    }
    fprintf(f, "\"/>\n<path class=\"mean\" data-zone=\"%u\" fill=\"none\" stroke=\"%s\" "
            "stroke-width=\"1.2\" vector-effect=\"non-scaling-stroke\" d=\"", z, col);
    for (unsigned i = 0; i < n;) {
        unsigned e;
        long y;
        if (!b[i].n) {
            i++;
            continue;
        }
        y = chart_y(g, b[i].sum / b[i].n);
        fprintf(f, "M%u.5 %ld", i, y);
        for (e = i + 1; e < n && b[e].n; e++) {
            long yk = chart_y(g, b[e].sum / b[e].n);
            fprintf(f, "%s1 %ld", e == i + 1 ? "l" : " ", yk - y);
            y = yk;
        }
        i = e;
    }
    fputs("\"/>\n", f);
}

static void vmarker(FILE *f, double x, const char *colour, const char *dash, double width)
{
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
            "stroke-width=\"%g\"%s%s%s>", x, CH_T, x, CH_T + CH_PH, colour, width,
            dash[0] ? " stroke-dasharray=\"" : "", dash, dash[0] ? "\"" : "");
}

static void chart_markers(FILE *f, const struct dw_report *rep, const struct chart_geom *g,
                          unsigned side)
{
    for (size_t i = 0; i < rep->n_events; i++) {
        const struct dw_row_event *ev = &rep->events[i];
        char kind[DW_S_KIND + 1], evside[DW_S_SIDE + 1], text[DW_S_TEXT + 1];
        const struct marker_style *st;
        FIELD(kind, ev->kind);
        FIELD(evside, ev->side);
        FIELD(text, ev->text);
        /* A feed on the other breast is not this chart's business. */
        if ((!strcmp(evside, "left") || !strcmp(evside, "right")) && strcmp(evside, side_word(side)))
            continue;
        st = marker_style(kind);
        fputs("<g class=\"event-marker\" data-kind=\"", f);
        dw_html_text(f, kind);
        fputs("\">", f);
        vmarker(f, chart_x(g, rep->event_elapsed[i]), st->colour, st->dash, 1);
        fputs("<title>", f);
        dw_html_text(f, kind);
        if (evside[0] && strcmp(evside, "none"))
            fputs(" ", f), dw_html_text(f, evside);
        if (isfinite(ev->value))
            fprintf(f, " %.2f", ev->value);
        if (ev->missing)
            fprintf(f, " (%llu missing)", (unsigned long long)ev->missing);
        if (text[0])
            fputs(": ", f), dw_html_text(f, text);
        fputs("</title></line></g>\n", f);
    }
    for (size_t i = 0; i < rep->n_alerts; i++) {
        const struct dw_row_alert *a = &rep->alerts[i];
        char rule[DW_S_RULE + 1], state[DW_S_STATE + 1], level[DW_S_LEVEL + 1];
        char aside[DW_S_SIDE + 1], msg[DW_S_MESSAGE + 1];
        double x = chart_x(g, rep->alert_elapsed[i]);
        bool raised;
        FIELD(rule, a->rule);
        FIELD(state, a->state);
        FIELD(level, a->level);
        FIELD(aside, a->side);
        FIELD(msg, a->message);
        if ((!strcmp(aside, "left") || !strcmp(aside, "right")) && strcmp(aside, side_word(side)))
            continue;
        raised = !strcmp(state, "raised");
        fputs("<g class=\"alert-marker\" data-rule=\"", f);
        dw_html_text(f, rule);
        fputs("\" data-state=\"", f);
        dw_html_text(f, state);
        fprintf(f, "\" data-id=\"%llu\">", (unsigned long long)a->id);
        vmarker(f, x, "#d7191c", raised ? "" : "4 2", raised ? 3 : 1);
        fputs("<title>", f);
        dw_html_text(f, rule);
        fputs(" ", f);
        dw_html_text(f, level);
        fputs(" ", f);
        dw_html_text(f, state);
        fputs(" (", f);
        dw_html_text(f, aside);
        fputs("): ", f);
        dw_html_text(f, msg);
        fprintf(f, "</title></line><text x=\"%.1f\" y=\"%d\" font-size=\"11\" fill=\"#d7191c\" "
                "text-anchor=\"middle\">", x, CH_T - 4);
        dw_html_text(f, rule);
        fputs(raised ? "" : (!strcmp(state, "cleared") ? "&#10003;" : "&prime;"), f);
        fputs("</text></g>\n", f);
    }
}

static void chart(const struct dw_report *rep, FILE *f, enum dw_report_qty q, unsigned side)
{
    struct chart_geom g = { .bucket_us = rep->bucket_us };
    bool any = false;
    double step, span_h;

    for (unsigned z = 0; z < rep->nz; z++) {
        if (rep->hello.zone[z].side != side || !isfinite(rep->vmin[q][z]))
            continue;
        if (!any || rep->vmin[q][z] < g.ymin)
            g.ymin = rep->vmin[q][z];
        if (!any || rep->vmax[q][z] > g.ymax)
            g.ymax = rep->vmax[q][z];
        any = true;
    }
    fprintf(f, "<h3>%s breast: %s (%s)</h3>\n", side == DW_SIDE_LEFT ? "Left" : "Right",
            qty_name[q], qty_unit[q]);
    if (!any || !rep->n_buckets) {
        fputs("<p>No valid readings on this side.</p>\n", f);
        return;
    }
    {
        /* Some room around the data, and never a range narrower than the
         * sensor noise. */
        double minr = q == DW_RQ_TEMP ? 0.5 : 0.2, mid = (g.ymin + g.ymax) / 2;
        if (g.ymax - g.ymin < minr) {
            g.ymin = mid - minr / 2;
            g.ymax = mid + minr / 2;
        }
        double pad = (g.ymax - g.ymin) * 0.05;
        g.ymin -= pad;
        g.ymax += pad;
    }
    g.sx = (double)CH_PW / rep->n_buckets;
    fprintf(f, "<svg class=\"chart\" data-qty=\"%s\" data-side=\"%s\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" data-ymin=\"%.6g\" data-ymax=\"%.6g\" data-plot-left=\"%d\" "
            "data-plot-top=\"%d\" data-plot-height=\"%d\" data-x-scale=\"%.6g\" "
            "data-buckets=\"%u\" data-bucket-us=\"%llu\" role=\"img\">\n",
            qty_name[q], side_word(side), CH_W, CH_H, CH_W, CH_H, g.ymin, g.ymax, CH_L, CH_T,
            CH_PH, g.sx, rep->n_buckets, (unsigned long long)g.bucket_us);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fcfcfc\" stroke=\"#888\"/>\n",
            CH_L, CH_T, CH_PW, CH_PH);
    /* y grid and labels */
    step = tick_step(g.ymax - g.ymin, 6);
    for (double v = ceil(g.ymin / step) * step; v <= g.ymax; v += step) {
        double y = CH_T + chart_y(&g, v) / 10.0;
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
                "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" "
                "dominant-baseline=\"middle\">%.*f</text>\n", CH_L, y, CH_L + CH_PW, y,
                CH_L - 4, y, step < 0.1 ? 2 : step < 1 ? 1 : 0, v);
    }
    /* x ticks in hours of session time */
    span_h = hours(rep->bucket_us * rep->n_buckets);
    step = tick_step(span_h, 12);
    for (double h = 0; h <= span_h + 1e-9; h += step) {
        double x = CH_L + h * 3.6e9 / (double)g.bucket_us * g.sx;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\"/>"
                "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%g h</text>\n",
                x, CH_T + CH_PH, x, CH_T + CH_PH + 5, x, CH_T + CH_PH + 18, h);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">"
            "session time (device clock), hours</text>\n", CH_L + CH_PW / 2, CH_H - 4);
    fprintf(f, "<g class=\"plot\" transform=\"translate(%d %d) scale(%.6g 0.1)\">\n", CH_L, CH_T, g.sx);
    for (unsigned z = 0; z < rep->nz; z++)
        if (rep->hello.zone[z].side == side)
            series(f, rep, &g, q, z);
    fputs("</g>\n", f);
    chart_markers(f, rep, &g, side);
    fputs("</svg>\n<p class=\"legend\">", f);
    for (unsigned z = 0; z < rep->nz; z++) {
        char name[64];
        if (rep->hello.zone[z].side != side)
            continue;
        dw_zone_name(&rep->hello, z, name, sizeof(name));
        fprintf(f, "<span class=\"sw\" style=\"background:%s\"></span><span class=\"zone-range\" "
                "data-zone=\"%u\" data-min=\"%.2f\" data-max=\"%.2f\" data-median=\"%.2f\">",
                zone_colour[(rep->hello.zone[z].quadrant * 2 + rep->hello.zone[z].ring) & 7], z,
                rep->vmin[q][z], rep->vmax[q][z], rep->median[q][z]);
        dw_html_text(f, name + (strchr(name, ' ') ? strchr(name, ' ') - name + 1 : 0));
        fprintf(f, " (%.2f&ndash;%.2f)</span>", rep->vmin[q][z], rep->vmax[q][z]);
    }
    fputs("</p>\n", f);
}

static void charts(const struct dw_report *rep, FILE *f)
{
    char w[40];
    dw_duration_format(rep->bucket_us, w, sizeof(w));
    fprintf(f, "<h2 id=\"timeseries\">Zones over the session</h2>\n"
            "<p>One line per zone: the mean of each time bucket (%u buckets of %s each); "
            "the shaded band reaches from the lowest to the highest reading in the "
            "bucket, so a short spike still shows. Breaks in a line are times without "
            "data. Vertical lines: events and alerts (hover for details); a feed or an "
            "alert on one breast is marked on that breast's charts only.</p>\n<p class=\"legend\">",
            rep->n_buckets, w);
    for (size_t i = 0; i < sizeof(marker_styles) / sizeof(*marker_styles); i++) {
        const struct marker_style *st = &marker_styles[i];
        if (!strcmp(st->kind, "pump-start") || !strcmp(st->kind, "pump-end"))
            continue;
        fprintf(f, "<svg width=\"30\" height=\"12\"><line x1=\"0\" y1=\"6\" x2=\"30\" y2=\"6\" "
                "stroke=\"%s\" stroke-width=\"2\"%s%s%s/></svg> %s ", st->colour,
                st->dash[0] ? " stroke-dasharray=\"" : "", st->dash, st->dash[0] ? "\"" : "",
                st->label);
    }
    fputs("<svg width=\"30\" height=\"12\"><line x1=\"0\" y1=\"6\" x2=\"30\" y2=\"6\" "
          "stroke=\"#d7191c\" stroke-width=\"3\"/></svg> alert raised "
          "(&prime; updated, &#10003; cleared)</p>\n", f);
    for (unsigned q = 0; q < DW_RQ_COUNT; q++)
        for (unsigned side = 0; side < 2; side++)
            chart(rep, f, q, side);
}

static void event_row(FILE *f, const struct dw_report *rep, size_t i)
{
    const struct dw_row_event *ev = &rep->events[i];
    fputs("<tr class=\"event-row\" data-kind=\"", f);
    FIELD_HTML(f, ev->kind);
    fputs("\"><td>", f);
    when(f, ev->t_host_ns, rep->event_elapsed[i]);
    td(f, "", ev->kind, sizeof(ev->kind));
    td(f, "", ev->side, sizeof(ev->side));
    fputs("</td><td class=\"num\">", f);
    number(f, ev->value);
    fprintf(f, "</td><td class=\"num\">%llu", (unsigned long long)ev->missing);
    td(f, "", ev->source, sizeof(ev->source));
    td(f, "text", ev->text, sizeof(ev->text));
    fputs("</td></tr>\n", f);
}

static const char event_header[] =
    "<tr><th>Time</th><th>Kind</th><th>Side</th><th>Value</th><th>Missing</th>"
    "<th>Source</th><th>Text</th></tr>\n";

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
        FIELD(src, rep->stats[i].source);
        for (unsigned s = 0; s < 2; s++)
            if (!strcmp(src, sources[s])) {
                last[s] = &rep->stats[i];
                rows[s]++;
            }
    }
    fprintf(f, "<h3>Loss and health counters</h3>\n");
    if (!last[0] && !last[1]) {
        fputs("<p>The file has no stats rows.</p>\n", f);
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
        FIELD(kind, rep->events[i].kind);
        if (!is_link_event(kind))
            continue;
        if (!n++)
            fprintf(f, "<table class=\"gaps\">\n%s", event_header);
        event_row(f, rep, i);
    }
    fputs(n ? "</table>\n" : "<p>No gaps and no link interruptions were recorded.</p>\n", f);
}

static void events(const struct dw_report *rep, FILE *f)
{
    fputs("<h2 id=\"events\">Events</h2>\n", f);
    if (!rep->n_events) {
        fputs("<p>No events were recorded.</p>\n", f);
        return;
    }
    fprintf(f, "<table class=\"events\">\n%s", event_header);
    for (size_t i = 0; i < rep->n_events; i++)
        event_row(f, rep, i);
    fputs("</table>\n", f);
}

int dw_report_write_html(const struct dw_report *rep, FILE *f)
{
    const char *base = strrchr(rep->path, '/');
    char now[40];

    head(rep, f);
    fputs("<h1>ductwatch session report</h1>\n", f);
    disclaimer(f);
    summary(rep, f);
    alerts_table(rep, f);
    /* The whole session first, then the moments: a long session can have
     * many alerts, each with its maps. */
    charts(rep, f);
    heatmaps(rep, f);
    loss(rep, f);
    events(rep, f);
    fputs("<footer><p>Made by ductwatch " DW_VERSION " from ", f);
    dw_html_text(f, base ? base + 1 : rep->path);
    if (rep->req.generated_ns) {
        dw_format_utc(rep->req.generated_ns, now, sizeof(now), 0);
        fprintf(f, " at %s", now);
    }
    fputs(".</p></footer>\n</body>\n</html>\n", f);
    return ferror(f) ? -EIO : 0;
}
