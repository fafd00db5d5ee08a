/*
 * Block mode of fuzz_virtio (see fuzz_virtio.c): the simulated virtio-blk
 * device of test/sim, configured by the input, behind the real transport,
 * virtqueue, virtio-blk driver and block core.
 *
 * What must hold whatever the device says or does (checked with
 * __builtin_trap):
 *  - probe takes the disk with the geometry the device states, or refuses
 *    it: capacity and logical block size are never replaced;
 *  - every bio's end_io runs at most once, with 0 or one of the errors a
 *    bio user may see (bio.h), and only for a bio that was submitted;
 *  - once the device behaves again (no hostile modes, resets that work) and
 *    time passes, every bio ends, unless the disk was declared broken;
 *  - a well-configured device sees no malformed chain (sim driver_errors);
 *  - no out-of-bounds access, leak or undefined behaviour (the sanitizers).
 *
 * Input after the mode byte: a device header (features, capacity, blk_size,
 * seg_max, size_max, queue size, packed or split ring, layer settings), raw
 * patches of the configuration space, then operations of one opcode byte and
 * operands.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <levblk/bio.h>
#include <levblk/blkdev.h>
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/spinlock.h>
#include <levblk/virtio/virtio_mmio.h>
#include "blk/blk_params.h"
#include "blk/virtio_blk.h"
#include "blk/virtio_blk_spec.h"
#include "fuzz/fuzz_input.h"
#include "hal_host/hal_host.h"
#include "sim/sim.h"
#include "virtio/vmmio_regs.h"

void vblk_host_reset(void);
void blk_dev_host_reset(void);

#define FZB_BIOS	       16u /* bios the fuzzer may have in flight */
#define FZB_MAX_SECT	       16u /* sectors per data bio, at most */
#define FZB_MAX_SEGS	       4u
#define FZB_MAX_SECTOR	       0x10000u /* sectors a bio may start at: past small disks too */
#define FZB_MAX_CAP	       1024u	/* sectors of RAM disk the simulator allocates, at most */
#define FZB_PATCHES	       7u	/* raw configuration patches, at most */
#define FZB_CFG_BYTES	       (SIM_SLOT_SIZE - VMMIO_CONFIG)
#define FZB_READ_OFFS	       1024u /* configuration offsets read, past the window too */
#define FZB_DRAIN	       64u   /* rounds of completions and timeouts at the end */
#define FZB_DEFAULT_RETRIES    3u
#define FZB_DEFAULT_TIMEOUT_MS 30000u

struct fzb_bio {
	struct bio bio;
	struct bio_seg seg[FZB_MAX_SEGS];
	uint8_t buf[FZB_MAX_SECT * SECTOR_SIZE + 8 * FZB_MAX_SEGS];
	bool busy;
};

static struct fzb_bio fzb_bios[FZB_BIOS];

static void fzb_end_io(struct bio *b)
{
	struct fzb_bio *f = b->bio_private;

	if (f < fzb_bios || f >= fzb_bios + FZB_BIOS || !f->busy)
		__builtin_trap(); /* ended twice, or never submitted */
	switch (b->bio_status) {
	case 0:
	case -EINVAL:
	case -EROFS:
	case -EOPNOTSUPP:
	case -EIO:
	case -ENODEV:
	case -ETIMEDOUT:
		break;
	default:
		__builtin_trap(); /* not an error a bio user may see */
	}
	f->busy = false;
}

/* A bio from the input: any op, sector (past the end too), length and segment cut. */
static void fzb_submit(struct blkdev *dev)
{
	uint8_t a = fz_u8(), b = fz_u8();
	struct fzb_bio *f = &fzb_bios[a % FZB_BIOS];
	enum bio_op op = (enum bio_op)(b % BIO_OP_COUNT);
	uint64_t sector = fz_u16() % FZB_MAX_SECTOR;
	uint32_t nsect = 1 + fz_u8() % FZB_MAX_SECT;
	uint8_t cut = fz_u8();

	if (f->busy)
		return;
	if (op == BIO_OP_FLUSH || op == BIO_OP_DISCARD || op == BIO_OP_WRITE_ZEROES) {
		bio_init_nodata(&f->bio, dev, op, sector, op == BIO_OP_FLUSH ? 0 : nsect,
				fzb_end_io, f);
	} else {
		uint32_t bytes = op == BIO_OP_GET_ID ? BIO_ID_BYTES : nsect * SECTOR_SIZE;
		uint32_t nsegs = 1 + cut % FZB_MAX_SEGS, off = 0;

		if (nsegs > bytes)
			nsegs = bytes;
		for (uint32_t i = 0; i < nsegs; i++) {
			uint32_t left =
			    bytes - off - (nsegs - i - 1); /* a byte for each one after */
			uint32_t len = i == nsegs - 1 ? bytes - off : 1 + fz_u16() % left;
			/* Segments a few bytes apart, at odd offsets when the input says so. */
			f->seg[i] = (struct bio_seg){f->buf + off + i * 8 + (cut >> 6), len};
			off += len;
		}
		bio_init_rw(&f->bio, dev, op, sector, f->seg, nsegs, fzb_end_io, f);
	}
	f->bio.bio_flags = (b >> 4) & (BIO_FUA | BIO_PREFLUSH | BIO_SYNC);
	f->busy = true;
	kprintf("fzb: bio %u op %u sector %llu sectors %u flags %#x\n",
		(unsigned int)(f - fzb_bios), op, (unsigned long long)sector, nsect,
		f->bio.bio_flags);
	submit_bio(&f->bio);
}

static bool fzb_any_busy(void)
{
	for (unsigned int i = 0; i < FZB_BIOS; i++) {
		if (fzb_bios[i].busy)
			return true;
	}
	return false;
}

/* The device header and its patches; NULL when the input is too short to go on. */
static struct sim_dev *fzb_device(struct sim_blk_cfg *c, bool *patched)
{
	uint8_t f0 = fz_u8(), f1 = fz_u8();

	sim_blk_cfg_default(c);
	c->version = 1 + (f0 & 1);
	c->indirect = f0 & 2;
	c->event_idx = f0 & 4;
	c->ro = f0 & 8;
	c->flush = f0 & 16;
	c->config_wce = f0 & 32;
	c->discard = f0 & 64;
	c->write_zeroes = f1 & 1;
	c->capacity = 1 + fz_u16() % FZB_MAX_CAP;
	uint8_t bs = fz_u8();
	c->blk_size = (f1 & 8) ? ((bs & 0x80) ? fz_u32() : SECTOR_SIZE << (bs % 8)) : 0;
	uint8_t sm = fz_u8();
	c->seg_max = (f1 & 2) ? sm : 0;
	uint16_t sz = fz_u16();
	c->size_max = (f1 & 4) ? sz : 0;
	uint8_t qn = fz_u8();
	c->queue_num_max = 1u << (qn % 11);
	c->packed = qn & 0x80; /* offered on Version 2: the driver then takes the packed ring */
	blk_param_retries = fz_u8() % 4;
	blk_param_timeout_ms = 1 + fz_u8();
	blk_param_merge = (f1 >> 4) & 1;

	/* Raw patches of the configuration space: any bytes, any offset in the window. */
	unsigned int npatch = (f1 >> 5) % (FZB_PATCHES + 1);
	*patched = npatch != 0;
	struct sim_dev *d = sim_add_blk(c);
	if (!d)
		return NULL;
	for (unsigned int i = 0; i < npatch; i++) {
		uint8_t bytes[8];
		unsigned int off = fz_u8(), len = 1 + fz_u8() % sizeof(bytes);

		if (off + len > FZB_CFG_BYTES)
			len = FZB_CFG_BYTES - off;
		for (unsigned int k = 0; k < len; k++)
			bytes[k] = fz_u8();
		sim_set_config(d, off, bytes, len);
	}
	return fz.n ? d : NULL;
}

/* What probe made of the device: its own geometry, or a refusal. */
static void fzb_check_probe(struct vmmio_dev *vdev, struct blkdev *dev)
{
	uint64_t cap;
	uint32_t lbs = SECTOR_SIZE;

	if (!dev)
		return;
	if (vmmio_config_read(vdev, VIRTIO_BLK_CFG_CAPACITY, &cap, sizeof(cap)))
		__builtin_trap();
	if ((vdev->driver_features & (1ull << VIRTIO_BLK_F_BLK_SIZE)) &&
	    vmmio_config_read(vdev, VIRTIO_BLK_CFG_BLK_SIZE, &lbs, sizeof(lbs)))
		__builtin_trap();
	const struct blkdev_info *in = blkdev_info(dev);
	if (in->capacity != cap || in->lbs != lbs)
		__builtin_trap(); /* used with a geometry other than the device's */
	if (!lbs || cap % (lbs / SECTOR_SIZE))
		__builtin_trap(); /* a geometry that should have been refused */
}

static void fzb_run(struct sim_dev *d, struct vmmio_dev *vdev, struct blkdev *dev)
{
	while (fz.n) {
		uint8_t op = fz_u8();

		kprintf("fzb: op %u\n", op % 12);
		switch (op % 12) {
		case 0:
		case 1:
		case 2:
			fzb_submit(dev);
			break;
		case 3:
		case 4:
			sim_process(d, 1 + fz_u8() % 8, (enum sim_order)(fz_u8() % 3));
			break;
		case 5: {
			enum sim_hostile h =
			    (enum sim_hostile)(fz_u8() % SIM_HOSTILE_COUNT);

			kprintf("fzb: hostile %u\n", h);
			if (h == SIM_HOSTILE_STATUS_VALUE)
				sim_set_hostile_value(d, h, fz_u8());
			else if (h == SIM_HOSTILE_LEN_VALUE)
				sim_set_hostile_value(d, h, fz_u32());
			else
				sim_set_hostile(d, h);
			break;
		}
		case 6: /* time passes: deadlines, recovery */
			hal_host_advance((uint64_t)fz_u8() * NSEC_PER_MSEC);
			break;
		case 7:
			sim_set_reset_hangs(d, fz_u8() & 1);
			break;
		case 8: { /* any offset, past the window too: refused, never out of bounds */
			uint64_t v;
			unsigned int off = fz_u16() % FZB_READ_OFFS, len = 1u << (fz_u8() % 4);
			int err = vmmio_config_read(vdev, off, &v, len);

			if (!err && off + len > FZB_CFG_BYTES)
				__builtin_trap();
			break;
		}
		case 9: { /* a batch submitted and completed with IRQs masked */
			irqflags_t m = irq_save();
			fzb_submit(dev);
			sim_process(d, 1 + fz_u8() % 8, SIM_ORDER_FIFO);
			irq_restore(m);
			sim_deliver_irqs();
			break;
		}
		case 10: {
			uint8_t v = fz_u8();

			kprintf("fzb: deferred %u autocomplete %u\n", v & 1, (v >> 1) & 1);
			sim_set_deferred_fetch(d, v & 1);
			sim_set_autocomplete(d, v & 2);
			break;
		}
		case 11:
			sim_set_io_error(d, (fz_u8() & 1) ? fz_u16() : UINT64_MAX);
			break;
		}
	}
}

/* The device behaves from now on: everything ends, unless the disk was declared broken. */
static void fzb_drain(struct sim_dev *d, struct blkdev *dev)
{
	sim_set_hostile(d, SIM_HOSTILE_NONE);
	sim_set_reset_hangs(d, false);
	sim_set_deferred_fetch(d, false);
	sim_set_io_error(d, UINT64_MAX);
	for (unsigned int i = 0; i < FZB_DRAIN && fzb_any_busy(); i++) {
		while (sim_pending(d))
			sim_process(d, UINT32_MAX, SIM_ORDER_FIFO);
		sim_deliver_irqs();
		if (fzb_any_busy())
			hal_host_advance((blk_param_timeout_ms + 1) * NSEC_PER_MSEC);
	}
	if (fzb_any_busy() && !blkdev_broken(dev)) {
		struct blk_counters ctr;

		blkdev_counters(dev, &ctr);
		for (unsigned int i = 0; i < FZB_BIOS; i++) {
			if (fzb_bios[i].busy)
				kprintf("fzb: bio %u never ended (stage %u refs %u status %d)\n", i,
					fzb_bios[i].bio.bio_stage, fzb_bios[i].bio.bio_refs,
					fzb_bios[i].bio.bio_status);
		}
		kprintf("fzb: device pending %u, in flight %llu, queued %llu\n", sim_pending(d),
			(unsigned long long)ctr.in_flight, (unsigned long long)ctr.queued);
		__builtin_trap(); /* a bio that never ends on a working disk */
	}
}

static void fzb_forget(void)
{
	vblk_host_reset();
	blk_dev_host_reset();
	sim_reset_bus();
}

void fz_blk_one(void)
{
	struct sim_blk_cfg c;
	struct sim_dev *d;
	unsigned int nslots;
	bool patched;

	fz_u8(); /* the mode byte */
	memset(fzb_bios, 0, sizeof(fzb_bios));
	fzb_forget();
	d = fzb_device(&c, &patched);
	if (d && vmmio_probe(sim_slots(&nslots), nslots) == 1) {
		struct vmmio_dev *vdev = vmmio_get(0);
		struct blkdev *dev = vblk_probe_all() == 1 ? blkdev_get(0) : NULL;

		fzb_check_probe(vdev, dev);
		if (dev) {
			struct sim_stats st;

			fzb_run(d, vdev, dev);
			fzb_drain(d, dev);
			sim_get_stats(d, &st);
			if (!patched && st.driver_errors) {
				/* A malformed chain for a device whose configuration told the
				 * truth. */
				kprintf("fzb: driver error: %s\n", sim_last_error(d));
				__builtin_trap();
			}
		}
	}
	fzb_forget();
	blk_param_retries = FZB_DEFAULT_RETRIES;
	blk_param_timeout_ms = FZB_DEFAULT_TIMEOUT_MS;
	blk_param_merge = 1;
}
