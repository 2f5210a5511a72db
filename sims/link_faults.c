/* See link_faults.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "link_faults.h"
#include "parse_num.h"

static const char *const kind_names[DW_FAULT_KINDS] = { "flip", "drop", "dup", "garbage", "unplug" };

const char *dw_fault_kind_name(unsigned kind)
{
    return kind < DW_FAULT_KINDS ? kind_names[kind] : "?";
}

bool dw_link_faults_any(const struct dw_link_faults_spec *s)
{
    return s->flip > 0 || s->drop > 0 || s->dup > 0 || s->garbage_us || s->unplug_us ||
           s->drift_ppm != 0 || s->lose_minutes > 0;
}

int dw_link_faults_parse(const char *spec, struct dw_link_faults_spec *out, char *err,
                         size_t errlen)
{
    char buf[512], *save = NULL, *tok;
    memset(out, 0, sizeof(*out));
    out->garbage_max = 64;
    out->unplug_for_us = 2000000;
    if (strlen(spec) >= sizeof(buf)) {
        snprintf(err, errlen, "--link-faults: too long");
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%s", spec);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        const char *v;
        uint64_t u;
        int r = 0;
        if (!eq) {
            snprintf(err, errlen, "--link-faults: '%s' is not KEY=VALUE", tok);
            return -EINVAL;
        }
        *eq = 0;
        v = eq + 1;
        if (!strcmp(tok, "flip"))
            r = dw_parse_double(v, 0, 0.1, &out->flip);
        else if (!strcmp(tok, "drop"))
            r = dw_parse_double(v, 0, 0.1, &out->drop);
        else if (!strcmp(tok, "dup"))
            r = dw_parse_double(v, 0, 0.1, &out->dup);
        else if (!strcmp(tok, "garbage"))
            r = dw_duration_parse_us(v, &out->garbage_us);
        else if (!strcmp(tok, "garbage-max")) {
            r = dw_parse_u64(v, 1, 1024, &u);
            out->garbage_max = (unsigned)u;
        } else if (!strcmp(tok, "unplug"))
            r = dw_duration_parse_us(v, &out->unplug_us);
        else if (!strcmp(tok, "unplug-for"))
            r = dw_duration_parse_us(v, &out->unplug_for_us) < 0 || !out->unplug_for_us ? -EINVAL : 0;
        else if (!strcmp(tok, "drift"))
            r = dw_parse_double(v, -10000, 10000, &out->drift_ppm);
        else if (!strcmp(tok, "lose-minutes"))
            r = dw_parse_double(v, 0, 0.5, &out->lose_minutes);
        else {
            snprintf(err, errlen, "--link-faults: unknown fault '%s' (flip, drop, dup, garbage, "
                     "garbage-max, unplug, unplug-for, drift, lose-minutes)", tok);
            return -EINVAL;
        }
        if (r < 0) {
            snprintf(err, errlen, "--link-faults: bad value '%s' for %s", v, tok);
            return -EINVAL;
        }
    }
    if (out->flip + out->drop + out->dup > 0.1) {
        snprintf(err, errlen, "--link-faults: flip + drop + dup must be at most 0.1 per byte");
        return -EINVAL;
    }
    return 0;
}

/* Exponential waiting times: faults come as a Poisson process. */
static uint64_t exp_wait(struct dw_prng *r, double mean)
{
    return (uint64_t)(-log(1.0 - dw_prng_unit(r)) * mean);
}

static uint64_t next_skip(struct dw_link_faults *f)
{
    if (f->p_any <= 0)
        return UINT64_MAX;
    /* Geometric number of clean bytes before the next faulty one. */
    return (uint64_t)floor(log(1.0 - dw_prng_unit(&f->rng)) / log1p(-f->p_any));
}

void dw_link_faults_init(struct dw_link_faults *f, const struct dw_link_faults_spec *spec,
                         uint64_t seed)
{
    memset(f, 0, sizeof(*f));
    f->spec = *spec;
    dw_prng_seed(&f->rng, seed, 3);
    f->p_any = spec->flip + spec->drop + spec->dup;
    f->skip = next_skip(f);
    f->next_garbage_us = spec->garbage_us ? exp_wait(&f->rng, (double)spec->garbage_us) : UINT64_MAX;
    f->next_unplug_us = spec->unplug_us ? exp_wait(&f->rng, (double)spec->unplug_us) : UINT64_MAX;
    /* Its own draw, so that lose-minutes leaves the other faults as they were. */
    f->minute_key = seed ^ 0x6c6f73652d6d696eull;
    f->minute_key = dw_splitmix64(&f->minute_key);
}

bool dw_link_faults_minute_lost(const struct dw_link_faults *f, uint64_t t_us)
{
    uint64_t k = f->minute_key + t_us / 60000000ull;

    if (f->spec.lose_minutes <= 0)
        return false;
    return (double)(dw_splitmix64(&k) >> 11) * 0x1p-53 < f->spec.lose_minutes;
}

void dw_link_faults_reset(struct dw_link_faults *f)
{
    f->merge_pending = false;
}

size_t dw_link_faults_frame(struct dw_link_faults *f, const uint8_t *in, size_t len,
                            uint8_t *out, bool *lost, struct dw_byte_fault *faults,
                            unsigned max_faults, unsigned *n_faults)
{
    size_t o = 0, body_out = 0;
    bool body_hit, delim_lost = false;
    *n_faults = 0;
    for (size_t i = 0; i < len; i++) {
        bool delim = i == len - 1;
        struct dw_byte_fault bf = { 0 };
        double u;
        if (delim)
            body_out = o;
        if (f->skip) {
            if (f->skip != UINT64_MAX)
                f->skip--;
            out[o++] = in[i];
            continue;
        }
        f->skip = next_skip(f);
        u = dw_prng_unit(&f->rng) * f->p_any;
        bf.offset = i;
        bf.delimiter = delim;
        if (u < f->spec.flip) {
            bf.kind = DW_FAULT_FLIP;
            bf.bit = (unsigned)(dw_prng_next(&f->rng) & 7);
            out[o++] = (uint8_t)(in[i] ^ (1u << bf.bit));
            /* A flipped delimiter is no longer one: two frames merge. */
            delim_lost |= delim;
        } else if (u < f->spec.flip + f->spec.drop) {
            bf.kind = DW_FAULT_DROP;
            delim_lost |= delim;
        } else {
            bf.kind = DW_FAULT_DUP;
            out[o++] = in[i];
            out[o++] = in[i];
            /* A doubled delimiter is an empty block, which the host skips. */
        }
        f->count[bf.kind]++;
        if (*n_faults < max_faults)
            faults[(*n_faults)++] = bf;
    }
    /* Faults can undo each other (a byte dropped next to an equal one that
     * is doubled): the frame is lost only if the bytes the host gets differ. */
    body_hit = body_out != len - 1 || memcmp(out, in, len - 1) != 0;
    *lost = body_hit || delim_lost || f->merge_pending;
    f->merge_pending = delim_lost;
    return o;
}

size_t dw_link_faults_garbage(struct dw_link_faults *f, uint64_t t_us, uint8_t *out, bool *glued)
{
    size_t n;
    bool zero = false;
    if (t_us < f->next_garbage_us)
        return 0;
    f->next_garbage_us = t_us + 1 + exp_wait(&f->rng, (double)f->spec.garbage_us);
    n = 1 + (size_t)(dw_prng_next(&f->rng) % f->spec.garbage_max);
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)dw_prng_next(&f->rng);
        zero |= out[i] == 0;
    }
    /* Bytes after the burst's last 0x00 (or all of it, with none) run
     * into the next frame. */
    *glued = out[n - 1] != 0;
    f->merge_pending = zero ? *glued : true;
    f->count[DW_FAULT_GARBAGE]++;
    return n;
}

bool dw_link_faults_unplug_due(struct dw_link_faults *f, uint64_t t_us)
{
    if (t_us < f->next_unplug_us)
        return false;
    f->next_unplug_us = t_us + f->spec.unplug_for_us + 1 +
                        exp_wait(&f->rng, (double)f->spec.unplug_us);
    f->count[DW_FAULT_UNPLUG]++;
    return true;
}
