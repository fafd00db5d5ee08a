/*
 * In-guest selftest of the transport and virtqueue against QEMU's real
 * device model, on a device no other driver owns: the first virtio-rng
 * device (QEMU -device virtio-rng-device). Full initialisation, one queue,
 * a few polled requests for entropy (direct, and through an indirect table
 * when the device offers one) with the device-written length checked, then
 * the same driven by the device's interrupt (level-triggered: the handler
 * acks InterruptStatus before EOI), then a reset that leaves the device as
 * it was found. Without an rng device the test passes trivially (it says so).
 *
 * Locking: the test thread makes its vq_ calls with IRQs masked, the
 * handler runs with them masked: the two never overlap (one CPU).
 */
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/dma.h>
#include <levblk/irq/irq.h>
#include <levblk/init.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/virtio/virtqueue.h>

#define RNG_QUEUE_SIZE 8U
#define RNG_BYTES      32U
#define RNG_ROUNDS     4U
/* Polls of the used ring before a request counts as lost (QEMU answers in microseconds). */
#define RNG_POLL_LIMIT 50000000U

/*
 * Adds one request for RNG_BYTES into buf, in one segment or two (two go
 * through an indirect table when the device offers them). vq_add's result.
 */
static int rng_add(struct virtqueue *vq, uint8_t *buf, unsigned nseg)
{
	struct vq_sg sg[2] = {{hal_virt_to_bus(buf), RNG_BYTES / nseg},
			      {hal_virt_to_bus(buf + RNG_BYTES / 2), RNG_BYTES / 2}};

	return vq_add(vq, buf, sg, 0, nseg);
}

/* One polled request (see rng_add). */
static bool rng_roundtrip(struct virtqueue *vq, uint8_t *buf, unsigned nseg)
{
	uint32_t len = 0;
	void *cookie = NULL;
	int err;

	err = rng_add(vq, buf, nseg);
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

struct rng_irq_state {
	struct vmmio_dev *dev;
	struct virtqueue *vq;
	void *expect;
	volatile unsigned done;
	volatile bool bad;
};

static void rng_irq(void *arg)
{
	struct rng_irq_state *s = arg;
	uint32_t len;
	void *c;

	if (!(vmmio_ack_interrupt(s->dev) & VMMIO_INT_VRING))
		return;
	(void)vq_irq_note(s->vq, 1);
	do {
		vq_disable_cb(s->vq);
		while ((c = vq_get_used(s->vq, &len))) {
			if (c != s->expect || len == 0 || len > RNG_BYTES)
				s->bad = true;
			s->done++;
		}
	} while (!vq_enable_cb(s->vq));
}

/* RNG_ROUNDS requests, each completed through the interrupt handler. */
static bool rng_irq_rounds(struct vmmio_dev *dev, struct virtqueue *vq, uint8_t *buf)
{
	static struct rng_irq_state s;
	irqflags_t f;
	bool ok = true;
	int err;

	s = (struct rng_irq_state){.dev = dev, .vq = vq, .expect = buf};
	if (irq_register(dev->intid, rng_irq, &s)) {
		kprintf("# irq_register(%u) failed\n", dev->intid);
		return false;
	}
	f = irq_save();
	ok = vq_enable_cb(vq); /* nothing outstanding: must not report a race */
	irq_restore(f);
	for (unsigned r = 0; r < RNG_ROUNDS && ok; r++) {
		bool kick;

		f = irq_save();
		err = rng_add(vq, buf, 1 + (r & 1));
		kick = !err && vq_kick_prepare(vq);
		irq_restore(f);
		if (err) {
			kprintf("# vq_add: %d\n", err);
			ok = false;
			break;
		}
		if (kick)
			vq_notify(vq);
		for (unsigned i = 0; i < RNG_POLL_LIMIT && s.done == r; i++)
			cpu_relax();
		if (s.done != r + 1 || s.bad) {
			kprintf("# interrupt round %u: %u completions, bad %d\n", r, s.done, s.bad);
			ok = false;
		}
	}
	irq_unregister(dev->intid);
	kprintf("# interrupts: %llu taken, %llu used-buffer, %llu config, %llu without status\n",
		(unsigned long long)irq_count(dev->intid), (unsigned long long)dev->irq_vring,
		(unsigned long long)dev->irq_config, (unsigned long long)dev->irq_none);
	return ok && dev->irq_vring >= 1;
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
	/* Callbacks off for the polled rounds: the interrupt line stays quiet. */
	vq_disable_cb(vq);
	for (unsigned r = 0; r < RNG_ROUNDS && ok; r++)
		ok = rng_roundtrip(vq, mem.va, 1 + (r & 1));
	if (ok)
		ok = rng_irq_rounds(dev, vq, mem.va);
	vq_get_stats(vq, &st);
	kprintf(
	    "# virtio-rng version %u features %#llx: %llu requests (%llu indirect), %llu kicks, "
	    "%llu suppressed\n",
	    dev->version, (unsigned long long)features, (unsigned long long)st.used,
	    (unsigned long long)st.adds_indirect, (unsigned long long)st.kicks,
	    (unsigned long long)st.kicks_suppressed);
	ok = ok && st.used == 2 * RNG_ROUNDS && st.irqs_with_work >= 1 && !vq_is_broken(vq);
	vmmio_release(dev);
	dma_free(&mem);
	return ok;
}
SELFTEST("virtio.rng_polled_and_irq", virtio_rng_selftest);
