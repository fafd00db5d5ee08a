/*
 * libFuzzer target: the fuzzer is the device. Two modes, chosen by the top
 * bit of the first input byte:
 *
 * Transport mode (bit clear): the input supplies every value the transport
 * reads from the virtio-mmio registers (identity, features, QueueNumMax,
 * Status read-back, InterruptStatus, configuration space) and writes the used
 * ring (ids, lengths, used->idx, flags, avail_event) at will, interleaved
 * with virtqueue operations (add, kick, drain, enable/disable callbacks,
 * interrupt, recovery). With bit 3 of the flags byte the device offers
 * VIRTIO_F_RING_PACKED (on Version 2): the input then writes used
 * descriptors (id, length, flags with the right or a wrong wrap bit) in
 * ring order or anywhere, and the device event suppression area.
 *
 * Block mode (bit set, fuzz_blk.c): the simulated virtio-blk device of
 * test/sim behind the real virtio-blk driver and block core; the input
 * chooses the device's configuration (capacity, blk_size, seg_max, size_max,
 * queue size, features, and raw bytes anywhere in its configuration space),
 * the bios submitted, the status bytes and used lengths the device writes,
 * lost and late completions, timeouts, and resets that succeed or hang.
 *
 * Run under ASan and UBSan.
 *
 * What must hold whatever the device does (checked with __builtin_trap):
 *  - vq_get_used only returns cookies that are in flight, each once, with a
 *    length within that chain's writable bytes;
 *  - vq_detach_unused returns exactly the cookies still in flight;
 *  - free count and in-flight count stay consistent with what was added;
 *  - no out-of-bounds access or undefined behaviour (the sanitizers).
 *
 * Transport mode input: an 8-byte header (below), then operations of one
 * opcode byte and their operand bytes; missing bytes read as 0 and end the run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <levblk/errno.h>
#include <levblk/hal/dma.h>
#include <levblk/hal/mmio.h>
#include <levblk/irq/irq.h>
#include <levblk/virtio/virtio_mmio.h>
#include <levblk/virtio/virtqueue.h>
#include "fuzz/fuzz_input.h"
#include "hal_host/hal_host.h"
#include "sim/sim.h"
#include "virtio/virtqueue_private.h"
#include "virtio/vmmio_regs.h"
#include "virtio/vring.h"
#include "virtio/vring_packed.h"

#define FZ_BASE	   0x0a000000UL
#define FZ_SLOT	   0x200U
#define FZ_MAX_REQ 64U
#define FZ_BUF	   64U

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_in fz;

uint8_t fz_u8(void)
{
	if (!fz.n)
		return 0;
	fz.n--;
	return *fz.p++;
}

uint16_t fz_u16(void)
{
	return (uint16_t)(fz_u8() | fz_u8() << 8);
}

uint32_t fz_u32(void)
{
	return (uint32_t)fz_u16() | (uint32_t)fz_u16() << 16;
}

/* ---- the fuzzed device's registers ---- */

static struct {
	uint32_t version, device_id, features[2], qmax, status;
	uint8_t status_mode; /* 0 faithful, 1 drop FEATURES_OK, 2 input-driven */
	uint32_t feat_sel;
	bool magic_bad;
} fzdev;

static uint32_t fz_mmio_read32(uintptr_t addr)
{
	unsigned off = (unsigned)(addr - FZ_BASE);

	if (addr < FZ_BASE || off >= FZ_SLOT || (off & 3))
		__builtin_trap(); /* the transport left its register window */
	switch (off) {
	case VMMIO_MAGIC_VALUE:
		return fzdev.magic_bad ? 0x12345678U : VMMIO_MAGIC;
	case VMMIO_VERSION:
		return fzdev.version;
	case VMMIO_DEVICE_ID:
		return fzdev.device_id;
	case VMMIO_VENDOR_ID:
		return 0x554d4551U;
	case VMMIO_DEVICE_FEATURES:
		return fzdev.feat_sel < 2 ? fzdev.features[fzdev.feat_sel] : 0;
	case VMMIO_QUEUE_NUM_MAX:
		return fzdev.qmax;
	case VMMIO_STATUS:
		if (fzdev.status_mode == 2)
			return fz_u8();
		return fzdev.status;
	default:
		/* InterruptStatus, QueueReady/PFN, ConfigGeneration, config space: the fuzzer's
		 * word */
		return fz_u32();
	}
}

static uint8_t fz_mmio_read8(uintptr_t addr)
{
	unsigned off = (unsigned)(addr - FZ_BASE);

	if (addr < FZ_BASE || off >= FZ_SLOT || off < VMMIO_CONFIG)
		__builtin_trap();
	return fz_u8();
}

static void fz_mmio_write32(uintptr_t addr, uint32_t val)
{
	unsigned off = (unsigned)(addr - FZ_BASE);

	if (addr < FZ_BASE || off >= FZ_SLOT || (off & 3) || off >= VMMIO_CONFIG)
		__builtin_trap();
	if (off == VMMIO_DEVICE_FEATURES_SEL)
		fzdev.feat_sel = val;
	if (off == VMMIO_STATUS) {
		fzdev.status = val;
		if (fzdev.status_mode == 1)
			fzdev.status &= ~VIRTIO_STATUS_FEATURES_OK;
	}
}

/* The registers above replace the simulated bus in transport mode. */
static const struct sim_mmio_hook fz_hook = {
    .read32 = fz_mmio_read32, .write32 = fz_mmio_write32, .read8 = fz_mmio_read8};

/* ---- the driver side, with a shadow of what is in flight ---- */

struct fz_req {
	bool in_flight;
	uint32_t writable;
	uint8_t buf[FZ_BUF];
};

static struct fz_req fz_req[FZ_MAX_REQ];
static unsigned fz_in_flight;

static void fz_check_back(void *cookie, uint32_t len, bool check_len)
{
	struct fz_req *r = cookie;

	if (r < fz_req || r >= fz_req + FZ_MAX_REQ || !r->in_flight)
		__builtin_trap(); /* not a cookie in flight */
	if (check_len && len > r->writable)
		__builtin_trap(); /* unchecked device length */
	r->in_flight = false;
	fz_in_flight--;
}

static void fz_add(struct virtqueue *vq)
{
	uint8_t a = fz_u8(), b = fz_u8();
	unsigned slot = a % FZ_MAX_REQ, n = 1 + b % 8, n_out = (b >> 4) % (n + 1);
	struct fz_req *r = &fz_req[slot];
	struct vq_sg sg[8];
	int err;

	if (r->in_flight)
		return;
	r->writable = 0;
	for (unsigned i = 0; i < n; i++) {
		sg[i].bus = hal_virt_to_bus(r->buf + i * (FZ_BUF / 8));
		sg[i].len = FZ_BUF / 8;
		if (i >= n_out)
			r->writable += sg[i].len;
	}
	err = vq_add(vq, r, sg, n_out, n - n_out);
	if (err == 0) {
		r->in_flight = true;
		fz_in_flight++;
	} else if (err != -ENOSPC && err != -ENODEV && err != -EINVAL) {
		__builtin_trap();
	}
}

static void fz_device_writes(struct virtqueue *vq, uint8_t op)
{
	volatile struct vring_used *u = (volatile struct vring_used *)(uintptr_t)vq_used_bus(vq);
	unsigned num = vq_size(vq);

	switch (op) {
	case 0: { /* a used entry at the slot used->idx points to, then bump the index */
		uint16_t idx = u->idx;
		uint32_t id = fz_u8();
		uint32_t len = fz_u8();

		if (fz_u8() & 1) /* sometimes a wild id or length */
			id = fz_u32();
		if (fz_u8() & 1)
			len = fz_u32();
		u->ring[idx & (num - 1)].id = id;
		u->ring[idx & (num - 1)].len = len;
		u->idx = (uint16_t)(idx + 1 + (fz_u8() & 1 ? fz_u16() : 0));
		break;
	}
	case 1:
		u->idx = fz_u16();
		break;
	case 2:
		u->flags = fz_u16();
		*vring_avail_event(u, num) = fz_u16();
		break;
	default: { /* rewrite any used slot */
		unsigned slot = fz_u16() & (num - 1);

		u->ring[slot].id = fz_u32();
		u->ring[slot].len = fz_u32();
		break;
	}
	}
}

/* Packed ring: the device's own used position and wrap counter, as it sees them. */
static struct {
	unsigned pos;
	bool wrap;
} fzp;

static void fz_device_writes_packed(struct virtqueue *vq, uint8_t op)
{
	volatile struct vring_packed_desc *ring =
	    (volatile struct vring_packed_desc *)(uintptr_t)vq_desc_bus(vq);
	volatile struct vring_packed_event *dev_ev =
	    (volatile struct vring_packed_event *)(uintptr_t)vq_used_bus(vq);
	unsigned num = vq_size(vq);

	switch (op) {
	case 0: { /* a used descriptor where a device would put it, then skip 1..4 slots */
		uint16_t id = fz_u8();
		uint32_t len = fz_u8();
		uint8_t how = fz_u8();
		bool wrap = (how & 1) ? !fzp.wrap : fzp.wrap;

		if (how & 2)
			id = fz_u16();
		if (how & 4)
			len = fz_u32();
		ring[fzp.pos].id = id;
		ring[fzp.pos].len = len;
		ring[fzp.pos].flags = vring_packed_used_flags(wrap);
		fzp.pos += 1 + (how >> 6);
		if (fzp.pos >= num) {
			fzp.pos -= num;
			fzp.wrap = !fzp.wrap;
		}
		break;
	}
	case 1:
		dev_ev->off_wrap = fz_u16();
		dev_ev->flags = fz_u16();
		break;
	case 2:
		fzp.pos = fz_u16() % num;
		fzp.wrap = fz_u8() & 1;
		break;
	default: { /* rewrite any slot */
		unsigned slot = fz_u16() % num;

		ring[slot].id = fz_u16();
		ring[slot].len = fz_u32();
		ring[slot].flags = fz_u16();
		break;
	}
	}
}

static void fz_drain_detached(struct virtqueue *vq)
{
	void *c;

	while ((c = vq_detach_unused(vq)))
		fz_check_back(c, 0, false);
	if (fz_in_flight || vq_in_flight(vq))
		__builtin_trap(); /* a cookie was lost */
}

static void fz_run(struct vmmio_dev *dev, struct virtqueue *vq)
{
	while (fz.n) {
		uint8_t op = fz_u8();
		uint32_t len;
		void *c;

		switch (op % 10) {
		case 0:
		case 1:
			fz_add(vq);
			break;
		case 2:
			if (vq_kick_prepare(vq))
				vq_notify(vq);
			break;
		case 3:
		case 4:
			if (vq_is_packed(vq))
				fz_device_writes_packed(vq, fz_u8() % 4);
			else
				fz_device_writes(vq, fz_u8() % 4);
			break;
		case 5:
			while ((c = vq_get_used(vq, &len)))
				fz_check_back(c, len, true);
			break;
		case 6: {
			uint8_t how = fz_u8();

			if (how & 1)
				vq_disable_cb(vq);
			else if (!((how & 2) ? vq_enable_cb_delayed(vq) : vq_enable_cb(vq)))
				(void)vq_has_used(vq);
			break;
		}
		case 7:
			if (vmmio_ack_interrupt(dev) & VMMIO_INT_VRING)
				(void)vq_irq_note(vq, 1);
			break;
		case 8: {
			uint64_t v;

			(void)vmmio_config_read(dev, fz_u8(), &v, 1U << (fz_u8() % 4));
			break;
		}
		case 9:
			/* recovery: only once broken, like the block layer would */
			if (vq_is_broken(vq)) {
				fz_drain_detached(vq);
				if (vmmio_reset(dev) == 0 && vmmio_restart(dev) != 0)
					return;
				fzp.pos = 0;
				fzp.wrap = true;
			}
			break;
		}
		if (vq_in_flight(vq) != fz_in_flight || vq_free_count(vq) > vq_size(vq))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct dt_virtio_mmio slot = {.base = FZ_BASE, .size = FZ_SLOT, .intid = 48};
	struct vmmio_dev *dev;
	struct virtqueue *vq;
	uint8_t flags;

	if (!quiet) {
		/* LEVBLK_FUZZ_VERBOSE=1 shows the kernel's lines (replaying a crash). */
		hal_host_quiet = !getenv("LEVBLK_FUZZ_VERBOSE");
		if (!hal_host_quiet)
			setvbuf(stdout, NULL, _IONBF, 0); /* nothing lost when a check traps */
		quiet = true;
	}
	fz.p = data;
	fz.n = size;
	if (size && (data[0] & FZ_MODE_BLK)) {
		sim_set_mmio_hook(NULL);
		fz_blk_one();
		return 0;
	}
	sim_set_mmio_hook(&fz_hook);
	memset(&fzdev, 0, sizeof(fzdev));
	memset(fz_req, 0, sizeof(fz_req));
	fz_in_flight = 0;

	/* Header: version, flags, queue sizes, extra feature bits. */
	fzdev.version = 1 + (fz_u8() & 1);
	flags = fz_u8();
	fzdev.device_id = VIRTIO_ID_BLOCK;
	fzdev.magic_bad = (flags & 0x80) != 0;
	fzdev.status_mode = (flags >> 4) % 3;
	fzdev.features[0] = fz_u16();
	if (flags & 1)
		fzdev.features[0] |= 1U << VIRTIO_F_INDIRECT_DESC;
	if (flags & 2)
		fzdev.features[0] |= 1U << VIRTIO_F_EVENT_IDX;
	fzdev.features[1] = (flags & 4) ? 1U : 0U; /* VERSION_1 */
	if (flags & 8)
		fzdev.features[1] |= 1U << (VIRTIO_F_RING_PACKED - 32);
	fzp.pos = 0;
	fzp.wrap = true;
	uint8_t q = fz_u8();
	fzdev.qmax = q == 0xff ? 0 : 1U << (q % 12);
	uint8_t w = fz_u8();
	unsigned wanted = 1U << (1 + w % 10);

	/* A packed ring takes any size: sometimes not a power of two. */
	if ((flags & 8) && (w & 0x80))
		wanted = 2 + w % 61;
	fz_u8(); /* reserved */

	if (vmmio_probe(&slot, 1) != 1)
		return 0;
	dev = vmmio_get(0);
	if (vmmio_init(dev, ~0ULL, 0, NULL) == 0 && vmmio_setup_queue(dev, 0, wanted, &vq) == 0 &&
	    vmmio_driver_ok(dev) == 0)
		fz_run(dev, vq);
	if (dev->vq[0]) {
		/* Whatever happened, what is in flight can be recovered after a reset. */
		vq_mark_reset(dev->vq[0]);
		fz_drain_detached(dev->vq[0]);
	}
	fzdev.status_mode = 0;
	vmmio_release(dev);
	return 0;
}
