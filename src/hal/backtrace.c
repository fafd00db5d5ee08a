/*
 * Kernel side of the frame-pointer backtrace: picks the ranges a frame
 * record and a return address may lie in, and prints the walk of
 * src/lib/backtrace.c. Used by panic() and the trap panic (trap.c).
 */
#include <stdint.h>
#include <levblk/hal/backtrace.h>
#include <levblk/console.h>
#include <levblk/hal/dt.h>
#include <levblk/lib/backtrace.h>
#include "backtrace_private.h"
#include "mem_private.h"

#define BT_MAX_FRAMES 32
/* AArch64 instructions are 4 bytes: a return address minus this is the call (BL/BLR). */
#define BT_INSN_SIZE 4

extern char __boot_stack_bottom[];

static void print_frame(void *ctx, unsigned int n, uintptr_t ret)
{
	unsigned int *first = ctx;

	kprintf("    #%-2u 0x%016lx\n", *first + n, (unsigned long)(ret - BT_INSN_SIZE));
}

static void stack_range(uint64_t sp, struct bt_range *r)
{
	uintptr_t lo, hi;
	const struct dt_info *dt = dt_info();

	if (sp >= (uintptr_t)__boot_stack_bottom && sp < (uintptr_t)__boot_stack_top) {
		r->lo = (uintptr_t)__boot_stack_bottom;
		r->hi = (uintptr_t)__boot_stack_top;
	} else if (kern_stack_bounds && kern_stack_bounds(sp, &lo, &hi)) {
		r->lo = lo;
		r->hi = hi;
	} else if (dt->mem_size) {
		r->lo = dt->mem_base;
		r->hi = dt->mem_base + dt->mem_size;
	} else {
		r->lo = (uintptr_t)__kernel_start;
		r->hi = (uintptr_t)__kernel_end;
	}
	/* Records live at or above the stack pointer of the code being walked. */
	if (sp > r->lo && sp < r->hi)
		r->lo = sp;
}

void hal_backtrace_limits(uint64_t sp, struct bt_limits *lim)
{
	stack_range(sp, &lim->stack);
	lim->text.lo = (uintptr_t)__kernel_start;
	lim->text.hi = (uintptr_t)__text_end;
	lim->max_frames = BT_MAX_FRAMES;
}

void hal_backtrace(uint64_t fp, uint64_t sp, uint64_t pc)
{
	struct bt_limits lim;
	unsigned int first = 0;
	uintptr_t bad = 0;

	hal_backtrace_limits(sp, &lim);
	kprintf("  backtrace (stack 0x%lx..0x%lx):\n", (unsigned long)lim.stack.lo,
		(unsigned long)lim.stack.hi);
	if (pc) {
		kprintf("    #0  0x%016lx\n", (unsigned long)pc);
		first = 1;
	}
	enum bt_stop why = bt_walk(fp, &lim, print_frame, &first, &bad);

	if (why != BT_END)
		kprintf("  backtrace stopped: %s (0x%lx)\n", bt_stop_reason(why),
			(unsigned long)bad);
}
