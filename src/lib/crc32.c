/*
 * CRC-32 (include/levblk/lib/crc32.h), four bits at a time through a
 * 16-entry table: small enough to keep in the source, fast enough for the
 * partition tables it checks (a few KiB at boot).
 */
#include <levblk/lib/crc32.h>

/*
 * crc32_nibble[n]: the CRC register after shifting the 4-bit value n
 * through the reflected polynomial 0xEDB88320 four times.
 */
static const uint32_t crc32_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t crc32_update(uint32_t state, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		state ^= p[i];
		/* Low nibble first: the polynomial is reflected. */
		state = (state >> 4) ^ crc32_nibble[state & 0xFu];
		state = (state >> 4) ^ crc32_nibble[state & 0xFu];
	}
	return state;
}
