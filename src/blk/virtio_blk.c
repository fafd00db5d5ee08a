/*
 * virtio-blk: the device glue between the block core (blk_driver.h) and its
 * virtqueues (virtqueue.h) on any virtio transport (virtio_dev.h: virtio-mmio
 * or virtio-pci).
 *
 * Multi-queue (VIRTIO_BLK_F_MQ): a device may offer several request queues
 * (num_queues). The driver sets up one per CPU (cpu_count()), at most what
 * the device offers, VBLK_MAX_QUEUES, and blk.queues when that is set;
 * blk.mq=0 keeps one. A request goes to the queue of the CPU that dispatches
 * it (cpu_vq[], from blk_mq_queue_of), so CPUs do not share a ring's cache
 * lines; any queue may complete any request, since the chain's cookie is the
 * request. Over virtio-mmio every queue raises the same interrupt, so the
 * handler (and the poll and timeout operations) drain every queue, and a
 * reset (virtio_blk_recover.c) resets and sets up all of them.
 *
 * Each request of the core becomes one descriptor chain (5.2.6):
 *   [virtio_blk_outhdr, device-readable]
 *   [data segments: readable for OUT, writable for IN/GET_ID;
 *    or one discard/write-zeroes range, readable]
 *   [status byte, device-writable]
 * The header, range and status byte of request tag t live in rqmem[t], DMA
 * memory preallocated at probe: nothing is allocated on the I/O path. The
 * chain's cookie is the request itself, so a completion finds its request
 * by descriptor head (the virtqueue keeps head -> cookie), never by order.
 *
 * Units: the wire always counts 512-byte sectors, also on 4 KiB disks; the
 * core already speaks 512-byte sectors, so no conversion happens here.
 *
 * Locking: every vq_ call is made with the device's queue lock held (the
 * core calls queue_rq/kick_prepare under it; the interrupt handler takes
 * it), except vq_notify, which needs no lock: the core rings it after
 * dropping the lock, a polled bio with the lock held (bio_poll.c), and
 * queue_rq itself between two full-size requests.
 */
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/dma.h>
#include <levblk/irq/irq.h>
#include <levblk/init.h>
#include <levblk/kern/thread.h>
#include <levblk/lib/fmt.h>
#include <levblk/lib/string.h>
#include <levblk/virtio/virtio_dev.h>
#include <levblk/virtio/virtio_spec.h>
#include <levblk/virtio/virtqueue.h>
#include "blk_driver.h"
#include "blk_mq_map.h"
#include "virtio_blk.h"
#include "virtio_blk_fault.h"
#include "virtio_blk_private.h"
#include "virtio_blk_recover.h"
#include "virtio_blk_spec.h"

#define VBLK_QUEUE_SIZE	 256u	    /* ring entries we ask for */
#define VBLK_MAX_SECTORS 2048u	    /* 1 MiB per request: our choice, virtio has no limit */
#define VBLK_NO_SIZE_MAX (4u << 20) /* segment bytes when the device states no size_max */
/* Largest physical_block_exp we believe: lbs << exp then fits 32 bits (lbs <= 64 KiB). */
#define VBLK_MAX_PBS_EXP 16u /* exclusive */

/* Feature bits we use when the device offers them (VERSION_1 is the transport's). */
#define VBLK_WANTED                                                                                \
	(VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |                    \
	 VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_RO) |                         \
	 VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) |                      \
	 VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |                  \
	 VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |              \
	 VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_VERSION_1))
/* ... and with blk.mq=1 (virtio_blk.c, "Multi-queue"). */
#define VBLK_WANTED_MQ VIRTIO_BIT(VIRTIO_BLK_F_MQ)

/*
 * Idle polling for shallow queues (vblk_kick_prepare): with few requests in
 * flight the CPU waits on one completion's latency, and under emulation
 * waking a halted vCPU (QEMU's TCG: through the host scheduler) adds more to
 * it than spinning for a completion costs. Deep queues keep the CPU busy
 * with completions anyway, and a spinning vCPU would take host CPU from the
 * device's own worker threads. The scheduler does the spinning
 * (sched_idle_poll_until); the driver, which knows its device, asks for it.
 */
uint64_t vblk_param_poll_us = 100;
uint64_t vblk_param_poll_depth = 1;
PARAM_U64("blk.poll_us", vblk_param_poll_us, 0, 10000,
	  "after a dispatch, idle-poll this long for the completion interrupt (0: off)");
PARAM_U64("blk.poll_depth", vblk_param_poll_depth, 1, 1024,
	  "idle-poll only while at most this many requests are in flight");

/* Multi-queue: on by default, one queue per CPU (docs/interface.md, "Multi-queue"). */
uint64_t vblk_param_mq = 1;
uint64_t vblk_param_queues;
PARAM_U64("blk.mq", vblk_param_mq, 0, 1,
	  "1: negotiate multi-queue and use one virtqueue per CPU; 0: one virtqueue per disk");
PARAM_U64("blk.queues", vblk_param_queues, 0, VBLK_MAX_QUEUES,
	  "virtqueues per disk with blk.mq=1 (0: one per CPU; never more than the device offers)");
/* Where a queue's own interrupt goes (vblk_route_queue_irqs; docs/interface.md, "CPUs"). */
uint64_t vblk_param_queue_irqs = 1;
PARAM_U64("blk.queue_irqs", vblk_param_queue_irqs, 0, 1,
	  "1: a queue's own MSI-X vector goes to the CPUs that submit to it; 0: the disk's CPU");

/*
 * Adaptive interrupt coalescing (vblk_rearm_locked): with the event index,
 * once at least vq.coalesce_min requests are in flight on a queue, the
 * drain re-arms its interrupt three quarters of the way through them
 * (vq_enable_cb_delayed) instead of at the next completion, so one
 * interrupt ends several requests. It never waits for a completion that
 * may not come: the point is within what is in flight, so the last
 * request's completion is always signalled, and a request stuck on the
 * device is the deadline timer's (blk.timeout_ms), as without it.
 */
uint64_t vblk_param_coalesce = 0;
uint64_t vblk_param_coalesce_min = 8;
PARAM_U64("vq.coalesce", vblk_param_coalesce, 0, 1,
	  "1: with event index, one interrupt for several completions when the queue is deep");
PARAM_U64("vq.coalesce_min", vblk_param_coalesce_min, 2, 1024,
	  "with vq.coalesce=1: requests in flight on a queue from which interrupts are delayed");

static struct vblk vblk_devs[BLKDEV_MAX];
static unsigned int vblk_ndevs;

static int vblk_queue_rq(void *drv, struct request *rq, bool last);
static bool vblk_kick_prepare(void *drv);
static void vblk_notify(void *drv);
static void vblk_ring_state(void *drv, struct blk_resources *out);
static void vblk_describe(void *drv, char *buf, size_t len);
static void vblk_irq_report(void *drv, char *buf, size_t len);
static enum blk_timeout_ret vblk_timeout(void *drv, struct request *rq, struct blk_done *done);
static void vblk_drain_locked(struct vblk *vb, struct blk_done *done);
static bool vblk_drain_watch_locked(struct vblk *vb, const struct request *watch,
				    struct blk_done *done);
static unsigned int vblk_poll(void *drv, bool last, struct blk_done *done);
static void vblk_irq(void *arg);
static void vblk_irq_work(void *drv, unsigned int nirqs, struct blk_done *done);

static const struct blk_driver_ops vblk_ops = {
    .queue_rq = vblk_queue_rq,
    .kick_prepare = vblk_kick_prepare,
    .notify = vblk_notify,
    .ring_state = vblk_ring_state,
    .describe = vblk_describe,
    .irq_report = vblk_irq_report,
    .timeout = vblk_timeout,
    .poll = vblk_poll,
    .irq_work = vblk_irq_work,
};

static bool has(const struct vblk *vb, unsigned int bit)
{
	return (vb->features & VIRTIO_BIT(bit)) != 0;
}

/* One mapping from the device's status byte to a bio status. */
static int vblk_status_errno(uint8_t status)
{
	switch (status) {
	case VIRTIO_BLK_S_OK:
		return 0;
	case VIRTIO_BLK_S_UNSUPP:
		return -EOPNOTSUPP;
	case VIRTIO_BLK_S_IOERR:
	default: /* not a value the spec allows, or never written */
		return -EIO;
	}
}

/*
 * What a completion means. len counts the bytes the device wrote, the
 * status byte last: a read must have all its data and the status written
 * (QEMU reports exactly that), anything else at least the status. A short
 * length is a device fault on this request only (-EIO, retried): the
 * virtqueue already refused lengths beyond the chain's writable bytes.
 */
static int vblk_used_errno(enum bio_op op, uint32_t data_bytes, uint32_t len, uint8_t status)
{
	uint32_t want = sizeof(status);

	if (op == BIO_OP_READ)
		want += data_bytes;
	if (len < want)
		return -EIO;
	return vblk_status_errno(status);
}

/* The queue this CPU adds its chains to: its own, or the one it shares (cpu_vq). */
static inline unsigned int vblk_cpu_queue(const struct vblk *vb)
{
	return vb->nvqs == 1 ? 0 : vb->cpu_vq[cpu_id() % CPU_MAX];
}

/* Chains the device holds, over every queue. Queue lock held. */
static unsigned int vblk_in_flight(const struct vblk *vb)
{
	unsigned int n = 0;

	for (unsigned int q = 0; q < vb->nvqs; q++)
		n += vq_in_flight(vb->vqs[q]);
	return n;
}

static int vblk_completion_errno(const struct vblk *vb, const struct request *rq, uint32_t len)
{
	return vblk_used_errno(blk_rq_op(rq), blk_rq_bytes(rq), len,
			       vb->rqmem[blk_rq_tag(rq)].status);
}

static int vblk_queue_rq(void *drv, struct request *rq, bool last)
{
	struct vblk *vb = drv;
	struct vblk_rqmem *m = &vb->rqmem[blk_rq_tag(rq)];
	enum bio_op op = blk_rq_op(rq);
	unsigned int n = 0, n_out;
	bool data_in = false;

	m->hdr.reserved = 0;
	m->hdr.sector = blk_rq_sector(rq);
	switch (op) {
	case BIO_OP_READ:
		m->hdr.type = VIRTIO_BLK_T_IN;
		data_in = true;
		break;
	case BIO_OP_WRITE:
		m->hdr.type = VIRTIO_BLK_T_OUT;
		break;
	case BIO_OP_FLUSH:
		m->hdr.type = VIRTIO_BLK_T_FLUSH;
		m->hdr.sector = 0;
		break;
	case BIO_OP_GET_ID:
		m->hdr.type = VIRTIO_BLK_T_GET_ID;
		m->hdr.sector = 0;
		data_in = true;
		break;
	case BIO_OP_DISCARD:
	case BIO_OP_WRITE_ZEROES:
		m->hdr.type =
		    op == BIO_OP_DISCARD ? VIRTIO_BLK_T_DISCARD : VIRTIO_BLK_T_WRITE_ZEROES;
		m->hdr.sector = 0;
		m->range.sector = blk_rq_sector(rq);
		m->range.num_sectors = blk_rq_sectors(rq);
		m->range.flags = 0;
		break;
	default:
		return -EOPNOTSUPP;
	}
	vb->sg[n++] = (struct vq_sg){hal_virt_to_bus(&m->hdr), sizeof(m->hdr)};
	if (op == BIO_OP_DISCARD || op == BIO_OP_WRITE_ZEROES)
		vb->sg[n++] = (struct vq_sg){hal_virt_to_bus(&m->range), sizeof(m->range)};

	struct blk_seg_iter it;
	void *va;
	uint32_t len;
	blk_rq_seg_iter_init(&it, rq);
	while (blk_rq_seg_next(&it, &va, &len)) {
		if (n >= BLK_MAX_SEGS + 1)
			return -EIO; /* more than the limits we gave the core: a core bug, fail it
				      */
		vb->sg[n++] = (struct vq_sg){hal_virt_to_bus(va), len};
	}
	n_out = data_in ? 1 : n;
	/* Poison the status: a device that completes without writing it is caught. */
	m->status = VBLK_STATUS_NONE;
	vb->sg[n++] = (struct vq_sg){hal_virt_to_bus(&m->status), sizeof(m->status)};

	unsigned int qi = vblk_cpu_queue(vb);
	struct virtqueue *vq = vb->vqs[qi];
	int err = vq_add(vq, rq, vb->sg, n_out, n - n_out);
	if (err == -ENOSPC || err == -ENODEV)
		return err;
	if (err)
		return -EIO;
	vb->added_mask |= 1u << qi;
	/*
	 * A full-size read or write goes alone: a device may merge the
	 * adjacent requests one notification brings into one host I/O. QEMU's
	 * virtio-blk does (virtio_blk_submit_multireq, up to 32 requests),
	 * which turned four sequential 1 MiB reads into one 4 MiB read copied
	 * by one host thread, while separate ones are copied by several at
	 * once. So one that others follow in this run is rung at once, lock
	 * held; the last one's doorbell is the core's, after unlocking.
	 * Smaller requests share doorbells (kicks per request stay low where
	 * it matters, and the device's merging of small ones helps).
	 */
	if (!last && blk_rq_sectors(rq) >= VBLK_MAX_SECTORS &&
	    (op == BIO_OP_READ || op == BIO_OP_WRITE) && vq_kick_prepare(vq) &&
	    !vblk_fault_hold_kick_locked(vb)) {
		blk_count_kick_locked(vb->bdev);
		vq_notify(vq);
	}
	return 0;
}

/*
 * After a run of queue_rq: asks each queue that got chains in it whether
 * the device wants its doorbell, and leaves those queues in notify_mask
 * for notify(). Queue lock held.
 */
static bool vblk_kick_prepare(void *drv)
{
	struct vblk *vb = drv;
	uint32_t want = 0, added = vb->added_mask;

	/* A shallow queue waits on latency: ask the idle thread to spin through it, not WFI. */
	if (vblk_param_poll_us && vblk_in_flight(vb) <= vblk_param_poll_depth)
		sched_idle_poll_until(blk_now_locked(vb->bdev) + vblk_param_poll_us * NSEC_PER_USEC);
	vb->added_mask = 0;
	for (unsigned int q = 0; added; q++, added >>= 1) {
		if ((added & 1) && vq_kick_prepare(vb->vqs[q]))
			want |= 1u << q;
	}
	/* A withheld doorbell (fault injection) is decided here, under the lock,
	 * so that notify() never needs it. */
	if (!want || vblk_fault_hold_kick_locked(vb))
		return false;
	/* Release: pairs with the acquire exchange in vblk_notify (ring stores before the bits). */
	__atomic_fetch_or(&vb->notify_mask, want, __ATOMIC_RELEASE);
	return true;
}

/* Rings the doorbells kick_prepare asked for. Any context, with or without the queue lock. */
static void vblk_notify(void *drv)
{
	struct vblk *vb = drv;
	/* Acquire: pairs with the release in vblk_kick_prepare. */
	uint32_t m = __atomic_exchange_n(&vb->notify_mask, 0, __ATOMIC_ACQUIRE);

	for (unsigned int q = 0; m; q++, m >>= 1) {
		if (m & 1)
			vq_notify(vb->vqs[q]);
	}
}

static void vblk_ring_state(void *drv, struct blk_resources *out)
{
	struct vblk *vb = drv;

	out->ring_size = out->ring_free = out->ring_in_flight = 0;
	for (unsigned int q = 0; q < vb->nvqs; q++) {
		out->ring_size += vq_size(vb->vqs[q]);
		out->ring_free += vq_free_count(vb->vqs[q]);
		out->ring_in_flight += vq_in_flight(vb->vqs[q]);
	}
}

/*
 * The attachment words of run=demo's BLKDEV line (docs/interface.md, demo).
 * The line's fields are fixed; the number of queues is on the probe line.
 */
static void vblk_describe(void *drv, char *buf, size_t len)
{
	struct vblk *vb = drv;

	char where[40];

	virtio_describe(vb->vdev, where, sizeof(where));
	fmt_snprintf(buf, len, "%s features=0x%llx", where, (unsigned long long)vb->features);
}

/* Per queue: its interrupt, where it is routed, how many were taken there and elsewhere. */
static void vblk_irq_report(void *drv, char *buf, size_t len)
{
	struct vblk *vb = drv;
	size_t used = 0;

	for (unsigned int q = 0; q < vb->nvqs && used < len; q++) {
		uint32_t intid = virtio_vq_intid(vb->vdev, q);

		used += (size_t)fmt_snprintf(buf + used, len - used,
					     "%sq%u irq=%u cpu=%d taken=%llu away=%llu",
					     q ? ", " : "", q, intid, irq_affinity(intid),
					     (unsigned long long)irq_count(intid),
					     (unsigned long long)irq_count_away(intid));
	}
}

/*
 * With several queues, each queue's own interrupt (MSI-X) goes to the first
 * CPU that submits to it (blk_mq_irq_cpu), so completions are taken where
 * the requests came from; a transport whose queues share one interrupt
 * (virtio-mmio, INTx) leaves it where request_irq put it (the device's CPU).
 */
static unsigned int vblk_route_queue_irqs(struct vblk *vb, char *line, size_t len)
{
	size_t used = 0;
	unsigned int moved = 0;

	line[0] = '\0';
	for (unsigned int q = 0; vblk_param_queue_irqs && vb->nvqs > 1 && q < vb->nvqs; q++) {
		unsigned int cpu = blk_mq_irq_cpu(q, cpu_count(), vb->nvqs);

		if (virtio_set_vq_affinity(vb->vdev, q, cpu) == 0) {
			if (used < len)
				used += (size_t)fmt_snprintf(line + used, len - used, " q%u:%u", q,
							     cpu);
			moved++;
		}
	}
	return moved;
}

/* Completes what one queue's used ring holds; returns how many. Queue lock held. */
static unsigned int vblk_reap_locked(struct vblk *vb, struct virtqueue *vq, struct blk_done *done)
{
	struct request *rq;
	unsigned int n = 0;
	uint32_t len;

	vblk_fault_bad_used_locked(vb, vq);
	while ((rq = vq_get_used(vq, &len)) != NULL) {
		blk_complete_locked(vb->bdev, rq, vblk_completion_errno(vb, rq, len), done);
		n++;
	}
	return n;
}

/* The first queue the virtqueue code caught misbehaving, or -1. Queue lock held. */
static int vblk_broken_queue(const struct vblk *vb)
{
	for (unsigned int q = 0; q < vb->nvqs; q++) {
		if (vq_is_broken(vb->vqs[q]))
			return (int)q;
	}
	return -1;
}

/*
 * A virtqueue caught the device misbehaving: give up on the device, every
 * queue of it (one device, one reset). Queue lock held.
 */
static void vblk_check_broken_locked(struct vblk *vb, struct blk_done *done)
{
	int bad = vblk_broken_queue(vb);

	if (bad >= 0 && !blkdev_broken(vb->bdev)) {
		/*
		 * The device misbehaved: everything it holds and everything queued
		 * fails, but what it holds only once a reset took it back.
		 */
		const char *why = vq_broken_reason(vb->vqs[bad]);
		if (vb->nvqs > 1)
			kprintf("%s: device broken (queue %d: %s)\n", blkdev_info(vb->bdev)->name,
				bad, why ? why : "?");
		else
			kprintf("%s: device broken (%s)\n", blkdev_info(vb->bdev)->name,
				why ? why : "?");
		vblk_give_up_locked(vb, "device broken", -ENODEV, done);
	}
}

/*
 * Re-arms one queue's interrupt after a drain: at the next completion, or
 * with coalescing (vq.coalesce, above) and a deep queue three quarters of
 * the way through what is in flight. False: completions arrived meanwhile,
 * drain again. Queue lock held.
 */
static bool vblk_rearm_locked(struct vblk *vb, unsigned int q)
{
	struct virtqueue *vq = vb->vqs[q];

	if (vblk_param_coalesce && vq_in_flight(vq) >= vblk_param_coalesce_min) {
		vb->coalesced_mask |= 1u << q;
		return vq_enable_cb_delayed(vq);
	}
	vb->coalesced_mask &= ~(1u << q);
	return vq_enable_cb(vq);
}

/*
 * Drains every queue's used ring and re-arms its callbacks; queue lock
 * held. All queues share the interrupt, so each is looked at: one whose
 * ring holds nothing costs a read of its used index.
 */
static void vblk_drain_locked(struct vblk *vb, struct blk_done *done)
{
	for (unsigned int q = 0; q < vb->nvqs; q++) {
		struct virtqueue *vq = vb->vqs[q];
		do {
			vq_disable_cb(vq);
			vblk_reap_locked(vb, vq, done);
		} while (!vblk_rearm_locked(vb, q));
	}
	vblk_check_broken_locked(vb, done);
}

/*
 * Drains every queue and re-arms each at its next completion (no
 * coalescing); true when `watch` was among the requests completed (only
 * compared, never dereferenced: it may have ended). Queue lock held.
 */
static bool vblk_drain_watch_locked(struct vblk *vb, const struct request *watch,
				    struct blk_done *done)
{
	bool seen = false;
	struct request *rq;
	uint32_t len;

	for (unsigned int q = 0; q < vb->nvqs; q++) {
		struct virtqueue *vq = vb->vqs[q];

		do {
			vq_disable_cb(vq);
			while ((rq = vq_get_used(vq, &len)) != NULL) {
				seen |= rq == watch;
				blk_complete_locked(vb->bdev, rq, vblk_completion_errno(vb, rq, len),
						    done);
			}
		} while (!vq_enable_cb(vq));
	}
	vb->coalesced_mask = 0;
	vblk_check_broken_locked(vb, done);
	return seen;
}

/*
 * The poll operation (blk_driver.h; submit_bio_poll). While the caller
 * polls, callbacks stay off (vq_disable_cb: a hint the device may ignore
 * with the event index) and only the used ring is read, no register. The
 * last call acks InterruptStatus first, so whatever the device raised for
 * the polled requests is cleared before IRQs come back on and the handler
 * never runs for them (the line is level-triggered), then drains and
 * re-arms callbacks for the interrupt path. (The ack also clears a
 * configuration-change bit raised meanwhile; the driver does not act on
 * those.) Queue lock held, IRQs masked.
 */
static unsigned int vblk_poll(void *drv, bool last, struct blk_done *done)
{
	struct vblk *vb = drv;
	unsigned int n;

	if (last) {
		(void)virtio_ack_interrupt(vb->vdev);
		vblk_drain_locked(vb, done);
		return 0;
	}
	n = 0;
	for (unsigned int q = 0; q < vb->nvqs; q++) {
		vq_disable_cb(vb->vqs[q]);
		n += vblk_reap_locked(vb, vb->vqs[q], done);
	}
	vblk_check_broken_locked(vb, done);
	return n;
}

/*
 * The core's timer says rq, the oldest request on the device, is past its
 * deadline (blk_timeout.c). If the used ring holds completions, the device
 * did its work and only the interrupt went missing: count it (lost_irqs)
 * and drain the ring as the interrupt would have; a lost interrupt is not
 * a dead device. Otherwise the device is stuck: reset it
 * (virtio_blk_recover.c). Queue lock held, timer interrupt context.
 */
static enum blk_timeout_ret vblk_timeout(void *drv, struct request *rq, struct blk_done *done)
{
	struct vblk *vb = drv;

	bool used = false, coalesced = false;

	vblk_fault_deadline_locked(vb);
	for (unsigned int q = 0; q < vb->nvqs; q++) {
		bool u = vq_has_used(vb->vqs[q]);

		used |= u;
		coalesced |= u && (vb->coalesced_mask & (1u << q));
	}
	if (coalesced) {
		/*
		 * Completions waiting for a delayed interrupt (vq.coalesce) whose
		 * point the device has not reached: not a lost interrupt. End them
		 * (interrupts back at every completion); if rq was among them it
		 * only waited for that interrupt, else it is stuck: reset.
		 */
		if (vblk_drain_watch_locked(vb, rq, done))
			return BLK_TIMEOUT_DONE;
		if (vblk_broken_queue(vb) >= 0)
			return BLK_TIMEOUT_DONE;
		return vblk_reset_locked(vb, done);
	}
	if (used) {
		blk_count_lost_irq_locked(vb->bdev);
		kprintf("%s: lost interrupt: completions found in the used ring by the deadline "
			"check\n",
			blkdev_info(vb->bdev)->name);
		vblk_drain_locked(vb, done);
		return BLK_TIMEOUT_DONE;
	}
	if (vblk_broken_queue(vb) >= 0) {
		/* The look at the used rings caught the device misbehaving. */
		vblk_drain_locked(vb, done);
		return BLK_TIMEOUT_DONE;
	}
	return vblk_reset_locked(vb, done);
}

/*
 * The device's interrupt: ack the transport (so a completion posted after
 * this raises a new interrupt), then hand the rest to the core, which runs
 * vblk_irq_work under the queue lock here or on the CPU that runs the
 * device now (blk_irq_work).
 */
static void vblk_irq(void *arg)
{
	struct vblk *vb = arg;

	(void)virtio_ack_interrupt(vb->vdev);
	blk_irq_work(vb->bdev);
}

/*
 * The work of nirqs interrupts (the core's irq_work): counted, then the
 * rings drained, unless fault injection is losing interrupts. Queue lock
 * held; the core dispatches after it.
 */
static void vblk_irq_work(void *drv, unsigned int nirqs, struct blk_done *done)
{
	struct vblk *vb = drv;

	blk_count_irq_locked(vb->bdev, nirqs);
	for (unsigned int q = 0; q < vb->nvqs; q++)
		(void)vq_irq_note(vb->vqs[q], nirqs);
	if (vblk_fault_lose_irq_locked(vb, nirqs))
		return;
	vblk_drain_locked(vb, done);
}

static int cfg32(struct vblk *vb, unsigned int off, uint32_t *v)
{
	return virtio_config_read(vb->vdev, off, v, sizeof(*v));
}

/*
 * The geometry: capacity and, when BLK_SIZE is offered, the logical block
 * size. A disk the layer cannot serve as it is is refused, never served with
 * another geometry (docs/interface.md, "Segments and device limits"): a
 * blk_size the core does not take is not replaced by 512.
 */
static int vblk_read_geometry(struct vblk *vb, struct blkdev_info *info, const char **why)
{
	uint32_t v;

	if (virtio_config_read(vb->vdev, VIRTIO_BLK_CFG_CAPACITY, &info->capacity,
			      sizeof(info->capacity))) {
		*why = "capacity unreadable";
		return -EIO;
	}
	info->lbs = SECTOR_SIZE;
	if (has(vb, VIRTIO_BLK_F_BLK_SIZE)) {
		if (cfg32(vb, VIRTIO_BLK_CFG_BLK_SIZE, &v)) {
			*why = "blk_size unreadable";
			return -EIO;
		}
		info->lbs = v;
	}
	*why = blk_geometry_problem(info->capacity, info->lbs);
	return *why ? -EINVAL : 0;
}

/* Reads the configuration into info; the features say which fields exist. */
static int vblk_read_config(struct vblk *vb, struct blkdev_info *info, const char **why)
{
	struct blk_limits *lim = &info->limits;
	uint32_t v;
	uint8_t b;
	int err;

	err = vblk_read_geometry(vb, info, why);
	if (err)
		return err;
	info->pbs = info->lbs;
	if (has(vb, VIRTIO_BLK_F_TOPOLOGY) &&
	    !virtio_config_read(vb->vdev, VIRTIO_BLK_CFG_PHYS_BLOCK_EXP, &b, 1) &&
	    b < VBLK_MAX_PBS_EXP)
		info->pbs = info->lbs << b;
	info->ro = has(vb, VIRTIO_BLK_F_RO);

	/* A volatile cache exists when FLUSH is offered, unless CONFIG_WCE says write-through. */
	info->volatile_cache = has(vb, VIRTIO_BLK_F_FLUSH);
	if (has(vb, VIRTIO_BLK_F_CONFIG_WCE) &&
	    !virtio_config_read(vb->vdev, VIRTIO_BLK_CFG_WRITEBACK, &b, 1))
		info->volatile_cache = info->volatile_cache && b != 0;

	/* Segments: seg_max if stated (else one, as the spec implies), and what a chain can hold.
	 */
	uint32_t segs = 1;
	if (has(vb, VIRTIO_BLK_F_SEG_MAX) && !cfg32(vb, VIRTIO_BLK_CFG_SEG_MAX, &v) && v)
		segs = v;
	uint32_t chain = vq_max_sg(vb->vqs[0]); /* every queue has the same size */
	if (chain <= VBLK_CHAIN_EXTRA) {
		*why = "a descriptor chain cannot hold header, data and status (queue too small)";
		return -ENODEV;
	}
	if (segs > chain - VBLK_CHAIN_EXTRA)
		segs = chain - VBLK_CHAIN_EXTRA;
	lim->max_segs = segs;
	lim->max_seg_bytes = VBLK_NO_SIZE_MAX;
	if (has(vb, VIRTIO_BLK_F_SIZE_MAX) && !cfg32(vb, VIRTIO_BLK_CFG_SIZE_MAX, &v)) {
		/* A bound below a sector is not served (and not replaced: it would be broken). */
		if (v < SECTOR_SIZE) {
			*why = "size_max below one sector";
			return -EINVAL;
		}
		lim->max_seg_bytes = v;
	}
	/* Bounce buffers copy a block into one place, but a request must still carry it. */
	if ((info->lbs - 1) / lim->max_seg_bytes + 1 > lim->max_segs) {
		*why = "a logical block does not fit one request (seg_max times size_max)";
		return -EINVAL;
	}
	lim->max_sectors = VBLK_MAX_SECTORS;
	if (has(vb, VIRTIO_BLK_F_DISCARD) && !cfg32(vb, VIRTIO_BLK_CFG_MAX_DISCARD_SECT, &v))
		lim->max_discard_sectors = v;
	if (has(vb, VIRTIO_BLK_F_WRITE_ZEROES) && !cfg32(vb, VIRTIO_BLK_CFG_MAX_WZEROES_SECT, &v))
		lim->max_write_zeroes_sectors = v;
	/* Per device: any request may go to any queue, and each queue can hold them all. */
	lim->nr_requests =
	    vq_size(vb->vqs[0]) < BLK_MAX_REQUESTS ? vq_size(vb->vqs[0]) : BLK_MAX_REQUESTS;

	info->ops = (1u << BIO_OP_READ) | (1u << BIO_OP_WRITE) | (1u << BIO_OP_FLUSH) |
		    (1u << BIO_OP_GET_ID);
	if (lim->max_discard_sectors >= info->lbs / SECTOR_SIZE)
		info->ops |= 1u << BIO_OP_DISCARD;
	if (lim->max_write_zeroes_sectors >= info->lbs / SECTOR_SIZE)
		info->ops |= 1u << BIO_OP_WRITE_ZEROES;
	return 0;
}

/*
 * Gives up a disk before it registered, in one line naming it and the
 * reason. It still takes its name, so the disks after it keep theirs.
 */
static void vblk_refuse(struct virtio_dev *vdev, const struct blkdev_info *info, const char *why)
{
	char name[BLKDEV_NAME_MAX];

	blk_dev_take_name(name);
	/* A device the transport failed has had its line printed already. */
	if (!virtio_failed(vdev) && info)
		kprintf("%s: virtio-blk: %s refused: %s (capacity %llu sectors, "
			"%u-byte blocks)\n",
			vdev->where, name, why, (unsigned long long)info->capacity, info->lbs);
	else if (!virtio_failed(vdev))
		kprintf("%s: virtio-blk: %s not used: %s\n", vdev->where, name, why);
	virtio_abandon(vdev);
}

/*
 * How many request queues to use: one per CPU (or blk.queues), at most what
 * the device offers with MQ (one without), and VBLK_MAX_QUEUES.
 */
static unsigned int vblk_queue_count(struct vblk *vb)
{
	uint16_t offered = 1;
	unsigned int want = vblk_param_queues ? (unsigned int)vblk_param_queues : cpu_count();

	if (!has(vb, VIRTIO_BLK_F_MQ) ||
	    virtio_config_read(vb->vdev, VIRTIO_BLK_CFG_NUM_QUEUES, &offered, sizeof(offered)) ||
	    offered == 0)
		offered = 1;
	if (want > offered)
		want = offered;
	if (want > VBLK_MAX_QUEUES)
		want = VBLK_MAX_QUEUES;
	return want ? want : 1;
}

/*
 * Sets up the request queues and the CPU -> queue map. Queue 0 must come
 * up; a later one the device refuses as absent (-ENODEV) ends the list
 * there (the disk works with fewer). Other failures set FAILED.
 */
static int vblk_setup_queues(struct vblk *vb)
{
	unsigned int want = vblk_queue_count(vb);
	int err = 0;

	vb->nvqs = 0;
	for (unsigned int q = 0; q < want; q++) {
		err = virtio_setup_queue(vb->vdev, q, VBLK_QUEUE_SIZE, &vb->vqs[q]);
		if (err)
			break;
		vb->nvqs++;
	}
	if (vb->nvqs == 0 || (err && err != -ENODEV))
		return err ? err : -ENODEV;
	for (unsigned int c = 0; c < CPU_MAX; c++)
		vb->cpu_vq[c] = (uint8_t)blk_mq_queue_of(c, cpu_count(), vb->nvqs);
	return 0;
}

static int vblk_probe(struct virtio_dev *vdev)
{
	struct vblk *vb;
	struct blkdev_info info;
	const char *why = NULL;
	char route_line[96];
	unsigned int routed;
	int err;

	if (vblk_ndevs >= BLKDEV_MAX) {
		/* Left as it is (not even reset): the line says why it is not used. */
		char name[BLKDEV_NAME_MAX];
		blk_dev_take_name(name);
		kprintf("%s: virtio-blk: %s not used: the layer serves at most %u disks\n",
			vdev->where, name, BLKDEV_MAX);
		return -ENOSPC;
	}
	vb = &vblk_devs[vblk_ndevs];
	memset(vb, 0, sizeof(*vb));
	memset(&info, 0, sizeof(info));
	vb->vdev = vdev;

	err = virtio_init(vdev, VBLK_WANTED | (vblk_param_mq ? VBLK_WANTED_MQ : 0), 0,
			 &vb->features);
	if (err)
		goto err_refuse; /* the transport said why */
	err = vblk_setup_queues(vb);
	if (err) {
		why = "no usable queue";
		goto err_refuse;
	}
	err = vblk_read_config(vb, &info, &why);
	if (err) {
		if (err == -EINVAL) {
			vblk_refuse(vdev, &info, why);
			return err;
		}
		goto err_refuse;
	}
	err = dma_alloc(info.limits.nr_requests * sizeof(struct vblk_rqmem), 4096, &vb->rqmem_buf);
	if (err) {
		why = "no memory for the request headers";
		goto err_refuse;
	}
	vb->rqmem = vb->rqmem_buf.va;
	vb->bdev = blk_dev_register(&info, &vblk_ops, vb);
	if (!vb->bdev) {
		err = -ENOMEM;
		why = "no memory for the requests";
		goto err_free_rqmem;
	}
	vblk_ndevs++;
	why = "interrupt registration";
	err = virtio_request_irq(vdev, vblk_irq, vb);
	if (err)
		goto err_broken;
	routed = vblk_route_queue_irqs(vb, route_line, sizeof(route_line));
	why = "DRIVER_OK";
	err = virtio_driver_ok(vdev);
	if (err)
		goto err_broken;
	info = *blkdev_info(vb->bdev);
	kprintf("%s: virtio-blk, %llu sectors (%llu MiB), %u-byte blocks%s%s%s, features 0x%llx, "
		"%u queue%s\n",
		info.name, (unsigned long long)info.capacity,
		(unsigned long long)(info.capacity >> (20 - SECTOR_SHIFT)), info.lbs,
		info.ro ? ", read-only" : "", info.volatile_cache ? ", write-back cache" : "",
		vq_is_packed(vb->vqs[0]) ? ", packed ring" : "", (unsigned long long)vb->features,
		vb->nvqs, vb->nvqs == 1 ? "" : "s");
	if (routed)
		kprintf("%s: queue interrupts to CPUs%s\n", info.name, route_line);
	return 0;

err_broken : {
	/* Registered already (names are handed out for good): keep it, broken. */
	struct blk_done done = BLK_DONE_INIT;
	irqflags_t f = blk_lock(vb->bdev);
	blk_mark_broken_locked(vb->bdev, &done);
	blk_unlock(vb->bdev, f);
	kprintf("%s: virtio-blk not started: %s failed (%d); the disk is broken\n",
		blkdev_info(vb->bdev)->name, why, err);
	if (!virtio_failed(vdev))
		virtio_fail(vdev, "interrupt registration failed");
	return err;
}
err_free_rqmem:
	dma_free(&vb->rqmem_buf);
err_refuse:
	vblk_refuse(vdev, NULL, why ? why : "setup failed");
	return err;
}

int vblk_probe_all(void)
{
	struct virtio_dev *vdev;
	int found = 0;

	for (unsigned int n = 0; (vdev = virtio_find(VIRTIO_ID_BLOCK, n)) != NULL; n++) {
		if (vblk_probe(vdev) == 0)
			found++;
	}
	return found;
}

static int vblk_init(void)
{
	int n = vblk_probe_all();
	return n < 0 ? n : 0;
}
INITCALL(INIT_LEVEL_DEVICE, vblk_init);

#ifdef LEVBLK_HOST
/* Host tests only: forget the devices (the simulator's bus is reset with them). */
void vblk_host_reset(void);
void vblk_host_reset(void)
{
	for (unsigned int i = 0; i < vblk_ndevs; i++) {
		struct vblk *vb = &vblk_devs[i];
		virtio_free_irq(vb->vdev);
		/* Forget what the device still holds, then free its rings. */
		if (vblk_broken_queue(vb) < 0)
			virtio_reset(vb->vdev);
		for (unsigned int q = 0; q < vb->nvqs; q++) {
			while (vq_detach_unused(vb->vqs[q]))
				;
		}
		virtio_release(vb->vdev);
		dma_free(&vb->rqmem_buf);
	}
	vblk_ndevs = 0;
}
#endif
