/*
 * Exceptions other than IRQ: everything is fatal except the one trap we
 * expect (a semihosting HLT when semihosting is off). panic() prints the
 * reason and, for a trap, the exception class, ESR, FAR, ELR and all
 * registers, then exits with status 3.
 */
#include <stdint.h>
#include <levblk/hal/backtrace.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/trap_hooks.h>
#include "semihost.h"
#include "sysregs.h"
#include "trap.h"

#define EC_UNKNOWN 0x00

/* Set once at boot with IRQs masked (include/levblk/hal/trap_hooks.h). */
static trap_hook_fn *trap_irq_handler;
static trap_hook_fn *trap_irq_exit;

void trap_set_irq_handler(trap_hook_fn *handler)
{
	trap_irq_handler = handler;
}

void trap_set_irq_exit(trap_hook_fn *exit_hook)
{
	trap_irq_exit = exit_hook;
}

/*
 * Set by the first panic. A fault while panicking (say, in the backtrace or
 * the console) must not recurse: the second panic prints one line and exits.
 */
static volatile int panicking;

static void panic_enter(void)
{
	irq_save();
	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_RELAXED)) {
		kprintf("\nPANIC: nested panic while panicking\nRESULT FAIL panic\n");
		hal_exit(EXIT_PANIC);
	}
}

static const char *ec_name(uint32_t ec)
{
	switch (ec) {
	case 0x00: return "unknown/undefined instruction";
	case 0x01: return "WFI/WFE trapped";
	case 0x07: return "FP/SIMD access (the kernel is integer-only)";
	case 0x0e: return "illegal execution state";
	case 0x15: return "SVC";
	case 0x16: return "HVC";
	case 0x17: return "SMC";
	case 0x18: return "system register access";
	case 0x20: return "instruction abort, lower EL";
	case 0x21: return "instruction abort";
	case 0x22: return "PC alignment fault";
	case 0x24: return "data abort, lower EL";
	case 0x25: return "data abort";
	case 0x26: return "SP alignment fault";
	case 0x2f: return "SError";
	case 0x3c: return "BRK";
	default: return "other";
	}
}

static const char *const kind_name[16] = {
	"sync (SP_EL0)", "IRQ (SP_EL0)", "FIQ (SP_EL0)", "SError (SP_EL0)",
	"sync", "IRQ", "FIQ", "SError",
	"sync (lower EL)", "IRQ (lower EL)", "FIQ (lower EL)", "SError (lower EL)",
	"sync (AArch32)", "IRQ (AArch32)", "FIQ (AArch32)", "SError (AArch32)",
};

static _Noreturn void trap_panic(struct trap_frame *tf, int kind)
{
	uint64_t esr, far;

	/* Read before anything else can fault and overwrite them. */
	__asm__ volatile("mrs %0, esr_el1" : "=r"(esr));
	__asm__ volatile("mrs %0, far_el1" : "=r"(far));
	panic_enter();
	uint32_t ec = (uint32_t)(esr >> ESR_EC_SHIFT) & ESR_EC_MASK;
	kprintf("PANIC: unexpected %s exception: EC 0x%02x (%s)\n", kind_name[kind & 15], ec,
		ec_name(ec));
	kprintf("  ESR 0x%016lx  FAR 0x%016lx\n  ELR 0x%016lx  SPSR 0x%016lx  SP 0x%016lx\n",
		(unsigned long)esr, (unsigned long)far, (unsigned long)tf->elr,
		(unsigned long)tf->spsr, (unsigned long)tf->sp);
	for (int i = 0; i < 31; i += 2) {
		if (i == 30)
			kprintf("  x30 0x%016lx\n", (unsigned long)tf->x[30]);
		else
			kprintf("  x%-2d 0x%016lx  x%-2d 0x%016lx\n", i, (unsigned long)tf->x[i],
				i + 1, (unsigned long)tf->x[i + 1]);
	}
	hal_backtrace(tf->x[29], tf->sp, tf->elr);
	kprintf("RESULT FAIL panic\n");
	hal_exit(EXIT_PANIC);
}

void trap_sync(struct trap_frame *tf, int kind)
{
	uint64_t esr;

	__asm__ volatile("mrs %0, esr_el1" : "=r"(esr));
	uint32_t ec = (uint32_t)(esr >> ESR_EC_SHIFT) & ESR_EC_MASK;
	if (ec == EC_UNKNOWN && tf->elr == (uint64_t)semihost_hlt_insn) {
		/* Semihosting is off: fall back to PSCI (exit.c). */
		hal_semihost_missing = 1;
		tf->elr += 4;
		return;
	}
	trap_panic(tf, kind);
}

/* Interrupt handlers running on each CPU (0 or 1: no nesting); only its own CPU writes it. */
static unsigned int irq_depth[CPU_MAX];

bool cpu_in_irq(void)
{
	return irq_depth[cpu_id()] != 0;
}

void trap_irq(struct trap_frame *tf, int kind)
{
	unsigned int cpu = cpu_id();

	if (!trap_irq_handler)
		trap_panic(tf, kind);
	irq_depth[cpu]++;
	trap_irq_handler();
	irq_depth[cpu]--;
	/* The exit hook may switch threads: the thread it leaves is no handler. */
	if (trap_irq_exit)
		trap_irq_exit();
}

bool hal_panicking(void)
{
	return __atomic_load_n(&panicking, __ATOMIC_RELAXED) != 0;
}

void trap_fiq(struct trap_frame *tf, int kind)
{
	trap_panic(tf, kind);
}

void trap_serror(struct trap_frame *tf, int kind)
{
	trap_panic(tf, kind);
}

void trap_bad(struct trap_frame *tf, int kind)
{
	trap_panic(tf, kind);
}

_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;
	uint64_t sp;

	panic_enter();
	kprintf("PANIC: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	__asm__ volatile("mov %0, sp" : "=r"(sp));
	hal_backtrace((uint64_t)(uintptr_t)__builtin_frame_address(0), sp, 0);
	kprintf("RESULT FAIL panic\n");
	hal_exit(EXIT_PANIC);
}
