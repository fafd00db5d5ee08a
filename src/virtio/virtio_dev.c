/*
 * The list of virtio devices across transports, in naming order
 * (levblk/virtio/virtio_dev.h): by bus (mmio before pci), then by each
 * bus's own order. Transports add devices while probing at boot (thread
 * context, before any driver looks), so no lock is needed.
 */
#include <levblk/errno.h>
#include <levblk/hal/percpu.h>
#include <levblk/virtio/virtio_dev.h>

/* Room for every virtio-mmio slot of the device tree and a full PCI bus. */
#define VIRTIO_DEV_MAX 128U

static struct virtio_dev *virtio_devs[VIRTIO_DEV_MAX];
static unsigned virtio_ndevs;

static bool virtio_dev_before(const struct virtio_dev *a, const struct virtio_dev *b)
{
	return a->bus != b->bus ? a->bus < b->bus : a->order < b->order;
}

int virtio_dev_add(struct virtio_dev *d)
{
	unsigned j;

	if (virtio_ndevs == VIRTIO_DEV_MAX)
		return -ENOSPC;
	/* Insertion keeps the list sorted whatever order the buses probe in. */
	for (j = virtio_ndevs++; j > 0 && virtio_dev_before(d, virtio_devs[j - 1]); j--)
		virtio_devs[j] = virtio_devs[j - 1];
	virtio_devs[j] = d;
	return 0;
}

void virtio_dev_forget(enum virtio_bus bus)
{
	unsigned n = 0;

	for (unsigned i = 0; i < virtio_ndevs; i++) {
		if (virtio_devs[i]->bus != bus)
			virtio_devs[n++] = virtio_devs[i];
	}
	virtio_ndevs = n;
}

struct virtio_dev *virtio_find(uint32_t device_id, unsigned n)
{
	for (unsigned i = 0; i < virtio_ndevs; i++) {
		if (virtio_devs[i]->device_id == device_id && n-- == 0)
			return virtio_devs[i];
	}
	return NULL;
}

unsigned virtio_irq_cpu(const struct virtio_dev *d)
{
	for (unsigned i = 0; i < virtio_ndevs; i++) {
		if (virtio_devs[i] == d)
			return i % cpu_count();
	}
	return 0;
}
