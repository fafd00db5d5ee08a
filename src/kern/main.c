/*
 * Boot sequence after start.S: device tree, command line, the EARLY and IRQ
 * initcalls on the boot stack with IRQs masked, then the scheduler. The
 * remaining initcalls (KERN .. LATE), the run= job, RESULT and exit
 * (docs/interface.md) follow in the "main" thread with IRQs enabled, so driver
 * probes and jobs may take interrupts and sleep.
 */
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/exit.h>
#include <levblk/kern/cmdline.h>
#include <levblk/init.h>
#include <levblk/kern/sched.h>
#include <levblk/lib/string.h>
#include "boot.h"

extern const struct initcall __start_levblk_initcalls[], __stop_levblk_initcalls[];
extern const struct job __start_levblk_jobs[], __stop_levblk_jobs[];
extern const struct param __start_levblk_params[], __stop_levblk_params[];

#define DEFAULT_JOB "demo"

static struct cmdline boot_cmdline;
static const struct job *boot_job;

const struct cmdline *kernel_cmdline(void)
{
	return &boot_cmdline;
}

static const struct job *find_job(const char *name)
{
	for (const struct job *j = __start_levblk_jobs; j < __stop_levblk_jobs; j++) {
		if (strcmp(j->name, name) == 0)
			return j;
	}
	return NULL;
}

static const struct param *find_param(const char *key)
{
	for (const struct param *p = __start_levblk_params; p < __stop_levblk_params; p++) {
		if (strcmp(p->key, key) == 0)
			return p;
	}
	return NULL;
}

static bool job_takes(const struct job *j, const char *key)
{
	for (const char *const *k = j->keys; k && *k; k++) {
		if (strcmp(*k, key) == 0)
			return true;
	}
	return false;
}

_Noreturn void kernel_finish(int err, const char *why)
{
	if (err == 0) {
		kprintf("RESULT PASS\n");
		hal_exit(EXIT_PASS);
	}
	kprintf("RESULT FAIL %s\n", why ? why : "error");
	hal_exit(EXIT_FAIL);
}

/* Checks every word against the job's keys and the global settings; applies the settings. */
static int apply_cmdline(const char **why)
{
	const char *bad, *word;
	const char *run;

	if (cmdline_parse(&boot_cmdline, dt_info()->bootargs, &bad, &word) < 0) {
		kprintf("cmdline: %s%s%s\n", bad, word ? ": " : "", word ? word : "");
		*why = "bad command line";
		return -EINVAL;
	}
	run = cmdline_get(&boot_cmdline, "run");
	boot_job = find_job(run ? run : DEFAULT_JOB);
	if (!boot_job) {
		kprintf("cmdline: unknown job in run=%s (jobs:", run);
		for (const struct job *j = __start_levblk_jobs; j < __stop_levblk_jobs; j++)
			kprintf(" %s", j->name);
		kprintf(")\n");
		*why = "unknown job";
		return -EINVAL;
	}
	for (unsigned int i = 0; i < boot_cmdline.n; i++) {
		const char *key = boot_cmdline.key[i], *val = boot_cmdline.val[i];
		const struct param *p = find_param(key);

		if (strcmp(key, "run") == 0 || job_takes(boot_job, key))
			continue;
		if (!p) {
			kprintf("cmdline: unknown key in %s=%s (run=%s does not take it)\n", key, val,
				boot_job->name);
			*why = "unknown key";
			return -EINVAL;
		}
		if (parse_u64(val, p->min, p->max, p->var) < 0) {
			kprintf("cmdline: bad value in %s=%s (%s; %lu..%lu)\n", key, val, p->help,
				(unsigned long)p->min, (unsigned long)p->max);
			*why = "bad value";
			return -EINVAL;
		}
	}
	return 0;
}

void boot_run_initcalls(int from, int to)
{
	for (int level = from; level <= to; level++) {
		for (const struct initcall *c = __start_levblk_initcalls; c < __stop_levblk_initcalls;
		     c++) {
			if (c->level != level)
				continue;
			int err = c->fn();
			if (err)
				kprintf("init: %s failed (%d)\n", c->name, err);
		}
	}
}

int boot_run_job(const char **why)
{
	*why = NULL;
	return boot_job->fn(why);
}

/* The "main" thread: IRQs on, may sleep. */
static void boot_main(void)
{
	const char *why = NULL;

	boot_run_initcalls(INIT_LEVEL_KERN, INIT_LEVEL_LATE);
	int err = boot_run_job(&why);
	kernel_finish(err, why);
}

void kmain(void)
{
	const char *why = NULL;

	kprintf("levblk: booting\n");
	if (dt_init() < 0)
		panic("no device tree at the start of RAM (is the kernel linked at >= RAM + 1 MiB?)");
	if (apply_cmdline(&why) < 0)
		kernel_finish(-EINVAL, why);
	boot_run_initcalls(INIT_LEVEL_EARLY, INIT_LEVEL_IRQ);
	sched_start(boot_main);
}
