/*
 * run=demo: what ./tools/run shows a newcomer. Until the block layer lands
 * it lists the virtio-mmio slots the device tree describes.
 */
#include <levblk/hal/console.h>
#include <levblk/hal/dt.h>
#include <levblk/kern/init.h>

static const char *const demo_keys[] = {"scratch", NULL};

static int demo_job(const char **why)
{
	const struct dt_info *dt = dt_info();

	kprintf("levblk demo: %lu MiB RAM, GICv%d, %u virtio-mmio slots in the device tree\n",
		(unsigned long)(dt->mem_size >> 20), dt->gic.version, dt->n_virtio);
	return 0;
}
JOB("demo", demo_keys, demo_job);
