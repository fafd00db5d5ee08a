/*
 * run=crashtest kind=abort|undef|panic|badfp|exec|wtext|kfree2|mutex2: provokes one
 * fatal fault so the QEMU tests (test/qemu/mem.cmake) can check what a
 * panic prints and that it exits with status 3. Not listed in the README:
 * it exists for tests only.
 *
 *   abort  load from the first address past the end of RAM (unmapped)
 *   undef  an undefined instruction (UDF)
 *   panic  a software panic()
 *   badfp  an undefined instruction with x29 pointing at unmapped memory:
 *          the backtrace must stop cleanly instead of faulting again
 *   exec   a call into a writable data buffer (mapped execute-never)
 *   wtext  a store into kernel text (mapped read-only)
 *   kfree2 frees a kmalloc object twice (the heap's check panics)
 *   mutex2 locks a mutex twice from one thread (the lock's check panics)
 */
#include <stdint.h>
#include <levblk/console.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/exit.h>
#include <levblk/kern/cmdline.h>
#include <levblk/init.h>
#include <levblk/kmalloc.h>
#include <levblk/lib/string.h>
#include <levblk/mutex.h>

/* An address below RAM that the identity map leaves unmapped (QEMU's flash at 0). */
#define CRASH_BAD_FP 0x1000ull

static const char *const crashtest_keys[] = {"kind", NULL};
/* Holds a RET instruction, so only the execute-never mapping stops it from running. */
static uint32_t crash_code[4] = {0xd65f03c0u};

static __attribute__((noinline)) void crash_abort(void)
{
	const struct dt_info *dt = dt_info();
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)(dt->mem_base + dt->mem_size);

	kprintf("crashtest: loading from 0x%lx\n", (unsigned long)(uintptr_t)p);
	(void)*p;
}

static __attribute__((noinline)) void crash_undef(void)
{
	__asm__ volatile("udf #0" ::: "memory");
}

static __attribute__((noinline)) void crash_badfp(void)
{
	/* x29 is the frame pointer: clobbering it here is the point (the function never returns).
	 */
	__asm__ volatile("mov x29, %0\n\tudf #1" : : "r"(CRASH_BAD_FP) : "memory");
}

static __attribute__((noinline)) void crash_exec(void)
{
	void (*fn)(void) = (void (*)(void))(uintptr_t)crash_code;

	kprintf("crashtest: calling 0x%lx\n", (unsigned long)(uintptr_t)crash_code);
	fn();
}

static __attribute__((noinline)) void crash_wtext(void)
{
	volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)crash_undef;

	kprintf("crashtest: storing to 0x%lx\n", (unsigned long)(uintptr_t)p);
	*p = 0;
}

static __attribute__((noinline)) void crash_kfree2(void)
{
	void *p = kmalloc(64);

	kfree(p);
	kfree(p);
}

static __attribute__((noinline)) void crash_mutex2(void)
{
	static struct mutex m = MUTEX_INIT("crashtest");

	mutex_lock(&m);
	mutex_lock(&m);
}

static int crashtest_job(const char **why)
{
	const char *kind = arg_str("kind", "");

	if (strcmp(kind, "abort") == 0)
		crash_abort();
	else if (strcmp(kind, "undef") == 0)
		crash_undef();
	else if (strcmp(kind, "panic") == 0)
		panic("crashtest: deliberate panic");
	else if (strcmp(kind, "badfp") == 0)
		crash_badfp();
	else if (strcmp(kind, "exec") == 0)
		crash_exec();
	else if (strcmp(kind, "wtext") == 0)
		crash_wtext();
	else if (strcmp(kind, "kfree2") == 0)
		crash_kfree2();
	else if (strcmp(kind, "mutex2") == 0)
		crash_mutex2();
	else {
		kprintf("crashtest: kind=%s is not one of abort undef panic badfp exec wtext kfree2 "
			"mutex2\n",
			kind);
		*why = "bad kind";
		return -1;
	}
	/* Still here: the fault did not happen, which is itself the failure. */
	kprintf("crashtest: kind=%s did not fault\n", kind);
	*why = "no fault";
	return -1;
}
JOB("crashtest", crashtest_keys, crashtest_job);
