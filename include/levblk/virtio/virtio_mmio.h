/*
 * virtio-mmio transport (virtio 1.2 section 4.2), legacy (Version 1) and
 * modern (Version 2). The only code that touches a virtio device's registers.
 *
 * Discovery: the device tree's virtio,mmio nodes (dt_info()->virtio[]) are
 * probed at INIT_LEVEL_BUS; each present device (DeviceID != 0) gets one line
 * on the console. The device tree lists slots in ascending address order but
 * QEMU fills them from the top (the first -device lands in the last slot),
 * so devices are kept in DESCENDING slot order: index 0 is the first -device
 * on QEMU's command line, which is what disk naming (vda, vdb, ...) needs.
 *
 * A driver brings its device up with:
 *   vmmio_init(dev, wanted, required, &features)   reset, ACKNOWLEDGE, DRIVER,
 *                                                  negotiation, FEATURES_OK
 *   vmmio_config_read(dev, off, buf, len)          device configuration
 *   vmmio_setup_queue(dev, 0, size, &vq)           per queue
 *   vmmio_driver_ok(dev)
 * Any failing step sets FAILED, prints "virtio-mmio@<base>: <why>" and
 * returns a negative errno; the device is then left alone.
 *
 * Interrupts: the driver registers its own handler for dev->intid with
 * irq_register() and calls vmmio_ack_interrupt() first thing in it.
 *
 * Each present device is also added to the transport-independent list
 * (virtio_dev.h) through dev->vdev, whose operations call the functions
 * below; drivers use that handle.
 *
 * Locking: the init/reset calls are for thread context, one caller per device.
 * vmmio_ack_interrupt may be called from interrupt context.
 */
#ifndef LEVBLK_VIRTIO_VIRTIO_MMIO_H
#define LEVBLK_VIRTIO_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <levblk/hal/dt.h>
#include <levblk/virtio/virtio_dev.h>
#include <levblk/virtio/virtio_spec.h>

struct virtqueue;

#define VMMIO_MAX_DEVICES DT_MAX_VIRTIO_MMIO
#define VMMIO_MAX_QUEUES  8U /* one per CPU, up to 8 CPUs */

/* InterruptStatus bits (4.2.2), as returned by vmmio_ack_interrupt. */
#define VMMIO_INT_VRING	 (1U << 0) /* used buffer notification */
#define VMMIO_INT_CONFIG (1U << 1) /* configuration change */

/* One virtio-mmio device. Fields are read-only outside src/virtio. */
struct vmmio_dev {
	struct virtio_dev vdev; /* the transport-independent handle (virtio_dev.h) */
	uintptr_t base;	    /* register window */
	uint64_t size;	    /* bytes in the window */
	uint32_t intid;	    /* GIC INTID of its interrupt */
	uint32_t version;   /* 1 legacy, 2 modern */
	uint32_t device_id; /* VIRTIO_ID_* */
	uint32_t vendor_id;
	unsigned index;		  /* position in -device order (vmmio_get(index) == this) */
	uint64_t device_features; /* offered, read at vmmio_init */
	uint64_t driver_features; /* negotiated (shadow of the write-only register) */
	uint8_t status;		  /* shadow of what we last wrote to Status */
	bool failed;		  /* FAILED was set: left alone */
	struct virtqueue *vq[VMMIO_MAX_QUEUES]; /* set up by vmmio_setup_queue */
	/* Interrupt counters, kept by vmmio_ack_interrupt. */
	uint64_t irq_vring, irq_config, irq_none;
};

/*
 * Probes the given slots (as dt_info() lists them) and records the present
 * devices in descending slot order. Called by the INIT_LEVEL_BUS initcall;
 * host tests call it with the simulator's slots. Forgets earlier results.
 * Returns the number of present devices, or -EIO if no slot had the magic.
 */
int vmmio_probe(const struct dt_virtio_mmio *slots, unsigned n_slots);

unsigned vmmio_count(void);		 /* present devices */
struct vmmio_dev *vmmio_get(unsigned i); /* i-th present device in -device order, or NULL */
/* The n-th (from 0) device of type device_id in -device order, or NULL. */
struct vmmio_dev *vmmio_find(uint32_t device_id, unsigned n);

/*
 * Reset (bounded wait), ACKNOWLEDGE, DRIVER, read the 64-bit DeviceFeatures,
 * accept (offered & wanted), insist on every bit of `required` (else -ENODEV),
 * add VIRTIO_F_VERSION_1 on Version 2 (required there; never on Version 1),
 * write both DriverFeatures words, set FEATURES_OK and read it back (else
 * -EIO). The negotiated set goes to *negotiated (may be NULL) and
 * dev->driver_features. On failure FAILED is set.
 */
int vmmio_init(struct vmmio_dev *dev, uint64_t wanted, uint64_t required, uint64_t *negotiated);

/*
 * Sets up queue `index` with the largest power of two <= min(wanted_size,
 * QueueNumMax) entries (wanted_size must be a power of two >= 2), allocates
 * its rings and indirect tables (indirect and event index per the negotiated
 * features) and programs them: legacy QueueAlign/QueuePFN (GuestPageSize was
 * written by vmmio_init), or modern QueueDesc/Driver/Device + QueueReady.
 * Returns 0 and *out, or -EINVAL, -ENODEV (queue absent or already live),
 * -ENOMEM or -EIO (both set FAILED).
 */
int vmmio_setup_queue(struct vmmio_dev *dev, unsigned index, unsigned wanted_size,
		      struct virtqueue **out);

/* Sets DRIVER_OK. 0, or -EIO if the device refused (FAILED set). */
int vmmio_driver_ok(struct vmmio_dev *dev);

/* Sets FAILED (keeping the other bits), prints why, and leaves the device alone. */
void vmmio_fail(struct vmmio_dev *dev, const char *why);

/*
 * Reads len bytes (1, 2, 4 or 8; little-endian device fields, returned in
 * CPU order) at `offset` in the device-specific configuration space,
 * consistently: on Version 2 the read is retried until ConfigGeneration is
 * the same before and after; Version 1 has no generation counter, so the
 * field is read until two successive reads agree (bounded). Returns 0,
 * -EINVAL (bad len, or the field lies outside the register window), -EIO
 * (never consistent).
 */
int vmmio_config_read(struct vmmio_dev *dev, unsigned offset, void *buf, unsigned len);

/*
 * Reads InterruptStatus and writes exactly those bits to InterruptACK (the
 * line is level: this quiets it before end of interrupt). Returns the bits
 * (VMMIO_INT_VRING and/or VMMIO_INT_CONFIG, 0 for a spurious call) and counts
 * them. The MMIO read is ordered before later reads of the used ring.
 */
uint32_t vmmio_ack_interrupt(struct vmmio_dev *dev);

/*
 * Recovery, step one: writes 0 to Status (bounded wait for it to read 0).
 * Every queue of the device becomes "reset": vq_add fails with -ENODEV and
 * vq_detach_unused hands back the in-flight cookies, which the caller must
 * collect before vmmio_restart. Returns 0 or -ETIMEDOUT (FAILED set).
 */
int vmmio_reset(struct vmmio_dev *dev);

/*
 * Recovery, step two: re-runs the initialisation with the same negotiated
 * features, re-programs every queue with fresh (zeroed) rings of the same
 * size, and sets DRIVER_OK. Queue handles stay valid. 0 or a negative errno.
 */
int vmmio_restart(struct vmmio_dev *dev);

/*
 * Resets the device and frees its queues (host tests, or giving a device up
 * for good). Detach in-flight cookies first: they are forgotten here.
 */
void vmmio_release(struct vmmio_dev *dev);

/*
 * A driver gives a device up while probing it (nothing in flight): resets it
 * and, once the reset is confirmed, frees its queues; then sets FAILED. It
 * prints nothing: the driver says why, under the disk's name.
 * Without a confirmed reset the queues' memory is kept: the device might
 * still write to it.
 */
void vmmio_abandon(struct vmmio_dev *dev);

/* "virtio-blk" etc. for a device type, "unknown" otherwise. */
const char *vmmio_type_name(uint32_t device_id);

#endif
