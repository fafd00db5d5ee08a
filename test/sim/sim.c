/*
 * The simulated virtio-mmio bus and virtio-blk device (see sim.h for the
 * contract). The device side of the rings is written from the virtio 1.2
 * specification (2.7, 4.2, 5.2), independently of src/virtio, so that the
 * two sides check each other.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/mmio.h>
#include <levblk/virtio/virtio_mmio.h>
#include "sim/sim.h"
#include "sim/sim_private.h"
#include "virtio/vmmio_regs.h"
#include "virtio/vring.h"
#include "virtio/vring_packed.h"

/* virtio-blk request format (5.2.6). */
#define BLK_T_IN	   0U
#define BLK_T_OUT	   1U
#define BLK_T_FLUSH	   4U
#define BLK_T_GET_ID	   8U
#define BLK_T_DISCARD	   11U
#define BLK_T_WRITE_ZEROES 13U
#define BLK_S_OK	   0U
#define BLK_S_IOERR	   1U
#define BLK_S_UNSUPP	   2U
#define BLK_HDR_BYTES	   16U
#define BLK_ID_BYTES	   20U
#define SECTOR		   512U

/* virtio-blk configuration layout (5.2.4), byte offsets. */
#define CFG_CAPACITY	    0
#define CFG_SIZE_MAX	    8
#define CFG_SEG_MAX	    12
#define CFG_BLK_SIZE	    20
#define CFG_WRITEBACK	    32
#define CFG_NUM_QUEUES	    34
#define CFG_MAX_DISCARD	    36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGN   44
#define CFG_MAX_WZ	    48
#define CFG_MAX_WZ_SEG	    52
#define CFG_BYTES	    (SIM_SLOT_SIZE - VMMIO_CONFIG) /* the whole window past the registers */

#define SIM_VENDOR	    0x554d4551U /* "QEMU" */
/* Handler re-entries for one level-high line before we give up (autocomplete re-raises it). */
#define SIM_MAX_LEVEL_LOOPS 4096

struct sim_seg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

struct sim_req {
	unsigned qi;	/* the queue it came from */
	uint16_t head;	/* split: the head descriptor; packed: the buffer id */
	unsigned ndesc; /* packed: ring slots the chain took */
	bool indirect;
	unsigned nseg;
	struct sim_seg *seg;
};

struct sim_queue {
	uint32_t num;
	uint32_t align;
	uint32_t pfn;
	uint32_t ready;
	uint64_t desc_addr, driver_addr, device_addr;
	bool live;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	/* Packed ring (2.8): positions 0..num-1 and wrap counters, and free-running
	 * counts of slots handed back and of those covered by an interrupt decision. */
	bool packed;
	uint16_t avail_pos, used_pos;
	bool avail_wrap, used_wrap;
	uint32_t used_total, signalled_total;
};

struct sim_dev {
	unsigned slot;
	uint32_t device_id;
	unsigned version;
	struct sim_blk_cfg cfg;
	uint64_t offered;
	uint32_t drv_feat[2];
	uint32_t dev_feat_sel, drv_feat_sel;
	uint8_t status;
	uint32_t guest_page_size;
	uint32_t queue_sel;
	unsigned nq; /* request queues: cfg.num_queues, at least 1 */
	struct sim_queue q[SIM_MAX_QUEUES];
	uint32_t int_status;
	uint32_t generation;
	uint8_t config[CFG_BYTES];
	uint8_t *disk;
	struct sim_req **pending;
	unsigned npending;
	enum sim_hostile hostile;
	uint32_t hostile_value; /* SIM_HOSTILE_STATUS_VALUE / SIM_HOSTILE_LEN_VALUE */
	bool autocomplete, deferred;
	uint64_t io_error_sector;
	sim_seg_hook_t seg_hook;
	void *seg_hook_ctx;
	struct sim_stats st;
	struct sim_wire last; /* the last request executed, as it came on the wire */
	uint8_t id[BLK_ID_BYTES]; /* what GET_ID returns */
	char last_error[160];
};

static struct sim_dev *sim_slot_dev[SIM_NSLOTS];
static struct dt_virtio_mmio sim_dt[SIM_NSLOTS];
static unsigned sim_next_slot = SIM_NSLOTS;
static uint64_t sim_rng = 0x9e3779b97f4a7c15ULL;

static void sim_driver_error(struct sim_dev *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sim_driver_error(struct sim_dev *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->last_error, sizeof(d->last_error), fmt, ap);
	va_end(ap);
	d->st.driver_errors++;
}

static uint64_t sim_rand(void)
{
	sim_rng ^= sim_rng << 13;
	sim_rng ^= sim_rng >> 7;
	sim_rng ^= sim_rng << 17;
	return sim_rng;
}

void sim_set_seg_hook(struct sim_dev *d, sim_seg_hook_t fn, void *ctx)
{
	d->seg_hook = fn;
	d->seg_hook_ctx = ctx;
}

void sim_seed(uint64_t seed)
{
	sim_rng = seed ? seed : 1;
}

void sim_blk_cfg_default(struct sim_blk_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->version = 2;
	cfg->capacity = 2048;
	cfg->blk_size = 512;
	cfg->seg_max = 254;
	cfg->flush = cfg->config_wce = cfg->discard = cfg->write_zeroes = true;
	cfg->indirect = cfg->event_idx = true;
	cfg->queue_num_max = 1024;
}

static void sim_free_req(struct sim_req *r)
{
	free(r->seg);
	free(r);
}

static void sim_drop_pending(struct sim_dev *d)
{
	for (unsigned i = 0; i < d->npending; i++)
		sim_free_req(d->pending[i]);
	d->npending = 0;
}

void sim_reset_bus(void)
{
	for (unsigned s = 0; s < SIM_NSLOTS; s++) {
		struct sim_dev *d = sim_slot_dev[s];

		if (d) {
			sim_drop_pending(d);
			free(d->pending);
			free(d->disk);
			free(d);
		}
		sim_slot_dev[s] = NULL;
	}
	sim_next_slot = SIM_NSLOTS;
	sim_irq_reset();
}

static void sim_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void sim_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static struct sim_dev *sim_add(uint32_t device_id, unsigned version)
{
	struct sim_dev *d;

	if (sim_next_slot == 0)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		abort();
	d->slot = --sim_next_slot;
	d->device_id = device_id;
	d->version = version;
	d->io_error_sector = UINT64_MAX;
	sim_slot_dev[d->slot] = d;
	return d;
}

struct sim_dev *sim_add_blk(const struct sim_blk_cfg *cfg)
{
	struct sim_dev *d = sim_add(VIRTIO_ID_BLOCK, cfg->version);

	if (!d)
		return NULL;
	d->cfg = *cfg;
	d->disk = calloc(cfg->capacity ? cfg->capacity : 1, SECTOR);
	d->pending = calloc(cfg->queue_num_max ? cfg->queue_num_max : 1, sizeof(*d->pending));
	sim_set_id(d, "levblk-sim", sizeof("levblk-sim") - 1);
	if (!d->disk || !d->pending)
		abort();
	if (cfg->size_max)
		d->offered |= VIRTIO_BIT(SIM_BLK_F_SIZE_MAX);
	if (cfg->seg_max)
		d->offered |= VIRTIO_BIT(SIM_BLK_F_SEG_MAX);
	if (cfg->blk_size)
		d->offered |= VIRTIO_BIT(SIM_BLK_F_BLK_SIZE);
	if (cfg->ro)
		d->offered |= VIRTIO_BIT(SIM_BLK_F_RO);
	if (cfg->flush)
		d->offered |= VIRTIO_BIT(SIM_BLK_F_FLUSH);
	if (cfg->config_wce)
		d->offered |= VIRTIO_BIT(SIM_BLK_F_CONFIG_WCE);
	if (cfg->discard)
		d->offered |= VIRTIO_BIT(SIM_BLK_F_DISCARD);
	if (cfg->write_zeroes)
		d->offered |= VIRTIO_BIT(SIM_BLK_F_WRITE_ZEROES);
	if (cfg->indirect)
		d->offered |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (cfg->event_idx)
		d->offered |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (cfg->packed && cfg->version == 2)
		d->offered |= VIRTIO_BIT(VIRTIO_F_RING_PACKED);
	if ((cfg->version == 2 && !cfg->omit_version_1) ||
	    (cfg->version == 1 && cfg->offer_version_1_legacy))
		d->offered |= VIRTIO_BIT(VIRTIO_F_VERSION_1);

	sim_put64(&d->config[CFG_CAPACITY], cfg->capacity);
	sim_put32(&d->config[CFG_SIZE_MAX], cfg->size_max);
	sim_put32(&d->config[CFG_SEG_MAX], cfg->seg_max);
	sim_put32(&d->config[CFG_BLK_SIZE], cfg->blk_size ? cfg->blk_size : SECTOR);
	d->config[CFG_WRITEBACK] = cfg->flush ? 1 : 0;
	sim_put32(&d->config[CFG_MAX_DISCARD], 4194303);
	sim_put32(&d->config[CFG_MAX_DISCARD_SEG], 1);
	sim_put32(&d->config[CFG_DISCARD_ALIGN], (cfg->blk_size ? cfg->blk_size : SECTOR) / SECTOR);
	sim_put32(&d->config[CFG_MAX_WZ], 4194303);
	sim_put32(&d->config[CFG_MAX_WZ_SEG], 1);
	d->nq = cfg->num_queues > 1 ? cfg->num_queues : 1;
	if (d->nq > SIM_MAX_QUEUES)
		abort(); /* a test bug */
	if (cfg->num_queues > 1)
		d->offered |= VIRTIO_BIT(SIM_BLK_F_MQ);
	d->config[CFG_NUM_QUEUES] = (uint8_t)d->nq;
	d->config[CFG_NUM_QUEUES + 1] = (uint8_t)(d->nq >> 8);
	return d;
}

struct sim_dev *sim_add_other(uint32_t device_id, unsigned version)
{
	struct sim_dev *d = sim_add(device_id, version);

	if (d && version == 2)
		d->offered = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	return d;
}

const struct dt_virtio_mmio *sim_slots(unsigned *n)
{
	for (unsigned s = 0; s < SIM_NSLOTS; s++) {
		sim_dt[s].base = SIM_MMIO_BASE + (uint64_t)s * SIM_SLOT_SIZE;
		sim_dt[s].size = SIM_SLOT_SIZE;
		sim_dt[s].intid = SIM_INTID_BASE + s;
	}
	*n = SIM_NSLOTS;
	return sim_dt;
}

uint8_t *sim_blk_data(struct sim_dev *d)
{
	return d->disk;
}

uint32_t sim_intid(const struct sim_dev *d)
{
	return SIM_INTID_BASE + d->slot;
}

uintptr_t sim_base(const struct sim_dev *d)
{
	return SIM_MMIO_BASE + (uintptr_t)d->slot * SIM_SLOT_SIZE;
}

uint8_t sim_status(const struct sim_dev *d)
{
	return d->status;
}

unsigned sim_pending(const struct sim_dev *d)
{
	return d->npending;
}

unsigned sim_pending_queue(const struct sim_dev *d, unsigned qi)
{
	unsigned n = 0;

	for (unsigned i = 0; i < d->npending; i++)
		n += d->pending[i]->qi == qi;
	return n;
}

unsigned sim_queues(const struct sim_dev *d)
{
	return d->nq;
}

unsigned sim_queues_ready(const struct sim_dev *d)
{
	unsigned n = 0;

	/* Modern: QueueReady; legacy: a non-zero QueuePFN is the setup. */
	for (unsigned i = 0; i < d->nq; i++)
		n += d->q[i].ready != 0 || d->q[i].pfn != 0;
	return n;
}

void sim_set_reset_hangs(struct sim_dev *d, bool on)
{
	d->cfg.reset_never_completes = on;
}

void sim_set_hostile(struct sim_dev *d, enum sim_hostile mode)
{
	d->hostile = mode;
}

void sim_set_hostile_value(struct sim_dev *d, enum sim_hostile mode, uint32_t value)
{
	d->hostile = mode;
	d->hostile_value = value;
}

void sim_set_io_error(struct sim_dev *d, uint64_t sector)
{
	d->io_error_sector = sector;
}

void sim_set_autocomplete(struct sim_dev *d, bool on)
{
	d->autocomplete = on;
}

void sim_set_deferred_fetch(struct sim_dev *d, bool on)
{
	d->deferred = on;
}

void sim_last_wire(const struct sim_dev *d, struct sim_wire *out)
{
	*out = d->last;
}

void sim_set_id(struct sim_dev *d, const void *id, unsigned len)
{
	memset(d->id, 0, sizeof(d->id));
	memcpy(d->id, id, len < sizeof(d->id) ? len : sizeof(d->id));
}

void sim_get_stats(const struct sim_dev *d, struct sim_stats *out)
{
	*out = d->st;
}

const char *sim_last_error(const struct sim_dev *d)
{
	return d->last_error;
}

/* ---- the rings, device side ---- */

static volatile struct vring_desc *sim_desc(struct sim_queue *q)
{
	return (volatile struct vring_desc *)(uintptr_t)q->desc_addr;
}

static volatile struct vring_avail *sim_avail(struct sim_queue *q)
{
	return (volatile struct vring_avail *)(uintptr_t)q->driver_addr;
}

static volatile struct vring_used *sim_used(struct sim_queue *q)
{
	return (volatile struct vring_used *)(uintptr_t)q->device_addr;
}

static bool sim_has_feature(const struct sim_dev *d, unsigned bit)
{
	uint64_t drv = (uint64_t)d->drv_feat[1] << 32 | d->drv_feat[0];

	return (drv & VIRTIO_BIT(bit)) != 0;
}

static bool sim_push_seg(struct sim_req *r, unsigned *cap, uint64_t addr, uint32_t len, bool write)
{
	if (r->nseg == *cap) {
		unsigned ncap = *cap ? *cap * 2 : 8;
		struct sim_seg *n = realloc(r->seg, ncap * sizeof(*n));

		if (!n)
			abort();
		r->seg = n;
		*cap = ncap;
	}
	/* All device-readable descriptors come before the writable ones (2.7.4.2). */
	if (!write && r->nseg && r->seg[r->nseg - 1].write)
		return false;
	r->seg[r->nseg++] = (struct sim_seg){.addr = addr, .len = len, .write = write};
	return true;
}

/* Walks the chain at `head` into a request; if malformed, a driver error and no segments. */
static struct sim_req *sim_parse_chain(struct sim_dev *d, unsigned qi, uint16_t head)
{
	struct sim_queue *q = &d->q[qi];
	volatile struct vring_desc *tab = sim_desc(q);
	struct sim_req *r = calloc(1, sizeof(*r));
	unsigned cap = 0, limit = q->num, i = head;
	bool in_table = false;

	if (!r)
		abort();
	r->head = head;
	r->qi = qi;
	if (head >= q->num) {
		sim_driver_error(d, "avail ring head %u >= queue size %u", head, q->num);
		goto bad;
	}
	for (unsigned steps = 0;; steps++) {
		struct vring_desc e;

		if (steps >= limit) {
			sim_driver_error(d, "descriptor chain loops or is too long");
			goto bad;
		}
		e.addr = tab[i].addr;
		e.len = tab[i].len;
		e.flags = tab[i].flags;
		e.next = tab[i].next;
		if (e.flags & VRING_DESC_F_INDIRECT) {
			if (in_table || steps) {
				sim_driver_error(d,
						 "indirect descriptor not alone in the ring chain");
				goto bad;
			}
			if (!sim_has_feature(d, VIRTIO_F_INDIRECT_DESC)) {
				sim_driver_error(d, "indirect descriptor without INDIRECT_DESC");
				goto bad;
			}
			if (e.flags & VRING_DESC_F_NEXT || e.len == 0 || e.len % 16) {
				sim_driver_error(d, "bad indirect descriptor (flags %#x len %u)",
						 e.flags, e.len);
				goto bad;
			}
			tab = (volatile struct vring_desc *)(uintptr_t)e.addr;
			limit = e.len / 16;
			in_table = true;
			r->indirect = true;
			i = 0;
			steps = (unsigned)-1; /* restart the count for the table */
			continue;
		}
		if (e.len == 0) {
			sim_driver_error(d, "zero-length descriptor");
			goto bad;
		}
		if (!sim_push_seg(r, &cap, e.addr, e.len, e.flags & VRING_DESC_F_WRITE)) {
			sim_driver_error(d, "readable descriptor after a writable one");
			goto bad;
		}
		if (!(e.flags & VRING_DESC_F_NEXT))
			break;
		if (e.next >= limit) {
			sim_driver_error(d, "descriptor next %u out of range %u", e.next, limit);
			goto bad;
		}
		i = e.next;
	}
	for (unsigned k = 0; d->seg_hook && k < r->nseg; k++)
		d->seg_hook(d->seg_hook_ctx, r->seg[k].addr, r->seg[k].len);
	return r;
bad:
	r->nseg = 0;
	return r;
}

/* ---- the packed ring (2.8), device side ---- */

static volatile struct vring_packed_desc *sim_pdesc(struct sim_queue *q)
{
	return (volatile struct vring_packed_desc *)(uintptr_t)q->desc_addr;
}

static volatile struct vring_packed_event *sim_driver_event(struct sim_queue *q)
{
	return (volatile struct vring_packed_event *)(uintptr_t)q->driver_addr;
}

static volatile struct vring_packed_event *sim_device_event(struct sim_queue *q)
{
	return (volatile struct vring_packed_event *)(uintptr_t)q->device_addr;
}

/* Did the driver make the slot available in the lap of wrap counter `wrap`? */
static bool sim_packed_avail(uint16_t flags, bool wrap)
{
	return ((flags & VRING_PACKED_DESC_F_AVAIL) != 0) == wrap &&
	       ((flags & VRING_PACKED_DESC_F_USED) != 0) != wrap;
}

/* Takes the chain at avail_pos of queue qi (its head known available) and moves past it. */
static struct sim_req *sim_parse_packed(struct sim_dev *d, unsigned qi)
{
	struct sim_queue *q = &d->q[qi];
	volatile struct vring_packed_desc *ring = sim_pdesc(q);
	struct sim_req *r = calloc(1, sizeof(*r));
	unsigned cap = 0, pos = q->avail_pos;
	bool wrap = q->avail_wrap, bad = false;

	if (!r)
		abort();
	r->qi = qi;
	for (;;) {
		struct vring_packed_desc e;

		e.addr = ring[pos].addr;
		e.len = ring[pos].len;
		e.id = ring[pos].id;
		e.flags = ring[pos].flags;
		r->ndesc++;
		r->head = e.id; /* the last descriptor's id names the buffer (2.8.6) */
		if (++pos >= q->num) {
			pos = 0;
			wrap = !wrap;
		}
		/* Once bad, only the chain's end is looked for, to skip it. */
		if (!bad && r->ndesc > 1) {
			/* The lap this slot was in: before the increment above. */
			bool slot_wrap = pos == 0 ? !wrap : wrap;

			if (!sim_packed_avail(e.flags, slot_wrap)) {
				sim_driver_error(d, "chain descriptor %u not available (flags %#x)",
						 r->ndesc - 1, e.flags);
				bad = true;
			}
		}
		if (!bad && e.flags & VRING_DESC_F_INDIRECT) {
			volatile struct vring_packed_desc *tab =
			    (volatile struct vring_packed_desc *)(uintptr_t)e.addr;

			if (r->ndesc > 1 || e.flags & VRING_DESC_F_NEXT) {
				sim_driver_error(d, "indirect descriptor not alone in its chain");
				bad = true;
			} else if (!sim_has_feature(d, VIRTIO_F_INDIRECT_DESC)) {
				sim_driver_error(d, "indirect descriptor without INDIRECT_DESC");
				bad = true;
			} else if (e.len == 0 || e.len % 16) {
				sim_driver_error(d, "bad indirect descriptor length %u", e.len);
				bad = true;
			}
			for (unsigned k = 0; !bad && k < e.len / 16; k++) {
				uint32_t len = tab[k].len;
				uint16_t f = tab[k].flags;

				if (len == 0 || f & VRING_DESC_F_INDIRECT) {
					sim_driver_error(d, "bad indirect table entry %u", k);
					bad = true;
				} else if (!sim_push_seg(r, &cap, tab[k].addr, len,
							 f & VRING_DESC_F_WRITE)) {
					sim_driver_error(d, "readable descriptor after a writable one");
					bad = true;
				}
			}
			r->indirect = true;
		} else if (!bad) {
			if (e.len == 0) {
				sim_driver_error(d, "zero-length descriptor");
				bad = true;
			} else if (!sim_push_seg(r, &cap, e.addr, e.len, e.flags & VRING_DESC_F_WRITE)) {
				sim_driver_error(d, "readable descriptor after a writable one");
				bad = true;
			}
		}
		if (!(e.flags & VRING_DESC_F_NEXT))
			break;
		if (r->ndesc >= q->num) {
			sim_driver_error(d, "descriptor chain longer than the ring");
			bad = true;
			break;
		}
	}
	q->avail_pos = (uint16_t)pos;
	q->avail_wrap = wrap;
	if (!bad && r->head >= q->num) {
		/* Not a spec limit, but every driver we test keeps ids below the size. */
		sim_driver_error(d, "buffer id %u >= queue size %u", r->head, q->num);
		bad = true;
	}
	for (unsigned i = 0; !bad && i < d->npending; i++) {
		if (d->pending[i]->qi == qi && d->pending[i]->head == r->head) {
			sim_driver_error(d, "buffer id %u made available while in flight", r->head);
			bad = true;
		}
	}
	if (bad) {
		r->nseg = 0;
		return r;
	}
	for (unsigned k = 0; d->seg_hook && k < r->nseg; k++)
		d->seg_hook(d->seg_hook_ctx, r->seg[k].addr, r->seg[k].len);
	return r;
}

static void sim_fetch_packed(struct sim_dev *d, unsigned qi)
{
	struct sim_queue *q = &d->q[qi];
	volatile struct vring_packed_desc *ring = sim_pdesc(q);

	while (sim_packed_avail(ring[q->avail_pos].flags, q->avail_wrap)) {
		struct sim_req *r;

		/* Pairs with the driver's vq_wmb before it writes the head's flags. */
		atomic_thread_fence(memory_order_acquire);
		r = sim_parse_packed(d, qi);
		if (d->npending >= d->cfg.queue_num_max) {
			sim_driver_error(d, "more chains than the queue holds");
			sim_free_req(r);
			continue;
		}
		d->pending[d->npending++] = r;
		d->st.chains++;
		d->st.queue_chains[qi]++;
		if (r->indirect)
			d->st.chains_indirect++;
		if (d->npending > d->st.max_pending)
			d->st.max_pending = d->npending;
	}
	if (sim_has_feature(d, VIRTIO_F_EVENT_IDX)) {
		/* Notify us when the driver makes the slot we look at next available. */
		sim_device_event(q)->off_wrap = vring_packed_off_wrap(q->avail_pos, q->avail_wrap);
		atomic_thread_fence(memory_order_release);
		sim_device_event(q)->flags = VRING_PACKED_EVENT_F_DESC;
	} else {
		sim_device_event(q)->flags = VRING_PACKED_EVENT_F_ENABLE;
	}
	/* Pairs with the driver's vq_mb in vq_kick_prepare. */
	atomic_thread_fence(memory_order_seq_cst);
}

static void sim_fetch(struct sim_dev *d, unsigned qi)
{
	struct sim_queue *q = &d->q[qi];
	volatile struct vring_avail *a = sim_avail(q);
	uint16_t avail_idx;

	if (!q->live)
		return;
	if (q->packed) {
		sim_fetch_packed(d, qi);
		return;
	}
	avail_idx = a->idx;
	/* Pairs with the driver's vq_wmb before publishing avail->idx. */
	atomic_thread_fence(memory_order_acquire);
	if ((uint16_t)(avail_idx - q->last_avail) > q->num) {
		sim_driver_error(d, "avail idx %u runs %u ahead", avail_idx,
				 (uint16_t)(avail_idx - q->last_avail));
		return;
	}
	while (q->last_avail != avail_idx) {
		uint16_t head = a->ring[q->last_avail & (q->num - 1)];
		struct sim_req *r = sim_parse_chain(d, qi, head);

		q->last_avail++;
		if (d->npending >= d->cfg.queue_num_max) {
			sim_driver_error(d, "more chains than the queue holds");
			sim_free_req(r);
			continue;
		}
		d->pending[d->npending++] = r;
		d->st.chains++;
		d->st.queue_chains[qi]++;
		if (r->indirect)
			d->st.chains_indirect++;
		if (d->npending > d->st.max_pending)
			d->st.max_pending = d->npending;
	}
	if (sim_has_feature(d, VIRTIO_F_EVENT_IDX)) {
		/* Ask to be notified when the driver goes past what we have seen. */
		*vring_avail_event(sim_used(q), q->num) = q->last_avail;
	} else {
		sim_used(q)->flags = 0;
	}
	/* Pairs with the driver's vq_mb in vq_kick_prepare. */
	atomic_thread_fence(memory_order_seq_cst);
}

/* Copies between guest segments [first, first+n) at byte offset `off` and buf. */
static void sim_copy(struct sim_req *r, unsigned first, unsigned n, uint64_t off, uint8_t *buf,
		     uint64_t len, bool to_guest)
{
	for (unsigned i = first; i < first + n && len; i++) {
		uint64_t sl = r->seg[i].len;

		if (off >= sl) {
			off -= sl;
			continue;
		}
		uint64_t chunk = sl - off < len ? sl - off : len;
		uint8_t *g = (uint8_t *)(uintptr_t)(r->seg[i].addr + off);

		if (to_guest)
			memcpy(g, buf, chunk);
		else
			memcpy(buf, g, chunk);
		buf += chunk;
		len -= chunk;
		off = 0;
	}
}

static bool sim_range_ok(struct sim_dev *d, uint64_t sector, uint64_t bytes)
{
	uint32_t lbs = d->cfg.blk_size ? d->cfg.blk_size : SECTOR;

	if (bytes % SECTOR || (sector * SECTOR) % lbs || bytes % lbs) {
		sim_driver_error(d, "request sector %llu bytes %llu not aligned to %u",
				 (unsigned long long)sector, (unsigned long long)bytes, lbs);
		return false;
	}
	if (sector > d->cfg.capacity || bytes / SECTOR > d->cfg.capacity - sector) {
		sim_driver_error(d, "request sector %llu bytes %llu past the end",
				 (unsigned long long)sector, (unsigned long long)bytes);
		return false;
	}
	if (d->io_error_sector >= sector && d->io_error_sector < sector + bytes / SECTOR)
		return false;
	return true;
}

/* Executes a request on the RAM disk. Returns the bytes written to the driver (incl. status). */
static uint32_t sim_execute(struct sim_dev *d, struct sim_req *r, uint8_t *status_out)
{
	unsigned nout = 0, nin;
	uint64_t out_bytes = 0, in_bytes = 0;
	uint8_t hdr[BLK_HDR_BYTES];
	uint32_t type;
	uint64_t sector;
	uint8_t status = BLK_S_OK;
	uint32_t written = 0;

	while (nout < r->nseg && !r->seg[nout].write)
		out_bytes += r->seg[nout++].len;
	nin = r->nseg - nout;
	for (unsigned i = nout; i < r->nseg; i++)
		in_bytes += r->seg[i].len;
	if (out_bytes < BLK_HDR_BYTES || in_bytes < 1) {
		sim_driver_error(d, "chain without header (%llu) or status byte (%llu)",
				 (unsigned long long)out_bytes, (unsigned long long)in_bytes);
		*status_out = BLK_S_IOERR;
		return 0;
	}
	sim_copy(r, 0, nout, 0, hdr, BLK_HDR_BYTES, false);
	memcpy(&type, hdr, sizeof(type));
	memcpy(&sector, hdr + 8, sizeof(sector));
	uint64_t data_out = out_bytes - BLK_HDR_BYTES, data_in = in_bytes - 1;
	d->last = (struct sim_wire){.type = type,
				    .hdr_sector = sector,
				    .data_out = data_out,
				    .data_in = data_in,
				    .nseg = r->nseg};
	memcpy(&d->last.hdr_reserved, hdr + 4, sizeof(d->last.hdr_reserved));
	unsigned data_segs = r->nseg - 2; /* header and status in their own segments, normally */

	if (d->cfg.seg_max && data_segs > d->cfg.seg_max)
		sim_driver_error(d, "%u data segments > seg_max %u", data_segs, d->cfg.seg_max);
	if (d->cfg.size_max) {
		for (unsigned i = 0; i < r->nseg; i++) {
			if (r->seg[i].len > d->cfg.size_max)
				sim_driver_error(d, "segment of %u bytes > size_max %u",
						 r->seg[i].len, d->cfg.size_max);
		}
	}
	if (r->nseg >= 2 && data_segs > d->st.max_segments)
		d->st.max_segments = data_segs;

	switch (type) {
	case BLK_T_IN:
		d->st.reads++;
		if (data_out) {
			sim_driver_error(d, "read with readable data");
			status = BLK_S_IOERR;
		} else if (!sim_range_ok(d, sector, data_in)) {
			status = BLK_S_IOERR;
		} else {
			sim_copy(r, nout, nin, 0, d->disk + sector * SECTOR, data_in, true);
			written = (uint32_t)data_in;
		}
		break;
	case BLK_T_OUT:
		d->st.writes++;
		if (data_in) {
			sim_driver_error(d, "write with writable data");
			status = BLK_S_IOERR;
		} else if (d->cfg.ro || !sim_range_ok(d, sector, data_out)) {
			if (d->cfg.ro)
				sim_driver_error(d, "write to a read-only device");
			status = BLK_S_IOERR;
		} else {
			sim_copy(r, 0, nout, BLK_HDR_BYTES, d->disk + sector * SECTOR, data_out,
				 false);
		}
		break;
	case BLK_T_FLUSH:
		d->st.flushes++;
		if (!sim_has_feature(d, SIM_BLK_F_FLUSH))
			status = BLK_S_UNSUPP;
		else if (d->io_error_sector != UINT64_MAX && d->io_error_sector == sector)
			status = BLK_S_IOERR;
		break;
	case BLK_T_GET_ID: {
		uint32_t n = data_in < BLK_ID_BYTES ? (uint32_t)data_in : BLK_ID_BYTES;

		d->st.get_ids++;
		sim_copy(r, nout, nin, 0, d->id, n, true);
		written = n;
		break;
	}
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES: {
		/* One segment: sector u64, num_sectors u32, flags u32 (5.2.6). */
		uint8_t seg[16];
		uint64_t s;
		uint32_t cnt;

		if (type == BLK_T_DISCARD)
			d->st.discards++;
		else
			d->st.write_zeroes++;
		if (!sim_has_feature(d, type == BLK_T_DISCARD ? SIM_BLK_F_DISCARD
							      : SIM_BLK_F_WRITE_ZEROES)) {
			status = BLK_S_UNSUPP;
			break;
		}
		if (data_out != sizeof(seg)) {
			sim_driver_error(d, "discard/write-zeroes with %llu bytes of ranges",
					 (unsigned long long)data_out);
			status = BLK_S_IOERR;
			break;
		}
		sim_copy(r, 0, nout, BLK_HDR_BYTES, seg, sizeof(seg), false);
		memcpy(&s, seg, sizeof(s));
		memcpy(&cnt, seg + 8, sizeof(cnt));
		d->last.has_range = true;
		d->last.range_sector = s;
		d->last.range_sectors = cnt;
		memcpy(&d->last.range_flags, seg + 12, sizeof(d->last.range_flags));
		/* 5.2.6.2: a discard with the unmap bit set is unsupported. */
		if (type == BLK_T_DISCARD && (d->last.range_flags & SIM_BLK_WZ_UNMAP)) {
			status = BLK_S_UNSUPP;
			break;
		}
		if (d->cfg.ro || !sim_range_ok(d, s, (uint64_t)cnt * SECTOR))
			status = BLK_S_IOERR;
		else
			memset(d->disk + s * SECTOR, 0, (size_t)cnt * SECTOR);
		break;
	}
	default:
		status = BLK_S_UNSUPP;
		break;
	}
	*status_out = status;
	/* The status byte is the last writable byte of the chain. */
	sim_copy(r, nout, nin, in_bytes - 1, &status, 1, true);
	return written + 1;
}

/* Packed: one used descriptor at used_pos for a chain of r->ndesc slots, then skip them. */
static void sim_write_used_packed(struct sim_dev *d, const struct sim_req *r, uint32_t id,
				  uint32_t len, bool wrong_wrap)
{
	struct sim_queue *q = &d->q[r->qi];
	volatile struct vring_packed_desc *e = &sim_pdesc(q)[q->used_pos];
	unsigned pos = q->used_pos + r->ndesc;

	e->id = (uint16_t)id;
	e->len = len;
	/* Id and length before the flags: pairs with the driver's vq_rmb after it sees them. */
	atomic_thread_fence(memory_order_release);
	e->flags = vring_packed_used_flags(wrong_wrap ? !q->used_wrap : q->used_wrap);
	if (pos >= q->num) {
		pos -= q->num;
		q->used_wrap = !q->used_wrap;
	}
	q->used_pos = (uint16_t)pos;
	q->used_total += r->ndesc;
	d->st.completions++;
	d->st.queue_completions[r->qi]++;
}

static void sim_write_used(struct sim_dev *d, const struct sim_req *r, uint32_t id, uint32_t len)
{
	unsigned qi = r->qi;
	struct sim_queue *q = &d->q[qi];
	volatile struct vring_used *u = sim_used(q);

	if (q->packed) {
		sim_write_used_packed(d, r, id, len, false);
		return;
	}

	u->ring[q->used_idx & (q->num - 1)].id = id;
	u->ring[q->used_idx & (q->num - 1)].len = len;
	q->used_idx++;
	/* Entry before index: pairs with the driver's vq_rmb after reading used->idx. */
	atomic_thread_fence(memory_order_release);
	u->idx = q->used_idx;
	d->st.completions++;
	d->st.queue_completions[qi]++;
}

/* An id that heads no pending chain of queue qi (for SIM_HOSTILE_ID_NOT_IN_FLIGHT). */
static uint32_t sim_id_not_in_flight(struct sim_dev *d, unsigned qi, uint16_t avoid)
{
	for (uint32_t id = 0; id < d->q[qi].num; id++) {
		bool busy = id == avoid;

		for (unsigned i = 0; i < d->npending && !busy; i++)
			busy = d->pending[i]->qi == qi && d->pending[i]->head == id;
		if (!busy)
			return id;
	}
	return avoid; /* every id is a live head: degrade to a double completion */
}

static void sim_complete(struct sim_dev *d, unsigned idx)
{
	struct sim_req *r = d->pending[idx];
	unsigned qi = r->qi;
	struct sim_queue *q = &d->q[qi];
	enum sim_hostile h = d->hostile;
	uint8_t status;
	uint32_t len;

	/* Keep arrival order in pending[] (FIFO/LIFO depend on it). */
	memmove(&d->pending[idx], &d->pending[idx + 1],
		(d->npending - idx - 1) * sizeof(*d->pending));
	d->npending--;
	d->hostile = SIM_HOSTILE_NONE;
	if (h == SIM_HOSTILE_SWALLOW) {
		sim_free_req(r);
		return;
	}
	if (r->nseg == 0) {
		/* Malformed chain (already counted): hand it back empty. */
		sim_write_used(d, r, r->head, 0);
		sim_free_req(r);
		return;
	}
	len = sim_execute(d, r, &status);
	switch (h) {
	case SIM_HOSTILE_GARBAGE_STATUS:
	case SIM_HOSTILE_STATUS_VALUE: {
		uint8_t garbage = h == SIM_HOSTILE_STATUS_VALUE ? (uint8_t)d->hostile_value : 0x5a;
		uint64_t in_bytes = 0;
		unsigned nout = 0;

		while (nout < r->nseg && !r->seg[nout].write)
			nout++;
		for (unsigned i = nout; i < r->nseg; i++)
			in_bytes += r->seg[i].len;
		sim_copy(r, nout, r->nseg - nout, in_bytes - 1, &garbage, 1, true);
		sim_write_used(d, r, r->head, len);
		break;
	}
	case SIM_HOSTILE_ID_OUT_OF_RANGE:
		sim_write_used(d, r, q->num + 5, len);
		break;
	case SIM_HOSTILE_ID_NOT_IN_FLIGHT:
		sim_write_used(d, r, sim_id_not_in_flight(d, qi, r->head), len);
		break;
	case SIM_HOSTILE_DOUBLE_COMPLETION:
		sim_write_used(d, r, r->head, len);
		sim_write_used(d, r, r->head, len);
		break;
	case SIM_HOSTILE_LEN_TOO_LARGE: {
		uint32_t in_bytes = 0;

		for (unsigned i = 0; i < r->nseg; i++)
			in_bytes += r->seg[i].write ? r->seg[i].len : 0;
		sim_write_used(d, r, r->head, in_bytes + 4096);
		break;
	}
	case SIM_HOSTILE_LEN_SHORT:
		sim_write_used(d, r, r->head, 1);
		break;
	case SIM_HOSTILE_LEN_VALUE:
		sim_write_used(d, r, r->head, d->hostile_value);
		break;
	case SIM_HOSTILE_USED_IDX_JUMP:
	case SIM_HOSTILE_WRONG_WRAP:
		if (q->packed) {
			sim_write_used_packed(d, r, r->head, len, true);
			break;
		}
		sim_write_used(d, r, r->head, len);
		q->used_idx = (uint16_t)(q->used_idx + q->num + 3);
		atomic_thread_fence(memory_order_release);
		sim_used(q)->idx = q->used_idx;
		break;
	default:
		sim_write_used(d, r, r->head, len);
		break;
	}
	sim_free_req(r);
	/* As if signalled: no interrupt for this one. */
	if (h == SIM_HOSTILE_DROP_IRQ) {
		q->signalled_used = q->used_idx;
		q->signalled_total = q->used_total;
	}
}

/*
 * Packed: does the driver's event suppression area want an interrupt for
 * the slots handed back since the last decision (2.8.10)? With an offset,
 * the event is placed on the line of free-running counts: in the current
 * used lap when its wrap bit is ours, else one lap back (as a device must
 * read it: a position the driver set one lap ahead looks the same, and is
 * then simply not crossed yet).
 */
static bool sim_packed_want_irq(struct sim_dev *d, struct sim_queue *q)
{
	volatile struct vring_packed_event *ev = sim_driver_event(q);
	uint16_t flags, off_wrap;
	int64_t lap_base, event;

	/* Used descriptors before the event area: pairs with the driver's vq_mb. */
	atomic_thread_fence(memory_order_seq_cst);
	flags = ev->flags;
	/* Flags before offset: pairs with the driver's vq_wmb between writing them. */
	atomic_thread_fence(memory_order_acquire);
	off_wrap = ev->off_wrap;
	if (flags == VRING_PACKED_EVENT_F_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_F_DESC)
		return true;
	if (!sim_has_feature(d, VIRTIO_F_EVENT_IDX))
		sim_driver_error(d, "event offset requested without EVENT_IDX");
	lap_base = (int64_t)q->used_total - q->used_pos;
	event = lap_base + (off_wrap & VRING_PACKED_EVENT_OFF_MASK);
	if (((off_wrap >> VRING_PACKED_EVENT_WRAP_SHIFT) != 0) != q->used_wrap)
		event -= q->num;
	return event >= (int64_t)q->signalled_total && event < (int64_t)q->used_total;
}

/* After completions: does the driver want an interrupt (2.7.7, 2.7.10)? */
static bool sim_queue_wants_interrupt(struct sim_dev *d, struct sim_queue *q)
{
	uint16_t old = q->signalled_used, new_idx = q->used_idx;
	bool want;

	if (q->packed && q->live) {
		if (q->signalled_total == q->used_total)
			return false;
		want = sim_packed_want_irq(d, q);
		q->signalled_total = q->used_total;
		if (!want)
			d->st.irqs_suppressed++;
		return want;
	}
	if (old == new_idx || !q->live)
		return false;
	/* used->idx before used_event / flags: pairs with the driver's vq_mb in vq_enable_cb. */
	atomic_thread_fence(memory_order_seq_cst);
	if (sim_has_feature(d, VIRTIO_F_EVENT_IDX))
		want = vring_need_event(*vring_used_event(sim_avail(q), q->num), new_idx, old);
	else
		want = !(sim_avail(q)->flags & VRING_AVAIL_F_NO_INTERRUPT);
	q->signalled_used = new_idx;
	if (!want)
		d->st.irqs_suppressed++;
	return want;
}

/*
 * Every queue shares the device's one interrupt (virtio-mmio has one
 * line): it is raised once if any queue's completions asked for it.
 */
static void sim_maybe_interrupt(struct sim_dev *d)
{
	bool want = false;

	for (unsigned qi = 0; qi < d->nq; qi++)
		want |= sim_queue_wants_interrupt(d, &d->q[qi]);
	if (!want)
		return;
	d->int_status |= VMMIO_INT_VRING;
	d->st.irqs_raised++;
}

static void sim_deliver(struct sim_dev *d)
{
	/* The line is level: high while InterruptStatus is non-zero. */
	for (unsigned loops = 0; d->int_status; loops++) {
		if (loops > SIM_MAX_LEVEL_LOOPS) {
			fprintf(stderr, "sim: interrupt of slot %u never acknowledged\n", d->slot);
			abort();
		}
		if (irqs_disabled() || !sim_irq_dispatch(SIM_INTID_BASE + d->slot))
			return; /* stays pending (masked, or no handler) */
	}
}

void sim_deliver_irqs(void)
{
	for (unsigned s = 0; s < SIM_NSLOTS; s++) {
		if (sim_slot_dev[s])
			sim_deliver(sim_slot_dev[s]);
	}
}

/* Index in pending[] of the n-th (from 0) chain of queue qi (any queue: SIM_ANY_QUEUE). */
static unsigned sim_pending_nth(const struct sim_dev *d, unsigned qi, unsigned n)
{
	for (unsigned i = 0; i < d->npending; i++) {
		if (qi != SIM_ANY_QUEUE && d->pending[i]->qi != qi)
			continue;
		if (n-- == 0)
			return i;
	}
	abort(); /* callers count first */
}

unsigned sim_process_queue(struct sim_dev *d, unsigned qi, unsigned max, enum sim_order order)
{
	unsigned done = 0;

	/* A device only looks at the avail ring when kicked, or (busy device) now. */
	if (d->deferred) {
		for (unsigned q = 0; q < d->nq; q++)
			sim_fetch(d, q);
	}
	while (done < max) {
		unsigned n = qi == SIM_ANY_QUEUE ? d->npending : sim_pending_queue(d, qi), k = 0;

		if (n == 0)
			break;
		if (order == SIM_ORDER_LIFO)
			k = n - 1;
		else if (order == SIM_ORDER_RANDOM)
			k = (unsigned)(sim_rand() % n);
		sim_complete(d, sim_pending_nth(d, qi, k));
		done++;
	}
	sim_maybe_interrupt(d);
	sim_deliver_irqs();
	return done;
}

unsigned sim_process(struct sim_dev *d, unsigned max, enum sim_order order)
{
	return sim_process_queue(d, SIM_ANY_QUEUE, max, order);
}

void sim_config_change(struct sim_dev *d, uint64_t new_capacity)
{
	d->cfg.capacity = new_capacity;
	sim_put64(&d->config[CFG_CAPACITY], new_capacity);
	d->generation++;
	d->int_status |= VMMIO_INT_CONFIG;
	sim_deliver(d);
}

void sim_set_config(struct sim_dev *d, unsigned off, const void *src, unsigned len)
{
	if (off > CFG_BYTES || len > CFG_BYTES - off)
		abort(); /* a test bug */
	memcpy(&d->config[off], src, len);
	d->generation++;
}

/* ---- registers ---- */

static void sim_reset_dev(struct sim_dev *d)
{
	/*
	 * A device whose reset never completes ignores it altogether: it keeps
	 * its queue and the chains it holds, and sim_process can still write
	 * into their buffers (what the driver must never hand back).
	 */
	if (d->cfg.reset_never_completes)
		return;
	sim_drop_pending(d);
	memset(d->q, 0, sizeof(d->q));
	d->drv_feat[0] = d->drv_feat[1] = 0;
	d->int_status = 0;
	d->queue_sel = 0;
	d->status = 0;
}

static void sim_activate(struct sim_dev *d, struct sim_queue *q)
{
	/* A packed ring may have any size (2.8); the split ring a power of two. */
	q->packed = d->version == 2 && sim_has_feature(d, VIRTIO_F_RING_PACKED);
	q->avail_wrap = q->used_wrap = true;
	if (q->num == 0 || (!q->packed && (q->num & (q->num - 1))) ||
	    q->num > d->cfg.queue_num_max) {
		sim_driver_error(d, "bad QueueNum %u", q->num);
		return;
	}
	if (d->version == 1) {
		uint32_t align = q->align ? q->align : VRING_LEGACY_ALIGN;
		uint64_t avail_end;

		q->desc_addr = (uint64_t)q->pfn * d->guest_page_size;
		q->driver_addr = q->desc_addr + 16ULL * q->num;
		avail_end = q->driver_addr + 6 + 2ULL * q->num;
		q->device_addr = (avail_end + align - 1) & ~(uint64_t)(align - 1);
	}
	q->live = true;
}

static bool sim_legacy_reg(struct sim_dev *d, unsigned off)
{
	bool legacy_only =
	    off == VMMIO_GUEST_PAGE_SIZE || off == VMMIO_QUEUE_ALIGN || off == VMMIO_QUEUE_PFN;
	bool modern_only = off == VMMIO_QUEUE_READY || off == VMMIO_CONFIG_GENERATION ||
			   (off >= VMMIO_QUEUE_DESC_LOW && off <= VMMIO_QUEUE_DEVICE_HIGH);

	if ((d->version == 1 && modern_only) || (d->version == 2 && legacy_only)) {
		sim_driver_error(d, "register %#x does not exist on version %u", off, d->version);
		return false;
	}
	return true;
}

static struct sim_dev *sim_lookup(uintptr_t addr, unsigned *off, bool *empty)
{
	unsigned slot;

	if (addr < SIM_MMIO_BASE || addr >= SIM_MMIO_BASE + SIM_NSLOTS * SIM_SLOT_SIZE) {
		fprintf(stderr, "sim: MMIO access outside the virtio-mmio window: %#lx\n",
			(unsigned long)addr);
		abort();
	}
	slot = (unsigned)((addr - SIM_MMIO_BASE) / SIM_SLOT_SIZE);
	*off = (unsigned)((addr - SIM_MMIO_BASE) % SIM_SLOT_SIZE);
	*empty = sim_slot_dev[slot] == NULL;
	return sim_slot_dev[slot];
}

static const struct sim_mmio_hook *sim_hook;

void sim_set_mmio_hook(const struct sim_mmio_hook *hook)
{
	sim_hook = hook;
}

uint32_t mmio_read32_relaxed(uintptr_t addr)
{
	unsigned off;
	bool empty;

	if (sim_hook)
		return sim_hook->read32(addr);
	struct sim_dev *d = sim_lookup(addr, &off, &empty);

	if (off & 3) {
		fprintf(stderr, "sim: unaligned 32-bit MMIO read at %#lx\n", (unsigned long)addr);
		abort();
	}
	if (empty) {
		switch (off) {
		case VMMIO_MAGIC_VALUE:
			return VMMIO_MAGIC;
		case VMMIO_VERSION:
			return 1;
		case VMMIO_VENDOR_ID:
			return SIM_VENDOR;
		default:
			return 0;
		}
	}
	if (off >= VMMIO_CONFIG) {
		uint32_t v = 0;

		if (off - VMMIO_CONFIG + 4 <= CFG_BYTES)
			memcpy(&v, &d->config[off - VMMIO_CONFIG], 4);
		return v;
	}
	if (!sim_legacy_reg(d, off))
		return 0;
	switch (off) {
	case VMMIO_MAGIC_VALUE:
		return VMMIO_MAGIC;
	case VMMIO_VERSION:
		return d->version;
	case VMMIO_DEVICE_ID:
		return d->device_id;
	case VMMIO_VENDOR_ID:
		return SIM_VENDOR;
	case VMMIO_DEVICE_FEATURES:
		return d->dev_feat_sel == 0   ? (uint32_t)d->offered
		       : d->dev_feat_sel == 1 ? (uint32_t)(d->offered >> 32)
					      : 0;
	case VMMIO_QUEUE_NUM_MAX:
		return d->queue_sel < d->nq && d->device_id == VIRTIO_ID_BLOCK ? d->cfg.queue_num_max
									       : 0;
	case VMMIO_QUEUE_PFN:
		return d->queue_sel < d->nq ? d->q[d->queue_sel].pfn : 0;
	case VMMIO_QUEUE_READY:
		return d->queue_sel < d->nq ? d->q[d->queue_sel].ready : 0;
	case VMMIO_INTERRUPT_STATUS:
		return d->int_status;
	case VMMIO_STATUS:
		return d->status;
	case VMMIO_CONFIG_GENERATION:
		return d->generation;
	default:
		sim_driver_error(d, "read of write-only or unknown register %#x", off);
		return 0;
	}
}

uint8_t mmio_read8_relaxed(uintptr_t addr)
{
	unsigned off;
	bool empty;

	if (sim_hook)
		return sim_hook->read8(addr);
	struct sim_dev *d = sim_lookup(addr, &off, &empty);

	if (empty || off < VMMIO_CONFIG) {
		fprintf(stderr, "sim: 8-bit MMIO read outside configuration space at %#lx\n",
			(unsigned long)addr);
		abort();
	}
	return off - VMMIO_CONFIG < CFG_BYTES ? d->config[off - VMMIO_CONFIG] : 0;
}

static void sim_write_status(struct sim_dev *d, uint32_t val)
{
	if (val == 0) {
		sim_reset_dev(d);
		return;
	}
	if ((val & d->status) != d->status && !(val & VIRTIO_STATUS_FAILED))
		sim_driver_error(d, "status bits dropped: %#x -> %#x", d->status, val);
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t drv = (uint64_t)d->drv_feat[1] << 32 | d->drv_feat[0];
		bool ok = !d->cfg.refuse_features_ok && !(drv & ~d->offered);

		if (d->version == 2 && !(drv & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
			ok = false;
		if (drv & ~d->offered)
			sim_driver_error(d, "driver accepted features not offered: %#llx",
					 (unsigned long long)(drv & ~d->offered));
		if (!ok)
			val &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	if (d->version == 1 && (d->drv_feat[1] & 1))
		sim_driver_error(d, "VERSION_1 accepted on a legacy device");
	d->status = (uint8_t)val;
}

static void sim_notify(struct sim_dev *d, uint32_t qi)
{
	d->st.notifies++;
	if (qi >= d->nq || !d->q[qi].live || !(d->status & VIRTIO_STATUS_DRIVER_OK)) {
		sim_driver_error(d, "notify of queue %u that is not live", qi);
		return;
	}
	d->st.queue_notifies[qi]++;
	if (d->deferred) {
		/* Busy elsewhere: take the chains at sim_process. Without event
		 * index, say so with NO_NOTIFY as QEMU does while processing. */
		if (d->q[qi].packed) {
			/* A packed ring's device says DISABLE while busy, with or
			 * without event index (QEMU does the same). */
			sim_device_event(&d->q[qi])->flags = VRING_PACKED_EVENT_F_DISABLE;
			return;
		}
		if (!sim_has_feature(d, VIRTIO_F_EVENT_IDX))
			sim_used(&d->q[qi])->flags = VRING_USED_F_NO_NOTIFY;
		return;
	}
	sim_fetch(d, qi);
	if (d->autocomplete)
		sim_process(d, UINT32_MAX, SIM_ORDER_FIFO);
}

void mmio_write32_relaxed(uintptr_t addr, uint32_t val)
{
	unsigned off;
	bool empty;

	if (sim_hook) {
		sim_hook->write32(addr, val);
		return;
	}
	struct sim_dev *d = sim_lookup(addr, &off, &empty);

	if (empty)
		return;
	/* The selected queue's registers; writes to an absent queue are ignored. */
	struct sim_queue *q = d->queue_sel < d->nq ? &d->q[d->queue_sel] : NULL;
	if (off & 3 || off >= VMMIO_CONFIG) {
		sim_driver_error(d, "write at %#x", off);
		return;
	}
	if (!sim_legacy_reg(d, off))
		return;
	switch (off) {
	case VMMIO_DEVICE_FEATURES_SEL:
		d->dev_feat_sel = val;
		break;
	case VMMIO_DRIVER_FEATURES_SEL:
		d->drv_feat_sel = val;
		break;
	case VMMIO_DRIVER_FEATURES:
		if (d->drv_feat_sel < 2)
			d->drv_feat[d->drv_feat_sel] = val;
		if (d->status & VIRTIO_STATUS_FEATURES_OK)
			sim_driver_error(d, "features written after FEATURES_OK");
		break;
	case VMMIO_GUEST_PAGE_SIZE:
		d->guest_page_size = val;
		break;
	case VMMIO_QUEUE_SEL:
		d->queue_sel = val;
		break;
	case VMMIO_QUEUE_NUM:
		if (q)
			q->num = val;
		break;
	case VMMIO_QUEUE_ALIGN:
		if (q)
			q->align = val;
		break;
	case VMMIO_QUEUE_PFN:
		if (!q)
			break;
		q->pfn = val;
		if (val == 0)
			memset(q, 0, sizeof(*q));
		else if (!d->guest_page_size)
			sim_driver_error(d, "QueuePFN before GuestPageSize");
		else
			sim_activate(d, q);
		break;
	case VMMIO_QUEUE_READY:
		if (!q)
			break;
		q->ready = val & 1;
		if (val & 1)
			sim_activate(d, q);
		else
			q->live = false;
		break;
	case VMMIO_QUEUE_DESC_LOW:
		if (q)
			q->desc_addr = (q->desc_addr & ~0xffffffffULL) | val;
		break;
	case VMMIO_QUEUE_DESC_HIGH:
		if (q)
			q->desc_addr = (q->desc_addr & 0xffffffffULL) | (uint64_t)val << 32;
		break;
	case VMMIO_QUEUE_DRIVER_LOW:
		if (q)
			q->driver_addr = (q->driver_addr & ~0xffffffffULL) | val;
		break;
	case VMMIO_QUEUE_DRIVER_HIGH:
		if (q)
			q->driver_addr = (q->driver_addr & 0xffffffffULL) | (uint64_t)val << 32;
		break;
	case VMMIO_QUEUE_DEVICE_LOW:
		if (q)
			q->device_addr = (q->device_addr & ~0xffffffffULL) | val;
		break;
	case VMMIO_QUEUE_DEVICE_HIGH:
		if (q)
			q->device_addr = (q->device_addr & 0xffffffffULL) | (uint64_t)val << 32;
		break;
	case VMMIO_QUEUE_NOTIFY:
		sim_notify(d, val);
		break;
	case VMMIO_INTERRUPT_ACK:
		d->int_status &= ~val;
		break;
	case VMMIO_STATUS:
		sim_write_status(d, val);
		break;
	default:
		sim_driver_error(d, "write of read-only or unknown register %#x", off);
		break;
	}
}
