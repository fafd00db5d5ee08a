/*
 * Split virtqueue driver side (virtio 1.2 section 2.7), with indirect
 * descriptors (2.7.5.3) and the event index (2.7.7, 2.7.10).
 *
 * Invariants (read before changing):
 *  - avail_shadow and last_used are free-running 16-bit counters. They are
 *    compared by subtraction and masked with (size - 1) only where they
 *    subscript a ring.
 *  - The driver never reads the shared descriptor table back. Free
 *    descriptors form a private singly linked list in free_next[]. A chain
 *    takes descriptors from the head of that list in list order and leaves
 *    their free_next links untouched, so while it is in flight its
 *    descriptors are head, free_next[head], ... (ndesc of them, ending at
 *    `last`), and freeing it splices head..last back in front: O(1), without
 *    trusting memory the device can write.
 *  - chain[id].cookie is non-NULL exactly when id heads a chain in flight.
 *    A used entry is accepted only for such an id, which also catches a
 *    completion delivered twice.
 *  - Indirect tables are preallocated, one per descriptor id, and a chain
 *    uses the table of its head id: the table belongs to the chain until the
 *    chain is handed back, and it cannot be reused early because its head id
 *    is not free before then.
 *  - Once broken, nothing more is read from the used ring.
 */
#include <stddef.h>
#include <levblk/lib/string.h>
#include <levblk/errno.h>
#include <levblk/hal/barrier.h>
#include <levblk/console.h>
#include <levblk/hal/dma.h>
#include <levblk/virtio/virtqueue.h>
#include <levblk/init.h>
#include <levblk/virtio/virtio_spec.h>
#include "virtqueue_packed.h"
#include "virtqueue_private.h"
#include "vring.h"

/*
 * The ring formats the driver offers to use. The packed ring (2.8) is taken
 * whenever the device offers it, unless vq.packed=0 keeps the split ring.
 */
uint64_t vq_param_packed = 1;
PARAM_U64("vq.packed", vq_param_packed, 0, 1,
	  "use the packed ring when the device offers VIRTIO_F_RING_PACKED (0: split ring only)");

/* Private shadow of one chain, indexed by its head descriptor id. */
struct vq_chain {
	void *cookie;	   /* non-NULL while this id heads a chain in flight */
	uint32_t in_bytes; /* device-writable bytes the chain offers */
	uint16_t ndesc;	   /* ring descriptors the chain holds (1 when indirect) */
	uint16_t last;	   /* its last ring descriptor id */
};

enum vq_state {
	VQ_LIVE,
	VQ_BROKEN, /* the device misbehaved */
	VQ_RESET,  /* the device was reset for recovery */
};

struct virtqueue {
	/* Set for a packed ring: every call goes there and nothing below is used. */
	struct vq_packed *packed;

	/* Shared with the device. */
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	struct dma_buf ring_mem, indirect_mem, priv_mem;
	struct vring_desc *indirect; /* size tables of indirect_segs entries */

	/* Private. */
	unsigned size; /* power of two */
	unsigned index;
	unsigned indirect_segs;
	bool event_idx;
	bool cb_enabled; /* the caller wants interrupts */
	enum vq_state state;
	const char *broken_reason;
	uint16_t free_head;
	unsigned num_free;
	unsigned in_flight;
	uint16_t avail_shadow; /* next avail idx to publish */
	uint16_t kicked_avail; /* avail idx at the last kick_prepare */
	uint16_t last_used;    /* next used idx to consume */
	uint16_t avail_flags;  /* shadow of avail->flags (the driver owns it) */
	uint16_t *free_next;
	struct vq_chain *chain;
	void (*notify)(void *arg, unsigned index);
	void *notify_arg;
	struct vq_stats st;
};

static void vq_break(struct virtqueue *vq, const char *why, uint32_t value);
static void vq_free_chain(struct virtqueue *vq, uint16_t head);
static int vq_used_pending(struct virtqueue *vq);
static void vq_reset_rings(struct virtqueue *vq);

uint64_t vq_ring_features(void)
{
	return vq_param_packed ? VIRTIO_BIT(VIRTIO_F_RING_PACKED) : 0;
}

int vq_params_negotiated(struct vq_params *p, uint64_t driver_features, unsigned wanted, unsigned max)
{
	unsigned size = wanted;

	p->packed = (driver_features & VIRTIO_BIT(VIRTIO_F_RING_PACKED)) != 0;
	if (p->packed)
		size = size > max ? max : size;
	while (!p->packed && size > max)
		size >>= 1;
	if (size < 2)
		return -EIO;
	p->size = size;
	p->event_idx = (driver_features & VIRTIO_BIT(VIRTIO_F_EVENT_IDX)) != 0;
	p->indirect_segs = (driver_features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)) != 0 ?
				   (unsigned)vmmio_indirect_segs : 0;
	return 0;
}

/* A packed queue: a bare handle whose calls all go to virtqueue_packed.c. */
static int vq_create_packed(const struct vq_params *p, struct virtqueue **out)
{
	struct dma_buf priv;
	struct virtqueue *vq;
	int err;

	err = dma_alloc(sizeof(*vq), 4096, &priv);
	if (err)
		return err;
	vq = priv.va;
	memset(vq, 0, sizeof(*vq));
	vq->priv_mem = priv;
	err = vqp_create(p, &vq->packed);
	if (err) {
		dma_free(&priv);
		return err;
	}
	*out = vq;
	return 0;
}

int vq_create(const struct vq_params *p, struct virtqueue **out)
{
	struct vring_layout l;
	struct dma_buf priv;
	struct virtqueue *vq;
	size_t priv_size;
	int err;

	if (p && out && p->packed)
		return vq_create_packed(p, out);
	if (!p || !out || !p->notify || !vring_size_ok(p->size) ||
	    p->indirect_segs > VRING_MAX_SIZE)
		return -EINVAL;

	priv_size = sizeof(*vq) + sizeof(struct vq_chain) * p->size + sizeof(uint16_t) * p->size;
	err = dma_alloc(priv_size, 4096, &priv);
	if (err)
		return err;
	vq = priv.va;
	memset(vq, 0, sizeof(*vq));
	vq->priv_mem = priv;
	vq->chain = (struct vq_chain *)(vq + 1);
	vq->free_next = (uint16_t *)(vq->chain + p->size);
	vq->size = p->size;
	vq->index = p->index;
	vq->event_idx = p->event_idx;
	vq->notify = p->notify;
	vq->notify_arg = p->notify_arg;

	l = vring_layout(p->size);
	err = dma_alloc(l.size, VRING_LEGACY_ALIGN, &vq->ring_mem);
	if (err)
		goto err_free_priv;
	vq->desc = vq->ring_mem.va;
	vq->avail = (volatile struct vring_avail *)((char *)vq->ring_mem.va + l.avail_off);
	vq->used = (volatile struct vring_used *)((char *)vq->ring_mem.va + l.used_off);

	if (p->indirect_segs >= 2) {
		err = dma_alloc(sizeof(struct vring_desc) * p->indirect_segs * p->size, 16,
				&vq->indirect_mem);
		if (err)
			goto err_free_ring;
		vq->indirect = vq->indirect_mem.va;
		vq->indirect_segs = p->indirect_segs;
	}
	vq_reset_rings(vq);
	*out = vq;
	return 0;

err_free_ring:
	dma_free(&vq->ring_mem);
err_free_priv:
	dma_free(&priv);
	return err;
}

void vq_destroy(struct virtqueue *vq)
{
	struct dma_buf priv;

	if (!vq)
		return;
	if (vq->packed) {
		vqp_destroy(vq->packed);
		priv = vq->priv_mem;
		dma_free(&priv);
		return;
	}
	if (vq->indirect)
		dma_free(&vq->indirect_mem);
	dma_free(&vq->ring_mem);
	priv = vq->priv_mem;
	dma_free(&priv);
}

/* Fresh rings and indices; all descriptors free. Only with nothing in flight. */
static void vq_reset_rings(struct virtqueue *vq)
{
	memset(vq->ring_mem.va, 0, vq->ring_mem.size);
	for (unsigned i = 0; i < vq->size; i++) {
		vq->free_next[i] = (uint16_t)((i + 1) & (vq->size - 1));
		vq->chain[i].cookie = NULL;
	}
	vq->free_head = 0;
	vq->num_free = vq->size;
	vq->in_flight = 0;
	vq->avail_shadow = 0;
	vq->kicked_avail = 0;
	vq->last_used = 0;
	vq->avail_flags = 0;
	vq->cb_enabled = true;
	vq->state = VQ_LIVE;
	vq->broken_reason = NULL;
}

uint64_t vq_desc_bus(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_desc_bus(vq->packed);
	return vq->ring_mem.bus;
}

uint64_t vq_avail_bus(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_driver_bus(vq->packed);
	return vq->ring_mem.bus + ((uintptr_t)vq->avail - (uintptr_t)vq->ring_mem.va);
}

uint64_t vq_used_bus(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_device_bus(vq->packed);
	return vq->ring_mem.bus + ((uintptr_t)vq->used - (uintptr_t)vq->ring_mem.va);
}

unsigned vq_index(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_index(vq->packed);
	return vq->index;
}

void vq_mark_reset(struct virtqueue *vq)
{
	if (vq->packed) {
		vqp_mark_reset(vq->packed);
		return;
	}
	if (vq->state == VQ_LIVE)
		vq->state = VQ_RESET;
}

int vq_reinit(struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_reinit(vq->packed);
	if (vq->in_flight)
		return -EBUSY;
	vq_reset_rings(vq);
	return 0;
}

static void vq_break(struct virtqueue *vq, const char *why, uint32_t value)
{
	if (vq->state == VQ_BROKEN)
		return;
	vq->state = VQ_BROKEN;
	vq->broken_reason = why;
	vq->st.violations++;
	kprintf("virtqueue %u: device misbehaved: %s (%u); queue marked broken\n", vq->index, why,
		value);
}

/* Writes one descriptor of the shared table or of an indirect table. */
static void vq_set_desc(volatile struct vring_desc *d, const struct vq_sg *sg, uint16_t flags,
			uint16_t next)
{
	d->addr = sg->bus;
	d->len = sg->len;
	d->flags = flags;
	d->next = next;
}

/* Flags of segment i of an n-segment chain whose first n_out segments the device reads. */
static uint16_t vq_seg_flags(unsigned i, unsigned n_out, unsigned n)
{
	return (uint16_t)((i >= n_out ? VRING_DESC_F_WRITE : 0) |
			  (i + 1 < n ? VRING_DESC_F_NEXT : 0));
}

int vq_add(struct virtqueue *vq, void *cookie, const struct vq_sg *sg, unsigned n_out,
	   unsigned n_in)
{
	unsigned n = n_out + n_in;
	uint32_t in_bytes = 0;
	bool indirect;
	unsigned need;
	uint16_t head, id, last;

	if (!vq || !cookie || !sg || n == 0 || n < n_out || n > vq_max_sg(vq))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (sg[i].len == 0)
			return -EINVAL;
		if (i >= n_out) {
			if (in_bytes + sg[i].len < in_bytes)
				return -EINVAL; /* more than 4 GiB writable: not a chain we make */
			in_bytes += sg[i].len;
		}
	}
	if (vq->packed)
		return vqp_add(vq->packed, cookie, sg, n_out, n, in_bytes);
	if (vq->state != VQ_LIVE)
		return -ENODEV;

	indirect = vq->indirect && n >= 2;
	need = indirect ? 1 : n;
	if (vq->num_free < need) {
		vq->st.add_nospc++;
		return -ENOSPC;
	}

	head = vq->free_head;
	if (indirect) {
		/* The head's own table: free while the head id is free (file-top invariant). */
		struct vring_desc *t = &vq->indirect[(size_t)head * vq->indirect_segs];
		struct vq_sg tsg;

		for (unsigned i = 0; i < n; i++)
			vq_set_desc(&t[i], &sg[i], vq_seg_flags(i, n_out, n),
				    (uint16_t)(i + 1 < n ? i + 1 : 0));
		tsg.bus = vq->indirect_mem.bus +
			  (uint64_t)head * vq->indirect_segs * sizeof(struct vring_desc);
		tsg.len = (uint32_t)(n * sizeof(struct vring_desc));
		vq_set_desc(&vq->desc[head], &tsg, VRING_DESC_F_INDIRECT, 0);
		last = head;
		vq->st.adds_indirect++;
	} else {
		id = head;
		for (unsigned i = 0; i < n; i++) {
			uint16_t next = vq->free_next[id];

			vq_set_desc(&vq->desc[id], &sg[i], vq_seg_flags(i, n_out, n),
				    (uint16_t)(i + 1 < n ? next : 0));
			last = id;
			id = next;
		}
	}
	vq->free_head = vq->free_next[last];
	vq->num_free -= need;
	vq->chain[head].cookie = cookie;
	vq->chain[head].in_bytes = in_bytes;
	vq->chain[head].ndesc = (uint16_t)need;
	vq->chain[head].last = last;
	vq->in_flight++;

	vq->avail->ring[vq->avail_shadow & (vq->size - 1)] = head;
	vq->avail_shadow++;
	/*
	 * The descriptors (and indirect table) and the avail ring entry must be
	 * visible before the new avail->idx: the device reads idx, then the
	 * entry. Pairs with the device's read barrier after reading avail->idx.
	 */
	vq_wmb();
	vq->avail->idx = vq->avail_shadow;
	vq->st.adds++;
	return 0;
}

bool vq_kick_prepare(struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_kick_prepare(vq->packed);
	uint16_t old = vq->kicked_avail, new_idx = vq->avail_shadow;
	bool kick;

	if (vq->state != VQ_LIVE)
		return false;
	/*
	 * The avail->idx store must be visible before we read avail_event or
	 * used->flags; otherwise we could read a stale "don't notify" while the
	 * device, having already checked avail->idx, goes to sleep. Pairs with
	 * the device's full barrier between writing avail_event/flags and
	 * re-reading avail->idx.
	 */
	vq_mb();
	vq->kicked_avail = new_idx;
	if (vq->event_idx)
		kick = vring_need_event(*vring_avail_event(vq->used, vq->size), new_idx, old);
	else
		kick = !(vq->used->flags & VRING_USED_F_NO_NOTIFY);
	if (kick)
		vq->st.kicks++;
	else
		vq->st.kicks_suppressed++;
	return kick;
}

void vq_notify(struct virtqueue *vq)
{
	if (vq->packed) {
		vqp_notify(vq->packed);
		return;
	}
	/* The transport writes QueueNotify with mmio_write32, whose io_wmb orders
	 * our ring stores before the doorbell. */
	vq->notify(vq->notify_arg, vq->index);
}

/*
 * Validates the used index: returns the number of entries waiting (0 when
 * none), or -1 after breaking the queue because the device claims more than
 * the queue could hold.
 */
static int vq_used_pending(struct virtqueue *vq)
{
	uint16_t used_idx, pending;

	if (vq->state != VQ_LIVE)
		return 0;
	used_idx = vq->used->idx;
	pending = (uint16_t)(used_idx - vq->last_used);
	if (pending > vq->in_flight) {
		/* More completions than chains in flight: covers both a jump past
		 * the queue size and an index moving backwards. */
		vq_break(vq, "used idx advanced past the chains in flight", pending);
		return -1;
	}
	return pending;
}

bool vq_has_used(struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_has_used(vq->packed);
	return vq_used_pending(vq) > 0;
}

bool vq_irq_note(struct virtqueue *vq, unsigned int n)
{
	if (vq->packed)
		return vqp_irq_note(vq->packed, n);
	bool work = vq_has_used(vq);

	vq->st.irqs += n;
	if (work)
		vq->st.irqs_with_work++;
	return work;
}

static void vq_free_chain(struct virtqueue *vq, uint16_t head)
{
	struct vq_chain *c = &vq->chain[head];

	vq->free_next[c->last] = vq->free_head;
	vq->free_head = head;
	vq->num_free += c->ndesc;
	vq->in_flight--;
	c->cookie = NULL;
}

void *vq_get_used(struct virtqueue *vq, uint32_t *len)
{
	if (vq->packed)
		return vqp_get_used(vq->packed, len);
	volatile struct vring_used_elem *e;
	uint32_t id, ulen;
	void *cookie;

	if (vq_used_pending(vq) <= 0)
		return NULL;
	/*
	 * used->idx was read before the entry it covers: the device writes the
	 * entry, then (after its write barrier) the index. Pairs with that
	 * device-side write barrier.
	 */
	vq_rmb();
	e = &vq->used->ring[vq->last_used & (vq->size - 1)];
	id = e->id;
	ulen = e->len;
	if (id >= vq->size) {
		vq_break(vq, "used id out of range", id);
		return NULL;
	}
	if (!vq->chain[id].cookie) {
		vq_break(vq, "used id is not a chain in flight", id);
		return NULL;
	}
	if (ulen > vq->chain[id].in_bytes) {
		vq_break(vq, "used len larger than the chain's writable bytes", ulen);
		return NULL;
	}
	cookie = vq->chain[id].cookie;
	vq_free_chain(vq, (uint16_t)id);
	vq->last_used++;
	vq->st.used++;
	if (vq->event_idx && vq->cb_enabled) {
		/*
		 * Ask for an interrupt at the next completion. The store must be
		 * visible before our next read of used->idx, or a completion
		 * landing in between would be neither seen nor signalled. Pairs
		 * with the device's full barrier between writing used->idx and
		 * reading used_event.
		 */
		*vring_used_event(vq->avail, vq->size) = vq->last_used;
		vq_mb();
	}
	if (len)
		*len = ulen;
	return cookie;
}

#ifdef LEVBLK_FAULT_INJECT
/*
 * The test kernel only: plays a hostile device by overwriting the id of
 * the next used entry (one the device has published) with `id`. Queue's
 * lock held. False if no entry is waiting.
 */
bool vq_fault_corrupt_used(struct virtqueue *vq, uint32_t id)
{
	if (vq->packed)
		return vqp_fault_corrupt_used(vq->packed, id);
	if (vq_used_pending(vq) <= 0)
		return false;
	vq_rmb(); /* as vq_get_used: the entry after the index that covers it */
	vq->used->ring[vq->last_used & (vq->size - 1)].id = id;
	return true;
}
#endif

void vq_disable_cb(struct virtqueue *vq)
{
	if (vq->packed) {
		vqp_disable_cb(vq->packed);
		return;
	}
	/* No barrier: suppression is a hint, and a late interrupt is harmless. */
	vq->cb_enabled = false;
	if (vq->event_idx) {
		/* Spec 2.7.7: with event index the flags must stay 0; park
		 * used_event half the index space away instead. */
		*vring_used_event(vq->avail, vq->size) = (uint16_t)(vq->last_used + 0x8000U);
	} else {
		vq->avail_flags |= VRING_AVAIL_F_NO_INTERRUPT;
		vq->avail->flags = vq->avail_flags;
	}
}

/*
 * Split ring: used_event three quarters of the way through the chains in
 * flight (as Linux's virtqueue_enable_cb_delayed). The re-check compares
 * the used index with that point: a device that already went past it before
 * our store was visible would not signal, so we must drain now.
 */
bool vq_enable_cb_delayed(struct virtqueue *vq)
{
	uint16_t bufs, used_idx;

	if (vq->packed)
		return vqp_enable_cb_delayed(vq->packed);
	if (!vq->event_idx || vq->state != VQ_LIVE)
		return vq_enable_cb(vq);
	vq->cb_enabled = true;
	bufs = (uint16_t)((uint16_t)(vq->avail_shadow - vq->last_used) * 3 / 4);
	*vring_used_event(vq->avail, vq->size) = (uint16_t)(vq->last_used + bufs);
	/*
	 * used_event must be visible before we re-read used->idx. Pairs with
	 * the device's full barrier between writing used->idx and reading
	 * used_event.
	 */
	vq_mb();
	used_idx = vq->used->idx;
	if ((uint16_t)(used_idx - vq->last_used) > bufs) {
		vq->st.cb_rechecks++;
		return false;
	}
	return true;
}

bool vq_enable_cb(struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_enable_cb(vq->packed);
	uint16_t used_idx;

	vq->cb_enabled = true;
	if (vq->state != VQ_LIVE)
		return true; /* nothing will come; the caller checks vq_is_broken */
	if (vq->event_idx) {
		*vring_used_event(vq->avail, vq->size) = vq->last_used;
	} else {
		vq->avail_flags &= (uint16_t)~VRING_AVAIL_F_NO_INTERRUPT;
		vq->avail->flags = vq->avail_flags;
	}
	/*
	 * The request for interrupts must be visible before we re-read
	 * used->idx: otherwise a completion landing in between is neither seen
	 * here nor signalled. Pairs with the device's full barrier between
	 * writing used->idx and reading used_event/flags.
	 */
	vq_mb();
	used_idx = vq->used->idx;
	if (used_idx != vq->last_used) {
		vq->st.cb_rechecks++;
		return false;
	}
	return true;
}

unsigned vq_free_count(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_free_count(vq->packed);
	return vq->num_free;
}

unsigned vq_size(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_size(vq->packed);
	return vq->size;
}

unsigned vq_max_sg(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_max_sg(vq->packed);
	return vq->indirect ? vq->indirect_segs : vq->size;
}

unsigned vq_in_flight(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_in_flight(vq->packed);
	return vq->in_flight;
}

bool vq_is_broken(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_is_broken(vq->packed);
	return vq->state != VQ_LIVE;
}

const char *vq_broken_reason(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_broken_reason(vq->packed);
	if (vq->state == VQ_RESET)
		return "device reset";
	return vq->broken_reason;
}

bool vq_has_indirect(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_has_indirect(vq->packed);
	return vq->indirect != NULL;
}

bool vq_has_event_idx(const struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_has_event_idx(vq->packed);
	return vq->event_idx;
}

bool vq_is_packed(const struct virtqueue *vq)
{
	return vq->packed != NULL;
}

void *vq_detach_unused(struct virtqueue *vq)
{
	if (vq->packed)
		return vqp_detach_unused(vq->packed);
	if (vq->state == VQ_LIVE)
		return NULL;
	/* Scan the private shadow only; the rings are no longer trusted. */
	for (unsigned id = 0; id < vq->size && vq->in_flight; id++) {
		void *cookie = vq->chain[id].cookie;

		if (cookie) {
			vq_free_chain(vq, (uint16_t)id);
			return cookie;
		}
	}
	return NULL;
}

void vq_get_stats(const struct virtqueue *vq, struct vq_stats *out)
{
	if (vq->packed) {
		vqp_get_stats(vq->packed, out);
		return;
	}
	*out = vq->st;
}
