/*
 * A virtio device as a driver sees it, whatever carries it: virtio-mmio
 * (virtio_mmio.h) or virtio over PCI (virtio_pci.h). Each transport embeds a
 * struct virtio_dev in its own device and fills in its operations; a driver
 * (src/blk/virtio_blk.c) calls only the virtio_* wrappers below.
 *
 * Order of devices (virtio_find): every virtio-mmio device first, in QEMU's
 * -device order, then every virtio-pci device in PCI slot order (bus, device,
 * function). Disk names follow it (docs/interface.md, "Disk names").
 *
 * The operations have the contracts of their virtio-mmio counterparts
 * (virtio_mmio.h: vmmio_init, vmmio_setup_queue, ...). Interrupts differ by
 * transport, so the driver never names an INTID: request_irq installs `fn`
 * for the device's queue interrupts (a GIC line, shared or not, or MSI-X
 * vectors), and mask_irq silences them for good (a fenced device).
 *
 * Locking: as the transport's own calls (init/setup/reset in thread context
 * or under the driver's queue lock; ack_interrupt from interrupt context).
 */
#ifndef LEVBLK_VIRTIO_VIRTIO_DEV_H
#define LEVBLK_VIRTIO_VIRTIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <levblk/errno.h>
#include <levblk/irq/irq.h>

struct virtqueue;
struct virtio_dev;

/* What ack_interrupt returns (the same bits as virtio-mmio's InterruptStatus and PCI's ISR). */
#define VIRTIO_INT_VRING  (1U << 0) /* used buffer notification */
#define VIRTIO_INT_CONFIG (1U << 1) /* configuration change */

/* Transports, in naming order. */
enum virtio_bus {
	VIRTIO_BUS_MMIO = 0,
	VIRTIO_BUS_PCI = 1,
};

struct virtio_transport {
	int (*init)(struct virtio_dev *d, uint64_t wanted, uint64_t required,
		    uint64_t *negotiated);
	int (*setup_queue)(struct virtio_dev *d, unsigned index, unsigned wanted_size,
			   struct virtqueue **out);
	int (*driver_ok)(struct virtio_dev *d);
	int (*config_read)(struct virtio_dev *d, unsigned offset, void *buf, unsigned len);
	/* Reads and clears the interrupt cause (nothing to clear with MSI-X: returns VRING). */
	uint32_t (*ack_interrupt)(struct virtio_dev *d);
	/* Installs fn(arg) for the queue interrupts and enables them; 0 or -errno. */
	int (*request_irq)(struct virtio_dev *d, irq_handler_t fn, void *arg);
	void (*free_irq)(struct virtio_dev *d);
	/* Masks the device's interrupts at the controller (any context). */
	void (*mask_irq)(struct virtio_dev *d);
	void (*mark_failed)(struct virtio_dev *d, const char *why);
	bool (*failed)(const struct virtio_dev *d);
	int (*reset)(struct virtio_dev *d);
	int (*restart)(struct virtio_dev *d);
	void (*abandon)(struct virtio_dev *d);
	void (*release)(struct virtio_dev *d);
	/* The attachment words of run=demo's BLKDEV line ("transport=2 irq=48"). */
	void (*describe)(const struct virtio_dev *d, char *buf, size_t len);
	/*
	 * The INTID that signals queue q's completions (0: none yet). After
	 * request_irq; any context.
	 */
	uint32_t (*vq_intid)(const struct virtio_dev *d, unsigned q);
	/*
	 * Optional: routes queue q's interrupt to CPU cpu when the queue has
	 * one of its own (MSI-X); 0, -EOPNOTSUPP (the queue shares its
	 * interrupt: one line per device, a shared vector) or -EINVAL/-EIO from
	 * irq_set_affinity. After request_irq, thread context.
	 */
	int (*set_vq_affinity)(struct virtio_dev *d, unsigned q, unsigned cpu);
};

struct virtio_dev {
	const struct virtio_transport *ops;
	enum virtio_bus bus;
	unsigned order;	    /* position on its bus (mmio: -device order; pci: slot order) */
	uint32_t device_id; /* VIRTIO_ID_* */
	char where[40];	    /* "virtio-mmio@0xa003e00", "virtio-pci@00:02.0": for messages */
};

/* Transports add their devices at probe; forget drops every device of one bus. */
int virtio_dev_add(struct virtio_dev *d);
void virtio_dev_forget(enum virtio_bus bus);
/* The n-th (from 0) device of type device_id in naming order, or NULL. */
struct virtio_dev *virtio_find(uint32_t device_id, unsigned n);

static inline int virtio_init(struct virtio_dev *d, uint64_t wanted, uint64_t required,
			      uint64_t *negotiated)
{
	return d->ops->init(d, wanted, required, negotiated);
}
static inline int virtio_setup_queue(struct virtio_dev *d, unsigned index, unsigned size,
				     struct virtqueue **out)
{
	return d->ops->setup_queue(d, index, size, out);
}
static inline int virtio_driver_ok(struct virtio_dev *d)
{
	return d->ops->driver_ok(d);
}
static inline int virtio_config_read(struct virtio_dev *d, unsigned off, void *buf, unsigned len)
{
	return d->ops->config_read(d, off, buf, len);
}
static inline uint32_t virtio_ack_interrupt(struct virtio_dev *d)
{
	return d->ops->ack_interrupt(d);
}
/*
 * The CPU a device's interrupts go to by default: its place in the naming
 * order (mmio, then pci) modulo the CPUs online, so disks spread over the
 * CPUs (docs/interface.md, CPUs). Transports route every interrupt of the
 * device there; a driver with several queues may then move each queue's
 * own interrupt to the CPUs that use it (set_vq_affinity).
 */
unsigned virtio_irq_cpu(const struct virtio_dev *d);
static inline int virtio_request_irq(struct virtio_dev *d, irq_handler_t fn, void *arg)
{
	return d->ops->request_irq(d, fn, arg);
}
static inline void virtio_free_irq(struct virtio_dev *d)
{
	d->ops->free_irq(d);
}
static inline void virtio_mask_irq(struct virtio_dev *d)
{
	d->ops->mask_irq(d);
}
static inline void virtio_fail(struct virtio_dev *d, const char *why)
{
	d->ops->mark_failed(d, why);
}
static inline bool virtio_failed(const struct virtio_dev *d)
{
	return d->ops->failed(d);
}
static inline int virtio_reset(struct virtio_dev *d)
{
	return d->ops->reset(d);
}
static inline int virtio_restart(struct virtio_dev *d)
{
	return d->ops->restart(d);
}
static inline void virtio_abandon(struct virtio_dev *d)
{
	d->ops->abandon(d);
}
static inline void virtio_release(struct virtio_dev *d)
{
	d->ops->release(d);
}
static inline void virtio_describe(const struct virtio_dev *d, char *buf, size_t len)
{
	d->ops->describe(d, buf, len);
}
static inline uint32_t virtio_vq_intid(const struct virtio_dev *d, unsigned q)
{
	return d->ops->vq_intid(d, q);
}
static inline int virtio_set_vq_affinity(struct virtio_dev *d, unsigned q, unsigned cpu)
{
	return d->ops->set_vq_affinity ? d->ops->set_vq_affinity(d, q, cpu) : -EOPNOTSUPP;
}

#endif
