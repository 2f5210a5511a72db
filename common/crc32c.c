#include <errno.h>
#include <string.h>
#include "crc32c.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define DW_CRC_HW "sse4.2"
#elif defined(__aarch64__) && defined(__linux__)
#include <arm_acle.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#define DW_CRC_HW "armv8-crc"
#endif

/* Slicing-by-8 tables, built once at first use. Each table is a pure
 * function of the polynomial, so a racing double build writes the same bytes. */
static uint32_t table[8][256];
static int table_ready;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t dw_crc32c_update_table(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE))
        build_table();
    crc = ~crc;
    while (len >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                             (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
              table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
              table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#ifdef DW_CRC_HW
/* Eight bytes per instruction, loaded with memcpy so any alignment is
 * fine (the compiler turns it into one unaligned load); the tail byte by
 * byte. The instruction computes the same reflected CRC-32C step as one
 * round of the table code, without the final inversion. */
#if defined(__x86_64__)
__attribute__((target("sse4.2")))
#else
__attribute__((target("+crc")))
#endif
static uint32_t update_hw(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (len >= 8) {
        uint64_t w;
        __builtin_memcpy(&w, p, 8);
#if defined(__x86_64__)
        c = _mm_crc32_u64(c, w);
#else
        c = __crc32cd((uint32_t)c, w);
#endif
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--) {
#if defined(__x86_64__)
        c32 = _mm_crc32_u8(c32, *p++);
#else
        c32 = __crc32cb(c32, *p++);
#endif
    }
    return ~c32;
}

static int cpu_has_crc(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
#else
    return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#endif
}
#endif

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

/* Chosen at the first call; the choice is the same in every thread, so a
 * race only stores the same pointer twice. */
static crc_fn chosen;

static crc_fn choose(void)
{
    crc_fn f = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (f)
        return f;
    f = dw_crc32c_update_table;
#ifdef DW_CRC_HW
    if (cpu_has_crc())
        f = update_hw;
#endif
    __atomic_store_n(&chosen, f, __ATOMIC_RELEASE);
    return f;
}

uint32_t dw_crc32c_update(uint32_t crc, const void *data, size_t len)
{
    return choose()(crc, data, len);
}

uint32_t dw_crc32c(const void *data, size_t len)
{
    return dw_crc32c_update(0, data, len);
}

const char *dw_crc32c_impl(void)
{
#ifdef DW_CRC_HW
    if (choose() == update_hw)
        return DW_CRC_HW;
#endif
    return "table";
}

int dw_crc32c_select(const char *impl)
{
    crc_fn f = NULL;
    if (!strcmp(impl, "table"))
        f = dw_crc32c_update_table;
#ifdef DW_CRC_HW
    else if (!strcmp(impl, DW_CRC_HW) && cpu_has_crc())
        f = update_hw;
#endif
    if (!f)
        return -ENOTSUP;
    __atomic_store_n(&chosen, f, __ATOMIC_RELEASE);
    return 0;
}
