/*
 * virtio-mmio transport (virtio 1.2 section 4.2): discovery, the
 * initialisation sequence (3.1.1), feature negotiation, queue setup for the
 * legacy (Version 1) and modern (Version 2) register layouts, consistent
 * configuration reads, interrupt acknowledgement and reset for recovery.
 *
 * Every wait on the device is bounded (VMMIO_POLL_LIMIT reads). Every
 * failure during initialisation sets FAILED, prints one line naming the
 * device and the reason, and leaves the device alone.
 *
 * Register access ordering: setup writes use the _relaxed accessors (they
 * publish no ring memory; Device memory keeps them in program order). The
 * queue address/ready writes use mmio_write32, whose io_wmb makes the zeroed
 * rings visible before the device may look at them; QueueNotify likewise.
 */
#include <stddef.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/mmio.h>
#include <levblk/container_of.h>
#include <levblk/init.h>
#include <levblk/irq/irq.h>
#include <levblk/lib/fmt.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/virtio/virtqueue.h>
#include "virtqueue_private.h"
#include "vmmio_regs.h"
#include "vring.h"
#include "vring_packed.h"

/* Reads of Status/ConfigGeneration before we call a device unresponsive. */
#define VMMIO_POLL_LIMIT 100000U
/* Attempts at a consistent configuration read. */
#define VMMIO_CONFIG_TRIES 16U

/*
 * Entries per indirect table: the most descriptors one chain may carry. A
 * block request needs at least three (header, one data segment, status):
 * a smaller table is refused here, by name, rather than failing every disk.
 */
#define VMMIO_MIN_INDIRECT_SEGS 3
#define VMMIO_MAX_INDIRECT_SEGS 1024
uint64_t vmmio_indirect_segs = 128; /* also virtio-pci's (virtqueue_private.h) */
PARAM_U64("vq.indirect_segs", vmmio_indirect_segs, VMMIO_MIN_INDIRECT_SEGS, VMMIO_MAX_INDIRECT_SEGS,
	  "entries per indirect descriptor table: a request's header, data segments and status");

static struct vmmio_dev vmmio_devs[VMMIO_MAX_DEVICES];
static unsigned vmmio_ndevs;

static uint32_t vmmio_rd(const struct vmmio_dev *dev, unsigned reg);
static void vmmio_wr(const struct vmmio_dev *dev, unsigned reg, uint32_t val);
static void vmmio_set_status(struct vmmio_dev *dev, uint8_t bits);
static int vmmio_wait_reset(struct vmmio_dev *dev);
static int vmmio_program_queue(struct vmmio_dev *dev, struct virtqueue *vq);
static int vmmio_negotiate(struct vmmio_dev *dev, uint64_t accept);
static void vmmio_notify(void *arg, unsigned index);
static const struct virtio_transport vmmio_transport;

static uint32_t vmmio_rd(const struct vmmio_dev *dev, unsigned reg)
{
	return mmio_read32_relaxed(dev->base + reg);
}

static void vmmio_wr(const struct vmmio_dev *dev, unsigned reg, uint32_t val)
{
	mmio_write32_relaxed(dev->base + reg, val);
}

const char *vmmio_type_name(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return "virtio-net";
	case VIRTIO_ID_BLOCK:
		return "virtio-blk";
	case VIRTIO_ID_CONSOLE:
		return "virtio-console";
	case VIRTIO_ID_RNG:
		return "virtio-rng";
	default:
		return "unknown";
	}
}

int vmmio_probe(const struct dt_virtio_mmio *slots, unsigned n_slots)
{
	const struct dt_virtio_mmio *order[VMMIO_MAX_DEVICES];
	unsigned n = 0, magic_seen = 0;

	vmmio_ndevs = 0;
	virtio_dev_forget(VIRTIO_BUS_MMIO);
	/*
	 * QEMU fills slots from the top, so -device order is descending address
	 * order. Sort explicitly rather than trust the device tree's order.
	 */
	for (unsigned i = 0; i < n_slots && n < VMMIO_MAX_DEVICES; i++) {
		unsigned j = n++;

		while (j > 0 && order[j - 1]->base < slots[i].base) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = &slots[i];
	}
	for (unsigned i = 0; i < n; i++) {
		struct vmmio_dev probe = {.base = (uintptr_t)order[i]->base,
					  .size = order[i]->size,
					  .intid = order[i]->intid};
		struct vmmio_dev *dev;
		uint32_t magic = vmmio_rd(&probe, VMMIO_MAGIC_VALUE);

		if (magic != VMMIO_MAGIC) {
			kprintf("virtio-mmio@%#lx: bad magic %#x, ignored\n",
				(unsigned long)probe.base, magic);
			continue;
		}
		magic_seen++;
		probe.version = vmmio_rd(&probe, VMMIO_VERSION);
		probe.device_id = vmmio_rd(&probe, VMMIO_DEVICE_ID);
		probe.vendor_id = vmmio_rd(&probe, VMMIO_VENDOR_ID);
		if (probe.device_id == VIRTIO_ID_NONE)
			continue; /* an empty slot */
		if (probe.version != 1 && probe.version != 2) {
			kprintf("virtio-mmio@%#lx: unsupported version %u, ignored\n",
				(unsigned long)probe.base, probe.version);
			continue;
		}
		dev = &vmmio_devs[vmmio_ndevs];
		*dev = probe;
		dev->index = vmmio_ndevs++;
		dev->vdev.ops = &vmmio_transport;
		dev->vdev.bus = VIRTIO_BUS_MMIO;
		dev->vdev.order = dev->index;
		dev->vdev.device_id = dev->device_id;
		fmt_snprintf(dev->vdev.where, sizeof(dev->vdev.where), "virtio-mmio@%#lx",
			     (unsigned long)dev->base);
		(void)virtio_dev_add(&dev->vdev); /* cannot be full: fewer slots than room */
		kprintf("virtio-mmio %u: %s (device id %u) version %u vendor %#x at %#lx irq %u\n",
			dev->index, vmmio_type_name(dev->device_id), dev->device_id, dev->version,
			dev->vendor_id, (unsigned long)dev->base, dev->intid);
	}
	if (n_slots && !magic_seen)
		return -EIO;
	return (int)vmmio_ndevs;
}

unsigned vmmio_count(void)
{
	return vmmio_ndevs;
}

struct vmmio_dev *vmmio_get(unsigned i)
{
	return i < vmmio_ndevs ? &vmmio_devs[i] : NULL;
}

struct vmmio_dev *vmmio_find(uint32_t device_id, unsigned n)
{
	for (unsigned i = 0; i < vmmio_ndevs; i++) {
		if (vmmio_devs[i].device_id == device_id && n-- == 0)
			return &vmmio_devs[i];
	}
	return NULL;
}

/* Status bits accumulate (3.1.1): each step ORs its bit into what was there. */
static void vmmio_set_status(struct vmmio_dev *dev, uint8_t bits)
{
	dev->status |= bits;
	vmmio_wr(dev, VMMIO_STATUS, dev->status);
}

void vmmio_fail(struct vmmio_dev *dev, const char *why)
{
	kprintf("virtio-mmio@%#lx: %s: %s; device marked FAILED and left alone\n",
		(unsigned long)dev->base, vmmio_type_name(dev->device_id), why);
	dev->failed = true;
	vmmio_set_status(dev, VIRTIO_STATUS_FAILED);
	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++) {
		if (dev->vq[q])
			vq_mark_reset(dev->vq[q]);
	}
}

/* Writing 0 resets; the device is reset when Status reads back 0 (4.2.3.1). */
static int vmmio_wait_reset(struct vmmio_dev *dev)
{
	dev->status = 0;
	vmmio_wr(dev, VMMIO_STATUS, 0);
	for (unsigned i = 0; i < VMMIO_POLL_LIMIT; i++) {
		if (vmmio_rd(dev, VMMIO_STATUS) == 0)
			return 0;
		cpu_relax();
	}
	return -ETIMEDOUT;
}

/* Writes both DriverFeatures words and, on Version 2, FEATURES_OK with read-back. */
static int vmmio_negotiate(struct vmmio_dev *dev, uint64_t accept)
{
	dev->driver_features = accept;
	vmmio_wr(dev, VMMIO_DRIVER_FEATURES_SEL, 0);
	vmmio_wr(dev, VMMIO_DRIVER_FEATURES, (uint32_t)accept);
	vmmio_wr(dev, VMMIO_DRIVER_FEATURES_SEL, 1);
	vmmio_wr(dev, VMMIO_DRIVER_FEATURES, (uint32_t)(accept >> 32));
	if (dev->version == 1) {
		/*
		 * The legacy interface has no FEATURES_OK step (2.2.3 / 4.2.4):
		 * features are fixed once written. It does want the page size
		 * QueuePFN is expressed in, before any queue is set up.
		 */
		vmmio_wr(dev, VMMIO_GUEST_PAGE_SIZE, VMMIO_LEGACY_PAGE_SIZE);
		return 0;
	}
	vmmio_set_status(dev, VIRTIO_STATUS_FEATURES_OK);
	if (!(vmmio_rd(dev, VMMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
		vmmio_fail(dev, "device did not accept the features (FEATURES_OK did not stick)");
		return -EIO;
	}
	return 0;
}

int vmmio_init(struct vmmio_dev *dev, uint64_t wanted, uint64_t required, uint64_t *negotiated)
{
	uint64_t offered, accept;
	int err;

	if (!dev)
		return -EINVAL;
	if (dev->failed)
		return -ENODEV;
	if (vmmio_wait_reset(dev)) {
		vmmio_fail(dev, "reset did not complete");
		return -ETIMEDOUT;
	}
	vmmio_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE);
	vmmio_set_status(dev, VIRTIO_STATUS_DRIVER);

	vmmio_wr(dev, VMMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)vmmio_rd(dev, VMMIO_DEVICE_FEATURES) << 32;
	vmmio_wr(dev, VMMIO_DEVICE_FEATURES_SEL, 0);
	offered |= vmmio_rd(dev, VMMIO_DEVICE_FEATURES);
	dev->device_features = offered;

	accept = offered & wanted;
	if (dev->version == 2) {
		if (!(offered & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
			vmmio_fail(dev, "Version 2 device does not offer VIRTIO_F_VERSION_1");
			return -ENODEV;
		}
		accept |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
		/* The ring format is the virtqueue's business, not the device driver's. */
		accept |= offered & vq_ring_features();
	} else {
		/* A legacy device speaks the legacy ring/config format: never VERSION_1. */
		accept &= ~VIRTIO_BIT(VIRTIO_F_VERSION_1);
		required &= ~VIRTIO_BIT(VIRTIO_F_VERSION_1);
	}
	if ((accept & required) != required) {
		vmmio_fail(dev, "device lacks a required feature");
		return -ENODEV;
	}
	err = vmmio_negotiate(dev, accept);
	if (err)
		return err;
	if (negotiated)
		*negotiated = accept;
	return 0;
}

static void vmmio_notify(void *arg, unsigned index)
{
	struct vmmio_dev *dev = arg;

	/* mmio_write32's io_wmb: ring stores before the doorbell. */
	mmio_write32(dev->base + VMMIO_QUEUE_NOTIFY, index);
}

/* Programs the selected queue's size and ring addresses, then makes it live. */
static int vmmio_program_queue(struct vmmio_dev *dev, struct virtqueue *vq)
{
	unsigned q = vq_index(vq);
	uint64_t desc = vq_desc_bus(vq);

	vmmio_wr(dev, VMMIO_QUEUE_SEL, q);
	vmmio_wr(dev, VMMIO_QUEUE_NUM, vq_size(vq));
	if (dev->version == 1) {
		uint64_t pfn = desc / VMMIO_LEGACY_PAGE_SIZE;

		if (desc % VMMIO_LEGACY_PAGE_SIZE || pfn > UINT32_MAX) {
			vmmio_fail(dev, "ring not addressable through QueuePFN");
			return -EIO;
		}
		vmmio_wr(dev, VMMIO_QUEUE_ALIGN, VRING_LEGACY_ALIGN);
		/* Publishes the (zeroed) rings: io_wmb in mmio_write32. */
		mmio_write32(dev->base + VMMIO_QUEUE_PFN, (uint32_t)pfn);
		return 0;
	}
	vmmio_wr(dev, VMMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	vmmio_wr(dev, VMMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	vmmio_wr(dev, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)vq_avail_bus(vq));
	vmmio_wr(dev, VMMIO_QUEUE_DRIVER_HIGH, (uint32_t)(vq_avail_bus(vq) >> 32));
	vmmio_wr(dev, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)vq_used_bus(vq));
	vmmio_wr(dev, VMMIO_QUEUE_DEVICE_HIGH, (uint32_t)(vq_used_bus(vq) >> 32));
	/* Publishes the (zeroed) rings: io_wmb in mmio_write32. */
	mmio_write32(dev->base + VMMIO_QUEUE_READY, 1);
	if (vmmio_rd(dev, VMMIO_QUEUE_READY) != 1) {
		vmmio_fail(dev, "QueueReady did not stick");
		return -EIO;
	}
	return 0;
}

int vmmio_setup_queue(struct vmmio_dev *dev, unsigned index, unsigned wanted_size,
		      struct virtqueue **out)
{
	struct vq_params p = {.index = index, .notify = vmmio_notify, .notify_arg = dev};
	struct virtqueue *vq;
	uint32_t max;
	int err;

	bool packed;

	if (!dev || !out || index >= VMMIO_MAX_QUEUES)
		return -EINVAL;
	/* A packed ring takes any size (2.8); the split ring a power of two. */
	packed = (dev->driver_features & VIRTIO_BIT(VIRTIO_F_RING_PACKED)) != 0;
	if (packed ? !vring_packed_size_ok(wanted_size) : !vring_size_ok(wanted_size))
		return -EINVAL;
	if (dev->failed || dev->vq[index])
		return -ENODEV;
	if (dev->version == 2 && !(dev->status & VIRTIO_STATUS_FEATURES_OK))
		return -EINVAL; /* vmmio_init first */
	vmmio_wr(dev, VMMIO_QUEUE_SEL, index);
	if (dev->version == 2 ? vmmio_rd(dev, VMMIO_QUEUE_READY) : vmmio_rd(dev, VMMIO_QUEUE_PFN)) {
		vmmio_fail(dev, "queue already in use after reset");
		return -EIO;
	}
	max = vmmio_rd(dev, VMMIO_QUEUE_NUM_MAX);
	if (max == 0)
		return -ENODEV; /* no such queue */
	if (vq_params_negotiated(&p, dev->driver_features, wanted_size, max) != 0) {
		vmmio_fail(dev, "QueueNumMax too small");
		return -EIO;
	}
	err = vq_create(&p, &vq);
	if (err) {
		vmmio_fail(dev, "no memory for the rings");
		return err;
	}
	err = vmmio_program_queue(dev, vq);
	if (err) {
		vq_destroy(vq);
		return err;
	}
	dev->vq[index] = vq;
	*out = vq;
	return 0;
}

int vmmio_driver_ok(struct vmmio_dev *dev)
{
	if (dev->failed)
		return -ENODEV;
	vmmio_set_status(dev, VIRTIO_STATUS_DRIVER_OK);
	if (vmmio_rd(dev, VMMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
		vmmio_fail(dev, "device needs reset right after DRIVER_OK");
		return -EIO;
	}
	return 0;
}

/* Reads `len` bytes of configuration space with byte accesses (see vmmio_config_read). */
static void vmmio_config_bytes(const struct vmmio_dev *dev, unsigned offset, uint8_t *buf,
			       unsigned len)
{
	if (dev->version == 2 && (len == 4 || len == 8) && !(offset & 3)) {
		for (unsigned i = 0; i < len; i += 4) {
			uint32_t w = vmmio_rd(dev, VMMIO_CONFIG + offset + i);

			for (unsigned b = 0; b < 4; b++)
				buf[i + b] = (uint8_t)(w >> (8 * b));
		}
		return;
	}
	for (unsigned i = 0; i < len; i++)
		buf[i] = mmio_read8_relaxed(dev->base + VMMIO_CONFIG + offset + i);
}

/*
 * Version 2: 32-bit reads for 4- and 8-byte fields inside a ConfigGeneration
 * bracket (4.2.2, 2.5.1). Version 1 has no generation counter: the field
 * is read byte by byte until two successive reads agree, which catches a
 * field torn by a concurrent update unless the same tear repeats.
 * 1- and 2-byte fields are read bytewise on both versions (QEMU accepts
 * any width; the HAL has no 16-bit accessor).
 */
int vmmio_config_read(struct vmmio_dev *dev, unsigned offset, void *buf, unsigned len)
{
	uint8_t a[8], b[8];
	uint8_t *out = buf;

	/* Compared without offset + len, which could wrap and pass. */
	if (!dev || !buf || (len != 1 && len != 2 && len != 4 && len != 8) ||
	    dev->size < VMMIO_CONFIG + len || offset > dev->size - VMMIO_CONFIG - len)
		return -EINVAL;
	for (unsigned t = 0; t < VMMIO_CONFIG_TRIES; t++) {
		bool same = true;

		if (dev->version == 2) {
			uint32_t g1 = vmmio_rd(dev, VMMIO_CONFIG_GENERATION);

			vmmio_config_bytes(dev, offset, a, len);
			same = vmmio_rd(dev, VMMIO_CONFIG_GENERATION) == g1;
		} else {
			vmmio_config_bytes(dev, offset, a, len);
			vmmio_config_bytes(dev, offset, b, len);
			for (unsigned i = 0; i < len; i++)
				same = same && a[i] == b[i];
		}
		if (same) {
			/* Little-endian device field to CPU order (also little-endian). */
			for (unsigned i = 0; i < len; i++)
				out[i] = a[i];
			return 0;
		}
	}
	kprintf("virtio-mmio@%#lx: configuration kept changing while read\n",
		(unsigned long)dev->base);
	return -EIO;
}

uint32_t vmmio_ack_interrupt(struct vmmio_dev *dev)
{
	/* mmio_read32's io_rmb: the status read completes before the caller
	 * reads the used ring it announces. */
	uint32_t st = mmio_read32(dev->base + VMMIO_INTERRUPT_STATUS);

	if (st)
		vmmio_wr(dev, VMMIO_INTERRUPT_ACK, st); /* exactly the bits seen */
	if (st & VMMIO_INT_VRING)
		dev->irq_vring++;
	if (st & VMMIO_INT_CONFIG)
		dev->irq_config++;
	if (!st)
		dev->irq_none++;
	return st & (VMMIO_INT_VRING | VMMIO_INT_CONFIG);
}

int vmmio_reset(struct vmmio_dev *dev)
{
	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++) {
		if (dev->vq[q])
			vq_mark_reset(dev->vq[q]);
	}
	if (vmmio_wait_reset(dev)) {
		vmmio_fail(dev, "reset did not complete");
		return -ETIMEDOUT;
	}
	return 0;
}

int vmmio_restart(struct vmmio_dev *dev)
{
	uint64_t features = dev->driver_features;
	int err;

	if (dev->failed)
		return -ENODEV;
	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++) {
		if (dev->vq[q] && vq_in_flight(dev->vq[q]))
			return -EBUSY; /* the caller has not detached everything yet */
	}
	err = vmmio_init(dev, features, features, NULL);
	if (err)
		return err;
	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++) {
		if (!dev->vq[q])
			continue;
		err = vq_reinit(dev->vq[q]);
		if (err) {
			/* Checked above: a queue holding chains must not get fresh rings. */
			vmmio_fail(dev, "queue busy at restart");
			return err;
		}
		err = vmmio_program_queue(dev, dev->vq[q]);
		if (err)
			return err;
	}
	return vmmio_driver_ok(dev);
}

void vmmio_abandon(struct vmmio_dev *dev)
{
	bool was_failed = dev->failed;
	bool reset = !was_failed && vmmio_wait_reset(dev) == 0;

	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++) {
		if (!dev->vq[q])
			continue;
		if (reset) {
			vq_destroy(dev->vq[q]);
			dev->vq[q] = NULL;
		} else {
			vq_mark_reset(dev->vq[q]);
		}
	}
	if (was_failed)
		return;
	dev->failed = true;
	vmmio_set_status(dev, VIRTIO_STATUS_FAILED);
}

void vmmio_release(struct vmmio_dev *dev)
{
	if (!dev->failed && vmmio_wait_reset(dev))
		vmmio_fail(dev, "reset did not complete");
	for (unsigned q = 0; q < VMMIO_MAX_QUEUES; q++) {
		vq_destroy(dev->vq[q]);
		dev->vq[q] = NULL;
	}
}

/* The transport operations of virtio_dev.h, over the functions above. */
static struct vmmio_dev *vmmio_of(const struct virtio_dev *d)
{
	return container_of(d, struct vmmio_dev, vdev);
}

static int vmmio_op_init(struct virtio_dev *d, uint64_t wanted, uint64_t required,
			 uint64_t *negotiated)
{
	return vmmio_init(vmmio_of(d), wanted, required, negotiated);
}

static int vmmio_op_setup_queue(struct virtio_dev *d, unsigned index, unsigned size,
				struct virtqueue **out)
{
	return vmmio_setup_queue(vmmio_of(d), index, size, out);
}

static int vmmio_op_driver_ok(struct virtio_dev *d)
{
	return vmmio_driver_ok(vmmio_of(d));
}

static int vmmio_op_config_read(struct virtio_dev *d, unsigned off, void *buf, unsigned len)
{
	return vmmio_config_read(vmmio_of(d), off, buf, len);
}

static uint32_t vmmio_op_ack_interrupt(struct virtio_dev *d)
{
	return vmmio_ack_interrupt(vmmio_of(d));
}

static int vmmio_op_request_irq(struct virtio_dev *d, irq_handler_t fn, void *arg)
{
	int err = irq_register(vmmio_of(d)->intid, fn, arg);

	if (!err)
		(void)irq_set_affinity(vmmio_of(d)->intid, virtio_irq_cpu(d));
	return err;
}

static void vmmio_op_free_irq(struct virtio_dev *d)
{
	irq_unregister(vmmio_of(d)->intid);
}

static void vmmio_op_mask_irq(struct virtio_dev *d)
{
	irq_disable(vmmio_of(d)->intid);
}

static void vmmio_op_fail(struct virtio_dev *d, const char *why)
{
	vmmio_fail(vmmio_of(d), why);
}

static bool vmmio_op_failed(const struct virtio_dev *d)
{
	return vmmio_of(d)->failed;
}

static int vmmio_op_reset(struct virtio_dev *d)
{
	return vmmio_reset(vmmio_of(d));
}

static int vmmio_op_restart(struct virtio_dev *d)
{
	return vmmio_restart(vmmio_of(d));
}

static void vmmio_op_abandon(struct virtio_dev *d)
{
	vmmio_abandon(vmmio_of(d));
}

static void vmmio_op_release(struct virtio_dev *d)
{
	vmmio_release(vmmio_of(d));
}

static void vmmio_op_describe(const struct virtio_dev *d, char *buf, size_t len)
{
	const struct vmmio_dev *dev = vmmio_of(d);

	fmt_snprintf(buf, len, "transport=%u irq=%u", dev->version, dev->intid);
}

/* Every queue shares the device's one line (no set_vq_affinity: it is routed as a whole). */
static uint32_t vmmio_op_vq_intid(const struct virtio_dev *d, unsigned q)
{
	(void)q;
	return vmmio_of(d)->intid;
}

static const struct virtio_transport vmmio_transport = {
    .init = vmmio_op_init,
    .setup_queue = vmmio_op_setup_queue,
    .driver_ok = vmmio_op_driver_ok,
    .config_read = vmmio_op_config_read,
    .ack_interrupt = vmmio_op_ack_interrupt,
    .request_irq = vmmio_op_request_irq,
    .free_irq = vmmio_op_free_irq,
    .mask_irq = vmmio_op_mask_irq,
    .mark_failed = vmmio_op_fail,
    .failed = vmmio_op_failed,
    .reset = vmmio_op_reset,
    .restart = vmmio_op_restart,
    .abandon = vmmio_op_abandon,
    .release = vmmio_op_release,
    .describe = vmmio_op_describe,
    .vq_intid = vmmio_op_vq_intid,
};
