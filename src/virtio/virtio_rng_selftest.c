/*
 * In-guest selftest of the transport and virtqueue against QEMU's real
 * device model, on a device no other driver owns: the first virtio-rng
 * device (QEMU -device virtio-rng-device). Full initialisation, one queue,
 * a few polled requests for entropy (direct, and through an indirect table
 * when the device offers one) with the device-written length checked,
 * then a reset that leaves the device as it was found. Without an rng
 * device the test passes trivially (it says so).
 */
#include <levblk/errno.h>
#include <levblk/hal/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/dma.h>
#include <levblk/kern/init.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/virtio/virtqueue.h>

#define RNG_QUEUE_SIZE 8U
#define RNG_BYTES      32U
#define RNG_ROUNDS     4U
/* Polls of the used ring before a request counts as lost (QEMU answers in microseconds). */
#define RNG_POLL_LIMIT 50000000U

/* One request for RNG_BYTES, in one segment or two (two go through an indirect table). */
static bool rng_roundtrip(struct virtqueue *vq, uint8_t *buf, unsigned nseg)
{
	struct vq_sg sg[2] = {{hal_virt_to_bus(buf), RNG_BYTES / nseg},
			      {hal_virt_to_bus(buf + RNG_BYTES / 2), RNG_BYTES / 2}};
	uint32_t len = 0;
	void *cookie = NULL;
	int err;

	err = vq_add(vq, buf, sg, 0, nseg);
	if (err) {
		kprintf("# vq_add: %d\n", err);
		return false;
	}
	if (vq_kick_prepare(vq))
		vq_notify(vq);
	for (unsigned i = 0; i < RNG_POLL_LIMIT && !cookie; i++) {
		cookie = vq_get_used(vq, &len);
		if (!cookie)
			cpu_relax();
	}
	if (cookie != buf || len == 0 || len > RNG_BYTES) {
		kprintf("# rng request: cookie %p (want %p) len %u broken %d\n", cookie,
			(void *)buf, len, vq_is_broken(vq));
		return false;
	}
	return true;
}

static bool virtio_rng_selftest(void)
{
	struct vmmio_dev *dev = vmmio_find(VIRTIO_ID_RNG, 0);
	struct virtqueue *vq;
	struct dma_buf mem;
	struct vq_stats st;
	uint64_t features;
	bool ok = true;

	if (!dev) {
		kprintf("# no virtio-rng device: nothing to test\n");
		return true;
	}
	if (vmmio_init(dev, VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC), 0,
		       &features) ||
	    vmmio_setup_queue(dev, 0, RNG_QUEUE_SIZE, &vq) || vmmio_driver_ok(dev))
		return false;
	if (dma_alloc(RNG_BYTES, 4096, &mem)) {
		vmmio_release(dev);
		return false;
	}
	/* Callbacks off: this test polls, the interrupt line stays quiet. */
	vq_disable_cb(vq);
	for (unsigned r = 0; r < RNG_ROUNDS && ok; r++)
		ok = rng_roundtrip(vq, mem.va, 1 + (r & 1));
	vq_get_stats(vq, &st);
	kprintf(
	    "# virtio-rng version %u features %#llx: %llu requests (%llu indirect), %llu kicks, "
	    "%llu suppressed\n",
	    dev->version, (unsigned long long)features, (unsigned long long)st.used,
	    (unsigned long long)st.adds_indirect, (unsigned long long)st.kicks,
	    (unsigned long long)st.kicks_suppressed);
	ok = ok && st.used == RNG_ROUNDS && !vq_is_broken(vq);
	vmmio_release(dev);
	dma_free(&mem);
	return ok;
}
SELFTEST("virtio.rng_polled", virtio_rng_selftest);
