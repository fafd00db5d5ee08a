/*
 * CRC-32 as IEEE 802.3, zlib and the UEFI GPT use it: reflected polynomial
 * 0xEDB88320, initial value and final XOR 0xFFFFFFFF. crc32("123456789")
 * is 0xCBF43926.
 *
 * To checksum data that arrives in pieces, feed each piece to
 * crc32_update() starting from CRC32_INIT and finish with crc32_final().
 * Pure code: any context, no state.
 */
#ifndef LEVBLK_LIB_CRC32_H
#define LEVBLK_LIB_CRC32_H

#include <stddef.h>
#include <stdint.h>

#define CRC32_INIT 0xFFFFFFFFu

uint32_t crc32_update(uint32_t state, const void *data, size_t len);

static inline uint32_t crc32_final(uint32_t state)
{
	return state ^ 0xFFFFFFFFu;
}

/* The CRC of one buffer. */
static inline uint32_t crc32(const void *data, size_t len)
{
	return crc32_final(crc32_update(CRC32_INIT, data, len));
}

#endif
