/*
 * Frame-pointer walker (src/lib/backtrace.c) on hand-built frame chains in
 * an array standing in for a stack: a good chain, and every way a corrupt
 * one must stop the walk before it reads outside the stack.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/lib/backtrace.h>

#define TEXT_LO 0x40100000u
#define TEXT_HI 0x40180000u
#define MAXF	16

static uintptr_t stack[64];
static uintptr_t seen[MAXF + 1];
static unsigned int nseen;
static struct bt_limits lim;

static void record(void *ctx, unsigned int n, uintptr_t ret)
{
	assert_int_equal(n, nseen);
	assert_true(nseen < MAXF + 1);
	seen[nseen++] = ret;
}

/* A frame record at stack[i]: {caller's frame pointer, return address}. */
static uintptr_t frame(unsigned int i, uintptr_t next_fp, uintptr_t ret)
{
	stack[i] = next_fp;
	stack[i + 1] = ret;
	return (uintptr_t)&stack[i];
}

static int setup(void **state)
{
	memset(stack, 0, sizeof(stack));
	nseen = 0;
	lim.stack.lo = (uintptr_t)&stack[0];
	lim.stack.hi = (uintptr_t)&stack[64];
	lim.text.lo = TEXT_LO;
	lim.text.hi = TEXT_HI;
	lim.max_frames = MAXF;
	return 0;
}

static void test_good_chain(void **state)
{
	uintptr_t f3 = frame(40, 0, TEXT_LO + 0x30);
	uintptr_t f2 = frame(30, f3, TEXT_LO + 0x20);
	uintptr_t f1 = frame(10, f2, TEXT_LO + 0x10);

	assert_int_equal(bt_walk(f1, &lim, record, NULL, NULL), BT_END);
	assert_int_equal(nseen, 3);
	assert_int_equal(seen[0], TEXT_LO + 0x10);
	assert_int_equal(seen[1], TEXT_LO + 0x20);
	assert_int_equal(seen[2], TEXT_LO + 0x30);
	/* No frames at all. */
	nseen = 0;
	assert_int_equal(bt_walk(0, &lim, record, NULL, NULL), BT_END);
	assert_int_equal(nseen, 0);
}

static void test_fp_outside_stack(void **state)
{
	uintptr_t bad = 0;
	uintptr_t f1 = frame(10, 0xdead0000, TEXT_LO);

	assert_int_equal(bt_walk(f1, &lim, record, NULL, &bad), BT_BAD_FP);
	assert_int_equal(nseen, 1);
	assert_int_equal(bad, 0xdead0000);
	/* A record that starts inside but ends past the top of the stack. */
	nseen = 0;
	assert_int_equal(bt_walk((uintptr_t)&stack[63], &lim, record, NULL, NULL), BT_BAD_FP);
	assert_int_equal(nseen, 0);
	/* Misaligned. */
	assert_int_equal(bt_walk((uintptr_t)&stack[4] + 1, &lim, record, NULL, NULL), BT_BAD_FP);
	/* Below the stack. */
	assert_int_equal(bt_walk((uintptr_t)&stack[0] - 16, &lim, record, NULL, NULL), BT_BAD_FP);
}

static void test_loops_stop(void **state)
{
	/* A record pointing at itself, and two pointing at each other. */
	uintptr_t self = (uintptr_t)&stack[20];

	frame(20, self, TEXT_LO);
	assert_int_equal(bt_walk(self, &lim, record, NULL, NULL), BT_NOT_UP);
	assert_int_equal(nseen, 1);
	nseen = 0;
	frame(30, (uintptr_t)&stack[40], TEXT_LO);
	frame(40, (uintptr_t)&stack[30], TEXT_LO);
	assert_int_equal(bt_walk((uintptr_t)&stack[30], &lim, record, NULL, NULL), BT_NOT_UP);
	assert_int_equal(nseen, 2);
}

static void test_bad_return_address(void **state)
{
	uintptr_t bad = 0;
	uintptr_t f2 = frame(30, 0, TEXT_HI);
	uintptr_t f1 = frame(10, f2, TEXT_LO + 4);

	assert_int_equal(bt_walk(f1, &lim, record, NULL, &bad), BT_BAD_RET);
	assert_int_equal(nseen, 1);
	assert_int_equal(bad, TEXT_HI);
}

static void test_depth_bound(void **state)
{
	uintptr_t fp = 0;

	/* 30 good frames, two words apart, more than max_frames. */
	for (int i = 58; i >= 0; i -= 2)
		fp = frame((unsigned int)i, fp, TEXT_LO + (uintptr_t)i);
	assert_int_equal(bt_walk(fp, &lim, record, NULL, NULL), BT_MAX_FRAMES);
	assert_int_equal(nseen, MAXF);
}

static void test_reasons(void **state)
{
	assert_string_equal(bt_stop_reason(BT_END), "end of chain");
	assert_string_equal(bt_stop_reason(BT_NOT_UP), "frame chain does not go up the stack");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_good_chain, setup),
	    cmocka_unit_test_setup(test_fp_outside_stack, setup),
	    cmocka_unit_test_setup(test_loops_stop, setup),
	    cmocka_unit_test_setup(test_bad_return_address, setup),
	    cmocka_unit_test_setup(test_depth_bound, setup),
	    cmocka_unit_test_setup(test_reasons, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
