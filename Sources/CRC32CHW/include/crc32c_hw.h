#ifndef FLEETSCOPE_CRC32C_HW_H
#define FLEETSCOPE_CRC32C_HW_H
#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has a CRC-32C instruction (x86-64 SSE4.2, ARMv8 CRC), else 0.
int fleetscope_crc32c_hw_available(void);

/// Continues a CRC-32C over `n` bytes with the instruction. `crc` is the running value
/// without the final inversion (callers invert before and after, as the table version does).
/// Only call when `fleetscope_crc32c_hw_available()` returned 1.
uint32_t fleetscope_crc32c_hw_update(uint32_t crc, const uint8_t *p, size_t n);

#endif
