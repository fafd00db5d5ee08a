/*
 * levblk_sim: a simulated virtio-mmio bus with virtio-blk devices, for host
 * tests of src/virtio and src/blk. Link the library levblk_sim (test/sim).
 *
 * What it provides to the code under test (the host build's hardware):
 *  - mmio_read32_relaxed / mmio_write32_relaxed / mmio_read8_relaxed: a
 *    register file per slot, virtio-mmio Version 1 or 2 (4.2.2, 4.2.4);
 *  - irq_register / irq_set_affinity / irq_unregister / irq_enable / irq_disable / irq_count /
 *    irq_set_priority / irq_spurious_count / irq_gic_version from
 *    <levblk/irq/irq.h>: the "interrupt controller". A device raises its line by
 *    calling the registered handler directly, unless the host HAL says IRQs
 *    are masked (irqs_disabled()), in which case the interrupt stays pending
 *    until sim_deliver_irqs() or the next sim_process() with IRQs unmasked.
 *    The line is level: after a handler returns, if InterruptStatus is still
 *    non-zero, the handler is called again (bounded, then the test fails).
 *
 * The bus: SIM_NSLOTS slots at SIM_MMIO_BASE + n * SIM_SLOT_SIZE with INTID
 * SIM_INTID_BASE + n, filled from the top like QEMU's virt machine: the first
 * device added goes to slot 31. sim_slots() lists every slot in ascending
 * address order (what dt_info()->virtio[] holds), empty ones included
 * (DeviceID 0), so vmmio_probe(sim_slots(&n), n) works as on the target.
 *
 * The rings: split (2.7), or packed (2.8) when the driver accepts
 * VIRTIO_F_RING_PACKED (cfg.packed offers it). In packed mode the queue size
 * may be any value up to QueueNumMax, the device takes chains whose head
 * descriptor carries its avail wrap counter, hands each back with one used
 * descriptor (the last descriptor's buffer id) and skips the slots the chain
 * held, and honours the driver's event suppression area (ENABLE, DISABLE,
 * or an offset with EVENT_IDX); its own area asks for notifications.
 *
 * The block device behaves like QEMU's virtio-blk: when the driver writes
 * QueueNotify it takes every new avail entry (direct or indirect chain),
 * validates the chain (descriptor ids in range, no loops, header readable
 * and 16 bytes, status byte writable and last, data in the right
 * direction, seg_max/size_max honoured) and queues it as "pending". Nothing
 * completes until the test calls sim_process(), which executes pending
 * requests on the RAM disk (IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES),
 * writes the status byte and the used entry (len = bytes written to the
 * driver, status byte included), and raises the interrupt honouring
 * NO_INTERRUPT / used_event. A chain that fails validation is a driver bug:
 * it is counted in sim_stats.driver_errors with a message in
 * sim_last_error(), and handed back with used len 0 (no status byte is
 * written: the chain is not trusted enough to find one). Tests
 * normally assert driver_errors == 0.
 *
 * Hostile modes (sim_set_hostile) make the next completion misbehave, once.
 *
 * Everything is single-threaded: the "device" runs inside the test's calls.
 */
#ifndef LEVBLK_TEST_SIM_H
#define LEVBLK_TEST_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/hal/dt.h>

#define SIM_MMIO_BASE  0x0a000000UL
#define SIM_SLOT_SIZE  0x200U
#define SIM_NSLOTS     32U
#define SIM_INTID_BASE 48U
#define SIM_MAX_QUEUES 8U /* request queues a device may offer (num_queues) */
#define SIM_ANY_QUEUE  (~0U)

/* virtio-blk feature bits (5.2.3) the simulator knows. */
#define SIM_BLK_F_SIZE_MAX     1
#define SIM_BLK_F_SEG_MAX      2
#define SIM_BLK_F_BLK_SIZE     6
#define SIM_BLK_F_RO	       5
#define SIM_BLK_F_FLUSH	       9
#define SIM_BLK_F_CONFIG_WCE   11
#define SIM_BLK_F_MQ	       12
#define SIM_BLK_F_DISCARD      13
#define SIM_BLK_F_WRITE_ZEROES 14

struct sim_blk_cfg {
	unsigned version;  /* 1 legacy, 2 modern */
	uint64_t capacity; /* in 512-byte sectors */
	uint32_t blk_size; /* logical block bytes; 0 = BLK_SIZE not offered (512) */
	uint32_t seg_max;  /* 0 = SEG_MAX not offered */
	uint32_t size_max; /* 0 = SIZE_MAX not offered */
	bool ro, flush, config_wce, discard, write_zeroes;
	bool indirect, event_idx; /* VIRTIO_F_INDIRECT_DESC / VIRTIO_F_EVENT_IDX offered */
	bool packed;		  /* VIRTIO_F_RING_PACKED offered (Version 2 only) */
	uint32_t queue_num_max;	  /* QueueNumMax (QEMU: 1024) */
	/*
	 * Request queues (VIRTIO_BLK_F_MQ offered, num_queues in the
	 * configuration): 0 or 1 is one queue and no MQ; at most SIM_MAX_QUEUES.
	 * All queues share the device's one interrupt, as on virtio-mmio.
	 */
	unsigned num_queues;
	/* Misbehaving initialisation, for the transport's failure paths. */
	bool refuse_features_ok;     /* FEATURES_OK does not stick */
	bool offer_version_1_legacy; /* a Version 1 device that offers VERSION_1 (bogus) */
	bool omit_version_1;	     /* a Version 2 device that does not offer VERSION_1 */
	bool reset_never_completes;  /* a reset is ignored: Status never reads 0, chains stay */
};

/* QEMU's defaults: modern, 2048 sectors, 512-byte blocks, seg_max 254, FLUSH,
 * CONFIG_WCE, DISCARD, WRITE_ZEROES, indirect and event index, QueueNumMax 1024. */
void sim_blk_cfg_default(struct sim_blk_cfg *cfg);

enum sim_hostile {
	SIM_HOSTILE_NONE = 0,
	SIM_HOSTILE_ID_OUT_OF_RANGE,   /* used id = queue size + 5 */
	SIM_HOSTILE_ID_NOT_IN_FLIGHT,  /* used id = a descriptor that heads no chain in flight */
	SIM_HOSTILE_DOUBLE_COMPLETION, /* the completion is written twice (two used entries) */
	SIM_HOSTILE_LEN_TOO_LARGE,     /* used len = writable bytes + 4096 */
	SIM_HOSTILE_USED_IDX_JUMP,     /* used idx advanced by queue size + 3 (packed: wrong wrap) */
	SIM_HOSTILE_GARBAGE_STATUS,    /* status byte 0x5a (not OK/IOERR/UNSUPP) */
	SIM_HOSTILE_SWALLOW,	       /* the request is dropped: never completed */
	SIM_HOSTILE_DROP_IRQ,	       /* completed, but no interrupt raised */
	SIM_HOSTILE_LEN_SHORT,	       /* executed, but used len = 1 (the status byte only) */
	SIM_HOSTILE_STATUS_VALUE,      /* status byte = the value given to sim_set_hostile_value */
	SIM_HOSTILE_LEN_VALUE,	       /* used len = the value given to sim_set_hostile_value */
	/* Packed ring: the used descriptor's AVAIL/USED flags carry the wrong wrap
	 * counter (split ring: as SIM_HOSTILE_USED_IDX_JUMP). */
	SIM_HOSTILE_WRONG_WRAP,
	SIM_HOSTILE_COUNT /* how many modes there are */
};

enum sim_order {
	SIM_ORDER_FIFO,	  /* oldest pending first (as QEMU mostly does) */
	SIM_ORDER_LIFO,	  /* newest first */
	SIM_ORDER_RANDOM, /* shuffled with the bus's seeded generator (sim_seed) */
};

struct sim_stats {
	uint64_t notifies;	  /* QueueNotify writes */
	uint64_t chains;	  /* chains taken from the avail ring */
	uint64_t chains_indirect; /* ... of which indirect */
	uint64_t completions;	  /* used entries written */
	uint64_t irqs_raised;	  /* interrupts raised */
	uint64_t irqs_suppressed; /* completions whose interrupt the driver waived */
	uint64_t driver_errors;	  /* malformed chains or register misuse by the driver */
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids;
	uint64_t queue_chains[SIM_MAX_QUEUES];	    /* chains taken, by queue */
	uint64_t queue_completions[SIM_MAX_QUEUES]; /* used entries written, by queue */
	uint64_t queue_notifies[SIM_MAX_QUEUES];    /* QueueNotify writes, by queue */
	uint32_t max_segments; /* most data segments seen in one chain */
	uint32_t max_pending;  /* most chains pending at once */
};

/* The unmap bit of a discard/write-zeroes segment's flags (5.2.6). */
#define SIM_BLK_WZ_UNMAP 1U

/* One request as the device found it on the wire (sim_last_wire). */
struct sim_wire {
	uint32_t type;	       /* header type (VIRTIO_BLK_T_*) */
	uint32_t hdr_reserved; /* the header's second word (ioprio on modern devices) */
	uint64_t hdr_sector;   /* the header's sector */
	uint64_t data_out;     /* readable bytes after the header */
	uint64_t data_in;      /* writable bytes before the status byte */
	unsigned nseg;	       /* descriptors in the chain */
	bool has_range;	       /* DISCARD / WRITE_ZEROES: the segment below was read */
	uint64_t range_sector;
	uint32_t range_sectors;
	uint32_t range_flags;
};

struct sim_dev;

/* Removes every device, interrupt handler and counter: a fresh bus. */
void sim_reset_bus(void);
void sim_seed(uint64_t seed);

/* Adds a virtio-blk device in the next free slot (31, 30, ...). NULL when full. */
struct sim_dev *sim_add_blk(const struct sim_blk_cfg *cfg);
/* Adds a device of another type that only does initialisation (e.g. VIRTIO_ID_RNG). */
struct sim_dev *sim_add_other(uint32_t device_id, unsigned version);

/* Every slot, ascending address, as the device tree lists them. */
const struct dt_virtio_mmio *sim_slots(unsigned *n);

/* The RAM disk behind a block device: capacity * 512 bytes. */
uint8_t *sim_blk_data(struct sim_dev *d);
uint32_t sim_intid(const struct sim_dev *d);
uintptr_t sim_base(const struct sim_dev *d);
uint8_t sim_status(const struct sim_dev *d); /* the Status register */

/* Chains taken from the avail ring and not yet completed (all queues, or queue qi). */
unsigned sim_pending(const struct sim_dev *d);
unsigned sim_pending_queue(const struct sim_dev *d, unsigned qi);
/* Request queues the device has (num_queues, at least 1). */
unsigned sim_queues(const struct sim_dev *d);
/* Request queues the driver has set up (QueueReady 1, or a QueuePFN on the legacy transport). */
unsigned sim_queues_ready(const struct sim_dev *d);
/*
 * Completes up to `max` pending chains in the given order, then raises the
 * interrupt if any completion asked for one (and delivers interrupts still
 * pending from earlier if IRQs are unmasked). Returns chains completed.
 */
unsigned sim_process(struct sim_dev *d, unsigned max, enum sim_order order);
/*
 * The same for the chains of queue qi only (SIM_ANY_QUEUE: all, as
 * sim_process). A hostile mode set before applies to that queue's next
 * completion. The one interrupt is raised if any queue's completions want it.
 */
unsigned sim_process_queue(struct sim_dev *d, unsigned qi, unsigned max, enum sim_order order);
/* Delivers pending interrupts of every device if IRQs are unmasked. */
void sim_deliver_irqs(void);
/*
 * "Busy device": QueueNotify only records the kick; chains are taken from the
 * avail ring at the next sim_process. Without event index the device sets
 * VRING_USED_F_NO_NOTIFY meanwhile, with it avail_event stays behind: either
 * way the driver's later kicks are suppressed (what QEMU's iothread does).
 * A packed ring's device event area says DISABLE meanwhile, in both cases.
 */
void sim_set_deferred_fetch(struct sim_dev *d, bool on);
/* Completes each chain as soon as it is notified (polled/synchronous tests). */
void sim_set_autocomplete(struct sim_dev *d, bool on);

/* Misbehaves on the next completion (one-shot). */
void sim_set_hostile(struct sim_dev *d, enum sim_hostile mode);
/* The same, for the modes that take a value (SIM_HOSTILE_STATUS_VALUE, SIM_HOSTILE_LEN_VALUE). */
void sim_set_hostile_value(struct sim_dev *d, enum sim_hostile mode, uint32_t value);

/*
 * Fuzzing: while a hook is set, every MMIO access goes to it instead of the
 * simulated bus (a fuzzer that plays the registers itself); NULL restores the bus.
 */
struct sim_mmio_hook {
	uint32_t (*read32)(uintptr_t addr);
	void (*write32)(uintptr_t addr, uint32_t val);
	uint8_t (*read8)(uintptr_t addr);
};
void sim_set_mmio_hook(const struct sim_mmio_hook *hook);
/* Requests touching this 512-byte sector complete with VIRTIO_BLK_S_IOERR (UINT64_MAX: none). */
void sim_set_io_error(struct sim_dev *d, uint64_t sector);
/*
 * From now on a reset (Status 0) is ignored: Status never reads back 0 and
 * the pending chains stay, to be completed (their buffers written) by a
 * later sim_process; or resets work again (recovery tests).
 */
void sim_set_reset_hangs(struct sim_dev *d, bool on);
/*
 * Overwrites len bytes of the configuration space at off (0 .. SIM_SLOT_SIZE
 * - 0x100; bytes the device does not define read as written) and bumps
 * ConfigGeneration. Only what the driver reads changes: the RAM disk keeps
 * cfg's capacity, and requests are still checked against it.
 */
void sim_set_config(struct sim_dev *d, unsigned off, const void *src, unsigned len);
/* Raises a configuration-change interrupt (e.g. after changing capacity). */
void sim_config_change(struct sim_dev *d, uint64_t new_capacity);

/*
 * Calls fn(ctx, bus address, length) for every descriptor of every chain the
 * device takes from the avail ring (after the chain is found well formed),
 * indirect tables' entries included: every address the driver gave it.
 * NULL turns it off.
 */
typedef void (*sim_seg_hook_t)(void *ctx, uint64_t addr, uint32_t len);
void sim_set_seg_hook(struct sim_dev *d, sim_seg_hook_t fn, void *ctx);

void sim_get_stats(const struct sim_dev *d, struct sim_stats *out);
/* The last request the device executed, as it was encoded on the wire. */
void sim_last_wire(const struct sim_dev *d, struct sim_wire *out);
/* What GET_ID returns (len <= 20 bytes, zero-padded); "levblk-sim" by default. */
void sim_set_id(struct sim_dev *d, const void *id, unsigned len);
const char *sim_last_error(const struct sim_dev *d); /* last driver error, "" if none */

#endif
