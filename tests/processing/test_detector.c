/* Detector core on synthetic series fed at device times: baselines, gating,
 * each rule, escalation, determinism. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "detector.h"
#include "detector_internal.h"
#include "dwcmocka.h"
#include "layout.h"
#include "messages.h"
#include "robust.h"
#include "synth.h"

#define H_US 3600000000ULL
#define M_US 60000000ULL
#define RATE 1 /* Hz: the detector works on minute epochs; 1 Hz keeps tests fast */

struct rec {
    char rule[8];
    int level, state, side, zone;
    uint64_t t, id;
    double value, threshold;
    bool clinical;
    char msg[800];
};

struct log {
    struct rec r[4096];
    unsigned n;
};

/* DW_TEST_ALERT_LOG=FILE appends every alert of every test to FILE, one
 * line each, so that two builds of the detector can be compared alert for
 * alert (docs/performance.md 3.11). */
static void log_line(const struct dw_alert *a)
{
    static FILE *out;
    static bool tried;
    if (!tried) {
        const char *path = getenv("DW_TEST_ALERT_LOG");
        tried = true;
        out = path ? fopen(path, "a") : NULL;
    }
    if (!out)
        return;
    fprintf(out, "%s %" PRIu64 " %s L%d %d side %d zone %d t %" PRIu64 " v %.17g th %.17g %s\n",
            a->device, a->id, a->rule, a->level, a->state, a->side, a->zone, a->t_device_us,
            a->value, a->threshold, a->message);
    fflush(out);
}

static void on_alert(const struct dw_alert *a, void *u)
{
    struct log *l = u;
    log_line(a);
    if (l->n == 4096)
        return;
    struct rec *r = &l->r[l->n++];
    snprintf(r->rule, sizeof(r->rule), "%s", a->rule);
    r->level = a->level;
    r->state = a->state;
    r->side = a->side;
    r->zone = a->zone;
    r->t = a->t_device_us;
    r->value = a->value;
    r->threshold = a->threshold;
    r->id = a->id;
    r->clinical = a->clinical;
    snprintf(r->msg, sizeof(r->msg), "%s", a->message);
}

static const struct rec *find(const struct log *l, const char *rule, int state, uint64_t after)
{
    for (unsigned i = 0; i < l->n; i++)
        if (!strcmp(l->r[i].rule, rule) && (state < 0 || l->r[i].state == state) && l->r[i].t >= after)
            return &l->r[i];
    return NULL;
}

static unsigned count_level(const struct log *l, int min_level, uint64_t after)
{
    unsigned n = 0;
    for (unsigned i = 0; i < l->n; i++)
        n += l->r[i].state != DW_ALERT_CLEARED && l->r[i].level >= min_level && l->r[i].clinical &&
             l->r[i].t >= after;
    return n;
}

static void dump(const struct log *l)
{
    for (unsigned i = 0, k = 0; i < l->n && k < 60; i++) {
        if (!strcmp(l->r[i].rule, "H1"))
            continue;
        k++;
        fprintf(stderr, "  %8.2fh %-5s L%d %-7s side %d zone %2d v=%.2f\n", l->r[i].t / 3.6e9,
                l->r[i].rule, l->r[i].level, dw_alert_state_name(l->r[i].state), l->r[i].side,
                l->r[i].zone, l->r[i].value);
    }
}

struct fx {
    struct dw_detect_config c;
    struct dw_detector *d;
    struct synth s;
    struct log log;
};

static struct fx *fx_new(uint64_t seed)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    dw_detect_config_default(&f->c);
    f->d = dw_detector_new(&f->c, on_alert, &f->log);
    assert_non_null(f->d);
    synth_init(&f->s, seed, RATE);
    synth_hello(&f->s, f->d);
    return f;
}

/* The detector's state of the fixture's one garment (detector_internal.h). */
static struct dw_device *first_device(const struct fx *f)
{
    return dw_devtab_at(&f->d->devs, 0);
}

static void fx_free(struct fx *f)
{
    dw_detector_free(f->d);
    free(f);
}

/* A device id the detector cannot keep apart from others (empty, or longer
 * than DW_ID_LEN and so cut into another's) is refused, not added. */
static void test_device_id_refused(void **st)
{
    (void)st;
    struct fx *f = fx_new(1);
    struct dw_detector_stats ds;
    const char *longest = "abcdefghijklmnop"; /* 16 */
    assert_int_equal(dw_detector_hello(f->d, "abcdefghijklmnopq", &f->s.hello), -EINVAL);
    assert_int_equal(dw_detector_hello(f->d, "", &f->s.hello), -EINVAL);
    assert_int_equal(dw_detector_event(f->d, "abcdefghijklmnopq", 0, DW_EV_FEED_START,
                                       DW_SIDE_LEFT, false, 0), -EINVAL);
    assert_int_equal(dw_detector_hello(f->d, longest, &f->s.hello), 0);
    assert_int_equal(dw_detector_stats(f->d, "abcdefghijklmnopq", &ds), -ENOENT);
    assert_int_equal(f->d->devs.n, 2); /* synth01 and the 16-byte one */
    fx_free(f);
}

/* Runs on, a minute at a time, until `within` after a feed on `side` ended. */
static void run_until_after_feed(struct fx *f, int side, uint64_t within_us)
{
    while (f->s.in_feed || f->s.feed_side != side || f->s.t_us - f->s.feed_end_us > within_us)
        synth_run(&f->s, f->d, M_US);
}

/* ---- robust statistics ---- */

static void test_robust_median_mad(void **st)
{
    (void)st;
    struct dw_window w;
    float scratch[8];
    assert_int_equal(dw_ring_init(&w, 8, DW_FIXED16_CENTI), 0);
    float v[] = { 1, 2, 3, 4, 100, NAN, 5 };
    for (unsigned i = 0; i < 7; i++)
        dw_ring_push(&w, v[i]);
    dw_ring_update(&w, 3, scratch);
    assert_true(w.have);
    assert_float_equal(w.median, 3.5, 1e-9); /* 1 2 3 4 5 100 */
    assert_float_equal(w.mad, 1.5, 1e-9);    /* |.-3.5| = 2.5 1.5 .5 .5 1.5 96.5 */
    /* the window forgets: push 8 more, the outlier is gone */
    for (unsigned i = 0; i < 8; i++)
        dw_ring_push(&w, 10);
    dw_ring_update(&w, 3, scratch);
    assert_float_equal(w.median, 10, 1e-9);
    assert_float_equal(w.mad, 0, 1e-9);
    dw_ring_update(&w, 9, scratch); /* too few values */
    assert_false(w.have);
    dw_ring_free(&w);
}

/* A ring's median and MAD are, bit for bit, dw_median over its decoded
 * values and over their distances from that median (what dw_ring_update
 * computed before it counted steps, docs/performance.md 3.4): rings of
 * odd and even counts, with gaps, partly filled, in both scales, with
 * bands narrow, exactly as wide as the ring and wider (the fallback). */
static void ring_check_exact(const struct dw_window *w, float *ref)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->count; i++)
        if (w->v[i] != DW_FIXED16_NONE)
            ref[n++] = dw_fixed16_decode(w->v[i], w->scale);
    double med = dw_median(ref, n);
    for (uint32_t i = 0; i < n; i++)
        ref[i] = fabsf(ref[i] - (float)med);
    double mad = dw_median(ref, n);
    assert_true(w->have);
    assert_memory_equal(&w->median, &med, sizeof(med));
    assert_memory_equal(&w->mad, &mad, sizeof(mad));
}

static void test_ring_median_exact(void **st)
{
    (void)st;
    static const uint32_t caps[] = { 1, 2, 3, 7, 64, 4320 };
    static const double scales[] = { DW_FIXED16_CENTI, DW_FIXED16_MILLI };
    static const int32_t bands[] = { 1, 5, 300, 4320, 4321, 60000 };
    uint32_t seed = 12345;
    float *scratch = malloc(sizeof(float) * 4320), *ref = malloc(sizeof(float) * 4320);
    assert_non_null(scratch);
    assert_non_null(ref);
    for (unsigned c = 0; c < sizeof(caps) / sizeof(caps[0]); c++)
        for (unsigned b = 0; b < sizeof(bands) / sizeof(bands[0]); b++)
            for (unsigned trial = 0; trial < 12; trial++) {
                struct dw_window w;
                double scale = scales[trial % 2];
                assert_int_equal(dw_ring_init(&w, caps[c], scale), 0);
                uint32_t pushes = trial < 4 ? caps[c] / 2 + 1 : caps[c] + trial * 3;
                int32_t base = (int32_t)(seed % 2000) - 1000;
                for (uint32_t i = 0; i < pushes; i++) {
                    seed = seed * 1103515245u + 12345u;
                    int32_t q = base + (int32_t)((seed >> 8) % (uint32_t)bands[b]);
                    q = q > 32000 ? 32000 : q < -32000 ? -32000 : q;
                    bool gap = i > 0 && (seed >> 4) % 9 == 0;
                    dw_ring_push(&w, gap ? NAN : (float)(q / scale));
                }
                dw_ring_update(&w, 1, scratch);
                if (w.n_valid)
                    ring_check_exact(&w, ref);
                dw_ring_free(&w);
            }
    free(scratch);
    free(ref);
}

/* A cleared ring (a garment's new layout) holds none of what it held:
 * the medians, the valid count and what falls out once it is full again
 * are those of the values pushed since. */
static void test_ring_clear_forgets(void **st)
{
    (void)st;
    struct dw_window w;
    float scratch[4];
    assert_int_equal(dw_ring_init(&w, 4, DW_FIXED16_CENTI), 0);
    for (unsigned i = 0; i < 6; i++)
        dw_ring_push(&w, 50.0f + (float)i);
    dw_ring_clear(&w);
    assert_int_equal(w.n_valid, 0);
    dw_ring_update(&w, 1, scratch);
    assert_false(w.have);
    dw_ring_push(&w, 1.0f);
    dw_ring_push(&w, NAN);
    dw_ring_update(&w, 1, scratch);
    assert_true(w.have);
    assert_int_equal(w.n_valid, 1);
    assert_float_equal(w.median, 1.0, 1e-9);
    dw_ring_push(&w, 3.0f);
    dw_ring_push(&w, 2.0f); /* full: 1 NAN 3 2 */
    dw_ring_update(&w, 1, scratch);
    assert_int_equal(w.n_valid, 3);
    assert_float_equal(w.median, 2.0, 1e-9);
    dw_ring_push(&w, 4.0f); /* the 1 falls out: NAN 3 2 4 */
    dw_ring_push(&w, 5.0f); /* the NAN falls out: 3 2 4 5 */
    dw_ring_update(&w, 1, scratch);
    assert_int_equal(w.n_valid, 4);
    assert_float_equal(w.median, 3.5, 1e-9);
    dw_ring_free(&w);
}

/* The baselines' 16-bit fixed point (issue 19): every value comes back
 * within half a step, the range ends saturate instead of wrapping round,
 * and a missing minute stays missing. */
static void check_round_trip(double scale)
{
    double top = DW_FIXED16_MAX / scale, half = 0.5 / scale;
    uint64_t x = 88172645463325252ULL; /* xorshift64: the same values every run */
    for (unsigned i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v = ((double)(x >> 11) / (double)(1ULL << 53) * 2 - 1) * top;
        int16_t q = dw_fixed16_encode(v, scale);
        assert_true(q != DW_FIXED16_NONE);
        /* within half a step, plus the float's own rounding at the top */
        double err = fabs(dw_fixed16_decode(q, scale) - v);
        if (err > half + top * 1e-7)
            fail_msg("scale %g: %.9f -> %d -> %.9f", scale, v, q, dw_fixed16_decode(q, scale));
    }
    /* the ends themselves, and just beyond */
    assert_int_equal(dw_fixed16_encode(top, scale), DW_FIXED16_MAX);
    assert_int_equal(dw_fixed16_encode(-top, scale), -DW_FIXED16_MAX);
    assert_float_equal(dw_fixed16_decode(DW_FIXED16_MAX, scale), top, top * 1e-7);
    assert_float_equal(dw_fixed16_decode(-DW_FIXED16_MAX, scale), -top, top * 1e-7);
}

static void test_fixed16_range_and_round_trip(void **st)
{
    (void)st;
    check_round_trip(DW_FIXED16_CENTI);
    check_round_trip(DW_FIXED16_MILLI);
    /* the nearest step, halves away from zero */
    assert_int_equal(dw_fixed16_encode(0.004, DW_FIXED16_CENTI), 0);
    assert_int_equal(dw_fixed16_encode(0.006, DW_FIXED16_CENTI), 1);
    assert_int_equal(dw_fixed16_encode(-0.006, DW_FIXED16_CENTI), -1);
    assert_int_equal(dw_fixed16_encode(0.0125, DW_FIXED16_MILLI), 13);
    assert_int_equal(dw_fixed16_encode(-0.0125, DW_FIXED16_MILLI), -13);
    /* out of range saturates at the end on its side: never wraps round to
     * the other sign, never becomes "missing" */
    assert_int_equal(dw_fixed16_encode(327.70, DW_FIXED16_CENTI), DW_FIXED16_MAX);
    assert_int_equal(dw_fixed16_encode(1e9, DW_FIXED16_CENTI), DW_FIXED16_MAX);
    assert_int_equal(dw_fixed16_encode(-327.70, DW_FIXED16_CENTI), -DW_FIXED16_MAX);
    assert_int_equal(dw_fixed16_encode(-1e9, DW_FIXED16_CENTI), -DW_FIXED16_MAX);
    assert_int_equal(dw_fixed16_encode(40.0, DW_FIXED16_MILLI), DW_FIXED16_MAX);
    assert_int_equal(dw_fixed16_encode(-40.0, DW_FIXED16_MILLI), -DW_FIXED16_MAX);
    assert_int_equal(dw_fixed16_encode(INFINITY, DW_FIXED16_CENTI), DW_FIXED16_MAX);
    assert_int_equal(dw_fixed16_encode(-INFINITY, DW_FIXED16_CENTI), -DW_FIXED16_MAX);
    /* a missing minute */
    assert_int_equal(dw_fixed16_encode(NAN, DW_FIXED16_CENTI), DW_FIXED16_NONE);
    assert_true(isnan(dw_fixed16_decode(DW_FIXED16_NONE, DW_FIXED16_CENTI)));

    /* in the ring: a value beyond the range counts at the end, NAN not at all */
    struct dw_window w;
    float scratch[4];
    assert_int_equal(dw_ring_init(&w, 4, DW_FIXED16_CENTI), 0);
    dw_ring_push(&w, 1000.0f);
    dw_ring_push(&w, NAN);
    dw_ring_push(&w, 1000.0f);
    dw_ring_push(&w, 0.123f);
    assert_int_equal(w.n_valid, 3);
    dw_ring_update(&w, 3, scratch);
    assert_true(w.have);
    assert_float_equal(w.median, 327.67, 1e-4);
    dw_ring_push(&w, NAN); /* the first 1000 falls out */
    assert_int_equal(w.n_valid, 2);
    dw_ring_update(&w, 2, scratch);
    assert_float_equal(w.median, 0.5 * (327.67 + 0.12), 1e-4);
    dw_ring_free(&w);
    assert_int_equal(dw_ring_init(&w, 4, 0), -EINVAL);
}

/* ---- healthy wear ---- */

static void test_healthy_no_clinical(void **st)
{
    (void)st;
    struct fx *f = fx_new(1);
    synth_run(&f->s, f->d, 72 * H_US);
    if (count_level(&f->log, DW_L0, 0))
        dump(&f->log);
    assert_int_equal(count_level(&f->log, DW_L0, 0), 0);
    fx_free(f);
}

/* ---- T1: localized warmth ---- */

static void test_t1_localized_warmth(void **st)
{
    (void)st;
    struct fx *f = fx_new(2);
    synth_run(&f->s, f->d, 30 * H_US);
    assert_int_equal(count_level(&f->log, DW_L0, 0), 0);
    uint64_t onset = f->s.t_us;
    f->s.warm[5] = 0.8;
    synth_run(&f->s, f->d, 4 * H_US);
    const struct rec *r = find(&f->log, "T1", DW_ALERT_RAISED, 0);
    if (!r)
        dump(&f->log);
    assert_non_null(r);
    assert_int_equal(r->zone, 5);
    assert_int_equal(r->side, DW_SIDE_LEFT);
    assert_int_equal(r->level, DW_L0);
    if (r->t < onset + 29 * M_US) { fprintf(stderr, "onset %.3fh\n", onset / 3.6e9); dump(&f->log); }
    assert_true(r->t >= onset + 29 * M_US);
    assert_true(r->t <= onset + 3 * H_US); /* feeds pause it for a while */
    assert_null(find(&f->log, "T2", -1, 0));
    assert_non_null(strstr(r->msg, "Possible"));
    /* goes away: cleared, once */
    f->s.warm[5] = 0;
    synth_run(&f->s, f->d, 4 * H_US);
    unsigned cleared = 0, raised = 0;
    for (unsigned i = 0; i < f->log.n; i++) {
        cleared += !strcmp(f->log.r[i].rule, "T1") && f->log.r[i].state == DW_ALERT_CLEARED;
        raised += !strcmp(f->log.r[i].rule, "T1") && f->log.r[i].state == DW_ALERT_RAISED;
    }
    assert_int_equal(raised, 1);
    assert_int_equal(cleared, 1);
    fx_free(f);
}

/* Warmth over most of one breast is not localized: no T1. */
static void test_t1_not_whole_breast(void **st)
{
    (void)st;
    struct fx *f = fx_new(3);
    synth_run(&f->s, f->d, 30 * H_US);
    for (int z = 0; z < 8; z++)
        f->s.warm[z] = 0.8;
    synth_run(&f->s, f->d, 4 * H_US);
    assert_null(find(&f->log, "T1", -1, 0));
    fx_free(f);
}

/* Learning: nothing clinical in the first 24 h even with a warm zone. */
static void test_learning_period(void **st)
{
    (void)st;
    struct fx *f = fx_new(4);
    synth_run(&f->s, f->d, 12 * H_US);
    f->s.warm[3] = 1.5;
    synth_run(&f->s, f->d, 6 * H_US);
    assert_int_equal(count_level(&f->log, DW_L0, 0), 0);
    fx_free(f);
}

/* ---- bugs of issue 18 point 4 ---- */

/* A cleared S1 carries the zone's temperature against S1's threshold (it
 * carried the zone index and the temperature). */
static void test_s1_clear_value(void **st)
{
    (void)st;
    struct fx *f = fx_new(11);
    synth_run(&f->s, f->d, 30 * H_US);
    f->s.detached[4] = true;
    synth_run(&f->s, f->d, 1 * H_US);
    const struct rec *up = find(&f->log, "S1", DW_ALERT_RAISED, 0);
    assert_non_null(up);
    f->s.detached[4] = false;
    synth_run(&f->s, f->d, 1 * H_US);
    const struct rec *down = find(&f->log, "S1", DW_ALERT_CLEARED, 0);
    assert_non_null(down);
    assert_int_equal(down->zone, 4);
    assert_true(down->threshold == f->c.temp_min_c);
    assert_true(down->value > 32 && down->value < 37); /* back on the skin */
    assert_true(up->value < f->c.temp_min_c);
    fx_free(f);
}

/* H1 is cleared at the side it was raised at, even when the other breast
 * became the firmer one during the feed, and says which breast in plain
 * words. */
static void test_h1_side_and_text(void **st)
{
    (void)st;
    struct fx *f = fx_new(21);
    synth_run(&f->s, f->d, 30 * H_US);
    unsigned from = f->log.n;
    const struct rec *up = NULL;
    while (!up) {
        synth_run(&f->s, f->d, M_US);
        for (unsigned i = from; i < f->log.n && !up; i++)
            if (!strcmp(f->log.r[i].rule, "H1") && f->log.r[i].state == DW_ALERT_RAISED)
                up = &f->log.r[i];
    }
    char want[96];
    snprintf(want, sizeof(want), "Information: the %s breast feels firmer; ",
             dw_side_name((unsigned)up->side));
    if (!strstr(up->msg, want))
        fprintf(stderr, "H1: %s\n", up->msg);
    assert_non_null(strstr(up->msg, want));
    assert_null(strstr(up->msg, "on it at"));
    /* while that feed lasts, the other breast gets much firmer */
    for (int z = 0; z < 16; z++)
        if (z / 8 != up->side)
            f->s.firm[z] = 1.6;
    synth_run(&f->s, f->d, 40 * M_US);
    const struct rec *down = NULL;
    for (unsigned i = 0; i < f->log.n; i++)
        if (f->log.r[i].id == up->id && f->log.r[i].state == DW_ALERT_CLEARED)
            down = &f->log.r[i];
    assert_non_null(down);
    assert_int_equal(down->side, up->side);
    fx_free(f);
}

/* The longest message every rule can produce, at every level it can have,
 * at every place of the reference layout, with the 7-day note where it can
 * carry one: it fits the detector's message size (the alert is never cut). */
static void fits(const char *msg, size_t len, void *u)
{
    (void)u;
    assert_int_equal(len, strlen(msg));
    if (len >= DW_ALERT_MESSAGE_MAX)
        fprintf(stderr, "%zu: %s\n", len, msg);
    assert_true(len < DW_ALERT_MESSAGE_MAX);
}

static void test_messages_fit(void **st)
{
    (void)st;
    char longest[2048];
    size_t n = messages_each(fits, NULL, longest, sizeof(longest));
    assert_true(n > 200); /* the combinations did reach the long ones */
    assert_int_equal(n, strlen(longest));
}

/* A garment taken off (logged) in a cool room: its zones read the room,
 * which is no sensor fault (S4 was raised on all 16 zones). A zone reading
 * cold on the skin still is. */
static void test_s4_not_at_garment_off(void **st)
{
    (void)st;
    struct fx *f = fx_new(12);
    f->s.room_c = 15;
    synth_run(&f->s, f->d, 3 * H_US);
    dw_detector_event(f->d, "synth01", f->s.t_us, DW_EV_GARMENT_OFF, DW_SIDE_NONE, false, 0);
    f->s.garment_off = true;
    synth_run(&f->s, f->d, 2 * H_US);
    dw_detector_event(f->d, "synth01", f->s.t_us, DW_EV_GARMENT_ON, DW_SIDE_NONE, false, 0);
    f->s.garment_off = false;
    synth_run(&f->s, f->d, 1 * H_US);
    if (find(&f->log, "S4", -1, 0))
        dump(&f->log);
    assert_null(find(&f->log, "S4", -1, 0));
    f->s.cold[3] = 20; /* 14 C with contact pressure: a broken thermistor */
    synth_run(&f->s, f->d, 10 * M_US);
    const struct rec *s4 = find(&f->log, "S4", DW_ALERT_RAISED, 0);
    assert_non_null(s4);
    assert_int_equal(s4->zone, 3);
    fx_free(f);
}

/* The garment-on after a logged garment-off is lost on the link: once the
 * zones read skin again for S2's sustain, the garment counts as worn, so
 * taking it off later without logging it raises S2 again (with the
 * garment-off still in force it would be excused for the rest of the
 * session). */
static void test_garment_on_lost(void **st)
{
    (void)st;
    struct fx *f = fx_new(13);
    synth_run(&f->s, f->d, 3 * H_US);
    dw_detector_event(f->d, "synth01", f->s.t_us, DW_EV_GARMENT_OFF, DW_SIDE_NONE, false, 0);
    f->s.garment_off = true;
    synth_run(&f->s, f->d, 1 * H_US);
    assert_null(find(&f->log, "S2", DW_ALERT_RAISED, 0));
    f->s.garment_off = false; /* on again; its garment-on never arrives */
    synth_run(&f->s, f->d, 2 * H_US);
    f->s.garment_off = true; /* off again, not logged */
    synth_run(&f->s, f->d, 1 * H_US);
    if (!find(&f->log, "S2", DW_ALERT_RAISED, 0))
        dump(&f->log);
    assert_non_null(find(&f->log, "S2", DW_ALERT_RAISED, 0));
    fx_free(f);
}

/* ---- posture ---- */

/* Nights lying on the left side: the mattress presses that breast's
 * lateral zones (1.6x their pressure). With the accelerometer saying so it
 * is no firmness: no F1, no D1. The same pressure upright is firmness
 * (the control: the test can fail). */
static unsigned lying_nights(bool lying_accel, struct log *out)
{
    static const int pressed[] = { 0, 1, 5, 6, 7 }; /* upper-/lower-outer, the band */
    struct fx *f = fx_new(31);
    synth_run(&f->s, f->d, 30 * H_US);
    for (int night = 0; night < 3; night++) {
        if (lying_accel) {
            f->s.accel_g[0] = -0.97;
            f->s.accel_g[1] = 0.12;
            f->s.accel_g[2] = 0.2;
        }
        for (unsigned k = 0; k < sizeof(pressed) / sizeof(pressed[0]); k++)
            f->s.firm[pressed[k]] = 1.6;
        synth_run(&f->s, f->d, 150 * M_US);
        for (unsigned k = 0; k < sizeof(pressed) / sizeof(pressed[0]); k++)
            f->s.firm[pressed[k]] = 1;
        f->s.accel_g[0] = 0;
        f->s.accel_g[1] = 0;
        f->s.accel_g[2] = 1;
        synth_run(&f->s, f->d, 22 * H_US);
    }
    *out = f->log;
    unsigned n = 0;
    for (unsigned i = 0; i < f->log.n; i++)
        n += (!strcmp(f->log.r[i].rule, "F1") || !strcmp(f->log.r[i].rule, "D1") ||
              !strcmp(f->log.r[i].rule, "F1-FR")) && f->log.r[i].state == DW_ALERT_RAISED;
    fx_free(f);
    return n;
}

static void test_lying_left_not_firmness(void **st)
{
    (void)st;
    struct log *l = malloc(sizeof(*l));
    assert_non_null(l);
    unsigned upright = lying_nights(false, l);
    assert_true(upright > 0);
    unsigned lying = lying_nights(true, l);
    if (lying)
        dump(l);
    assert_int_equal(lying, 0);
    assert_null(find(l, "D1", -1, 0));
    free(l);
}

/* ---- T2 -> I1 (2 h) ---- */

static void test_t2_i1(void **st)
{
    (void)st;
    struct fx *f = fx_new(5);
    synth_run(&f->s, f->d, 30 * H_US);
    uint64_t onset = f->s.t_us;
    f->s.warm[10] = 1.6;
    synth_run(&f->s, f->d, 6 * H_US);
    const struct rec *t2 = find(&f->log, "T2", DW_ALERT_RAISED, 0);
    const struct rec *i1 = find(&f->log, "I1", DW_ALERT_RAISED, 0);
    if (!t2 || !i1)
        dump(&f->log);
    assert_non_null(t2);
    assert_non_null(i1);
    assert_int_equal(t2->zone, 10);
    assert_int_equal(i1->zone, 10);
    assert_int_equal(i1->side, DW_SIDE_RIGHT);
    assert_int_equal(i1->level, DW_L1);
    assert_true(i1->t >= t2->t + 2 * H_US - M_US);
    assert_true(i1->t <= onset + 5 * H_US);
    assert_non_null(strstr(i1->msg, "Feed on demand, no extra pumping"));
    assert_null(strstr(i1->msg, "add"));
    /* a fever reading makes it L3 */
    dw_detector_event(f->d, "synth01", f->s.t_us, DW_EV_THERMOMETER, DW_SIDE_NONE, true, 38.2);
    synth_run(&f->s, f->d, 5 * M_US);
    const struct rec *up = NULL;
    for (unsigned i = 0; i < f->log.n; i++)
        if (!strcmp(f->log.r[i].rule, "I1") && f->log.r[i].state == DW_ALERT_UPDATED)
            up = &f->log.r[i];
    assert_non_null(up);
    assert_int_equal(up->level, DW_L3);
    assert_non_null(strstr(up->msg, "today"));
    /* I1 lasting 24 h -> L2 at least (fever keeps it L3) */
    fx_free(f);
}

/* The messages of `rule` after record `from`: how many named another zone
 * than the message before them, and the zone of the last one. */
static unsigned zone_changes(const struct log *l, const char *rule, unsigned from, int *zone)
{
    unsigned n = 0;
    for (unsigned i = from; i < l->n; i++) {
        if (strcmp(l->r[i].rule, rule))
            continue;
        n += l->r[i].zone != *zone;
        *zone = l->r[i].zone;
    }
    return n;
}

/* Two warm zones of one breast whose dL take turns by +-0.005 C while I1 is
 * active: the alert keeps naming one zone (it swapped every other minute,
 * an 'updated' message each); a zone clearly warmer (0.5 C, more than
 * DW_DET_I1_ZONE_MARGIN_C) takes over. */
static void test_i1_zone_steady(void **st)
{
    (void)st;
    struct fx *f = fx_new(5);
    synth_run(&f->s, f->d, 30 * H_US);
    f->s.warm[10] = f->s.warm[11] = 1.6; /* right upper-inner, both rings */
    for (unsigned k = 0; k < 6 * 60 && !find(&f->log, "I1", DW_ALERT_RAISED, 0); k++)
        synth_run(&f->s, f->d, M_US);
    const struct rec *i1 = find(&f->log, "I1", DW_ALERT_RAISED, 0);
    if (!i1)
        dump(&f->log);
    assert_non_null(i1);
    assert_true(i1->zone == 10 || i1->zone == 11);
    int zone = i1->zone;
    unsigned from = f->log.n;
    /* steer zone 10's warmth so that dL(10) - dL(11) is +0.005, -0.005, ... */
    const struct dw_zone *z = first_device(f)->zone;
    unsigned crossings = 0;
    double gap = z[10].last_dl_c - z[11].last_dl_c;
    for (unsigned k = 0; k < 4 * 60; k++) {
        double want = k % 2 ? -0.005 : 0.005;
        f->s.warm[10] += want - gap;
        synth_run(&f->s, f->d, M_US);
        double now = z[10].last_dl_c - z[11].last_dl_c;
        crossings += (now > 0) != (gap > 0);
        gap = now;
    }
    assert_true(crossings >= 60); /* the two zones did take turns */
    unsigned changes = zone_changes(&f->log, "I1", from, &zone);
    if (changes)
        dump(&f->log);
    assert_int_equal(changes, 0);
    assert_true(first_device(f)->breast[DW_SIDE_RIGHT].i1_alert.active);
    /* the other zone becomes clearly warmer: it is named, and stays */
    int other = zone == 10 ? 11 : 10;
    f->s.warm[other] += 0.5;
    from = f->log.n;
    synth_run(&f->s, f->d, 60 * M_US);
    assert_int_equal(zone_changes(&f->log, "I1", from, &zone), 1);
    assert_int_equal(zone, other);
    fx_free(f);
}

/* ---- F1, F1-FR, D1, escalation to L2 after 48 h ---- */

/* D1 the same way: two firm zones whose R take turns by +-0.005 keep one
 * named zone; one clearly firmer (R +0.17, more than
 * DW_DET_D1_ZONE_MARGIN_R) takes over. */
static void test_d1_zone_steady(void **st)
{
    (void)st;
    struct fx *f = fx_new(6);
    synth_run(&f->s, f->d, 30 * H_US);
    f->s.firm[4] = f->s.firm[6] = 1.7; /* left, ring 0 of two adjacent quadrants */
    for (unsigned k = 0; k < 20 * 60 && !find(&f->log, "D1", DW_ALERT_RAISED, 0); k++)
        synth_run(&f->s, f->d, M_US);
    const struct rec *d1 = find(&f->log, "D1", DW_ALERT_RAISED, 0);
    if (!d1)
        dump(&f->log);
    assert_non_null(d1);
    assert_true(d1->zone == 4 || d1->zone == 6);
    int zone = d1->zone;
    unsigned from = f->log.n;
    /* R is proportional to the zone's firmness factor: steer zone 4's */
    const struct dw_zone *z = first_device(f)->zone;
    unsigned crossings = 0;
    double gap = z[4].last_r - z[6].last_r;
    for (unsigned k = 0; k < 4 * 60; k++) {
        double want = k % 2 ? -0.005 : 0.005;
        f->s.firm[4] *= (z[6].last_r + want) / z[4].last_r;
        synth_run(&f->s, f->d, M_US);
        double now = z[4].last_r - z[6].last_r;
        crossings += (now > 0) != (gap > 0);
        gap = now;
    }
    assert_true(crossings >= 60);
    unsigned changes = zone_changes(&f->log, "D1", from, &zone);
    if (changes)
        dump(&f->log);
    assert_int_equal(changes, 0);
    assert_true(first_device(f)->breast[DW_SIDE_LEFT].d1_alert.active);
    int other = zone == 4 ? 6 : 4;
    f->s.firm[other] *= 1.1;
    from = f->log.n;
    synth_run(&f->s, f->d, 60 * M_US);
    assert_int_equal(zone_changes(&f->log, "D1", from, &zone), 1);
    assert_int_equal(zone, other);
    fx_free(f);
}

static void test_f1_fr_d1(void **st)
{
    (void)st;
    struct fx *f = fx_new(6);
    synth_run(&f->s, f->d, 30 * H_US);
    uint64_t onset = f->s.t_us;
    f->s.firm[6] = 1.7;
    synth_run(&f->s, f->d, 14 * H_US);
    const struct rec *f1 = find(&f->log, "F1", DW_ALERT_RAISED, 0);
    const struct rec *fr = find(&f->log, "F1-FR", DW_ALERT_RAISED, 0);
    const struct rec *d1 = find(&f->log, "D1", DW_ALERT_RAISED, 0);
    if (!f1 || !fr || !d1)
        dump(&f->log);
    assert_non_null(f1);
    assert_non_null(fr);
    assert_non_null(d1);
    assert_int_equal(f1->zone, 6);
    assert_int_equal(fr->zone, 6);
    assert_int_equal(d1->zone, 6);
    assert_int_equal(d1->side, DW_SIDE_LEFT);
    assert_int_equal(d1->level, DW_L1);
    /* the place in words (zone 6: left, quadrant 3, inner ring) */
    assert_non_null(strstr(d1->msg, "Possible blocked milk duct at the left breast, "));
    assert_non_null(strstr(d1->msg, ", inner ring. "));
    assert_true(f1->t >= onset + 59 * M_US);
    assert_true(d1->t >= f1->t + 2 * H_US - M_US);
    assert_null(find(&f->log, "I1", -1, 0));
    assert_null(find(&f->log, "T1", -1, 0));
    /* persisting 48 h -> L2 */
    synth_run(&f->s, f->d, 48 * H_US);
    const struct rec *l2 = NULL;
    for (unsigned i = 0; i < f->log.n; i++)
        if (!strcmp(f->log.r[i].rule, "D1") && f->log.r[i].level == DW_L2 && !l2)
            l2 = &f->log.r[i];
    if (!l2)
        dump(&f->log);
    assert_non_null(l2);
    assert_true(l2->t >= d1->t + 48 * H_US - M_US);
    assert_non_null(strstr(l2->msg, "contact your breastfeeding clinic"));
    fx_free(f);
}

/* A lump that stays 8 days: F1 reaches L2 after 7 days and the messages
 * say that other conditions can look like mastitis. */
static void test_seven_days(void **st)
{
    (void)st;
    struct fx *f = fx_new(15);
    synth_run(&f->s, f->d, 30 * H_US);
    uint64_t onset = f->s.t_us;
    f->s.firm[6] = 1.7;
    synth_run(&f->s, f->d, 8 * 24 * H_US);
    const struct rec *note = NULL, *f1l2 = NULL;
    for (unsigned i = 0; i < f->log.n; i++) {
        const struct rec *r = &f->log.r[i];
        if (!note && r->state != DW_ALERT_CLEARED && strstr(r->msg, "other conditions can look like mastitis"))
            note = r;
        if (!f1l2 && !strcmp(r->rule, "F1") && r->level == DW_L2)
            f1l2 = r;
    }
    if (!note || !f1l2)
        dump(&f->log);
    assert_non_null(note);
    assert_non_null(f1l2);
    assert_true(note->t >= onset + 7 * 24 * H_US);
    assert_true(f1l2->t >= onset + 7 * 24 * H_US);
    fx_free(f);
}

/* ---- G1 (global warmth), G2/G3 (thermometer) ---- */

static void test_g1_global(void **st)
{
    (void)st;
    struct fx *f = fx_new(7);
    synth_run(&f->s, f->d, 50 * H_US);
    uint64_t onset = f->s.t_us;
    f->s.global_warm = 1.4;
    synth_run(&f->s, f->d, 4 * H_US);
    const struct rec *g1 = find(&f->log, "G1", DW_ALERT_RAISED, 0);
    if (!g1)
        dump(&f->log);
    assert_non_null(g1);
    assert_int_equal(g1->level, DW_L1);
    assert_true(g1->t >= onset + 59 * M_US);
    assert_non_null(strstr(g1->msg, "thermometer"));
    assert_null(find(&f->log, "T1", -1, 0));
    fx_free(f);
}

static void test_g2_g3(void **st)
{
    (void)st;
    struct fx *f = fx_new(8);
    synth_run(&f->s, f->d, 2 * H_US);
    dw_detector_event(f->d, "synth01", f->s.t_us, DW_EV_THERMOMETER, DW_SIDE_NONE, true, 37.2);
    assert_int_equal(f->log.n, 0);
    dw_detector_event(f->d, "synth01", f->s.t_us, DW_EV_THERMOMETER, DW_SIDE_NONE, true, 38.1);
    assert_int_equal(f->log.n, 1);
    assert_string_equal(f->log.r[0].rule, "G2");
    assert_int_equal(f->log.r[0].level, DW_L2);
    synth_run(&f->s, f->d, H_US);
    dw_detector_event(f->d, "synth01", f->s.t_us, DW_EV_THERMOMETER, DW_SIDE_NONE, true, 38.7);
    assert_string_equal(f->log.r[f->log.n - 1].rule, "G3");
    assert_int_equal(f->log.r[f->log.n - 1].level, DW_L3);
    assert_int_equal(f->log.r[f->log.n - 1].state, DW_ALERT_UPDATED);
    dw_detector_event(f->d, "synth01", f->s.t_us + M_US, DW_EV_THERMOMETER, DW_SIDE_NONE, true, 37.0);
    assert_int_equal(f->log.r[f->log.n - 1].state, DW_ALERT_CLEARED);
    fx_free(f);
}

/* ---- E1 / E2 ---- */

static void test_e1_engorgement(void **st)
{
    (void)st;
    struct fx *f = fx_new(9);
    synth_run(&f->s, f->d, 30 * H_US);
    f->s.all_firm = 0.8;
    synth_run(&f->s, f->d, 4 * H_US);
    const struct rec *e1 = find(&f->log, "E1", DW_ALERT_RAISED, 0);
    if (!e1)
        dump(&f->log);
    assert_non_null(e1);
    assert_int_equal(e1->level, DW_L1);
    assert_null(find(&f->log, "D1", -1, 0));
    /* not relieved for 24 h -> E2 (L2) */
    synth_run(&f->s, f->d, 26 * H_US);
    const struct rec *e2 = find(&f->log, "E2", DW_ALERT_RAISED, 0);
    if (!e2)
        dump(&f->log);
    assert_non_null(e2);
    assert_int_equal(e2->level, DW_L2);
    fx_free(f);
}

/* A long night gap: both breasts fed (a pump on both sides), then 5 h
 * asleep without a feed. Both fill up to R ~1.5, as full as this wearer
 * always is before a feed: no E1 (it was raised). Engorgement (edema that
 * a feed does not relieve, as in test_e1_engorgement) after the same
 * nights still is E1. */
static void night_gap(struct fx *f)
{
    dw_detector_event(f->d, "synth01", f->s.t_us, DW_EV_PUMP_START, DW_SIDE_NONE, false, 0);
    f->s.feeds_enabled = false;
    synth_run(&f->s, f->d, 20 * M_US);
    f->s.fill[0] = f->s.fill[1] = 0;
    dw_detector_event(f->d, "synth01", f->s.t_us, DW_EV_PUMP_END, DW_SIDE_NONE, false, 0);
    synth_run(&f->s, f->d, 5 * H_US);
    f->s.feeds_enabled = true;
    f->s.next_feed_us = f->s.t_us;
    synth_run(&f->s, f->d, 19 * H_US);
}

static void test_e1_night_gap_is_usual(void **st)
{
    (void)st;
    struct fx *f = fx_new(41);
    synth_run(&f->s, f->d, 30 * H_US);
    night_gap(f);
    night_gap(f);
    if (find(&f->log, "E1", -1, 0))
        dump(&f->log);
    assert_null(find(&f->log, "E1", -1, 0));
    assert_int_equal(count_level(&f->log, DW_L1, 0), 0);
    uint64_t onset = f->s.t_us;
    f->s.all_firm = 0.8;
    synth_run(&f->s, f->d, 8 * H_US);
    const struct rec *e1 = find(&f->log, "E1", DW_ALERT_RAISED, onset);
    if (!e1)
        dump(&f->log);
    assert_non_null(e1);
    assert_true(e1->t - onset <= 8 * H_US);
    fx_free(f);
}

/* ---- P1 ---- */

static void test_p1_pressing(void **st)
{
    (void)st;
    struct fx *f = fx_new(10);
    synth_run(&f->s, f->d, 2 * H_US);
    f->s.extra_pressure[5] = 4.5;
    synth_run(&f->s, f->d, 3 * H_US);
    const struct rec *p1 = find(&f->log, "P1", DW_ALERT_RAISED, 0);
    assert_non_null(p1);
    assert_int_equal(p1->zone, 5);
    assert_int_equal(p1->level, DW_L0);
    assert_non_null(strstr(p1->msg, "pressing"));
    fx_free(f);
}

/* A strap pressing a band zone from just after a feed, past the learning
 * period: the garment, not the breast, is firm there: P1 and no F1, D1 or
 * other clinical alert. */
static void test_p1_not_firmness(void **st)
{
    (void)st;
    struct fx *f = fx_new(19);
    synth_run(&f->s, f->d, 30 * H_US);
    run_until_after_feed(f, DW_SIDE_RIGHT, 2 * M_US);
    uint64_t from = f->s.t_us;
    f->s.extra_pressure[13] = 5.0;
    synth_run(&f->s, f->d, 6 * H_US);
    f->s.extra_pressure[13] = 0;
    synth_run(&f->s, f->d, 2 * H_US);
    const struct rec *p1 = find(&f->log, "P1", DW_ALERT_RAISED, from);
    if (!p1 || find(&f->log, "F1", -1, from) || count_level(&f->log, DW_L1, from))
        dump(&f->log);
    assert_non_null(p1);
    assert_int_equal(p1->zone, 13);
    assert_null(find(&f->log, "F1", -1, from));
    assert_null(find(&f->log, "D1", -1, from));
    assert_int_equal(count_level(&f->log, DW_L1, from), 0);
    fx_free(f);
}

/* ---- sensor rules ---- */

static void test_s1_detached(void **st)
{
    (void)st;
    struct fx *f = fx_new(11);
    synth_run(&f->s, f->d, 30 * H_US);
    f->s.detached[4] = true;
    synth_run(&f->s, f->d, 3 * H_US);
    const struct rec *s1 = find(&f->log, "S1", DW_ALERT_RAISED, 0);
    assert_non_null(s1);
    assert_int_equal(s1->zone, 4);
    assert_false(s1->clinical);
    assert_int_equal(count_level(&f->log, DW_L0, 0), 0);
    fx_free(f);
}

static void test_s2_garment_off(void **st)
{
    (void)st;
    struct fx *f = fx_new(12);
    synth_run(&f->s, f->d, 3 * H_US);
    f->s.garment_off = true;
    synth_run(&f->s, f->d, 30 * M_US);
    const struct rec *s2 = find(&f->log, "S2", DW_ALERT_RAISED, 0);
    assert_non_null(s2);
    assert_null(find(&f->log, "S1", -1, 0));
    f->s.garment_off = false;
    synth_run(&f->s, f->d, 30 * M_US);
    assert_non_null(find(&f->log, "S2", DW_ALERT_CLEARED, 0));
    fx_free(f);
}

static void test_s3_stuck(void **st)
{
    (void)st;
    struct fx *f = fx_new(13);
    synth_run(&f->s, f->d, 30 * H_US);
    f->s.stuck[12] = true;
    synth_run(&f->s, f->d, 2 * H_US);
    const struct rec *s3 = find(&f->log, "S3", DW_ALERT_RAISED, 0);
    if (!s3)
        dump(&f->log);
    assert_non_null(s3);
    assert_int_equal(s3->zone, 12);
    assert_int_equal(count_level(&f->log, DW_L0, 0), 0);
    fx_free(f);
}

/* An unlogged cold pack on zones 2 and 3 (left) for on_us, then after_us
 * more: S5 at one of them, and nothing clinical. */
static void expect_cold_s5(struct fx *f, uint64_t on_us, uint64_t after_us)
{
    f->s.cold[2] = 5;
    f->s.cold[3] = 3;
    synth_run(&f->s, f->d, on_us);
    f->s.cold[2] = f->s.cold[3] = 0;
    synth_run(&f->s, f->d, after_us);
    const struct rec *s5 = find(&f->log, "S5", DW_ALERT_RAISED, 0);
    if (!s5)
        dump(&f->log);
    assert_non_null(s5);
    assert_true(s5->zone == 2 || s5->zone == 3);
    assert_int_equal(count_level(&f->log, DW_L0, 0), 0);
}

static void test_s5_cold_source(void **st)
{
    (void)st;
    struct fx *f = fx_new(14);
    synth_run(&f->s, f->d, 30 * H_US);
    expect_cold_s5(f, 40 * M_US, 3 * H_US);
    fx_free(f);
}

/* A logged ice pack is an artefact, not a heat/cold source: no S5, nothing clinical. */
static void test_logged_ice_pack(void **st)
{
    (void)st;
    struct fx *f = fx_new(16);
    synth_run(&f->s, f->d, 30 * H_US);
    dw_detector_event(f->d, "synth01", f->s.t_us, DW_EV_ICE_PACK, DW_SIDE_LEFT, false, 0);
    f->s.cold[2] = 5;
    f->s.cold[3] = 3;
    synth_run(&f->s, f->d, 20 * M_US);
    f->s.cold[2] = f->s.cold[3] = 0;
    synth_run(&f->s, f->d, 3 * H_US);
    assert_null(find(&f->log, "S5", -1, 0));
    assert_int_equal(count_level(&f->log, DW_L0, 0), 0);
    fx_free(f);
}

/* An unlogged cold pack right after a feed on that side is still a cold
 * source: a feed explains warmth afterwards, not a fall of several degrees. */
static void test_s5_cold_after_feed(void **st)
{
    (void)st;
    struct fx *f = fx_new(17);
    synth_run(&f->s, f->d, 30 * H_US);
    run_until_after_feed(f, DW_SIDE_LEFT, 5 * M_US);
    expect_cold_s5(f, 20 * M_US, 2 * H_US);
    fx_free(f);
}

/* Every zone cooling together (a cold room, the garment lifted) is no local
 * source: no S5 on any zone. */
static void test_s5_not_global(void **st)
{
    (void)st;
    struct fx *f = fx_new(18);
    synth_run(&f->s, f->d, 30 * H_US);
    while (f->s.in_feed || f->s.t_us - f->s.feed_end_us < 45 * M_US)
        synth_run(&f->s, f->d, M_US);
    for (unsigned z = 0; z < 16; z++)
        f->s.cold[z] = 2.8;
    synth_run(&f->s, f->d, 20 * M_US);
    for (unsigned z = 0; z < 16; z++)
        f->s.cold[z] = 0;
    synth_run(&f->s, f->d, 2 * H_US);
    if (find(&f->log, "S5", -1, 0))
        dump(&f->log);
    assert_null(find(&f->log, "S5", -1, 0));
    fx_free(f);
}

/* Several devices in one detector keep apart: a warm zone on one does not
 * show on the other, and alert ids are per device. */
/* One process serves any number of garments: a fever reading on each of
 * 200 devices raises 200 G3 alerts (it used to stop at 64 devices and
 * ignore the rest without a word). */
static void test_many_devices(void **st)
{
    (void)st;
    struct log *l = calloc(1, sizeof(*l));
    struct dw_detect_config c;
    struct synth s;
    dw_detect_config_default(&c);
    struct dw_detector *d = dw_detector_new(&c, on_alert, l);
    assert_non_null(l);
    assert_non_null(d);
    synth_init(&s, 5, RATE);
    for (unsigned i = 0; i < 200; i++) {
        char id[DW_ID_LEN + 1];
        snprintf(id, sizeof(id), "g%05u", i);
        snprintf(s.hello.device_id, sizeof(s.hello.device_id), "%s", id);
        assert_int_equal(dw_detector_hello(d, id, &s.hello), 0);
        assert_int_equal(dw_detector_event(d, id, 1000000, DW_EV_THERMOMETER, DW_SIDE_NONE,
                                           true, 38.7), 0);
    }
    unsigned g3 = 0;
    for (unsigned i = 0; i < l->n; i++)
        g3 += !strcmp(l->r[i].rule, "G3") && l->r[i].state == DW_ALERT_RAISED;
    assert_int_equal(g3, 200);
    struct dw_detector_stats ds;
    assert_int_equal(dw_detector_stats(d, "g00199", &ds), 0);
    dw_detector_free(d);
    free(l);
}

static void test_two_devices(void **st)
{
    (void)st;
    struct log *l = calloc(1, sizeof(*l));
    struct dw_detect_config c;
    struct synth a, b;
    dw_detect_config_default(&c);
    struct dw_detector *d = dw_detector_new(&c, on_alert, l);
    synth_init(&a, 21, RATE);
    synth_init(&b, 22, RATE);
    snprintf(b.hello.device_id, sizeof(b.hello.device_id), "other");
    dw_detector_hello(d, "synth01", &a.hello);
    dw_detector_hello(d, "other", &b.hello);
    synth_run(&a, d, 30 * H_US); /* the synth names its device synth01 */
    a.warm[5] = 1.6;
    synth_run(&a, d, 4 * H_US);
    struct dw_detector_stats ds;
    assert_int_equal(dw_detector_stats(d, "synth01", &ds), 0);
    assert_true(ds.samples > 0);
    assert_int_equal(dw_detector_stats(d, "other", &ds), 0);
    assert_int_equal(ds.samples, 0);
    assert_int_equal(dw_detector_stats(d, "nobody", &ds), -ENOENT);
    assert_non_null(find(l, "T2", DW_ALERT_RAISED, 0));
    dw_detector_free(d);
    free(l);
}

/* ---- determinism: the same input in two chunkings gives the same alerts ---- */

struct bytes {
    uint8_t *b;
    size_t n, cap;
};

static void to_bytes(const uint8_t *b, size_t n, void *u)
{
    struct bytes *x = u;
    if (x->n + n > x->cap) {
        x->cap = (x->n + n) * 2;
        x->b = realloc(x->b, x->cap);
        assert_non_null(x->b);
    }
    memcpy(x->b + x->n, b, n);
    x->n += n;
}

struct wire_ctx {
    struct dw_detector *d;
};

static void on_frame(const struct dw_frame *fr, void *u)
{
    struct wire_ctx *w = u;
    if (fr->type == DW_FRAME_HELLO) {
        struct dw_hello h;
        assert_int_equal(dw_hello_parse(fr->payload, fr->len, &h), 0);
        dw_detector_hello(w->d, h.device_id, &h);
    } else if (fr->type == DW_FRAME_SAMPLE) {
        struct dw_sample s;
        assert_int_equal(dw_sample_parse(fr->payload, fr->len, &s), 0);
        dw_detector_sample(w->d, "synth01", fr->t_device_us, &s);
    } else if (fr->type == DW_FRAME_EVENT) {
        struct dw_event e;
        assert_int_equal(dw_event_parse(fr->payload, fr->len, &e), 0);
        dw_detector_event(w->d, "synth01", fr->t_device_us, e.kind, e.side, true, e.value / 1000.0);
    }
}

static void run_chunked(const struct bytes *in, size_t chunk, struct log *out)
{
    struct dw_detect_config c;
    dw_detect_config_default(&c);
    struct wire_ctx w = { dw_detector_new(&c, on_alert, out) };
    static struct dw_decoder dec;
    dw_decoder_init(&dec, on_frame, &w);
    size_t step = chunk;
    for (size_t off = 0; off < in->n; off += step) {
        step = chunk ? chunk : 1 + (off * 7919) % 5000; /* 0: irregular chunks */
        size_t n = in->n - off < step ? in->n - off : step;
        dw_decoder_feed(&dec, in->b + off, n);
    }
    dw_detector_free(w.d);
}

static void test_determinism(void **st)
{
    (void)st;
    struct synth s;
    struct bytes in = { 0 };
    synth_init(&s, 42, RATE);
    synth_run_wire(&s, 30 * H_US, to_bytes, &in);
    s.warm[5] = 1.6;
    s.firm[13] = 1.7;
    synth_run_wire(&s, 10 * H_US, to_bytes, &in);
    struct log *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    run_chunked(&in, 65536, a);
    run_chunked(&in, 0, b);
    assert_true(a->n > 0);
    assert_int_equal(a->n, b->n);
    for (unsigned i = 0; i < a->n; i++) {
        assert_string_equal(a->r[i].rule, b->r[i].rule);
        assert_int_equal(a->r[i].t, b->r[i].t);
        assert_int_equal(a->r[i].zone, b->r[i].zone);
        assert_int_equal(a->r[i].level, b->r[i].level);
        assert_int_equal(a->r[i].state, b->r[i].state);
        assert_float_equal(a->r[i].value, b->r[i].value, 0);
    }
    free(a);
    free(b);
    free(in.b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_id_refused),
        cmocka_unit_test(test_robust_median_mad),
        cmocka_unit_test(test_ring_clear_forgets),
        cmocka_unit_test(test_ring_median_exact),
        cmocka_unit_test(test_fixed16_range_and_round_trip),
        cmocka_unit_test(test_healthy_no_clinical),
        cmocka_unit_test(test_t1_localized_warmth),
        cmocka_unit_test(test_t1_not_whole_breast),
        cmocka_unit_test(test_learning_period),
        cmocka_unit_test(test_t2_i1),
        cmocka_unit_test(test_i1_zone_steady),
        cmocka_unit_test(test_f1_fr_d1),
        cmocka_unit_test(test_d1_zone_steady),
        cmocka_unit_test(test_seven_days),
        cmocka_unit_test(test_g1_global),
        cmocka_unit_test(test_g2_g3),
        cmocka_unit_test(test_many_devices),
        cmocka_unit_test(test_e1_engorgement),
        cmocka_unit_test(test_p1_pressing),
        cmocka_unit_test(test_p1_not_firmness),
        cmocka_unit_test(test_s1_detached),
        cmocka_unit_test(test_s2_garment_off),
        cmocka_unit_test(test_s3_stuck),
        cmocka_unit_test(test_s5_cold_source),
        cmocka_unit_test(test_logged_ice_pack),
        cmocka_unit_test(test_s5_cold_after_feed),
        cmocka_unit_test(test_s5_not_global),
        cmocka_unit_test(test_two_devices),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_s1_clear_value),
        cmocka_unit_test(test_h1_side_and_text),
        cmocka_unit_test(test_messages_fit),
        cmocka_unit_test(test_s4_not_at_garment_off),
        cmocka_unit_test(test_garment_on_lost),
        cmocka_unit_test(test_lying_left_not_firmness),
        cmocka_unit_test(test_e1_night_gap_is_usual),
    };
    return dw_cmocka_run(tests, NULL, NULL, argc, argv);
}
