/* The kernel's formatter against expected strings (and, where defined alike, libc's snprintf). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/lib/fmt.h>

#define CHECK(want, ...)                                                                           \
	do {                                                                                       \
		char got[128];                                                                     \
		int n = fmt_snprintf(got, sizeof(got), __VA_ARGS__);                              \
		assert_string_equal(got, want);                                                    \
		assert_int_equal(n, (int)strlen(want));                                            \
	} while (0)

static void test_integers(void **state)
{
	CHECK("0 -1 42 2147483647 -2147483648", "%d %d %i %d %d", 0, -1, 42, INT32_MAX, INT32_MIN);
	CHECK("4294967295 ff FF 777", "%u %x %X %o", UINT32_MAX, 255u, 255u, 0777u);
	CHECK("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
	CHECK("-9223372036854775808", "%lld", (long long)INT64_MIN);
	CHECK("ffffffffffffffff", "%lx", (unsigned long)UINT64_MAX);
	CHECK("123456789012", "%zu", (size_t)123456789012ull);
	CHECK("-1 255", "%hhd %hhu", (signed char)-1, (unsigned char)255);
}

static void test_width_and_padding(void **state)
{
	CHECK("[   42]", "[%5d]", 42);
	CHECK("[42   ]", "[%-5d]", 42);
	CHECK("[00042]", "[%05d]", 42);
	CHECK("[-0042]", "[%05d]", -42);
	CHECK("[0x0000beef]", "[0x%08x]", 0xbeefu);
	CHECK("[  abc][abc  ]", "[%5s][%-5s]", "abc", "abc");
	CHECK("[ab]", "[%.2s]", "abcdef");
	CHECK("[  007]", "[%5.3d]", 7);
	CHECK("[    7]", "[%*d]", 5, 7);
	CHECK("[+5][ 5]", "[%+d][% d]", 5, 5);
	CHECK("0xff", "%#x", 255u);
}

static void test_pointers_chars_strings(void **state)
{
	CHECK("0x40100000", "%p", (void *)0x40100000ul);
	CHECK("0x0", "%p", (void *)0);
	CHECK("x y", "%c %c", 'x', 'y');
	CHECK("(null)", "%s", (char *)NULL);
	CHECK("100%", "100%%");
	assert_int_equal(fmt_snprintf(NULL, 0, "%s", "ab"), 2);
}

static void test_truncation(void **state)
{
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%s", "0123456789"), 10);
	assert_string_equal(buf, "0123456");
	assert_int_equal(fmt_snprintf(buf, 1, "abc"), 3);
	assert_string_equal(buf, "");
	assert_int_equal(fmt_snprintf(NULL, 0, "abc%d", 12), 5);
}

static void test_matches_libc(void **state)
{
	const int vals[] = {0, 1, -1, 9, 10, 99, -12345, 1 << 30};
	const char *fmts[] = {"%d", "%5d", "%-5d|", "%05d", "%x", "%08x", "%u", "%+d", "%.3d"};
	char a[64], b[64];

	for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]); f++) {
		for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
			fmt_snprintf(a, sizeof(a), fmts[f], vals[v]);
			snprintf(b, sizeof(b), fmts[f], vals[v]);
			assert_string_equal(a, b);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_width_and_padding),
		cmocka_unit_test(test_pointers_chars_strings),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_matches_libc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
