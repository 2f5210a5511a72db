#include <math.h>
#include <string.h>
#include "layout.h"
#include "synth.h"

#define H_US 3600000000ULL
#define M_US 60000000ULL

static uint64_t xs(struct synth *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

static double unif(struct synth *s) { return (double)(xs(s) >> 11) / 9007199254740992.0; }

static double gauss(struct synth *s)
{
    double u = unif(s) + 1e-12, v = unif(s);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

void synth_init(struct synth *s, uint64_t seed, unsigned rate_hz)
{
    memset(s, 0, sizeof(*s));
    s->rng = seed * 2654435761u + 88172645463325252ULL;
    s->rate_hz = rate_hz;
    s->t_us = 1000000;
    dw_layout_default(&s->hello, "synth01", "test", rate_hz);
    for (int z = 0; z < 16; z++) {
        s->t_off[z] = 0.6 * gauss(s) + ((z % 2) ? -0.3 : 0.3);
        s->p_soft[z] = 0.8 + 0.4 * unif(s);
        s->firm[z] = 1;
    }
    s->feed_every_us = 3 * H_US;
    s->feed_len_us = 20 * M_US;
    s->next_feed_us = 2 * H_US;
    s->feeds_enabled = true;
    s->room_c = 24;
    s->accel_g[2] = 1;
}

void synth_hello(struct synth *s, struct dw_detector *det)
{
    dw_detector_hello(det, "synth01", &s->hello);
}

struct sink {
    struct dw_detector *det;
    synth_bytes_fn fn;
    void *u;
    uint32_t seq;
};

static void send_event(struct synth *s, struct sink *k, int kind, int side, double value)
{
    if (k->det) {
        dw_detector_event(k->det, "synth01", s->t_us, kind, side, true, value);
        return;
    }
    struct dw_event e = { .kind = (uint8_t)kind, .side = (uint8_t)side,
                          .value = (int32_t)lround(value * 1000) };
    uint8_t p[128], w[DW_MAX_WIRE];
    ssize_t n = dw_event_pack(&e, p, sizeof(p));
    ssize_t m = dw_frame_encode(DW_FRAME_EVENT, k->seq++, s->t_us, p, (size_t)n, w, sizeof(w));
    k->fn(w, (size_t)m, k->u);
}

static void step(struct synth *s, struct sink *k)
{
    /* feeds */
    if (s->feeds_enabled && !s->in_feed && s->t_us >= s->next_feed_us) {
        s->in_feed = true;
        s->feed_side = s->next_side;
        s->next_side ^= 1;
        s->feed_end_us = s->t_us + s->feed_len_us;
        send_event(s, k, DW_EV_FEED_START, s->feed_side, 0);
    }
    if (s->in_feed && s->t_us >= s->feed_end_us) {
        s->in_feed = false;
        s->fill[s->feed_side] = 0;
        s->next_feed_us = s->t_us + s->feed_every_us - s->feed_len_us;
        send_event(s, k, DW_EV_FEED_END, s->feed_side, 0);
    }
    double dt_h = 1.0 / s->rate_hz / 3600.0;
    for (int side = 0; side < 2; side++)
        if (!(s->in_feed && s->feed_side == side))
            s->fill[side] += 0.1 * dt_h; /* +0.3 over 3 h */
    double hours = s->t_us / 3.6e9;
    double circ = 0.5 * sin(2 * M_PI * hours / 24.0);
    struct dw_sample smp;
    memset(&smp, 0, sizeof(smp));
    smp.n_zones = 16;
    for (int z = 0; z < 16; z++) {
        int side = z / 8;
        double t = 34 + s->t_off[z] + circ + s->warm[z] + s->global_warm - s->cold[z] +
                   0.03 * gauss(s);
        double p = s->p_soft[z] * (1 + s->fill[side] + s->all_firm) * s->firm[z] +
                   s->extra_pressure[z] + 0.02 * gauss(s);
        if (s->in_feed && s->feed_side == side)
            t += 0.8;
        if (s->detached[z] || s->garment_off) {
            t = s->room_c + 1 + 0.03 * gauss(s);
            p = 0;
        }
        smp.temp[z] = (int16_t)lround(t * 100);
        smp.pressure[z] = (uint16_t)lround((p < 0 ? 0 : p) * 1000);
        if (s->stuck[z]) {
            if (!s->stuck_val[z])
                s->stuck_val[z] = smp.temp[z];
            smp.temp[z] = s->stuck_val[z];
        }
    }
    smp.ambient[0] = smp.ambient[1] = (int16_t)lround((s->room_c + 0.02 * gauss(s)) * 100);
    for (int axis = 0; axis < 3; axis++) /* mg (the reference HELLO's accel scale) */
        smp.accel[axis] = (int16_t)(lround(s->accel_g[axis] * 1000) + lround(20 * gauss(s)));
    if (k->det) {
        dw_detector_sample(k->det, "synth01", s->t_us, &smp);
    } else {
        uint8_t p[DW_MAX_PAYLOAD], w[DW_MAX_WIRE];
        ssize_t n = dw_sample_pack(&smp, p, sizeof(p));
        ssize_t m = dw_frame_encode(DW_FRAME_SAMPLE, k->seq++, s->t_us, p, (size_t)n, w, sizeof(w));
        k->fn(w, (size_t)m, k->u);
    }
    s->t_us += 1000000 / s->rate_hz;
}

void synth_run(struct synth *s, struct dw_detector *det, uint64_t dur_us)
{
    struct sink k = { .det = det };
    uint64_t end = s->t_us + dur_us;
    while (s->t_us < end)
        step(s, &k);
}

void synth_run_wire(struct synth *s, uint64_t dur_us, synth_bytes_fn fn, void *u)
{
    static uint32_t seq;
    struct sink k = { .fn = fn, .u = u, .seq = seq };
    uint8_t p[DW_MAX_PAYLOAD], w[DW_MAX_WIRE];
    ssize_t n = dw_hello_pack(&s->hello, p, sizeof(p));
    ssize_t m = dw_frame_encode(DW_FRAME_HELLO, k.seq++, s->t_us, p, (size_t)n, w, sizeof(w));
    fn(w, (size_t)m, u);
    uint64_t end = s->t_us + dur_us;
    while (s->t_us < end)
        step(s, &k);
    seq = k.seq;
}
