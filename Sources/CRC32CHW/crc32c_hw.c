// CRC-32C with the CPU's instruction: Swift cannot reach compiler intrinsics, and checksums
// run on every WAL record written and every chunk a query reads, where the table-driven
// version costs about 1 ns per byte and the instruction about a tenth of that.
#include "crc32c_hw.h"
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

int fleetscope_crc32c_hw_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_SSE4_2) != 0;
}

__attribute__((target("sse4.2")))
uint32_t fleetscope_crc32c_hw_update(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p);
        p++;
        n--;
    }
    return c32;
}

#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#include <asm/hwcap.h>

int fleetscope_crc32c_hw_available(void) { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }

__attribute__((target("crc")))
uint32_t fleetscope_crc32c_hw_update(uint32_t crc, const uint8_t *p, size_t n) {
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        crc = __builtin_aarch64_crc32cx(crc, w);
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        crc = __builtin_aarch64_crc32cb(crc, *p);
        p++;
        n--;
    }
    return crc;
}

#else
int fleetscope_crc32c_hw_available(void) { return 0; }
uint32_t fleetscope_crc32c_hw_update(uint32_t crc, const uint8_t *p, size_t n) { (void)p; (void)n; return crc; }
#endif
