/* The findings: alert rows grouped into episodes (one alert id, raised,
 * updated, cleared), the summary box a worried parent reads first, and the
 * clinician's table of them with the parameters in effect. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "layout.h"
#include "report_findings.h"
#include "session_format.h"

int dw_report_episodes(const struct dw_report *rep, struct dw_episode **out, size_t *n_out)
{
    struct dw_episode *ep = calloc(rep->n_alerts + 1, sizeof(*ep));
    size_t n = 0;
    if (!ep)
        return -1;
    for (size_t i = 0; i < rep->n_alerts; i++) {
        const struct dw_row_alert *a = &rep->alerts[i];
        char rule[DW_S_RULE + 1], state[DW_S_STATE + 1], level[DW_S_LEVEL + 1];
        struct dw_episode *e = NULL;
        int lv;
        DW_FIELD(rule, a->rule);
        DW_FIELD(state, a->state);
        DW_FIELD(level, a->level);
        lv = dw_report_level(level);
        for (size_t k = n; k-- > 0;)
            if (ep[k].id == a->id && !strcmp(ep[k].rule, rule) && !ep[k].cleared) {
                e = &ep[k];
                break;
            }
        if (!e) {
            if (strcmp(state, "raised"))
                continue; /* its raise is before the window */
            e = &ep[n++];
            e->id = a->id;
            snprintf(e->rule, sizeof(e->rule), "%s", rule);
            e->first = i;
            e->raised_us = rep->alert_elapsed[i];
            e->value = a->value;
            e->peak = a->value;
            e->level = e->max_level = -1;
        }
        if (!strcmp(state, "cleared")) {
            e->cleared = true;
            e->cleared_us = rep->alert_elapsed[i];
            continue;
        }
        e->last = i;
        if (isfinite(a->value) && (!isfinite(e->peak) || a->value > e->peak))
            e->peak = a->value;
        if (lv != e->level && e->n_levels < DW_EPISODE_LEVELS) {
            e->levels[e->n_levels] = lv;
            e->level_us[e->n_levels++] = rep->alert_elapsed[i];
        }
        if (lv > e->max_level)
            e->max_level = lv;
        e->level = lv;
    }
    *out = ep;
    *n_out = n;
    return 0;
}

/* The order of the summary: the highest level first, then the ones still
 * present at the end, then the latest. */
static int headline_cmp(const void *a, const void *b)
{
    const struct dw_episode *x = *(const struct dw_episode *const *)a;
    const struct dw_episode *y = *(const struct dw_episode *const *)b;
    if (x->max_level != y->max_level)
        return y->max_level - x->max_level;
    if (x->cleared != y->cleared)
        return x->cleared ? 1 : -1;
    return x->raised_us < y->raised_us ? 1 : x->raised_us > y->raised_us ? -1 : 0;
}

size_t dw_report_headlines(const struct dw_report *rep, const struct dw_episode *ep, size_t n,
                           const struct dw_episode **out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap; i++)
        if (dw_report_rule_clinical(ep[i].rule))
            out[k++] = &ep[i];
    qsort(out, k, sizeof(*out), headline_cmp);
    (void)rep;
    return k;
}

void dw_report_where(FILE *f, const struct dw_row_alert *a)
{
    char zone[DW_S_ZONE_NAME + 1], side[DW_S_SIDE + 1];
    DW_FIELD(zone, a->zone_name);
    DW_FIELD(side, a->side);
    if (zone[0]) {
        /* "right upper-inner outer" -> "right breast, upper-inner, outer ring" */
        char *sp = strchr(zone, ' '), *ring = strrchr(zone, ' ');
        if (sp && ring && ring > sp) {
            *sp = *ring = 0;
            dw_html_text(f, zone);
            fputs(" breast, ", f);
            dw_html_text(f, sp + 1);
            fputs(", ", f);
            dw_html_text(f, ring + 1);
            fputs(" ring", f);
        } else {
            dw_html_text(f, zone);
        }
    } else if (side[0] && strcmp(side, "none")) {
        dw_html_text(f, side);
        fputs(" breast", f);
    } else {
        fputs("both breasts", f);
    }
}

void dw_report_value(FILE *f, const char *rule, double v)
{
    const char *unit = dw_report_rule_unit(rule);
    if (!isfinite(v))
        fputs("&ndash;", f);
    else if (!strncmp(unit, "R", 1))
        fprintf(f, "&times;%.2f %s", v, unit);
    else if (!strcmp(unit, "share of zones"))
        fprintf(f, "%.0f %% of zones", 100 * v);
    else if (!strncmp(unit, "\xc2\xb0" "C (", 4))
        fprintf(f, "%+.2f %s", v, unit);
    else
        fprintf(f, "%.2f %s", v, unit);
}

/* ---- the summary box --------------------------------------------------- */

static const struct dw_report_moment *raise_moment(const struct dw_report *rep,
                                                   const struct dw_episode *e)
{
    for (size_t k = 0; k < rep->n_moments; k++)
        if (rep->moments[k].kind == DW_MOMENT_ALERT && rep->moments[k].alert == e->first)
            return rep->moments[k].filled ? &rep->moments[k] : NULL;
    return NULL;
}

static void seen(FILE *f, const struct dw_report *rep, const struct dw_episode *e)
{
    char span[48];
    fputs("from ", f);
    dw_report_when(f, rep, e->raised_us, DW_CLOCK_SHORT);
    if (e->cleared) {
        dw_report_format_span(e->cleared_us - e->raised_us, span, sizeof(span));
        fputs(" until ", f);
        dw_report_when(f, rep, e->cleared_us, DW_CLOCK_SHORT);
        fprintf(f, " (%s); it had cleared by the end of the recording.", span);
    } else {
        dw_report_format_span(rep->end_us > e->raised_us ? rep->end_us - e->raised_us : 0,
                              span, sizeof(span));
        fprintf(f, ", <strong>still present at the end of the recording</strong> "
                "(%s later, ", span);
        dw_report_when(f, rep, rep->end_us, DW_CLOCK_SHORT);
        fputs(").", f);
    }
}

/* The picture at the raise: the breast it is on, the quantity its rule
 * looks at, the zone outlined. */
static void finding_map(FILE *f, const struct dw_report *rep, const struct dw_episode *e)
{
    const struct dw_report_moment *m = raise_moment(rep, e);
    const struct dw_row_alert *a = &rep->alerts[e->first];
    int qty = dw_report_rule_qty(e->rule), side = -1;
    char s[DW_S_SIDE + 1];
    if (!m || qty < 0)
        return;
    DW_FIELD(s, a->side);
    if (!strcmp(s, "left"))
        side = DW_SIDE_LEFT;
    else if (!strcmp(s, "right"))
        side = DW_SIDE_RIGHT;
    fputs("<div class=\"headline-map\">", f);
    dw_report_heatmap(f, rep, m, (enum dw_report_qty)qty, side);
    fprintf(f, "<p class=\"caption\">When it was first seen. The zone outlined in black is "
            "where; %s (more about the colours under <a href=\"#heatmaps\">Zones at the "
            "moments that matter</a>).</p></div>\n",
            qty == DW_RQ_PRES ? "its number is its pressure against its pressure after a "
                                "feed (&times;1.00 = as usual; orange = firmer)"
                              : "its number is how much warmer it is than its neighbours, "
                                "against its usual (&deg;C; red = warmer)");
}

/* An L0 finding at the same zone as e: one of the signs that led to it. */
static bool sign_of(const struct dw_report *rep, const struct dw_episode *sign,
                    const struct dw_episode *e)
{
    return sign != e && sign->max_level <= 0 && dw_report_rule_clinical(sign->rule) &&
           rep->alerts[sign->first].zone >= 0 &&
           rep->alerts[sign->first].zone == rep->alerts[e->first].zone;
}

static void signs(FILE *f, const struct dw_report *rep, const struct dw_episode *e,
                  const struct dw_episode *const *all, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!sign_of(rep, all[i], e))
            continue;
        fputs(k++ ? "; " : "<dt>Signs before it, same zone</dt><dd class=\"signs\">", f);
        dw_html_text(f, dw_report_rule_title(all[i]->rule));
        fputs(" since ", f);
        dw_report_when(f, rep, all[i]->raised_us, DW_CLOCK_SHORT);
    }
    if (k)
        fputs(" (noticed only, nothing more to do).</dd>\n", f);
}

static void finding(FILE *f, const struct dw_report *rep, const struct dw_episode *e,
                    const struct dw_episode *const *all, size_t n)
{
    fprintf(f, "<div class=\"finding level-%d\" data-rule=\"", e->max_level);
    dw_html_text(f, e->rule);
    fprintf(f, "\" data-id=\"%llu\" data-zone=\"%d\">\n<p class=\"headline\">",
            (unsigned long long)e->id, rep->alerts[e->first].zone);
    dw_html_text(f, dw_report_rule_title(e->rule));
    fputs(" &mdash; <span class=\"where\">", f);
    dw_report_where(f, &rep->alerts[e->first]);
    fputs("</span></p>\n<dl>\n<dt>Seen</dt><dd>", f);
    seen(f, rep, e);
    fprintf(f, "</dd>\n<dt>What to do</dt><dd class=\"todo\">%s</dd>\n"
            "<dt>When to call</dt><dd class=\"when-to-call\">%s</dd>\n</dl>\n",
            dw_report_advice(e->rule, e->max_level), dw_report_level_when(e->max_level));
    finding_map(f, rep, e);
    /* detail for the curious and for a clinician, after what matters */
    fputs("<dl class=\"detail\">\n", f);
    signs(f, rep, e, all, n);
    fputs("</dl>\n</div>\n", f);
}

/* Clinical findings that stayed at L0: noticed, nothing to do. */
static bool is_sign(const struct dw_report *rep, const struct dw_episode *e,
                    const struct dw_episode *const *top, size_t k)
{
    for (size_t i = 0; i < k; i++)
        if (top[i]->max_level > 0 && sign_of(rep, e, top[i]))
            return true;
    return false;
}

static void noticed(FILE *f, const struct dw_report *rep, const struct dw_episode *const *top,
                    size_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        if (top[i]->max_level > 0 || is_sign(rep, top[i], top, k))
            continue;
        if (!n++)
            fputs("<p class=\"noticed-head\">Also noticed (nothing to do now):</p>\n"
                  "<ul class=\"noticed\">\n", f);
        fputs("<li>", f);
        dw_html_text(f, dw_report_rule_title(top[i]->rule));
        fputs(" &mdash; ", f);
        dw_report_where(f, &rep->alerts[top[i]->first]);
        fputs(", ", f);
        seen(f, rep, top[i]);
        fputs("</li>\n", f);
    }
    if (n)
        fputs("</ul>\n", f);
}

void dw_report_summary_box(FILE *f, const struct dw_report *rep, const struct dw_episode *ep,
                           size_t n)
{
    const struct dw_episode *top[64];
    size_t k = dw_report_headlines(rep, ep, n, top, sizeof(top) / sizeof(*top));
    size_t other = 0, shown = 0, urgent = 0;
    fputs("<section class=\"summary-box\" id=\"in-short\">\n<h2>In short</h2>\n", f);
    for (size_t i = 0; i < n; i++)
        other += !dw_report_rule_clinical(ep[i].rule) && !dw_report_rule_info(ep[i].rule);
    for (size_t i = 0; i < k; i++)
        urgent += top[i]->max_level > 0;
    if (!urgent)
        fputs("<p class=\"headline none\">Nothing that needs attention was noticed: no "
              "possible blocked duct, engorgement, inflammation or fever in this "
              "recording.</p>\n", f);
    for (size_t i = 0; i < k && shown < 3; i++) {
        if (top[i]->max_level > 0) {
            finding(f, rep, top[i], top, k);
            shown++;
        }
    }
    if (urgent > shown)
        fprintf(f, "<p>%zu more findings are listed <a href=\"#findings\">for a clinician</a> "
                "below.</p>\n", urgent - shown);
    noticed(f, rep, top, k);
    if (other)
        fprintf(f, "<p class=\"garment-notes\">%zu note%s about the garment or its sensors "
                "(pressing, detached, off, stuck): see <a href=\"#findings\">findings</a>.</p>\n",
                other, other == 1 ? "" : "s");
    fputs("<p class=\"anytime\"><strong>At any time:</strong> a fever of 38 &deg;C or more, "
          "feeling unwell, a red, painful area that is spreading, or a lump that does not go "
          "away within a few days: contact a midwife, lactation consultant or doctor. "
          "ductwatch is not a medical device; it says &ldquo;possible&rdquo;, it does not "
          "diagnose.</p>\n</section>\n", f);
}

/* ---- for a clinician --------------------------------------------------- */

static void level_history(FILE *f, const struct dw_report *rep, const struct dw_episode *e)
{
    for (unsigned i = 0; i < e->n_levels; i++) {
        if (i)
            fputs(" &rarr; ", f);
        fprintf(f, "<span class=\"lv\">L%d</span> ", e->levels[i]);
        dw_report_when(f, rep, e->level_us[i], DW_CLOCK_SHORT);
    }
}

static void episode_row(FILE *f, const struct dw_report *rep, const struct dw_episode *e)
{
    const struct dw_row_alert *a = &rep->alerts[e->first];
    char rs[DW_S_RULESET + 1];
    DW_FIELD(rs, a->ruleset_version);
    fputs("<tr class=\"episode\" data-rule=\"", f);
    dw_html_text(f, e->rule);
    fprintf(f, "\" data-id=\"%llu\"><td>", (unsigned long long)e->id);
    dw_html_text(f, e->rule);
    fputs("</td><td>", f);
    dw_html_text(f, dw_report_rule_title(e->rule));
    fputs("</td><td>", f);
    dw_report_where(f, a);
    fputs("</td><td>", f);
    level_history(f, rep, e);
    fputs("</td><td>", f);
    if (e->cleared)
        dw_report_when(f, rep, e->cleared_us, DW_CLOCK_SHORT);
    else
        fputs("still present at the end", f);
    fputs("</td><td class=\"num\">", f);
    dw_report_value(f, e->rule, e->value);
    fputs("</td><td class=\"num\">", f);
    dw_report_value(f, e->rule, e->peak);
    fputs("</td><td class=\"num\">", f);
    dw_report_value(f, e->rule, a->threshold);
    fputs("</td><td>", f);
    dw_html_text(f, rs[0] ? rs : "?");
    fputs("</td></tr>\n", f);
}

void dw_report_findings_table(FILE *f, const struct dw_report *rep, const struct dw_episode *ep,
                              size_t n)
{
    size_t shown = 0;
    fputs("<h3 id=\"findings\">Findings</h3>\n", f);
    for (size_t i = 0; i < n; i++) {
        if (dw_report_rule_info(ep[i].rule))
            continue;
        if (!shown++)
            fputs("<p>One row per alert episode (one alert id from raised to cleared), "
                  "information (H1) left out. Values in the rule's unit: dL = zone minus "
                  "the median of its neighbours, minus that difference's own 72-hour "
                  "baseline (&deg;C); R = pressure / the zone's post-feed soft baseline; "
                  "see docs/detection.md.</p>\n<div class=\"wide\"><table class=\"findings\">"
                  "\n<tr><th>Rule</th><th>Finding</th><th>Where</th><th>Level history</th>"
                  "<th>Cleared</th><th>Value at raise</th><th>Peak</th><th>Threshold</th>"
                  "<th>Ruleset</th></tr>\n", f);
        episode_row(f, rep, &ep[i]);
    }
    fputs(shown ? "</table></div>\n" : "<p>No alerts other than information.</p>\n", f);
}

struct param_ctx { FILE *f; };

static void param_row(const char *key, const char *value, void *u)
{
    struct param_ctx *p = u;
    fputs("<code>", p->f);
    dw_html_text(p->f, key);
    fputs(" = ", p->f);
    dw_html_text(p->f, value);
    fputs("</code> ", p->f);
}

static bool section_done(const char *const *done, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(done[i], s))
            return true;
    return false;
}

void dw_report_parameters(FILE *f, const struct dw_report *rep, const struct dw_episode *ep,
                          size_t n)
{
    const char *done[32];
    size_t nd = 0;
    struct param_ctx pc = { f };
    fputs("<h3 id=\"parameters\">Parameters in effect</h3>\n<p>", f);
    if (rep->config_name[0]) {
        fputs("From the configuration ", f);
        dw_html_text(f, rep->config_name);
    } else {
        fputs("The built-in defaults of ruleset " DW_RULESET_VERSION " (docs/detection.md)", f);
    }
    fputs(". Each alert row below carries the parameters its rule ran with (files "
          "recorded before 2026-12 do not): if detection ran with another configuration, "
          "give it to <code>ductwatch report --config</code>. The heat maps' dL and R come "
          "from detection re-run over these samples with these parameters", f);
    fprintf(f, "; it raised %llu clinical alert%s where the files hold %llu.</p>\n",
            (unsigned long long)rep->replay_raised, rep->replay_raised == 1 ? "" : "s",
            (unsigned long long)rep->file_raised);
    fputs("<table class=\"parameters\">\n", f);
    for (size_t i = 0; i < n; i++) {
        for (const char *const *s = dw_report_rule_sections(ep[i].rule); *s; s++) {
            if (section_done(done, nd, *s) || nd == sizeof(done) / sizeof(*done))
                continue;
            done[nd++] = *s;
            fputs("<tr><th>[", f);
            dw_html_text(f, *s);
            fputs("]</th><td>", f);
            dw_detect_config_section(&rep->cfg, *s, param_row, &pc);
            fputs("</td></tr>\n", f);
        }
    }
    fputs("</table>\n", f);
}
