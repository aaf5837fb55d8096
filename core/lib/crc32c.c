/*
 * crc32c - CRC-32C with the CPU's instruction where it has one (SSE4.2 on x86-64, the CRC
 * extension on arm64), a table otherwise; all three give the same value.
 */
#include "lib/crc32c.h"

#include <string.h>

#define POLY 0x82f63b78u /* Castagnoli, reflected */

static uint32_t table[256];

static void table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[i] = c;
    }
}

static uint32_t crc_table(uint32_t c, const unsigned char *b, size_t n)
{
    static int ready; /* racing initialisers write the same values */
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        table_init();
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    while (n--)
        c = table[(c ^ *b++) & 0xff] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define HAVE_HW 1
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const unsigned char *b,
                                                          size_t n)
{
    uint64_t c64 = c;
    for (; n >= 8; b += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        c64 = _mm_crc32_u64(c64, w);
    }
    c = (uint32_t)c64;
    while (n--)
        c = _mm_crc32_u8(c, *b++);
    return c;
}
static int hw_present(void)
{
    return __builtin_cpu_supports("sse4.2");
}
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#define HAVE_HW 1
static uint32_t crc_hw(uint32_t c, const unsigned char *b, size_t n)
{
    for (; n >= 8; b += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        c = __crc32cd(c, w);
    }
    while (n--)
        c = __crc32cb(c, *b++);
    return c;
}
static int hw_present(void)
{
    return 1;
}
#endif

uint32_t gw_crc32c(uint32_t crc, const void *p, size_t n)
{
    uint32_t c = ~crc;
#ifdef HAVE_HW
    static int hw = -1; /* racing initialisers compute the same answer */
    int h = __atomic_load_n(&hw, __ATOMIC_RELAXED);
    if (h < 0) {
        h = hw_present();
        __atomic_store_n(&hw, h, __ATOMIC_RELAXED);
    }
    if (h)
        return ~crc_hw(c, p, n);
#endif
    return ~crc_table(c, p, n);
}

uint32_t gw_crc32c_portable(uint32_t crc, const void *p, size_t n)
{
    return ~crc_table(~crc, p, n);
}
