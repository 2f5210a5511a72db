/* Words and times of the report: clock time (the local time zone) of a
 * session time, the garment's own time, spans for people, and what each
 * rule is called, measures and is configured by (docs/detection.md). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "html.h"
#include "report_int.h"

int64_t dw_report_clock_ns(const struct dw_report *rep, uint64_t elapsed_us)
{
    return rep->clock0_ns + (int64_t)elapsed_us * 1000;
}

void dw_report_format_clock(int64_t ns, enum dw_clock_style style, char *buf, size_t cap)
{
    static const char *const fmt[] = {
        [DW_CLOCK_FULL] = "%a %-d %b %Y, %H:%M",
        [DW_CLOCK_SHORT] = "%a %-d %b %H:%M",
        [DW_CLOCK_HM] = "%H:%M",
        [DW_CLOCK_DAY] = "%a %-d %b",
        [DW_CLOCK_ISO] = "%Y-%m-%d %H:%M:%S %z",
    };
    time_t t = (time_t)(ns / 1000000000ll);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(buf, cap, fmt[style], &tm))
        snprintf(buf, cap, "?");
}

void dw_report_format_device(uint64_t elapsed_us, char *buf, size_t cap)
{
    uint64_t s = elapsed_us / 1000000;
    unsigned d = (unsigned)(s / 86400);
    if (d)
        snprintf(buf, cap, "t+%ud %02u:%02u:%02u", d, (unsigned)(s / 3600 % 24),
                 (unsigned)(s / 60 % 60), (unsigned)(s % 60));
    else
        snprintf(buf, cap, "t+%02u:%02u:%02u", (unsigned)(s / 3600), (unsigned)(s / 60 % 60),
                 (unsigned)(s % 60));
}

void dw_report_format_span(uint64_t us, char *buf, size_t cap)
{
    uint64_t min = (us + 30000000) / 60000000, h = min / 60, d = h / 24;
    if (d)
        snprintf(buf, cap, "%llu day%s %llu h", (unsigned long long)d, d == 1 ? "" : "s",
                 (unsigned long long)(h % 24));
    else if (h)
        snprintf(buf, cap, "%llu h %llu min", (unsigned long long)h,
                 (unsigned long long)(min % 60));
    else
        snprintf(buf, cap, "%llu min", (unsigned long long)min);
}

void dw_report_when(FILE *f, const struct dw_report *rep, uint64_t elapsed_us,
                    enum dw_clock_style style)
{
    char clock[64], iso[64], dev[40];
    int64_t ns = dw_report_clock_ns(rep, elapsed_us);
    dw_report_format_clock(ns, style, clock, sizeof(clock));
    dw_report_format_clock(ns, DW_CLOCK_ISO, iso, sizeof(iso));
    dw_report_format_device(elapsed_us, dev, sizeof(dev));
    fprintf(f, "<span class=\"when\" data-device-us=\"%llu\" title=\"%s, garment time %s\">",
            (unsigned long long)elapsed_us, iso, dev);
    dw_html_text(f, clock);
    fputs("</span>", f);
}

/* ---- rules ------------------------------------------------------------- */

struct rule_words {
    const char *rule, *title, *unit;
    int qty;                     /* enum dw_report_qty, -1 */
    const char *sections[5];    /* NULL-terminated */
};

static const struct rule_words rules[] = {
    { "T1", "Possible localized warmth", "\xc2\xb0" "C (dL)", DW_RQ_TEMP, { "T1" } },
    { "T2", "Possible marked localized warmth", "\xc2\xb0" "C (dL)", DW_RQ_TEMP, { "T2" } },
    { "F1", "Possible localized firmness", "R", DW_RQ_PRES, { "F1" } },
    { "F1-FR", "Possible firmness that a feed did not relieve", "R", DW_RQ_PRES, { "F1-FR" } },
    { "D1", "Possible blocked milk duct", "R", DW_RQ_PRES, { "D1", "F1", "F1-FR" } },
    { "I1", "Possible inflammation (early mastitis)", "\xc2\xb0" "C (dL)", DW_RQ_TEMP,
      { "I1", "T1", "T2", "F1" } },
    { "G1", "Possible fever: please measure", "share of zones", -1, { "G1" } },
    { "G2", "Fever logged (38.0 \xc2\xb0" "C or more)", "\xc2\xb0" "C", -1, { "G2" } },
    { "G3", "High fever logged (38.5 \xc2\xb0" "C or more)", "\xc2\xb0" "C", -1, { "G2" } },
    { "E1", "Possible engorgement", "R (median)", DW_RQ_PRES, { "E1" } },
    { "E2", "Possible engorgement that feeds are not relieving", "R (median)", DW_RQ_PRES,
      { "E2", "E1" } },
    { "H1", "Firmer side at a feed start (information)", "R (median)", DW_RQ_PRES, { "" } },
    { "P1", "The bra may be pressing", "kPa", DW_RQ_PRES, { "P1" } },
    { "S1", "A sensor seems detached", "\xc2\xb0" "C", -1, { "S1" } },
    { "S2", "The garment seems to be off", "share of zones", -1, { "S2" } },
    { "S3", "A sensor seems stuck", "min", -1, { "S3" } },
    { "S4", "A sensor reads out of range", "\xc2\xb0" "C", -1, { "S4" } },
    { "S5", "A heat or cold source on the skin", "\xc2\xb0" "C", -1, { "S5" } },
};

static const struct rule_words *rule_find(const char *rule)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++)
        if (!strcmp(rules[i].rule, rule))
            return &rules[i];
    return NULL;
}

const char *dw_report_rule_title(const char *rule)
{
    const struct rule_words *w = rule_find(rule);
    return w ? w->title : "Finding";
}

const char *dw_report_rule_unit(const char *rule)
{
    const struct rule_words *w = rule_find(rule);
    return w ? w->unit : "";
}

const char *const *dw_report_rule_sections(const char *rule)
{
    static const char *const none[] = { NULL };
    const struct rule_words *w = rule_find(rule);
    return w && w->sections[0] && w->sections[0][0] ? w->sections : none;
}

int dw_report_rule_qty(const char *rule)
{
    const struct rule_words *w = rule_find(rule);
    return w ? w->qty : -1;
}

bool dw_report_rule_clinical(const char *rule)
{
    return rule[0] && rule[0] != 'S' && rule[0] != 'H' && rule[0] != 'P';
}

bool dw_report_rule_info(const char *rule)
{
    return !strcmp(rule, "H1");
}

int dw_report_level(const char *level)
{
    if (level[0] == 'L' && level[1] >= '0' && level[1] <= '3' && !level[2])
        return level[1] - '0';
    return -1;
}

const char *dw_report_advice(const char *rule, int level)
{
    if (!strcmp(rule, "G1"))
        return "Measure your temperature with a thermometer and log it "
               "(ductwatch log thermometer 38.2, or the page's button).";
    switch (level) {
    case 1:
        return "Keep feeding on demand, as usual (no extra feeds or pumping); a cold pack "
               "between feeds; a supportive bra that is not tight; no deep massage.";
    case 2:
        return "Keep feeding on demand with cold packs between feeds, and have it looked at "
               "(below).";
    case 3:
        return "Have it looked at today (below); keep feeding on demand meanwhile.";
    default:
        return "Nothing to do now: noticed only.";
    }
}

const char *dw_report_level_when(int level)
{
    switch (level) {
    case 1:
        return "Self-care for now. Contact your midwife, breastfeeding clinic or GP if you "
               "get a fever (38 \xc2\xb0" "C or more), feel unwell, or it is no better in "
               "24\xe2\x80\x93" "48 hours.";
    case 2:
        return "Contact your breastfeeding clinic, midwife or GP within 24 hours.";
    case 3:
        return "Today: this likely needs a medical assessment. Contact your GP, midwife or "
               "urgent care now.";
    default:
        return "Nothing to do now: noticed only.";
    }
}
