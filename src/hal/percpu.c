/* The online CPU count (levblk/hal/percpu.h). */
#include <levblk/hal/percpu.h>

/* Written by the boot CPU while bringing the others up, read anywhere. */
static unsigned int cpus_online = 1;

unsigned int cpu_count(void)
{
	return __atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE);
}

void cpu_set_online(unsigned int n)
{
	/* Release: whatever CPUs 0..n-1 set up is visible to a reader of n (its acquire). */
	__atomic_store_n(&cpus_online, n, __ATOMIC_RELEASE);
}
