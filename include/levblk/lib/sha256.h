/*
 * SHA-256 (FIPS 180-4), incremental: init, update with any number of pieces
 * of any length, final. Used by the file system jobs to compare file contents
 * with a manifest made by the host's sha256sum. Pure code, no allocation; the
 * context lives wherever the caller puts it.
 */
#ifndef LEVBLK_LIB_SHA256_H
#define LEVBLK_LIB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BLOCK_BYTES  64u
#define SHA256_DIGEST_BYTES 32u
/* Lower-case hex of a digest plus the terminating NUL. */
#define SHA256_HEX_BYTES    (2u * SHA256_DIGEST_BYTES + 1u)

struct sha256_ctx {
	uint32_t state[8];
	uint64_t total_bytes;             /* message length so far, in bytes */
	uint8_t block[SHA256_BLOCK_BYTES]; /* the partial block not yet compressed */
	uint32_t block_fill;              /* bytes of block[] in use, always < 64 */
};

void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
/* Writes the digest; ctx must be initialised again before reuse. */
void sha256_final(struct sha256_ctx *ctx, uint8_t digest[SHA256_DIGEST_BYTES]);
/* One-shot convenience over the three calls above. */
void sha256(const void *data, size_t len, uint8_t digest[SHA256_DIGEST_BYTES]);
/* Writes the lower-case hex form of a digest (64 digits and a NUL). */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_BYTES], char out[SHA256_HEX_BYTES]);
/*
 * Parses exactly 64 hex digits (either case) into a digest. Returns 0, or
 * -EINVAL if a character is not a hex digit.
 */
int sha256_parse_hex(const char *hex, uint8_t digest[SHA256_DIGEST_BYTES]);

#endif
