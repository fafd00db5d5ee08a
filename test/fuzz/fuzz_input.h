/*
 * The fuzzer's input as a byte stream shared by the modes of fuzz_virtio
 * (fuzz_virtio.c: transport mode, fuzz_blk.c: block mode). Bytes past the
 * end read as 0; callers stop when fz.n reaches 0.
 */
#ifndef LEVBLK_TEST_FUZZ_INPUT_H
#define LEVBLK_TEST_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct fz_in {
	const uint8_t *p;
	size_t n;
};

extern struct fz_in fz;

uint8_t fz_u8(void);
uint16_t fz_u16(void);
uint32_t fz_u32(void);

/* Top bit of the first byte: block mode (fuzz_blk.c) instead of transport mode. */
#define FZ_MODE_BLK 0x80u

/* One block-mode run over the rest of the input (the first byte included). */
void fz_blk_one(void);

#endif
