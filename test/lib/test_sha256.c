/*
 * SHA-256. The expected digests are the FIPS 180-2/NIST example vectors
 * ("abc", the 448- and 896-bit messages, one million 'a') and, for the other
 * lengths, values computed independently with Python's hashlib, not with
 * this code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/errno.h>
#include <levblk/lib/sha256.h>

static void assert_digest(const uint8_t digest[SHA256_DIGEST_BYTES], const char *want_hex)
{
	char hex[SHA256_HEX_BYTES];

	sha256_hex(digest, hex);
	assert_string_equal(hex, want_hex);
}

static void assert_oneshot(const void *msg, size_t len, const char *want_hex)
{
	uint8_t d[SHA256_DIGEST_BYTES];

	sha256(msg, len, d);
	assert_digest(d, want_hex);
}

static void test_nist_vectors(void **state)
{
	assert_oneshot("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_oneshot("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	assert_oneshot(m448, strlen(m448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
			   "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	assert_oneshot(m896, strlen(m896), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

/* One million 'a', fed 1000 bytes at a time as the NIST long-message test does. */
static void test_million_a(void **state)
{
	struct sha256_ctx ctx;
	uint8_t chunk[1000], d[SHA256_DIGEST_BYTES];

	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&ctx);
	for (int i = 0; i < 1000; i++)
		sha256_update(&ctx, chunk, sizeof(chunk));
	sha256_final(&ctx, d);
	assert_digest(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around the padding boundaries: 55 fits the length in the last block, 56 needs another. */
static void test_padding_boundaries(void **state)
{
	static const struct {
		size_t len;
		const char *hex;
	} cases[] = {
		{ 55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59" },
		{ 56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562" },
		{ 57, "2fe741af801cc238602ac0ec6a7b0c3a8a87c7fc7d7f02a3fe03d1c12eac4d8f" },
		{ 63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488" },
		{ 64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108" },
		{ 65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781" },
		{ 119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6" },
		{ 120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c" },
		{ 1000, "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d" },
	};
	uint8_t msg[1000];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i % 251);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		assert_oneshot(msg, cases[c].len, cases[c].hex);
}

/*
 * The same 1000-byte message fed in pieces of every size from 1 to 130
 * (crossing block boundaries at every offset) gives the same digest.
 */
static void test_incremental_odd_chunks(void **state)
{
	uint8_t msg[1000], d[SHA256_DIGEST_BYTES];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i % 251);
	for (size_t piece = 1; piece <= 130; piece++) {
		struct sha256_ctx ctx;
		sha256_init(&ctx);
		for (size_t off = 0; off < sizeof(msg); off += piece) {
			size_t n = sizeof(msg) - off < piece ? sizeof(msg) - off : piece;
			sha256_update(&ctx, msg + off, n);
			sha256_update(&ctx, msg, 0); /* empty updates change nothing */
		}
		sha256_final(&ctx, d);
		assert_digest(d, "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d");
	}
}

/* A 5 MiB + 13 byte message in pieces of growing odd sizes. */
static void test_long_message(void **state)
{
	const size_t len = 5u * 1024 * 1024 + 13;
	uint8_t *msg = malloc(len), d[SHA256_DIGEST_BYTES];
	struct sha256_ctx ctx;
	size_t off = 0, piece = 1;

	assert_non_null(msg);
	for (size_t i = 0; i < len; i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	sha256_init(&ctx);
	while (off < len) {
		size_t n = len - off < piece ? len - off : piece;
		sha256_update(&ctx, msg + off, n);
		off += n;
		piece = piece * 3 + 1;
		if (piece > 300000)
			piece = 7;
	}
	sha256_final(&ctx, d);
	assert_digest(d, "ab5201e61af46c3fbbbcf360902d7a3617a4f37b2d5a9fa0d0deece038176769");
	sha256(msg, len, d);
	assert_digest(d, "ab5201e61af46c3fbbbcf360902d7a3617a4f37b2d5a9fa0d0deece038176769");
	free(msg);
}

static void test_parse_hex(void **state)
{
	const char *hex = "BA7816BF8F01CFEA414140DE5DAE2223b00361a396177a9cb410ff61f20015ad";
	uint8_t want[SHA256_DIGEST_BYTES], got[SHA256_DIGEST_BYTES];
	char bad[SHA256_HEX_BYTES];

	sha256("abc", 3, want);
	assert_int_equal(sha256_parse_hex(hex, got), 0);
	assert_memory_equal(got, want, sizeof(want));
	memcpy(bad, hex, sizeof(bad));
	bad[63] = 'g';
	assert_int_equal(sha256_parse_hex(bad, got), -EINVAL);
	bad[63] = '\0'; /* a short string stops at the NUL, which is not a digit */
	assert_int_equal(sha256_parse_hex(bad, got), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nist_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_padding_boundaries),
		cmocka_unit_test(test_incremental_odd_chunks),
		cmocka_unit_test(test_long_message),
		cmocka_unit_test(test_parse_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
