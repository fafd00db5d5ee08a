/*
 * virtio-pci modern transport (levblk/virtio/virtio_pci.h): discovery on the
 * enumerated PCI functions, the initialisation sequence (3.1.1) through the
 * common configuration structure (4.1.4.3), queue set-up (4.1.5.1.3),
 * notification (4.1.4.4), configuration reads with the generation bracket,
 * interrupts by MSI-X or INTx, reset for recovery. The transport operations
 * of virtio_dev.h over it.
 *
 * Every wait on the device is bounded (VPCI_POLL_LIMIT reads). Every failure
 * during initialisation sets FAILED, prints one line naming the device and
 * the reason, and leaves the device alone.
 *
 * Register access ordering as in virtio_mmio.c: set-up writes are relaxed
 * (Device memory keeps them in order), and the writes that publish ring
 * memory (queue_enable, the doorbell) come after io_wmb.
 */
#include <stddef.h>
#include <levblk/console.h>
#include <levblk/container_of.h>
#include <levblk/errno.h>
#include <levblk/hal/barrier.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/mmio.h>
#include <levblk/init.h>
#include <levblk/irq/msi.h>
#include <levblk/lib/fmt.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/virtio/virtio_pci.h>
#include <levblk/virtio/virtio_spec.h>
#include <levblk/virtio/virtqueue.h>
#include "virtqueue_private.h"
#include "vpci_caps.h"
#include "vring.h"
#include "vring_packed.h"

#define VPCI_POLL_LIMIT	   100000U
#define VPCI_CONFIG_TRIES  16U
#define VPCI_MAX_INTX	   8U /* distinct INTx lines served */
#define VPCI_CONFIG_VECTOR 0U

static uint64_t vpci_param_msix = 1;
PARAM_U64("vpci.msix", vpci_param_msix, 0, 1,
	  "virtio-pci interrupts by MSI-X when possible (1) or always legacy INTx (0)");

static struct vpci_dev vpci_devs[VPCI_MAX_DEVICES];
static unsigned vpci_ndevs;

/* INTx lines and the devices sharing each (the handler asks every one's ISR). */
struct vpci_intx_line {
	uint32_t intid;
	unsigned n;
	struct vpci_dev *devs[VPCI_MAX_DEVICES];
};
static struct vpci_intx_line vpci_lines[VPCI_MAX_INTX];
static unsigned vpci_nlines;

static const struct virtio_transport vpci_transport;

static uint8_t cr8(const struct vpci_dev *d, unsigned off)
{
	return mmio_read8_relaxed(d->common + off);
}
static uint16_t cr16(const struct vpci_dev *d, unsigned off)
{
	return mmio_read16_relaxed(d->common + off);
}
static uint32_t cr32(const struct vpci_dev *d, unsigned off)
{
	return mmio_read32_relaxed(d->common + off);
}
static void cw8(const struct vpci_dev *d, unsigned off, uint8_t v)
{
	mmio_write8_relaxed(d->common + off, v);
}
static void cw16(const struct vpci_dev *d, unsigned off, uint16_t v)
{
	mmio_write16_relaxed(d->common + off, v);
}
static void cw32(const struct vpci_dev *d, unsigned off, uint32_t v)
{
	mmio_write32_relaxed(d->common + off, v);
}
static void cw64(const struct vpci_dev *d, unsigned off, uint64_t v)
{
	/* Two 32-bit halves, low first: the structure's 64-bit fields allow it (4.1.3.1). */
	cw32(d, off, (uint32_t)v);
	cw32(d, off + 4, (uint32_t)(v >> 32));
}

static void vpci_set_status(struct vpci_dev *d, uint8_t bits)
{
	d->status |= bits;
	cw8(d, VPCI_COMMON_STATUS, d->status);
}

static void vpci_fail(struct vpci_dev *d, const char *why)
{
	kprintf("%s: %s; device marked FAILED and left alone\n", d->vdev.where, why);
	d->failed = true;
	vpci_set_status(d, VIRTIO_STATUS_FAILED);
	for (unsigned q = 0; q < VPCI_MAX_QUEUES; q++) {
		if (d->vq[q])
			vq_mark_reset(d->vq[q]);
	}
}

/* Writing 0 resets; reset is done when device_status reads 0 (4.1.4.3.2). */
static int vpci_wait_reset(struct vpci_dev *d)
{
	d->status = 0;
	cw8(d, VPCI_COMMON_STATUS, 0);
	for (unsigned i = 0; i < VPCI_POLL_LIMIT; i++) {
		if (cr8(d, VPCI_COMMON_STATUS) == 0)
			return 0;
		cpu_relax();
	}
	return -ETIMEDOUT;
}

/* The virtio device type of a PCI id (4.1.2), or 0. */
static uint32_t vpci_device_type(const struct pci_host *h, const struct pci_dev *p)
{
	if (p->device >= VPCI_DEVICE_MODERN && p->device <= VPCI_DEVICE_MODERN_LAST)
		return p->device - VPCI_DEVICE_MODERN;
	if (p->device >= VPCI_DEVICE_TRANSITIONAL && p->device <= VPCI_DEVICE_TRANS_LAST)
		return pci_cfg_read16(h, p, PCI_SUBSYSTEM_ID);
	return 0;
}

/* Locates and checks the structures; on success the device is usable. */
static int vpci_attach(struct vpci_dev *d, const char **why)
{
	uint8_t cfg[VPCI_CFG_SNAPSHOT];
	struct vpci_layout l;
	unsigned cap_list = 0;
	int err;

	for (unsigned off = 0; off < VPCI_CFG_SNAPSHOT; off += 4) {
		uint32_t w = pci_cfg_read32(d->host, d->pdev, off);

		for (unsigned b = 0; b < 4; b++)
			cfg[off + b] = (uint8_t)(w >> (8 * b));
	}
	if (pci_cfg_read16(d->host, d->pdev, PCI_STATUS) & PCI_STATUS_CAP_LIST)
		cap_list = cfg[PCI_CAPABILITY_LIST];
	err = vpci_parse_caps(cfg, cap_list, d->pdev->bar, &l, why);
	if (err)
		return err;
	d->common = (uintptr_t)l.common.cpu_addr;
	d->isr = (uintptr_t)l.isr.cpu_addr;
	d->notify = (uintptr_t)l.notify.cpu_addr;
	d->notify_len = l.notify.length;
	d->notify_mult = l.notify_mult;
	d->device = l.has_device ? (uintptr_t)l.device.cpu_addr : 0;
	d->device_len = l.has_device ? l.device.length : 0;
	return 0;
}

int vpci_probe(const struct pci_host *h)
{
	vpci_ndevs = 0;
	vpci_nlines = 0;
	virtio_dev_forget(VIRTIO_BUS_PCI);
	for (unsigned i = 0; h && i < h->n_devs && vpci_ndevs < VPCI_MAX_DEVICES; i++) {
		const struct pci_dev *p = &h->devs[i];
		struct vpci_dev *d = &vpci_devs[vpci_ndevs];
		const char *why = NULL;
		char name[16];

		if (p->vendor != VPCI_VENDOR || !vpci_device_type(h, p))
			continue;
		*d = (struct vpci_dev){.host = h, .pdev = p};
		pci_dev_name(p, name, sizeof(name));
		fmt_snprintf(d->vdev.where, sizeof(d->vdev.where), "virtio-pci@%s", name);
		d->vdev.ops = &vpci_transport;
		d->vdev.bus = VIRTIO_BUS_PCI;
		d->vdev.device_id = vpci_device_type(h, p);
		if (vpci_attach(d, &why)) {
			kprintf("%s: %s (%04x:%04x) not used: %s\n", d->vdev.where,
				vmmio_type_name(d->vdev.device_id), p->vendor, p->device, why);
			continue;
		}
		d->vdev.order = vpci_ndevs;
		vpci_ndevs++;
		(void)virtio_dev_add(&d->vdev);
		kprintf("virtio-pci %u: %s (device id %u) at %s, %04x:%04x, notify multiplier %u\n",
			d->vdev.order, vmmio_type_name(d->vdev.device_id), d->vdev.device_id, name,
			p->vendor, p->device, d->notify_mult);
	}
	return (int)vpci_ndevs;
}

unsigned vpci_count(void)
{
	return vpci_ndevs;
}

struct vpci_dev *vpci_get(unsigned i)
{
	return i < vpci_ndevs ? &vpci_devs[i] : NULL;
}

static int vpci_negotiate(struct vpci_dev *d, uint64_t accept)
{
	d->driver_features = accept;
	cw32(d, VPCI_COMMON_GFSELECT, 0);
	cw32(d, VPCI_COMMON_GF, (uint32_t)accept);
	cw32(d, VPCI_COMMON_GFSELECT, 1);
	cw32(d, VPCI_COMMON_GF, (uint32_t)(accept >> 32));
	vpci_set_status(d, VIRTIO_STATUS_FEATURES_OK);
	if (!(cr8(d, VPCI_COMMON_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
		vpci_fail(d, "device did not accept the features (FEATURES_OK did not stick)");
		return -EIO;
	}
	return 0;
}

/* Chooses MSI-X or INTx once, at the first init (recovery keeps the choice). */
static void vpci_choose_irq(struct vpci_dev *d)
{
	struct irq_msi msi[1 + VPCI_MAX_QUEUES];
	const char *why = "vpci.msix=0";
	unsigned n = 1 + VPCI_MAX_QUEUES;

	if (d->msix || d->intx_intid)
		return;
	if (vpci_param_msix && pci_msix_probe(d->host, d->pdev, &d->msix_table) == 0) {
		if (d->msix_table.n < 2) {
			why = "fewer than two MSI-X vectors";
		} else {
			if (n > d->msix_table.n)
				n = d->msix_table.n;
			uint32_t rid = (uint32_t)d->pdev->bus << 8 | (uint32_t)d->pdev->dev << 3 | d->pdev->fn;

			if (irq_msi_alloc(rid, n, msi, &why) == 0) {
				d->n_vectors = n;
				for (unsigned v = 0; v < n; v++) {
					d->msix_intid[v] = msi[v].intid;
					pci_msix_set(&d->msix_table, v, msi[v].addr, msi[v].data);
				}
				pci_msix_enable(d->host, d->pdev, &d->msix_table, true);
				d->msix = true;
				kprintf("%s: MSI-X, %u vectors (irq %u-%u: configuration, then "
					"one per queue)\n",
					d->vdev.where, n, msi[0].intid, msi[n - 1].intid);
				return;
			}
		}
	} else if (vpci_param_msix) {
		why = "no usable MSI-X table";
	}
	d->intx_intid = d->pdev->intx_intid;
	kprintf("%s: INTx (irq %u), not MSI-X: %s\n", d->vdev.where, d->intx_intid, why);
}

static int vpci_init(struct vpci_dev *d, uint64_t wanted, uint64_t required, uint64_t *negotiated)
{
	uint64_t offered, accept;

	if (d->failed)
		return -ENODEV;
	if (vpci_wait_reset(d)) {
		vpci_fail(d, "reset did not complete");
		return -ETIMEDOUT;
	}
	vpci_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	vpci_set_status(d, VIRTIO_STATUS_DRIVER);
	cw32(d, VPCI_COMMON_DFSELECT, 1);
	offered = (uint64_t)cr32(d, VPCI_COMMON_DF) << 32;
	cw32(d, VPCI_COMMON_DFSELECT, 0);
	offered |= cr32(d, VPCI_COMMON_DF);
	d->device_features = offered;
	if (!(offered & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		vpci_fail(d, "device does not offer VIRTIO_F_VERSION_1");
		return -ENODEV;
	}
	accept = (offered & wanted) | VIRTIO_BIT(VIRTIO_F_VERSION_1);
	/* The ring format is the virtqueue's business, not the device driver's. */
	accept |= offered & vq_ring_features();
	if ((accept & required) != required) {
		vpci_fail(d, "device lacks a required feature");
		return -ENODEV;
	}
	int err = vpci_negotiate(d, accept);
	if (err)
		return err;
	vpci_choose_irq(d);
	if (d->msix) {
		cw16(d, VPCI_COMMON_MSIX, VPCI_CONFIG_VECTOR);
		if (cr16(d, VPCI_COMMON_MSIX) != VPCI_CONFIG_VECTOR) {
			vpci_fail(d, "the configuration MSI-X vector was refused");
			return -EIO;
		}
	}
	if (negotiated)
		*negotiated = accept;
	return 0;
}

/*
 * Queue q's MSI-X vector: its own (1 + q) while the table has one, else the
 * last one, shared (the handler drains every queue of the device anyway).
 */
static unsigned vpci_queue_vector(const struct vpci_dev *d, unsigned q)
{
	return 1 + q < d->n_vectors ? 1 + q : d->n_vectors - 1;
}

static void vpci_notify(void *arg, unsigned index)
{
	struct vpci_dev *d = arg;

	/* Ring stores (descriptors, avail index) before the doorbell. */
	io_wmb();
	mmio_write16_relaxed(d->notify_addr[index], (uint16_t)index);
}

static int vpci_program_queue(struct vpci_dev *d, struct virtqueue *vq)
{
	unsigned q = vq_index(vq);
	uint64_t off;

	cw16(d, VPCI_COMMON_Q_SELECT, (uint16_t)q);
	cw16(d, VPCI_COMMON_Q_SIZE, (uint16_t)vq_size(vq));
	cw64(d, VPCI_COMMON_Q_DESCLO, vq_desc_bus(vq));
	cw64(d, VPCI_COMMON_Q_AVAILLO, vq_avail_bus(vq));
	cw64(d, VPCI_COMMON_Q_USEDLO, vq_used_bus(vq));
	if (d->msix) {
		uint16_t v = (uint16_t)vpci_queue_vector(d, q);

		cw16(d, VPCI_COMMON_Q_MSIX, v);
		if (cr16(d, VPCI_COMMON_Q_MSIX) != v) {
			vpci_fail(d, "a queue's MSI-X vector was refused");
			return -EIO;
		}
	}
	/* The doorbell: inside the notification capability, or the device is refused. */
	off = (uint64_t)cr16(d, VPCI_COMMON_Q_NOFF) * d->notify_mult;
	if (d->notify_len < sizeof(uint16_t) || off > d->notify_len - sizeof(uint16_t)) {
		vpci_fail(d, "a queue's notification address lies outside its capability");
		return -EIO;
	}
	d->notify_addr[q] = d->notify + (uintptr_t)off;
	/* Publishes the (zeroed) rings before the device may use them. */
	io_wmb();
	cw16(d, VPCI_COMMON_Q_ENABLE, 1);
	if (cr16(d, VPCI_COMMON_Q_ENABLE) != 1) {
		vpci_fail(d, "queue_enable did not stick");
		return -EIO;
	}
	return 0;
}

static int vpci_setup_queue(struct vpci_dev *d, unsigned index, unsigned wanted_size,
			    struct virtqueue **out)
{
	struct vq_params p = {.index = index, .notify = vpci_notify, .notify_arg = d};
	struct virtqueue *vq;
	unsigned max;
	bool packed = (d->driver_features & VIRTIO_BIT(VIRTIO_F_RING_PACKED)) != 0;
	int err;

	/* A packed ring takes any size (2.8); the split ring a power of two. */
	if (!out || index >= VPCI_MAX_QUEUES ||
	    (packed ? !vring_packed_size_ok(wanted_size) : !vring_size_ok(wanted_size)))
		return -EINVAL;
	if (d->failed || d->vq[index])
		return -ENODEV;
	if (!(d->status & VIRTIO_STATUS_FEATURES_OK))
		return -EINVAL;
	if (index >= cr16(d, VPCI_COMMON_NUMQ))
		return -ENODEV;
	cw16(d, VPCI_COMMON_Q_SELECT, (uint16_t)index);
	if (cr16(d, VPCI_COMMON_Q_ENABLE)) {
		vpci_fail(d, "queue already enabled after reset");
		return -EIO;
	}
	max = cr16(d, VPCI_COMMON_Q_SIZE);
	if (max == 0)
		return -ENODEV;
	if (vq_params_negotiated(&p, d->driver_features, wanted_size, max) != 0) {
		vpci_fail(d, "queue_size too small");
		return -EIO;
	}
	err = vq_create(&p, &vq);
	if (err) {
		vpci_fail(d, "no memory for the rings");
		return err;
	}
	err = vpci_program_queue(d, vq);
	if (err) {
		vq_destroy(vq);
		return err;
	}
	d->vq[index] = vq;
	*out = vq;
	return 0;
}

static int vpci_driver_ok(struct vpci_dev *d)
{
	if (d->failed)
		return -ENODEV;
	vpci_set_status(d, VIRTIO_STATUS_DRIVER_OK);
	if (cr8(d, VPCI_COMMON_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
		vpci_fail(d, "device needs reset right after DRIVER_OK");
		return -EIO;
	}
	return 0;
}

/* Reads one field at its natural width (8 bytes as two 32-bit halves). */
static void vpci_config_bytes(const struct vpci_dev *d, unsigned off, uint8_t *buf, unsigned len)
{
	uint32_t w;

	switch (len) {
	case 1:
		buf[0] = mmio_read8_relaxed(d->device + off);
		return;
	case 2:
		w = mmio_read16_relaxed(d->device + off);
		break;
	default:
		for (unsigned i = 0; i < len; i += 4) {
			w = mmio_read32_relaxed(d->device + off + i);
			for (unsigned b = 0; b < 4; b++)
				buf[i + b] = (uint8_t)(w >> (8 * b));
		}
		return;
	}
	buf[0] = (uint8_t)w;
	buf[1] = (uint8_t)(w >> 8);
}

static int vpci_config_read(struct vpci_dev *d, unsigned off, void *buf, unsigned len)
{
	uint8_t a[8];
	uint8_t *out = buf;

	if (!buf || (len != 1 && len != 2 && len != 4 && len != 8) || !d->device ||
	    d->device_len < len || off > d->device_len - len || (off & (len < 4 ? len - 1 : 3)))
		return -EINVAL;
	for (unsigned t = 0; t < VPCI_CONFIG_TRIES; t++) {
		uint8_t g = cr8(d, VPCI_COMMON_CFGGENERATION);

		vpci_config_bytes(d, off, a, len);
		if (cr8(d, VPCI_COMMON_CFGGENERATION) == g) {
			for (unsigned i = 0; i < len; i++)
				out[i] = a[i];
			return 0;
		}
	}
	kprintf("%s: configuration kept changing while read\n", d->vdev.where);
	return -EIO;
}

static uint32_t vpci_isr_bits(uint8_t isr)
{
	return (isr & VPCI_ISR_QUEUE ? VIRTIO_INT_VRING : 0) |
	       (isr & VPCI_ISR_CONFIG ? VIRTIO_INT_CONFIG : 0);
}

/*
 * INTx: the ISR byte (read clears it and drops the line), plus what the
 * shared-line handler already read for this device. MSI-X: nothing to
 * clear, the vector said it is the queue.
 */
static uint32_t vpci_ack_interrupt(struct vpci_dev *d)
{
	uint32_t bits;

	if (d->msix)
		return VIRTIO_INT_VRING;
	/* mmio_read8's io_rmb: the ISR read completes before the used ring is read. */
	bits = vpci_isr_bits((uint8_t)(d->isr_latched | mmio_read8(d->isr)));
	d->isr_latched = 0;
	return bits;
}

/* A shared INTx line: every device on it that has a cause gets its handler. */
static void vpci_intx_irq(void *arg)
{
	struct vpci_intx_line *line = arg;

	for (unsigned i = 0; i < line->n; i++) {
		struct vpci_dev *d = line->devs[i];
		uint8_t isr;

		if (d->irq_masked)
			continue;
		isr = mmio_read8(d->isr);
		d->isr_latched |= isr;
		if (isr & VPCI_ISR_QUEUE)
			d->irq_vring++;
		if (isr & VPCI_ISR_CONFIG)
			d->irq_config++;
		if (!isr)
			d->irq_none++;
		if ((isr & VPCI_ISR_QUEUE) && d->fn)
			d->fn(d->fn_arg);
	}
}

static void vpci_msix_queue_irq(void *arg)
{
	struct vpci_dev *d = arg;

	d->irq_vring++;
	if (d->fn)
		d->fn(d->fn_arg);
}

/* Configuration changes: counted; the block driver does not act on them. */
static void vpci_msix_config_irq(void *arg)
{
	struct vpci_dev *d = arg;

	d->irq_config++;
}

static int vpci_request_irq(struct vpci_dev *d, irq_handler_t fn, void *arg)
{
	struct vpci_intx_line *line = NULL;
	int err;

	d->fn = fn;
	d->fn_arg = arg;
	if (d->msix) {
		for (unsigned v = 0; v < d->n_vectors; v++) {
			err = irq_register(d->msix_intid[v],
					   v == VPCI_CONFIG_VECTOR ? vpci_msix_config_irq
								   : vpci_msix_queue_irq,
					   d);
			if (err)
				return err;
			irq_set_edge(d->msix_intid[v]);
			/* The device's CPU; the driver may move queue vectors (set_vq_affinity). */
			(void)irq_set_affinity(d->msix_intid[v], virtio_irq_cpu(&d->vdev));
		}
		return 0;
	}
	if (!d->intx_intid)
		return -ENODEV;
	for (unsigned i = 0; i < vpci_nlines; i++) {
		if (vpci_lines[i].intid == d->intx_intid)
			line = &vpci_lines[i];
	}
	if (!line) {
		if (vpci_nlines == VPCI_MAX_INTX)
			return -ENOSPC;
		line = &vpci_lines[vpci_nlines];
		*line = (struct vpci_intx_line){.intid = d->intx_intid};
		err = irq_register(line->intid, vpci_intx_irq, line);
		if (err)
			return err;
		(void)irq_set_affinity(line->intid, virtio_irq_cpu(&d->vdev)); /* its first device's */
		vpci_nlines++;
	}
	line->devs[line->n++] = d;
	return 0;
}

static void vpci_free_irq(struct vpci_dev *d)
{
	for (unsigned v = 0; d->msix && v < d->n_vectors; v++)
		irq_unregister(d->msix_intid[v]);
	d->fn = NULL;
	d->irq_masked = true;
}

/* Silences the device: MSI-X vectors masked at the GIC, or INTx disabled at the function. */
static void vpci_mask_irq(struct vpci_dev *d)
{
	d->irq_masked = true;
	if (d->msix) {
		for (unsigned v = 0; v < d->n_vectors; v++)
			irq_disable(d->msix_intid[v]);
		return;
	}
	pci_cfg_write16(d->host, d->pdev, PCI_COMMAND,
			pci_cfg_read16(d->host, d->pdev, PCI_COMMAND) | PCI_COMMAND_INTX_OFF);
}

static int vpci_reset(struct vpci_dev *d)
{
	for (unsigned q = 0; q < VPCI_MAX_QUEUES; q++) {
		if (d->vq[q])
			vq_mark_reset(d->vq[q]);
	}
	if (vpci_wait_reset(d)) {
		vpci_fail(d, "reset did not complete");
		return -ETIMEDOUT;
	}
	return 0;
}

static int vpci_restart(struct vpci_dev *d)
{
	uint64_t features = d->driver_features;
	int err;

	if (d->failed)
		return -ENODEV;
	for (unsigned q = 0; q < VPCI_MAX_QUEUES; q++) {
		if (d->vq[q] && vq_in_flight(d->vq[q]))
			return -EBUSY;
	}
	err = vpci_init(d, features, features, NULL);
	if (err)
		return err;
	for (unsigned q = 0; q < VPCI_MAX_QUEUES; q++) {
		if (!d->vq[q])
			continue;
		err = vq_reinit(d->vq[q]);
		if (err) {
			vpci_fail(d, "queue busy at restart");
			return err;
		}
		err = vpci_program_queue(d, d->vq[q]);
		if (err)
			return err;
	}
	return vpci_driver_ok(d);
}

static void vpci_abandon(struct vpci_dev *d)
{
	bool was_failed = d->failed;
	bool reset = !was_failed && vpci_wait_reset(d) == 0;

	for (unsigned q = 0; q < VPCI_MAX_QUEUES; q++) {
		if (!d->vq[q])
			continue;
		if (reset) {
			vq_destroy(d->vq[q]);
			d->vq[q] = NULL;
		} else {
			vq_mark_reset(d->vq[q]);
		}
	}
	if (was_failed)
		return;
	d->failed = true;
	vpci_set_status(d, VIRTIO_STATUS_FAILED);
}

static void vpci_release(struct vpci_dev *d)
{
	if (!d->failed && vpci_wait_reset(d))
		vpci_fail(d, "reset did not complete");
	for (unsigned q = 0; q < VPCI_MAX_QUEUES; q++) {
		vq_destroy(d->vq[q]);
		d->vq[q] = NULL;
	}
}

/* The transport operations of virtio_dev.h. */
static struct vpci_dev *vpci_of(const struct virtio_dev *v)
{
	return container_of(v, struct vpci_dev, vdev);
}

static int vpci_op_init(struct virtio_dev *v, uint64_t wanted, uint64_t required,
			uint64_t *negotiated)
{
	return vpci_init(vpci_of(v), wanted, required, negotiated);
}

static int vpci_op_setup_queue(struct virtio_dev *v, unsigned index, unsigned size,
			       struct virtqueue **out)
{
	return vpci_setup_queue(vpci_of(v), index, size, out);
}

static int vpci_op_driver_ok(struct virtio_dev *v)
{
	return vpci_driver_ok(vpci_of(v));
}

static int vpci_op_config_read(struct virtio_dev *v, unsigned off, void *buf, unsigned len)
{
	return vpci_config_read(vpci_of(v), off, buf, len);
}

static uint32_t vpci_op_ack_interrupt(struct virtio_dev *v)
{
	return vpci_ack_interrupt(vpci_of(v));
}

static int vpci_op_request_irq(struct virtio_dev *v, irq_handler_t fn, void *arg)
{
	return vpci_request_irq(vpci_of(v), fn, arg);
}

static void vpci_op_free_irq(struct virtio_dev *v)
{
	vpci_free_irq(vpci_of(v));
}

static void vpci_op_mask_irq(struct virtio_dev *v)
{
	vpci_mask_irq(vpci_of(v));
}

static void vpci_op_fail(struct virtio_dev *v, const char *why)
{
	vpci_fail(vpci_of(v), why);
}

static bool vpci_op_failed(const struct virtio_dev *v)
{
	return vpci_of(v)->failed;
}

static int vpci_op_reset(struct virtio_dev *v)
{
	return vpci_reset(vpci_of(v));
}

static int vpci_op_restart(struct virtio_dev *v)
{
	return vpci_restart(vpci_of(v));
}

static void vpci_op_abandon(struct virtio_dev *v)
{
	vpci_abandon(vpci_of(v));
}

static void vpci_op_release(struct virtio_dev *v)
{
	vpci_release(vpci_of(v));
}

static void vpci_op_describe(const struct virtio_dev *v, char *buf, size_t len)
{
	const struct vpci_dev *d = vpci_of(v);

	fmt_snprintf(buf, len, "transport=pci irq=%u msix=%u",
		     d->msix ? d->msix_intid[1] : d->intx_intid, d->msix ? 1U : 0U);
}

static uint32_t vpci_op_vq_intid(const struct virtio_dev *v, unsigned q)
{
	const struct vpci_dev *d = vpci_of(v);

	return d->msix ? d->msix_intid[vpci_queue_vector(d, q)] : d->intx_intid;
}

/*
 * Only a vector the queue has to itself moves: INTx stays, and so does the
 * last vector when a short table makes several set-up queues share it
 * (vpci_queue_vector), the first of them included.
 */
static int vpci_op_set_vq_affinity(struct virtio_dev *v, unsigned q, unsigned cpu)
{
	struct vpci_dev *d = vpci_of(v);

	if (!d->msix || q >= VPCI_MAX_QUEUES || !d->vq[q])
		return -EOPNOTSUPP;
	unsigned vec = vpci_queue_vector(d, q);

	for (unsigned p = 0; p < VPCI_MAX_QUEUES; p++) {
		if (p != q && d->vq[p] && vpci_queue_vector(d, p) == vec)
			return -EOPNOTSUPP;
	}
	return irq_set_affinity(d->msix_intid[vec], cpu);
}

static const struct virtio_transport vpci_transport = {
    .init = vpci_op_init,
    .setup_queue = vpci_op_setup_queue,
    .driver_ok = vpci_op_driver_ok,
    .config_read = vpci_op_config_read,
    .ack_interrupt = vpci_op_ack_interrupt,
    .request_irq = vpci_op_request_irq,
    .free_irq = vpci_op_free_irq,
    .mask_irq = vpci_op_mask_irq,
    .mark_failed = vpci_op_fail,
    .failed = vpci_op_failed,
    .reset = vpci_op_reset,
    .restart = vpci_op_restart,
    .abandon = vpci_op_abandon,
    .release = vpci_op_release,
    .describe = vpci_op_describe,
    .vq_intid = vpci_op_vq_intid,
    .set_vq_affinity = vpci_op_set_vq_affinity,
};
