/*
 * run=selftest check of the panic backtrace on the real stack: three nested
 * calls each note their own return address, the innermost walks the frame
 * chain with the limits a panic would use, and the first three return
 * addresses found must be exactly the noted ones, in order.
 */
#include <stdbool.h>
#include <stdint.h>
#include <levblk/console.h>
#include <levblk/init.h>
#include <levblk/lib/backtrace.h>
#include "backtrace_private.h"

#define BT_TEST_DEPTH 3

struct bt_capture {
	uintptr_t ret[BT_TEST_DEPTH];
	unsigned int n;
};

static uintptr_t noted[BT_TEST_DEPTH];
static struct bt_capture walked;
static enum bt_stop walk_end;

static void capture(void *ctx, unsigned int n, uintptr_t ret)
{
	struct bt_capture *c = ctx;

	if (n < BT_TEST_DEPTH)
		c->ret[n] = ret;
	c->n = n + 1;
}

static int bt_level(int depth);
/*
 * Called through a volatile pointer so the compiler can neither inline the
 * recursion nor turn it into a loop: each level stays a real call with a frame.
 */
static int (*volatile bt_next)(int depth) = bt_level;

static int bt_level(int depth)
{
	noted[depth] = (uintptr_t)__builtin_return_address(0);
	if (depth > 0)
		return bt_next(depth - 1) + 1;

	struct bt_limits lim;
	uint64_t sp;

	__asm__ volatile("mov %0, sp" : "=r"(sp));
	hal_backtrace_limits(sp, &lim);
	walked.n = 0;
	walk_end = bt_walk((uintptr_t)__builtin_frame_address(0), &lim, capture, &walked, NULL);
	return 0;
}

/*
 * The chain must also end before the frame limit: at the zero x29 that
 * start.S sets, or (on a thread stack) at the edge of the stack range.
 */
static bool test_backtrace_walk(void)
{
	if (bt_next(BT_TEST_DEPTH - 1) != BT_TEST_DEPTH - 1)
		return false;
	if (walked.n < BT_TEST_DEPTH || walk_end == BT_MAX_FRAMES) {
		kprintf("# walk: %u frames, stopped: %s\n", walked.n, bt_stop_reason(walk_end));
		return false;
	}
	/* walked[0] is where level 0 returns to: noted by level 0 itself, and so on up. */
	for (unsigned int i = 0; i < BT_TEST_DEPTH; i++) {
		if (walked.ret[i] != noted[i]) {
			kprintf("# frame %u: walked 0x%lx, noted 0x%lx\n", i,
				(unsigned long)walked.ret[i], (unsigned long)noted[i]);
			return false;
		}
	}
	return true;
}
SELFTEST("mem.backtrace_walk", test_backtrace_walk);
