/*
 * SHA-256 as FIPS 180-4 sections 4.1.2 (functions), 4.2.2 (constants),
 * 5.1.1 (padding), 5.3.3 (initial hash value) and 6.2.2 (computation)
 * describe it. Byte order is explicit (big-endian words in the message
 * schedule and the digest), so the result does not depend on the CPU.
 */
#include <levblk/errno.h>
#include <levblk/lib/sha256.h>
#include <levblk/lib/string.h>

#define SHA256_ROUNDS        64u
#define SHA256_LENGTH_BYTES  8u   /* the message length field ending the padding */
#define SHA256_PAD_FIRST     0x80u /* the single 1 bit that starts the padding */

static uint32_t rotr32(uint32_t x, unsigned int n);
static uint32_t load_be32(const uint8_t *p);
static void store_be32(uint8_t *p, uint32_t v);
static void sha256_compress(uint32_t state[8], const uint8_t block[SHA256_BLOCK_BYTES]);
static int hex_value(char c);

/* FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t sha256_k[SHA256_ROUNDS] = {
	0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
	0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
	0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
	0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
	0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
	0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
	0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
	0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

/* FIPS 180-4 5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes. */
static const uint32_t sha256_h0[8] = {
	0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au, 0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

static uint32_t rotr32(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32u - n));
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* FIPS 180-4 6.2.2: one 512-bit block into the running hash value. */
static void sha256_compress(uint32_t state[8], const uint8_t block[SHA256_BLOCK_BYTES])
{
	uint32_t w[SHA256_ROUNDS];
	uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
	uint32_t e = state[4], f = state[5], g = state[6], h = state[7];

	for (unsigned int t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (unsigned int t = 16; t < SHA256_ROUNDS; t++) {
		uint32_t s0 = rotr32(w[t - 15], 7) ^ rotr32(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = rotr32(w[t - 2], 17) ^ rotr32(w[t - 2], 19) ^ (w[t - 2] >> 10);
		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	for (unsigned int t = 0; t < SHA256_ROUNDS; t++) {
		uint32_t big_s1 = rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = h + big_s1 + ch + sha256_k[t] + w[t];
		uint32_t big_s0 = rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22);
		uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t2 = big_s0 + maj;

		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	state[4] += e;
	state[5] += f;
	state[6] += g;
	state[7] += h;
}

void sha256_init(struct sha256_ctx *ctx)
{
	memcpy(ctx->state, sha256_h0, sizeof(ctx->state));
	ctx->total_bytes = 0;
	ctx->block_fill = 0;
}

void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;

	ctx->total_bytes += len;
	/* Top up a partial block first; compress it once it is whole. */
	if (ctx->block_fill != 0) {
		size_t take = SHA256_BLOCK_BYTES - ctx->block_fill;
		if (take > len)
			take = len;
		memcpy(ctx->block + ctx->block_fill, p, take);
		ctx->block_fill += (uint32_t)take;
		p += take;
		len -= take;
		if (ctx->block_fill < SHA256_BLOCK_BYTES)
			return;
		sha256_compress(ctx->state, ctx->block);
		ctx->block_fill = 0;
	}
	/* Whole blocks straight from the caller's buffer, no copy. */
	while (len >= SHA256_BLOCK_BYTES) {
		sha256_compress(ctx->state, p);
		p += SHA256_BLOCK_BYTES;
		len -= SHA256_BLOCK_BYTES;
	}
	if (len != 0) {
		memcpy(ctx->block, p, len);
		ctx->block_fill = (uint32_t)len;
	}
}

/*
 * FIPS 180-4 5.1.1: a 1 bit, zeros up to 56 bytes into the last block, then
 * the message length in bits as a big-endian 64-bit number (which may need a
 * block of its own when fewer than 9 bytes were left).
 */
void sha256_final(struct sha256_ctx *ctx, uint8_t digest[SHA256_DIGEST_BYTES])
{
	uint64_t bits = ctx->total_bytes * 8u;
	uint32_t fill = ctx->block_fill;

	ctx->block[fill++] = SHA256_PAD_FIRST;
	if (fill > SHA256_BLOCK_BYTES - SHA256_LENGTH_BYTES) {
		memset(ctx->block + fill, 0, SHA256_BLOCK_BYTES - fill);
		sha256_compress(ctx->state, ctx->block);
		fill = 0;
	}
	memset(ctx->block + fill, 0, SHA256_BLOCK_BYTES - SHA256_LENGTH_BYTES - fill);
	store_be32(ctx->block + SHA256_BLOCK_BYTES - 8, (uint32_t)(bits >> 32));
	store_be32(ctx->block + SHA256_BLOCK_BYTES - 4, (uint32_t)bits);
	sha256_compress(ctx->state, ctx->block);
	for (unsigned int i = 0; i < 8; i++)
		store_be32(digest + 4 * i, ctx->state[i]);
	/* The partial block may hold the end of the message; do not leave it behind. */
	memset(ctx->block, 0, sizeof(ctx->block));
	ctx->block_fill = 0;
}

void sha256(const void *data, size_t len, uint8_t digest[SHA256_DIGEST_BYTES])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, data, len);
	sha256_final(&ctx, digest);
}

void sha256_hex(const uint8_t digest[SHA256_DIGEST_BYTES], char out[SHA256_HEX_BYTES])
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned int i = 0; i < SHA256_DIGEST_BYTES; i++) {
		out[2 * i] = digits[digest[i] >> 4];
		out[2 * i + 1] = digits[digest[i] & 0xfu];
	}
	out[2 * SHA256_DIGEST_BYTES] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int sha256_parse_hex(const char *hex, uint8_t digest[SHA256_DIGEST_BYTES])
{
	for (unsigned int i = 0; i < SHA256_DIGEST_BYTES; i++) {
		int hi = hex_value(hex[2 * i]);
		int lo = hi < 0 ? -1 : hex_value(hex[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		digest[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
