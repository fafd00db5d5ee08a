/*
 * run=selftest: every SELFTEST() in the image, in link order, as TAP.
 * `only=NAME` runs the tests whose name starts with NAME.
 */
#include <levblk/console.h>
#include <levblk/kern/cmdline.h>
#include <levblk/init.h>
#include <levblk/thread.h>
#include <levblk/lib/string.h>

extern const struct selftest __start_levblk_selftests[], __stop_levblk_selftests[];

static const char *const selftest_keys[] = {"only", NULL};

static bool selected(const struct selftest *t, const char *only)
{
	return !only || strncmp(t->name, only, strlen(only)) == 0;
}

static int selftest_job(const char **why)
{
	const char *only = arg_str("only", NULL);
	unsigned int n = 0, failed = 0, i = 0;

	for (const struct selftest *t = __start_levblk_selftests; t < __stop_levblk_selftests; t++)
		n += selected(t, only);
	/*
	 * The runner stays on CPU 0: tests of per-CPU things (an SGI raised to
	 * "this CPU", a CPU's idle time) must not move mid-test. Tests that
	 * want other CPUs create threads there.
	 */
	thread_pin(thread_current(), 0);
	kprintf("TAP version 13\n1..%u\n", n);
	for (const struct selftest *t = __start_levblk_selftests; t < __stop_levblk_selftests; t++) {
		if (!selected(t, only))
			continue;
		bool ok = t->fn();
		i++;
		kprintf("%s %u - %s\n", ok ? "ok" : "not ok", i, t->name);
		failed += !ok;
	}
	kprintf("# %u passed, %u failed\n", n - failed, failed);
	if (n == 0) {
		*why = "no selftest selected";
		return -1;
	}
	if (failed) {
		*why = "selftest failed";
		return -1;
	}
	return 0;
}
JOB("selftest", selftest_keys, selftest_job);
