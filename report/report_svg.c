/* The report's pictures, inline SVG: per breast and quantity a chart of
 * every zone over time (clock time on the axis, the garment's time on
 * hover), and zone heat maps coloured by what the rules compare. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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

/* R on a log scale: x0.5 and x2 are symmetric. */
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

/* ---- colours ----------------------------------------------------------- */

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

/* Warmth dL saturates at twice T2's threshold (default +-2.0 degrees C). */
static double dl_span(const struct dw_report *rep)
{
    return rep->cfg.t2_delta_c > 0 ? 2 * rep->cfg.t2_delta_c : 2.0;
}

/* Blue (cooler than usual against its neighbours) - white - red (warmer);
 * purple (softer than after a feed) - white - orange (firmer). */
static void scale_colour(FILE *f, const struct dw_report *rep, enum dw_report_qty q, double v)
{
    static const unsigned char temp_stops[5][3] = {
        { 0x21, 0x66, 0xac }, { 0x92, 0xc5, 0xde }, { 0xf7, 0xf7, 0xf7 },
        { 0xf4, 0xa5, 0x82 }, { 0xb2, 0x18, 0x2b } };
    static const unsigned char pres_stops[5][3] = {
        { 0x5e, 0x3c, 0x99 }, { 0xb2, 0xab, 0xd2 }, { 0xf7, 0xf7, 0xf7 },
        { 0xfd, 0xb8, 0x63 }, { 0xe6, 0x61, 0x01 } };
    if (!isfinite(v) || (q == DW_RQ_PRES && !(v > 0))) {
        fputs("#cccccc", f);
        return;
    }
    if (q == DW_RQ_TEMP)
        lerp_colour(f, temp_stops, 5, (v + dl_span(rep)) / (2 * dl_span(rep)));
    else
        lerp_colour(f, pres_stops, 5, (log2(v) + RATIO_SPAN) / (2 * RATIO_SPAN));
}

/* ---- heat maps --------------------------------------------------------- */

static void sector_path(FILE *f, double cx, double a0, double a1, double r0, double r1)
{
    if (r0 == 0)
        fprintf(f, "M%.1f %.1f", cx, (double)HM_CY);
    else
        fprintf(f, "M%.1f %.1fA%g %g 0 0 0 %.1f %.1f", cx + r0 * cos(a1), HM_CY + r0 * sin(a1),
                r0, r0, cx + r0 * cos(a0), HM_CY + r0 * sin(a0));
    fprintf(f, "L%.1f %.1fA%g %g 0 0 1 %.1f %.1fZ", cx + r1 * cos(a0), HM_CY + r1 * sin(a0),
            r1, r1, cx + r1 * cos(a1), HM_CY + r1 * sin(a1));
}

static void sector_title(FILE *f, const struct dw_report *rep, const struct dw_report_moment *m,
                         enum dw_report_qty q, unsigned z)
{
    char name[64];
    double v = q == DW_RQ_TEMP ? m->dl[z] : m->r[z];
    dw_zone_name(&rep->hello, z, name, sizeof(name));
    fputs("<title>", f);
    dw_html_text(f, name);
    if (!isfinite(v))
        fputs(": the rules had no value here then", f);
    else if (q == DW_RQ_TEMP)
        fprintf(f, ": %+.2f \xc2\xb0" "C warmer than its neighbours, against its usual (dL)", v);
    else
        fprintf(f, ": pressure %.2f \xc3\x97 its pressure after a feed (R)", v);
    if (isfinite(v) && (q == DW_RQ_TEMP ? m->dl_last[z] : m->r_last[z]))
        fputs(", the last value before the rules paused (feed or shower window)", f);
    if (isfinite(q == DW_RQ_TEMP ? m->temp[z] : m->pres[z]))
        fprintf(f, "; reading %.2f %s", q == DW_RQ_TEMP ? m->temp[z] : m->pres[z], qty_unit[q]);
    else
        fputs("; no valid reading", f);
    fputs("</title>", f);
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
    double a0 = a0_right[d->quadrant & 3], a1 = a0 + 90, rl, am;
    double v = q == DW_RQ_TEMP ? m->dl[z] : m->r[z];
    bool alert = (int)z == alert_zone;

    if (d->side == DW_SIDE_LEFT) {
        double t = 180 - a1;
        a1 = 180 - a0;
        a0 = t;
    }
    a0 *= M_PI / 180;
    a1 *= M_PI / 180;
    am = (a0 + a1) / 2;
    rl = d->ring == DW_RING_INNER ? HM_R1 * 0.62 : (HM_R1 + HM_R) / 2.0;
    fprintf(f, "<path class=\"zone%s\" data-zone=\"%u\" data-side=\"%s\" data-value=\"%.3f\" "
            "fill=\"", alert ? " alert-zone" : "", z, side_word(d->side), v);
    scale_colour(f, rep, q, v);
    fprintf(f, "\" stroke=\"%s\" stroke-width=\"%s\" d=\"", alert ? "#000" : "#555",
            alert ? "5" : "1");
    sector_path(f, cx, a0, a1, d->ring == DW_RING_INNER ? 0 : HM_R1,
                d->ring == DW_RING_INNER ? HM_R1 : HM_R);
    fputs("\">", f);
    sector_title(f, rep, m, q, z);
    fputs("</path>\n", f);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\" "
            "dominant-baseline=\"middle\"%s>", cx + rl * cos(am), HM_CY + rl * sin(am),
            alert ? " font-weight=\"bold\"" : "");
    if (!isfinite(v))
        fputs("&ndash;", f);
    else if (q == DW_RQ_TEMP && fabs(v) < 0.05)
        fputs("0.0", f); /* not "-0.0" */
    else if (q == DW_RQ_TEMP)
        fprintf(f, "%+.1f", v);
    else
        fprintf(f, "&times;%.2f", v);
    fputs("</text>\n", f);
}

void dw_report_heatmap(FILE *f, const struct dw_report *rep, const struct dw_report_moment *m,
                       enum dw_report_qty q, int only_side)
{
    int alert_zone = m->kind == DW_MOMENT_ALERT ? rep->alerts[m->alert].zone : -1;
    /* one breast: the same drawing, its half of the picture */
    int x0 = only_side == DW_SIDE_RIGHT ? HM_W / 2 : 0;
    int w = only_side == DW_SIDE_LEFT || only_side == DW_SIDE_RIGHT ? HM_W / 2 : HM_W;
    fprintf(f, "<svg class=\"heatmap\" data-qty=\"%s\" width=\"%d\" height=\"%d\" "
            "viewBox=\"%d 0 %d %d\" role=\"img\">\n", qty_name[q], w, HM_H, x0, w, HM_H);
    fprintf(f, "<text x=\"%d\" y=\"16\" font-size=\"%d\" text-anchor=\"middle\">%s</text>\n",
            x0 + w / 2, w == HM_W ? 15 : 12,
            q == DW_RQ_TEMP ? "Warmth vs. neighbours and usual (dL, \xc2\xb0" "C)"
                            : "Firmness vs. after a feed (R)");
    fprintf(f, "<text x=\"%d\" y=\"36\" font-size=\"14\" text-anchor=\"middle\" "
            "font-weight=\"bold\">LEFT</text>\n", HM_W / 4);
    fprintf(f, "<text x=\"%d\" y=\"36\" font-size=\"14\" text-anchor=\"middle\" "
            "font-weight=\"bold\">RIGHT</text>\n", HM_W * 3 / 4);
    fprintf(f, "<text x=\"%g\" y=\"%d\" font-size=\"12\">&larr; outer</text>\n"
            "<text x=\"%g\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">outer &rarr;</text>\n"
            "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"%s\">midline</text>\n"
            "<line x1=\"%d\" y1=\"44\" x2=\"%d\" y2=\"%d\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n",
            HM_W * 0.25 - HM_R, HM_CY - HM_R + 4, HM_W * 0.75 + HM_R, HM_CY - HM_R + 4,
            HM_W / 2 + (x0 ? 4 : w == HM_W ? 0 : -4), HM_H - 2,
            w == HM_W ? "middle" : x0 ? "start" : "end", HM_W / 2, HM_W / 2, HM_H - 14);
    /* the alert's zone last, so its outline is on top */
    for (unsigned z = 0; z < rep->nz; z++)
        if (rep->hello.zone[z].side <= DW_SIDE_RIGHT && (int)z != alert_zone)
            zone_sector(f, rep, m, q, z, alert_zone);
    if (alert_zone >= 0 && (unsigned)alert_zone < rep->nz &&
        rep->hello.zone[alert_zone].side <= DW_SIDE_RIGHT)
        zone_sector(f, rep, m, q, (unsigned)alert_zone, alert_zone);
    fprintf(f, "<circle cx=\"%g\" cy=\"%d\" r=\"3\" fill=\"#333\"/>"
            "<circle cx=\"%g\" cy=\"%d\" r=\"3\" fill=\"#333\"/>\n</svg>\n",
            HM_W * 0.25, HM_CY, HM_W * 0.75, HM_CY);
}

/* The colour scale with the rules' thresholds on it. */
void dw_report_scale_legend(FILE *f, const struct dw_report *rep, enum dw_report_qty q)
{
    const unsigned n = 9;
    fprintf(f, "<svg class=\"scale\" data-qty=\"%s\" width=\"460\" height=\"62\" "
            "viewBox=\"0 0 460 62\">\n", qty_name[q]);
    for (unsigned i = 0; i < n; i++) {
        double u = (double)i / (n - 1);
        double v = q == DW_RQ_TEMP ? -dl_span(rep) + 2 * dl_span(rep) * u
                                   : exp2(-RATIO_SPAN + 2 * RATIO_SPAN * u);
        fprintf(f, "<rect x=\"%u\" y=\"4\" width=\"46\" height=\"18\" stroke=\"#555\" fill=\"",
                10 + i * 48);
        scale_colour(f, rep, q, v);
        fprintf(f, "\"/><text x=\"%u\" y=\"38\" font-size=\"13\" text-anchor=\"middle\">",
                33 + i * 48);
        if (q == DW_RQ_TEMP)
            fprintf(f, "%s%+.1f", i == 0 ? "&le;" : i == n - 1 ? "&ge;" : "", v);
        else
            fprintf(f, "%s&times;%.2f", i == 0 ? "&le;" : i == n - 1 ? "&ge;" : "", v);
        fputs("</text>\n", f);
    }
    fprintf(f, "<text x=\"10\" y=\"56\" font-size=\"12\">");
    if (q == DW_RQ_TEMP)
        fprintf(f, "Rules: T1 at +%.1f, T2 at +%.1f \xc2\xb0" "C (and the mirror zone too)",
                rep->cfg.t1_delta_c, rep->cfg.t2_delta_c);
    else
        fprintf(f, "Rules: F1 at &times;%.2f (and &times;%.2f its neighbours)", rep->cfg.f1_r,
                rep->cfg.f1_q);
    fputs("</text>\n</svg>\n", f);
}

/* ---- charts ------------------------------------------------------------ */

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
    uint64_t bucket_us, origin_us;
};

static double chart_x(const struct chart_geom *g, uint64_t elapsed_us)
{
    double x = elapsed_us > g->origin_us ? (double)(elapsed_us - g->origin_us) : 0.0;
    return CH_L + x / (double)g->bucket_us * g->sx;
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

static void band_path(FILE *f, const struct dw_report_bucket *b, unsigned n,
                      const struct chart_geom *g)
{
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
}

static void mean_path(FILE *f, const struct dw_report_bucket *b, unsigned n,
                      const struct chart_geom *g)
{
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
}

/* Runs of non-empty buckets as paths in bucket units (x) and tenths of a
 * px (y): the mean line, and the band between min and max. */
static void series(FILE *f, const struct dw_report *rep, const struct chart_geom *g,
                   enum dw_report_qty q, unsigned z)
{
    const struct dw_report_bucket *b = rep->bk[q] + (size_t)z * DW_REPORT_MAX_BUCKETS;
    const char *col = zone_colour[(rep->hello.zone[z].quadrant * 2 + rep->hello.zone[z].ring) & 7];
    fprintf(f, "<path class=\"band\" data-zone=\"%u\" fill=\"%s\" fill-opacity=\"0.25\" "
            "stroke=\"none\" d=\"", z, col);
    band_path(f, b, rep->n_buckets, g);
    fprintf(f, "\"/>\n<path class=\"mean\" data-zone=\"%u\" fill=\"none\" stroke=\"%s\" "
            "stroke-width=\"1.2\" vector-effect=\"non-scaling-stroke\" d=\"", z, col);
    mean_path(f, b, rep->n_buckets, g);
    fputs("\"/>\n", f);
}

static void vmarker(FILE *f, double x, const char *colour, const char *dash, double width)
{
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
            "stroke-width=\"%g\"%s%s%s>", x, CH_T, x, CH_T + CH_PH, colour, width,
            dash[0] ? " stroke-dasharray=\"" : "", dash, dash[0] ? "\"" : "");
}

/* "Tue 3 Dec 14:05, garment t+1d 13:55:02" for a marker's hover text. */
static void title_when(FILE *f, const struct dw_report *rep, uint64_t elapsed_us)
{
    char clock[64], dev[40];
    dw_report_format_clock(dw_report_clock_ns(rep, elapsed_us), DW_CLOCK_SHORT, clock,
                           sizeof(clock));
    dw_report_format_device(elapsed_us, dev, sizeof(dev));
    dw_html_text(f, clock);
    fprintf(f, " (garment %s): ", dev);
}

static bool other_side(const char *side, unsigned chart_side)
{
    return (!strcmp(side, "left") || !strcmp(side, "right")) && strcmp(side, side_word(chart_side));
}

static void event_markers(FILE *f, const struct dw_report *rep, const struct chart_geom *g,
                          unsigned side)
{
    for (size_t i = 0; i < rep->n_events; i++) {
        const struct dw_row_event *ev = &rep->events[i];
        char kind[DW_S_KIND + 1], evside[DW_S_SIDE + 1], text[DW_S_TEXT + 1];
        const struct marker_style *st;
        DW_FIELD(kind, ev->kind);
        DW_FIELD(evside, ev->side);
        DW_FIELD(text, ev->text);
        /* A feed on the other breast is not this chart's business. */
        if (other_side(evside, side))
            continue;
        st = marker_style(kind);
        fputs("<g class=\"event-marker\" data-kind=\"", f);
        dw_html_text(f, kind);
        fputs("\">", f);
        vmarker(f, chart_x(g, rep->event_elapsed[i]), st->colour, st->dash, 1);
        fputs("<title>", f);
        title_when(f, rep, rep->event_elapsed[i]);
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
}

static void alert_markers(FILE *f, const struct dw_report *rep, const struct chart_geom *g,
                          unsigned side)
{
    for (size_t i = 0; i < rep->n_alerts; i++) {
        const struct dw_row_alert *a = &rep->alerts[i];
        char rule[DW_S_RULE + 1], state[DW_S_STATE + 1], level[DW_S_LEVEL + 1];
        char aside[DW_S_SIDE + 1], msg[DW_S_MESSAGE + 1];
        double x = chart_x(g, rep->alert_elapsed[i]);
        bool raised, info;
        DW_FIELD(rule, a->rule);
        DW_FIELD(state, a->state);
        DW_FIELD(level, a->level);
        DW_FIELD(aside, a->side);
        DW_FIELD(msg, a->message);
        if (other_side(aside, side))
            continue;
        raised = !strcmp(state, "raised");
        info = dw_report_rule_info(rule);
        fputs("<g class=\"alert-marker\" data-rule=\"", f);
        dw_html_text(f, rule);
        fputs("\" data-state=\"", f);
        dw_html_text(f, state);
        fprintf(f, "\" data-id=\"%llu\">", (unsigned long long)a->id);
        /* information (H1) is a thin grey line without a label */
        vmarker(f, x, info ? "#aaaaaa" : "#d7191c", raised && !info ? "" : "4 2",
                raised && !info ? 3 : 1);
        fputs("<title>", f);
        title_when(f, rep, rep->alert_elapsed[i]);
        dw_html_text(f, rule);
        fputs(" ", f);
        dw_html_text(f, level);
        fputs(" ", f);
        dw_html_text(f, state);
        fputs(" (", f);
        dw_html_text(f, aside);
        fputs("): ", f);
        dw_html_text(f, msg);
        fputs("</title></line>", f);
        if (!info) {
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" fill=\"#d7191c\" "
                    "text-anchor=\"middle\">", x, CH_T - 4);
            dw_html_text(f, rule);
            fputs(raised ? "" : (!strcmp(state, "cleared") ? "&#10003;" : "&prime;"), f);
            fputs("</text>", f);
        }
        fputs("</g>\n", f);
    }
}

/* x ticks at round clock times of the local zone: every 10 min ... 1 day,
 * about 6 to 12 of them; midnight is labelled with the day. */
static void clock_ticks(FILE *f, const struct dw_report *rep, const struct chart_geom *g)
{
    static const int64_t steps[] = { 600, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
                                     172800, 604800 };
    uint64_t span_us = g->bucket_us * rep->n_buckets;
    int64_t t0 = dw_report_clock_ns(rep, g->origin_us) / 1000000000ll;
    int64_t t1 = t0 + (int64_t)(span_us / 1000000), step = steps[0], off, first;
    struct tm tm;
    time_t tt = (time_t)t0;
    size_t k;
    for (k = 0; k < sizeof(steps) / sizeof(*steps) && (t1 - t0) / steps[k] > 12; k++)
        ;
    step = steps[k < sizeof(steps) / sizeof(*steps) ? k : k - 1];
    off = localtime_r(&tt, &tm) ? tm.tm_gmtoff : 0;
    first = ((t0 + off + step - 1) / step) * step - off;
    for (int64_t t = first; t <= t1; t += step) {
        uint64_t el = g->origin_us + (uint64_t)(t - t0) * 1000000ull;
        double x = chart_x(g, el);
        char label[64], dev[40];
        time_t lt = (time_t)t;
        bool midnight = localtime_r(&lt, &tm) && tm.tm_hour == 0 && tm.tm_min == 0;
        dw_report_format_clock(t * 1000000000ll, midnight ? DW_CLOCK_DAY : DW_CLOCK_HM, label,
                               sizeof(label));
        dw_report_format_device(el, dev, sizeof(dev));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\"/>"
                "<text class=\"tick\" x=\"%.1f\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\""
                "%s>%s<title>garment time %s</title></text>\n", x, CH_T + CH_PH, x,
                CH_T + CH_PH + 5, x, CH_T + CH_PH + 18, midnight ? " font-weight=\"bold\"" : "",
                label, dev);
    }
}

static bool chart_range(const struct dw_report *rep, enum dw_report_qty q, unsigned side,
                        struct chart_geom *g)
{
    bool any = false;
    double minr, mid, pad;
    for (unsigned z = 0; z < rep->nz; z++) {
        if (rep->hello.zone[z].side != side || !isfinite(rep->vmin[q][z]))
            continue;
        if (!any || rep->vmin[q][z] < g->ymin)
            g->ymin = rep->vmin[q][z];
        if (!any || rep->vmax[q][z] > g->ymax)
            g->ymax = rep->vmax[q][z];
        any = true;
    }
    if (!any || !rep->n_buckets)
        return false;
    /* Some room around the data, and never a range narrower than the
     * sensor noise. */
    minr = q == DW_RQ_TEMP ? 0.5 : 0.2;
    mid = (g->ymin + g->ymax) / 2;
    if (g->ymax - g->ymin < minr) {
        g->ymin = mid - minr / 2;
        g->ymax = mid + minr / 2;
    }
    pad = (g->ymax - g->ymin) * 0.05;
    g->ymin -= pad;
    g->ymax += pad;
    return true;
}

static void zone_legend(FILE *f, const struct dw_report *rep, enum dw_report_qty q, unsigned side)
{
    fputs("<p class=\"legend\">", f);
    for (unsigned z = 0; z < rep->nz; z++) {
        char name[64];
        if (rep->hello.zone[z].side != side)
            continue;
        dw_zone_name(&rep->hello, z, name, sizeof(name));
        fprintf(f, "<span class=\"zone-range\" data-zone=\"%u\" data-min=\"%.2f\" "
                "data-max=\"%.2f\" data-median=\"%.2f\"><span class=\"sw\" "
                "style=\"background:%s\"></span>", z, rep->vmin[q][z], rep->vmax[q][z],
                rep->median[q][z],
                zone_colour[(rep->hello.zone[z].quadrant * 2 + rep->hello.zone[z].ring) & 7]);
        dw_html_text(f, name + (strchr(name, ' ') ? strchr(name, ' ') - name + 1 : 0));
        fprintf(f, " (%.2f&ndash;%.2f)</span> ", rep->vmin[q][z], rep->vmax[q][z]);
    }
    fputs("</p>\n", f);
}

void dw_report_chart(FILE *f, const struct dw_report *rep, enum dw_report_qty q, unsigned side)
{
    struct chart_geom g = { .bucket_us = rep->bucket_us, .origin_us = rep->origin_us };
    double step;

    fprintf(f, "<h3>%s breast: %s (%s)</h3>\n", side == DW_SIDE_LEFT ? "Left" : "Right",
            qty_name[q], qty_unit[q]);
    if (!chart_range(rep, q, side, &g)) {
        fputs("<p>No valid readings on this side.</p>\n", f);
        return;
    }
    g.sx = (double)CH_PW / rep->n_buckets;
    fprintf(f, "<div class=\"wide\"><svg class=\"chart\" data-qty=\"%s\" data-side=\"%s\" "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" data-ymin=\"%.6g\" "
            "data-ymax=\"%.6g\" data-plot-left=\"%d\" data-plot-top=\"%d\" "
            "data-plot-height=\"%d\" data-x-scale=\"%.6g\" data-buckets=\"%u\" "
            "data-bucket-us=\"%llu\" data-origin-us=\"%llu\" role=\"img\">\n",
            qty_name[q], side_word(side), CH_W, CH_H, CH_W, CH_H, g.ymin, g.ymax, CH_L, CH_T,
            CH_PH, g.sx, rep->n_buckets, (unsigned long long)g.bucket_us,
            (unsigned long long)g.origin_us);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fcfcfc\" "
            "stroke=\"#888\"/>\n", CH_L, CH_T, CH_PW, CH_PH);
    step = tick_step(g.ymax - g.ymin, 6);
    for (double v = ceil(g.ymin / step) * step; v <= g.ymax; v += step) {
        double y = CH_T + chart_y(&g, v) / 10.0;
        if (fabs(v) < step * 1e-6)
            v = 0; /* not "-0.0" */
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
                "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\" "
                "dominant-baseline=\"middle\">%.*f</text>\n", CH_L, y, CH_L + CH_PW, y,
                CH_L - 4, y, step < 0.1 ? 2 : step < 1 ? 1 : 0, v);
    }
    clock_ticks(f, rep, &g);
    fprintf(f, "<g class=\"plot\" transform=\"translate(%d %d) scale(%.6g 0.1)\">\n", CH_L, CH_T,
            g.sx);
    for (unsigned z = 0; z < rep->nz; z++)
        if (rep->hello.zone[z].side == side)
            series(f, rep, &g, q, z);
    fputs("</g>\n", f);
    event_markers(f, rep, &g, side);
    alert_markers(f, rep, &g, side);
    fputs("</svg></div>\n", f);
    zone_legend(f, rep, q, side);
}

/* The markers' legend, once above the charts. */
void dw_report_chart_legend(FILE *f)
{
    fputs("<p class=\"legend\">", f);
    for (size_t i = 0; i < sizeof(marker_styles) / sizeof(*marker_styles); i++) {
        const struct marker_style *st = &marker_styles[i];
        if (!strcmp(st->kind, "pump-start") || !strcmp(st->kind, "pump-end"))
            continue;
        fprintf(f, "<span class=\"mk\"><svg width=\"30\" height=\"12\"><line x1=\"0\" y1=\"6\" "
                "x2=\"30\" y2=\"6\" stroke=\"%s\" stroke-width=\"2\"%s%s%s/></svg> %s</span> ",
                st->colour, st->dash[0] ? " stroke-dasharray=\"" : "", st->dash,
                st->dash[0] ? "\"" : "", st->label);
    }
    fputs("<span class=\"mk\"><svg width=\"30\" height=\"12\"><line x1=\"0\" y1=\"6\" x2=\"30\" "
          "y2=\"6\" stroke=\"#d7191c\" stroke-width=\"3\"/></svg> alert raised "
          "(&prime; updated, &#10003; cleared)</span> <span class=\"mk\"><svg width=\"30\" "
          "height=\"12\"><line x1=\"0\" y1=\"6\" x2=\"30\" y2=\"6\" stroke=\"#aaaaaa\" "
          "stroke-dasharray=\"4 2\"/></svg> information (H1)</span></p>\n", f);
}
