/* The disk pattern of docs/interface.md, see include/levblk/lib/pattern.h. */
#include <levblk/lib/pattern.h>

/* Byte-wise little-endian so the result does not depend on host byte order or alignment. */
static void put_le64(uint8_t *p, uint64_t v)
{
	for (int b = 0; b < 8; b++)
		p[b] = (uint8_t)(v >> (8 * b));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int b = 7; b >= 0; b--)
		v = v << 8 | p[b];
	return v;
}

void pattern_fill_sector(void *buf, uint64_t seed, uint64_t sector)
{
	uint8_t *p = buf;

	for (unsigned int i = 0; i < PATTERN_WORDS; i++)
		put_le64(p + 8 * i, pattern_word(seed, sector, i));
}

int pattern_check_sector(const void *buf, uint64_t seed, uint64_t sector, uint64_t *got,
			 uint64_t *want)
{
	const uint8_t *p = buf;

	for (unsigned int i = 0; i < PATTERN_WORDS; i++) {
		uint64_t g = get_le64(p + 8 * i), w = pattern_word(seed, sector, i);
		if (g != w) {
			*got = g;
			*want = w;
			return (int)i;
		}
	}
	return -1;
}
