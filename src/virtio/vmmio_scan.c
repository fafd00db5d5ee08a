/*
 * Boot-time discovery of virtio-mmio devices from the device tree: one line
 * per present device. Kernel only (the host tests call vmmio_probe with the
 * simulator's slots).
 */
#include <levblk/console.h>
#include <levblk/hal/dt.h>
#include <levblk/init.h>
#include <levblk/virtio/virtio_mmio.h>

static int vmmio_scan(void)
{
	const struct dt_info *dt = dt_info();
	int n = vmmio_probe(dt->virtio, dt->n_virtio);

	if (n < 0)
		return n;
	kprintf("virtio-mmio: %d device(s) in %u slots\n", n, dt->n_virtio);
	return 0;
}
INITCALL(INIT_LEVEL_BUS, vmmio_scan);
