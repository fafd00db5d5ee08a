/*
 * Packed virtqueue driver side (virtio 1.2 section 2.8), with indirect
 * descriptors (2.8.19) and event suppression (2.8.10, with and without
 * VIRTIO_F_EVENT_IDX). Layout and flag meanings: vring_packed.h.
 *
 * Invariants (read before changing):
 *  - next_avail/avail_wrap is where the next chain goes; last_used/used_wrap
 *    is where the device writes its next used descriptor. Both are ring
 *    positions in 0..size-1 (size need not be a power of two) with a wrap
 *    counter each, started at 1 and flipped when the position passes the end.
 *  - A chain takes `ndesc` consecutive slots from next_avail (1 when
 *    indirect) and one buffer id from the private free list id_next[]. The
 *    device hands it back with one used descriptor at last_used carrying the
 *    id, and the driver then skips ndesc slots: chain[id].ndesc says how
 *    many. So the slots from last_used up to next_avail are exactly those of
 *    the chains in flight, num_free = size - their descriptors, and every
 *    chain in flight has a free slot count behind it: the device's writes
 *    never overtake what the driver has not read.
 *  - While a chain is in flight, the slot at last_used was written by the
 *    driver in the current used lap, with AVAIL = used_wrap and USED the
 *    inverse; the device may only turn it into AVAIL = USED = used_wrap.
 *    Any other flag pair there is a device writing the wrong wrap bit.
 *  - chain[id].cookie is non-NULL exactly when buffer id is in flight. A
 *    used descriptor is accepted only for such an id (which also catches an
 *    id used twice) and a length within the chain's writable bytes.
 *  - The driver never trusts what it reads back from the ring beyond the
 *    used descriptor's flags, id and length, each checked before use.
 *  - Indirect tables are preallocated, one per buffer id: a chain uses the
 *    table of its id, which is not free again before the chain is.
 *  - Once broken, nothing more is read from the ring.
 */
#include <stddef.h>
#include <levblk/console.h>
#include <levblk/errno.h>
#include <levblk/hal/barrier.h>
#include <levblk/hal/dma.h>
#include <levblk/lib/string.h>
#include "virtqueue_packed.h"
#include "vring_packed.h"

struct vqp_chain {
	void *cookie;	   /* non-NULL while this buffer id is in flight */
	uint32_t in_bytes; /* device-writable bytes the chain offers */
	uint16_t ndesc;	   /* ring slots the chain holds (1 when indirect) */
};

enum vqp_state {
	VQP_LIVE,
	VQP_BROKEN, /* the device misbehaved */
	VQP_RESET,  /* the device was reset for recovery */
};

struct vq_packed {
	/* Shared with the device. */
	volatile struct vring_packed_desc *desc;
	volatile struct vring_packed_event *driver_event; /* ours: the device's interrupts */
	volatile struct vring_packed_event *device_event; /* the device's: our notifications */
	struct dma_buf ring_mem, indirect_mem, priv_mem;
	struct vring_packed_desc *indirect; /* size tables of indirect_segs entries */

	/* Private. */
	unsigned size;
	unsigned index;
	unsigned indirect_segs;
	bool event_idx;
	bool cb_enabled; /* the caller wants interrupts */
	enum vqp_state state;
	const char *broken_reason;
	uint16_t next_avail; /* slot of the next chain's first descriptor */
	bool avail_wrap;
	uint16_t last_used; /* slot of the next used descriptor */
	bool used_wrap;
	unsigned num_added;	    /* slots made available since the last kick_prepare */
	uint16_t event_flags;	    /* shadow of driver_event->flags (the driver owns it) */
	uint16_t free_id;	    /* head of the buffer id free list */
	unsigned num_free;	    /* free slots */
	unsigned in_flight;	    /* chains */
	uint16_t *id_next;	    /* buffer id free list links */
	struct vqp_chain *chain;    /* by buffer id */
	void (*notify)(void *arg, unsigned index);
	void *notify_arg;
	struct vq_stats st;
};

static void vqp_break(struct vq_packed *q, const char *why, uint32_t value);
static int vqp_peek_used(struct vq_packed *q);
static void vqp_reset_rings(struct vq_packed *q);
static void vqp_set_driver_event(struct vq_packed *q, uint16_t flags, uint16_t off_wrap);

int vqp_create(const struct vq_params *p, struct vq_packed **out)
{
	struct vring_packed_layout l;
	struct dma_buf priv;
	struct vq_packed *q;
	size_t priv_size;
	int err;

	if (!p || !out || !p->notify || !vring_packed_size_ok(p->size) ||
	    p->indirect_segs > VRING_PACKED_MAX_SIZE)
		return -EINVAL;

	priv_size = sizeof(*q) + sizeof(struct vqp_chain) * p->size + sizeof(uint16_t) * p->size;
	err = dma_alloc(priv_size, 4096, &priv);
	if (err)
		return err;
	q = priv.va;
	memset(q, 0, sizeof(*q));
	q->priv_mem = priv;
	q->chain = (struct vqp_chain *)(q + 1);
	q->id_next = (uint16_t *)(q->chain + p->size);
	q->size = p->size;
	q->index = p->index;
	q->event_idx = p->event_idx;
	q->notify = p->notify;
	q->notify_arg = p->notify_arg;

	l = vring_packed_layout(p->size);
	err = dma_alloc(l.size, 4096, &q->ring_mem);
	if (err)
		goto err_free_priv;
	q->desc = q->ring_mem.va;
	q->driver_event =
	    (volatile struct vring_packed_event *)((char *)q->ring_mem.va + l.driver_off);
	q->device_event =
	    (volatile struct vring_packed_event *)((char *)q->ring_mem.va + l.device_off);

	if (p->indirect_segs >= 2) {
		err = dma_alloc(sizeof(struct vring_packed_desc) * p->indirect_segs * p->size, 16,
				&q->indirect_mem);
		if (err)
			goto err_free_ring;
		q->indirect = q->indirect_mem.va;
		q->indirect_segs = p->indirect_segs;
	}
	vqp_reset_rings(q);
	*out = q;
	return 0;

err_free_ring:
	dma_free(&q->ring_mem);
err_free_priv:
	dma_free(&priv);
	return err;
}

void vqp_destroy(struct vq_packed *q)
{
	struct dma_buf priv;

	if (!q)
		return;
	if (q->indirect)
		dma_free(&q->indirect_mem);
	dma_free(&q->ring_mem);
	priv = q->priv_mem;
	dma_free(&priv);
}

/*
 * Fresh ring: every descriptor zero (AVAIL = USED = 0 reads as "used in the
 * lap before", 2.8.3), both wrap counters 1, all ids free. Only with nothing
 * in flight.
 */
static void vqp_reset_rings(struct vq_packed *q)
{
	memset(q->ring_mem.va, 0, q->ring_mem.size);
	for (unsigned i = 0; i < q->size; i++) {
		q->id_next[i] = (uint16_t)(i + 1 < q->size ? i + 1 : 0);
		q->chain[i].cookie = NULL;
	}
	q->free_id = 0;
	q->num_free = q->size;
	q->in_flight = 0;
	q->next_avail = 0;
	q->avail_wrap = true;
	q->last_used = 0;
	q->used_wrap = true;
	q->num_added = 0;
	q->event_flags = VRING_PACKED_EVENT_F_ENABLE;
	q->cb_enabled = true;
	q->state = VQP_LIVE;
	q->broken_reason = NULL;
}

uint64_t vqp_desc_bus(const struct vq_packed *q)
{
	return q->ring_mem.bus;
}

uint64_t vqp_driver_bus(const struct vq_packed *q)
{
	return q->ring_mem.bus + ((uintptr_t)q->driver_event - (uintptr_t)q->ring_mem.va);
}

uint64_t vqp_device_bus(const struct vq_packed *q)
{
	return q->ring_mem.bus + ((uintptr_t)q->device_event - (uintptr_t)q->ring_mem.va);
}

unsigned vqp_index(const struct vq_packed *q)
{
	return q->index;
}

void vqp_mark_reset(struct vq_packed *q)
{
	if (q->state == VQP_LIVE)
		q->state = VQP_RESET;
}

int vqp_reinit(struct vq_packed *q)
{
	if (q->in_flight)
		return -EBUSY;
	vqp_reset_rings(q);
	return 0;
}

static void vqp_break(struct vq_packed *q, const char *why, uint32_t value)
{
	if (q->state == VQP_BROKEN)
		return;
	q->state = VQP_BROKEN;
	q->broken_reason = why;
	q->st.violations++;
	kprintf("virtqueue %u (packed): device misbehaved: %s (%u); queue marked broken\n",
		q->index, why, value);
}

/* Descriptor flags of segment i of an n-segment chain whose first n_out the device reads. */
static uint16_t vqp_seg_flags(unsigned i, unsigned n_out, unsigned n)
{
	return (uint16_t)((i >= n_out ? VRING_DESC_F_WRITE : 0) |
			  (i + 1 < n ? VRING_DESC_F_NEXT : 0));
}

int vqp_add(struct vq_packed *q, void *cookie, const struct vq_sg *sg, unsigned n_out, unsigned n,
	    uint32_t in_bytes)
{
	uint16_t head = q->next_avail, head_flags = 0, id;
	bool indirect, wrap = q->avail_wrap;
	unsigned need, pos = head;

	if (q->state != VQP_LIVE)
		return -ENODEV;
	indirect = q->indirect && n >= 2;
	need = indirect ? 1 : n;
	if (q->num_free < need) {
		q->st.add_nospc++;
		return -ENOSPC;
	}
	/* Every chain in flight holds a slot, so num_free > 0 leaves an id free. */
	id = q->free_id;
	q->free_id = q->id_next[id];

	if (indirect) {
		/* The id's own table: free while the id is free (file-top invariant). The
		 * device reads it only after the head below is made available. */
		struct vring_packed_desc *t = &q->indirect[(size_t)id * q->indirect_segs];

		for (unsigned i = 0; i < n; i++) {
			t[i].addr = sg[i].bus;
			t[i].len = sg[i].len;
			t[i].id = 0; /* ignored by the device in an indirect table (2.8.19) */
			/* Table entries are consecutive: NEXT is not used there. */
			t[i].flags = (uint16_t)(i >= n_out ? VRING_DESC_F_WRITE : 0);
		}
		q->desc[pos].addr = q->indirect_mem.bus +
				    (uint64_t)id * q->indirect_segs * sizeof(struct vring_packed_desc);
		q->desc[pos].len = (uint32_t)(n * sizeof(struct vring_packed_desc));
		q->desc[pos].id = id;
		head_flags = (uint16_t)(VRING_DESC_F_INDIRECT | vring_packed_avail_flags(wrap));
		if (++pos >= q->size) {
			pos = 0;
			wrap = !wrap;
		}
		q->st.adds_indirect++;
	} else {
		for (unsigned i = 0; i < n; i++) {
			uint16_t f = (uint16_t)(vqp_seg_flags(i, n_out, n) |
						vring_packed_avail_flags(wrap));

			q->desc[pos].addr = sg[i].bus;
			q->desc[pos].len = sg[i].len;
			q->desc[pos].id = id; /* the device reads it from the last one (2.8.6) */
			if (i == 0)
				head_flags = f; /* published last, below */
			else
				q->desc[pos].flags = f;
			/* A chain may run past the end: the rest is in the next avail lap. */
			if (++pos >= q->size) {
				pos = 0;
				wrap = !wrap;
			}
		}
	}
	q->next_avail = (uint16_t)pos;
	q->avail_wrap = wrap;
	q->num_free -= need;
	q->num_added += need;
	q->chain[id].cookie = cookie;
	q->chain[id].in_bytes = in_bytes;
	q->chain[id].ndesc = (uint16_t)need;
	q->in_flight++;
	/*
	 * Every other descriptor of the chain (and the indirect table) must be
	 * visible before the head's flags make the whole chain available: the
	 * device reads the head's flags, then the rest. Pairs with the device's
	 * read barrier after it sees the head's AVAIL bit (2.8.21.1).
	 */
	vq_wmb();
	q->desc[head].flags = head_flags;
	q->st.adds++;
	return 0;
}

bool vqp_kick_prepare(struct vq_packed *q)
{
	uint16_t new_pos = q->next_avail, old;
	union {
		struct vring_packed_event ev;
		uint32_t word;
	} snap;
	bool kick;

	if (q->state != VQP_LIVE)
		return false;
	/*
	 * The head flags that made the chains available must be visible before
	 * we read the device's event suppression area; otherwise we could read
	 * a stale "don't notify" while the device, having already looked at the
	 * ring, goes to sleep. Pairs with the device's full barrier between
	 * writing its event area and re-reading the ring.
	 */
	vq_mb();
	/* One 32-bit read: offset and flags from the same device write. */
	snap.word = *(volatile uint32_t *)q->device_event;
	old = (uint16_t)(new_pos - q->num_added);
	if (q->num_added >= q->size) {
		kick = true; /* more than a lap since the last look: the event test cannot tell */
	} else if (snap.ev.flags == VRING_PACKED_EVENT_F_DESC) {
		/* The event position is in the lap of the counter it carries:
		 * compare on one line (vring_packed_need_event). */
		kick = vring_packed_need_event(snap.ev.off_wrap, q->avail_wrap, q->size, new_pos,
					       old);
	} else {
		kick = snap.ev.flags != VRING_PACKED_EVENT_F_DISABLE;
	}
	q->num_added = 0;
	if (kick)
		q->st.kicks++;
	else
		q->st.kicks_suppressed++;
	return kick;
}

void vqp_notify(struct vq_packed *q)
{
	/* The transport's MMIO write carries io_wmb: ring stores before the doorbell. */
	q->notify(q->notify_arg, q->index);
}

/*
 * Is the descriptor at last_used a used one? 1 yes, 0 not yet (or nothing
 * in flight, or the queue is not live), -1 after breaking the queue because
 * its flags are a pair the device may not write there (file-top invariant).
 */
static int vqp_peek_used(struct vq_packed *q)
{
	uint16_t flags;
	bool avail, used;

	if (q->state != VQP_LIVE || q->in_flight == 0)
		return 0;
	flags = q->desc[q->last_used].flags;
	avail = (flags & VRING_PACKED_DESC_F_AVAIL) != 0;
	used = (flags & VRING_PACKED_DESC_F_USED) != 0;
	if (avail == used && used == q->used_wrap)
		return 1;
	if (avail != used && avail == q->used_wrap)
		return 0; /* still as we wrote it: available, not yet used */
	vqp_break(q, "used descriptor with the wrong wrap bit", flags);
	return -1;
}

bool vqp_has_used(struct vq_packed *q)
{
	return vqp_peek_used(q) > 0;
}

bool vqp_irq_note(struct vq_packed *q, unsigned int n)
{
	bool work = vqp_has_used(q);

	q->st.irqs += n;
	if (work)
		q->st.irqs_with_work++;
	return work;
}

/*
 * Writes the driver event area. With an offset (flags DESC) the offset and
 * wrap go first: the device must never see DESC with a stale position.
 * Pairs with the device's read barrier between reading flags and off_wrap.
 */
static void vqp_set_driver_event(struct vq_packed *q, uint16_t flags, uint16_t off_wrap)
{
	if (flags == VRING_PACKED_EVENT_F_DESC) {
		q->driver_event->off_wrap = off_wrap;
		vq_wmb();
	}
	if (q->event_flags != flags) {
		q->driver_event->flags = flags;
		q->event_flags = flags;
	}
}

#ifdef LEVBLK_FAULT_INJECT
/* vq_fault_corrupt_used for the packed ring: the next used descriptor's id. */
bool vqp_fault_corrupt_used(struct vq_packed *q, uint32_t id)
{
	if (vqp_peek_used(q) <= 0)
		return false;
	vq_rmb(); /* as vqp_get_used: the descriptor after its flags said "used" */
	q->desc[q->last_used].id = (uint16_t)id;
	return true;
}
#endif

void *vqp_get_used(struct vq_packed *q, uint32_t *len)
{
	volatile struct vring_packed_desc *d;
	struct vqp_chain *c;
	uint32_t id, ulen;
	void *cookie;
	unsigned pos;

	if (vqp_peek_used(q) <= 0)
		return NULL;
	/*
	 * The flags said "used"; the id and length the device wrote before
	 * them must not be read earlier. Pairs with the device's write barrier
	 * between writing id/len and the flags.
	 */
	vq_rmb();
	d = &q->desc[q->last_used];
	id = d->id;
	ulen = d->len;
	if (id >= q->size) {
		vqp_break(q, "used id out of range", id);
		return NULL;
	}
	c = &q->chain[id];
	if (!c->cookie) {
		vqp_break(q, "used id is not a chain in flight", id);
		return NULL;
	}
	if (ulen > c->in_bytes) {
		vqp_break(q, "used len larger than the chain's writable bytes", ulen);
		return NULL;
	}
	cookie = c->cookie;
	c->cookie = NULL;
	q->num_free += c->ndesc;
	q->in_flight--;
	q->id_next[id] = q->free_id;
	q->free_id = (uint16_t)id;
	pos = q->last_used + c->ndesc;
	if (pos >= q->size) {
		pos -= q->size;
		q->used_wrap = !q->used_wrap;
	}
	q->last_used = (uint16_t)pos;
	q->st.used++;
	if (q->event_idx && q->cb_enabled && q->event_flags == VRING_PACKED_EVENT_F_DESC) {
		/*
		 * Ask for an interrupt at the next used descriptor. The store must
		 * be visible before our next look at the ring, or a completion
		 * landing in between would be neither seen nor signalled. Pairs
		 * with the device's full barrier between writing a used descriptor
		 * and reading our event area.
		 */
		q->driver_event->off_wrap = vring_packed_off_wrap(q->last_used, q->used_wrap);
		vq_mb();
	}
	if (len)
		*len = ulen;
	return cookie;
}

void vqp_disable_cb(struct vq_packed *q)
{
	/* No barrier: suppression is a hint, and a late interrupt is harmless. */
	q->cb_enabled = false;
	vqp_set_driver_event(q, VRING_PACKED_EVENT_F_DISABLE, 0);
}

/*
 * Arms the interrupt at `off_wrap` (event index) or on every used
 * descriptor, then re-checks: false when a used descriptor is already at
 * last_used. That re-check suffices also for a later event position: the
 * device writes used descriptors in ring order from last_used, so if it had
 * passed the event before seeing it, the slot at last_used would be used.
 */
__attribute__((noinline)) /* test/qemu/check_fences looks for its vq_mb by name */
static bool vqp_arm(struct vq_packed *q, uint16_t off_wrap)
{
	q->cb_enabled = true;
	if (q->state != VQP_LIVE)
		return true; /* nothing will come; the caller checks vq_is_broken */
	vqp_set_driver_event(q, q->event_idx ? VRING_PACKED_EVENT_F_DESC : VRING_PACKED_EVENT_F_ENABLE,
			     off_wrap);
	/*
	 * The request for interrupts must be visible before we look at the
	 * ring again: otherwise a completion landing in between is neither seen
	 * here nor signalled. Pairs with the device's full barrier between
	 * writing a used descriptor and reading our event area.
	 */
	vq_mb();
	if (vqp_peek_used(q) != 0) {
		q->st.cb_rechecks++;
		return false;
	}
	return true;
}

bool vqp_enable_cb(struct vq_packed *q)
{
	return vqp_arm(q, vring_packed_off_wrap(q->last_used, q->used_wrap));
}

bool vqp_enable_cb_delayed(struct vq_packed *q)
{
	/* Three quarters of the way through the slots in flight. */
	unsigned pos = q->last_used + (q->size - q->num_free) * 3 / 4;
	bool wrap = q->used_wrap;

	if (pos >= q->size) {
		pos -= q->size;
		wrap = !wrap;
	}
	return vqp_arm(q, vring_packed_off_wrap(pos, wrap));
}

void *vqp_detach_unused(struct vq_packed *q)
{
	if (q->state == VQP_LIVE)
		return NULL;
	/* The private shadow only; the ring is no longer trusted. */
	for (unsigned id = 0; id < q->size && q->in_flight; id++) {
		struct vqp_chain *c = &q->chain[id];
		void *cookie = c->cookie;

		if (cookie) {
			c->cookie = NULL;
			q->num_free += c->ndesc;
			q->in_flight--;
			q->id_next[id] = q->free_id;
			q->free_id = (uint16_t)id;
			return cookie;
		}
	}
	return NULL;
}

unsigned vqp_free_count(const struct vq_packed *q)
{
	return q->num_free;
}

unsigned vqp_size(const struct vq_packed *q)
{
	return q->size;
}

unsigned vqp_max_sg(const struct vq_packed *q)
{
	return q->indirect ? q->indirect_segs : q->size;
}

unsigned vqp_in_flight(const struct vq_packed *q)
{
	return q->in_flight;
}

bool vqp_is_broken(const struct vq_packed *q)
{
	return q->state != VQP_LIVE;
}

const char *vqp_broken_reason(const struct vq_packed *q)
{
	if (q->state == VQP_RESET)
		return "device reset";
	return q->broken_reason;
}

bool vqp_has_indirect(const struct vq_packed *q)
{
	return q->indirect != NULL;
}

bool vqp_has_event_idx(const struct vq_packed *q)
{
	return q->event_idx;
}

void vqp_get_stats(const struct vq_packed *q, struct vq_stats *out)
{
	*out = q->st;
}
