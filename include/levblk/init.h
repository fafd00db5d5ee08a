/*
 * Link-time registries: initialisation calls, run= jobs, command-line
 * settings and in-guest selftests. Each module declares its own entries next
 * to its code; main.c walks the sections. No central list to edit, no file
 * that knows every module (the xv6 defs.h mistake).
 *
 * The linker collects each kind into its own section and provides
 * __start_<sec>/__stop_<sec> (both ld.lld and GNU ld do this for sections
 * whose names are C identifiers).
 *
 * This header holds no code and calls nothing: code in any layer, from
 * src/lib up, may declare entries; the kernel (src/kern) runs them.
 */
#ifndef LEVBLK_INIT_H
#define LEVBLK_INIT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Initcalls run in level order, then in link order within a level. EARLY
 * and IRQ run on the boot stack with IRQs masked, before the scheduler
 * starts; KERN onwards run in the "main" thread with IRQs enabled, and may
 * sleep (src/kern/main.c).
 * Returning non-zero is reported and boot goes on (a missing device is not
 * fatal); a level that must not fail should panic itself.
 */
enum init_level {
	INIT_LEVEL_EARLY = 1,  /* console, device tree, memory */
	INIT_LEVEL_IRQ = 2,    /* interrupt controller, timer */
	INIT_LEVEL_KERN = 3,   /* scheduler, threads */
	INIT_LEVEL_BUS = 4,    /* virtio-mmio transport scan */
	INIT_LEVEL_DEVICE = 5, /* drivers: virtio-blk */
	INIT_LEVEL_LATE = 6,
};

struct initcall {
	int level;
	const char *name;
	int (*fn)(void);
};

#define LEVBLK_USED __attribute__((used))
#define INITCALL(lvl, func)                                                                        \
	static const struct initcall __initcall_##func LEVBLK_USED                                 \
		__attribute__((section("levblk_initcalls"), aligned(8))) = {                       \
			.level = (lvl), .name = #func, .fn = (func)}

/*
 * run= jobs. `keys` lists the command-line keys the job accepts besides the
 * global settings (NULL-terminated); any other key is an error. The job
 * returns 0 for RESULT PASS; otherwise it has printed why and returns a short
 * reason through *why (a static string) for the RESULT FAIL line.
 */
struct job {
	const char *name;
	const char *const *keys;
	int (*fn)(const char **why);
};

#define JOB(jname, keylist, func)                                                                  \
	static const struct job __job_##func LEVBLK_USED                                           \
		__attribute__((section("levblk_jobs"), aligned(8))) = {                            \
			.name = (jname), .keys = (keylist), .fn = (func)}

/*
 * Global settings (blk.*, vq.*): any job accepts them. Parsed before any
 * initcall runs, so drivers see their final values at probe time.
 */
struct param {
	const char *key;
	uint64_t *var;
	uint64_t min, max;
	const char *help;
};

#define PARAM_U64(pkey, pvar, pmin, pmax, phelp)                                                   \
	static const struct param __param_##pvar LEVBLK_USED                                       \
		__attribute__((section("levblk_params"), aligned(8))) = {                          \
			.key = (pkey), .var = &(pvar), .min = (pmin), .max = (pmax), .help = (phelp)}

/*
 * In-guest selftests for run=selftest, run in link order, one TAP line each.
 * A test returns true on success; it prints "# ..." diagnostics on failure.
 */
struct selftest {
	const char *name;
	bool (*fn)(void);
};

#define SELFTEST(tname, func)                                                                      \
	static const struct selftest __selftest_##func LEVBLK_USED                                 \
		__attribute__((section("levblk_selftests"), aligned(8))) = {.name = (tname),        \
									    .fn = (func)}

#endif
