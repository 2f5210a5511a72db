/* CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init and xorout
 * 0xFFFFFFFF. Check value of "123456789" is 0xE3069283. */
#pragma once
#include <stddef.h>
#include <stdint.h>

uint32_t dw_crc32c(const void *data, size_t len);
/* Incremental form: start with crc = 0, feed pieces, the result is final. */
uint32_t dw_crc32c_update(uint32_t crc, const void *data, size_t len);
