/* Private to src/kern: the steps of boot that main.c and the scheduler share. */
#ifndef LEVBLK_KERN_BOOT_H
#define LEVBLK_KERN_BOOT_H

void kmain(void);
void boot_run_initcalls(int from, int to);
/* Runs the run= job chosen on the command line; returns 0 for PASS. */
int boot_run_job(const char **why);
/* Prints RESULT PASS/FAIL and exits QEMU accordingly. */
_Noreturn void kernel_finish(int err, const char *why);

#endif
