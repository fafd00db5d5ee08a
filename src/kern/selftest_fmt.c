/* In-guest selftests of the formatter: the same code the console uses, on the target ABI. */
#include <stdint.h>
#include <levblk/console.h>
#include <levblk/init.h>
#include <levblk/lib/fmt.h>
#include <levblk/lib/string.h>

static bool expect(const char *want, const char *fmt, ...)
{
	char buf[96];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strcmp(buf, want) != 0) {
		kprintf("# format \"%s\": got \"%s\", want \"%s\"\n", fmt, buf, want);
		return false;
	}
	return true;
}

static bool test_fmt(void)
{
	bool ok = true;

	ok &= expect("-42 17 ff", "%d %u %x", -42, 17u, 255u);
	ok &= expect("0x00000000deadbeef", "0x%016lx", 0xdeadbeeful);
	ok &= expect("18446744073709551615", "%llu", 18446744073709551615ull);
	ok &= expect("[   7][7   ][007]", "[%4d][%-4d][%03d]", 7, 7, 7);
	ok &= expect("0x40100000", "%p", (void *)0x40100000ul);
	ok &= expect("a:hi", "%c:%s", 'a', "hi");
	ok &= expect("-9223372036854775808", "%ld", (long)INT64_MIN);
	return ok;
}
SELFTEST("fmt.conversions", test_fmt);
