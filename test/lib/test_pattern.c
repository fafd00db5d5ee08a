/*
 * The disk pattern. The reference values were computed independently with
 * Python (/usr/bin/python3, integers masked to 64 bits) from docs/interface.md's
 * definition, not with this code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/lib/pattern.h>

/* splitmix64(0) is also the well-known first output of the reference generator seeded with 0. */
#define REF_SPLITMIX_0           0xe220a8397b1dcdafull
#define REF_W_1_0_0              0x910a2dec89025cc1ull
#define REF_W_1_2048_63          0xdb84751173cee158ull
#define REF_W_DEADBEEF_4194303_7 0x634deafb831c5e7aull

static void test_reference_values(void **state)
{
	assert_int_equal(splitmix64(0), REF_SPLITMIX_0);
	assert_int_equal(pattern_word(1, 0, 0), REF_W_1_0_0);
	assert_int_equal(pattern_word(1, 2048, 63), REF_W_1_2048_63);
	assert_int_equal(pattern_word(0xdeadbeef, 4194303, 7), REF_W_DEADBEEF_4194303_7);
}

static void test_fill_and_check(void **state)
{
	uint8_t buf[513];
	uint64_t got, want;

	pattern_fill_sector(buf + 1, 7, 1000); /* unaligned on purpose */
	assert_int_equal(pattern_check_sector(buf + 1, 7, 1000, &got, &want), -1);
	assert_int_equal(buf[1], (uint8_t)pattern_word(7, 1000, 0)); /* little-endian */
	assert_int_not_equal(pattern_check_sector(buf + 1, 7, 1001, &got, &want), -1);
	assert_int_not_equal(pattern_check_sector(buf + 1, 8, 1000, &got, &want), -1);
	buf[1 + 8 * 5 + 3] ^= 0x10;
	assert_int_equal(pattern_check_sector(buf + 1, 7, 1000, &got, &want), 5);
	assert_int_equal(want, pattern_word(7, 1000, 5));
	assert_int_equal(got ^ want, 0x10ull << 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_values),
		cmocka_unit_test(test_fill_and_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
