/* The simulator's own pseudo-random numbers: xoshiro256** seeded through
 * splitmix64 (Blackman & Vigna), so a seed gives the same stream on every
 * platform and libc (never rand()). */
#pragma once
#include <stdint.h>

struct dw_prng {
    uint64_t s[4];
};

static inline uint64_t dw_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* stream picks one of several independent generators for the same seed. */
static inline void dw_prng_seed(struct dw_prng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = dw_splitmix64(&x);
}

static inline uint64_t dw_prng_next(struct dw_prng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5, result = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform in [0, 1). */
static inline double dw_prng_unit(struct dw_prng *r)
{
    return (double)(dw_prng_next(r) >> 11) * 0x1.0p-53;
}

static inline double dw_prng_uniform(struct dw_prng *r, double lo, double hi)
{
    return lo + (hi - lo) * dw_prng_unit(r);
}

/* Approximately standard normal, from one draw: the sum of four 16-bit
 * uniforms (Irwin-Hall, variance 1/3) rescaled. Tails end at +-3.46, which
 * is what sensor noise needs and costs no log/sqrt per sample. */
static inline double dw_prng_noise(struct dw_prng *r)
{
    uint64_t v = dw_prng_next(r);
    double sum = (double)(v & 0xFFFF) + (double)((v >> 16) & 0xFFFF) +
                 (double)((v >> 32) & 0xFFFF) + (double)(v >> 48);
    return (sum / 65536.0 - 2.0) * 1.7320508075688772;
}
