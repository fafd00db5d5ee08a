/* Command-line splitting and number parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/errno.h>
#include <levblk/lib/cmdline.h>

static struct cmdline cl;

static void test_words(void **state)
{
	const char *bad, *word;

	assert_int_equal(cmdline_parse(&cl, "  run=fill dev=vda  qd=32 blk.merge=0 empty= ", &bad, &word), 0);
	assert_int_equal(cl.n, 5);
	assert_string_equal(cmdline_get(&cl, "run"), "fill");
	assert_string_equal(cmdline_get(&cl, "qd"), "32");
	assert_string_equal(cmdline_get(&cl, "blk.merge"), "0");
	assert_string_equal(cmdline_get(&cl, "empty"), "");
	assert_null(cmdline_get(&cl, "seed"));
	assert_int_equal(cmdline_parse(&cl, "", &bad, &word), 0);
	assert_int_equal(cl.n, 0);
	assert_int_equal(cmdline_parse(&cl, "a=b=c", &bad, &word), 0);
	assert_string_equal(cmdline_get(&cl, "a"), "b=c");
}

static void test_bad_words(void **state)
{
	const char *bad, *word;

	assert_int_equal(cmdline_parse(&cl, "run=demo verbose", &bad, &word), -EINVAL);
	assert_string_equal(word, "verbose");
	assert_int_equal(cmdline_parse(&cl, "=3", &bad, &word), -EINVAL);
	assert_string_equal(bad, "empty key");
	assert_int_equal(cmdline_parse(&cl, "qd=1 qd=2", &bad, &word), -EINVAL);
	assert_string_equal(word, "qd=2");
	assert_string_equal(bad, "key given twice");

	char many[CMDLINE_MAX_WORDS * 8 + 16] = "";
	for (int i = 0; i <= CMDLINE_MAX_WORDS; i++) {
		char w[16];
		snprintf(w, sizeof(w), "k%d=1 ", i);
		strcat(many, w);
	}
	assert_int_equal(cmdline_parse(&cl, many, &bad, &word), -E2BIG);

	char longline[CMDLINE_MAX_LEN + 8];
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(cmdline_parse(&cl, longline, &bad, &word), -E2BIG);
}

static void test_numbers(void **state)
{
	uint64_t v;

	assert_int_equal(parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("4096", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_u64("0x1F", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 31);
	assert_int_equal(parse_u64("4k", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_u64("1M", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 1 << 20);
	assert_int_equal(parse_u64("2G", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, UINT64_MAX);
	v = 7;
	assert_int_equal(parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_u64("16777216T", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_u64("", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("0x", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("12abc", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_u64("-1", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_u64("11", 0, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("0", 1, 10, &v), -EINVAL);
	assert_int_equal(parse_u64("4kk", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(parse_u64("k", 0, UINT64_MAX, &v), -EINVAL); /* a suffix is no number */
	assert_int_equal(parse_u64("0xM", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(v, 7); /* untouched on error */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_bad_words),
		cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
