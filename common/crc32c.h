/* CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init and xorout
 * 0xFFFFFFFF. Check value of "123456789" is 0xE3069283.
 *
 * dw_crc32c and dw_crc32c_update use the CPU's CRC-32C instruction when it
 * has one (x86-64 SSE4.2 `crc32`, ARMv8 CRC extension), chosen once at run
 * time, and the slicing-by-8 table code otherwise. Both give the same value
 * for every input; the table form stays callable for tests and benchmarks. */
#pragma once
#include <stddef.h>
#include <stdint.h>

uint32_t dw_crc32c(const void *data, size_t len);
/* Incremental form: start with crc = 0, feed pieces, the result is final. */
uint32_t dw_crc32c_update(uint32_t crc, const void *data, size_t len);

/* The table code alone, whatever the CPU has. */
uint32_t dw_crc32c_update_table(uint32_t crc, const void *data, size_t len);
/* "sse4.2", "armv8-crc" or "table": what dw_crc32c_update uses here. */
const char *dw_crc32c_impl(void);
/* Makes dw_crc32c_update use the named form from now on, in every thread
 * (for benchmarks and tests: "table" on any CPU, the instruction's name only
 * where the CPU has it). 0, or -ENOTSUP when this CPU cannot. */
int dw_crc32c_select(const char *impl);
