/*
 * Block devices as their users see them: lookup by name, geometry, the
 * negotiated limits, and counters.
 *
 * Devices are named vda, vdb, ... in the order their drivers register them
 * (for virtio-blk: the order of -device options on QEMU's command line).
 *
 * Partitions. An MBR or GPT partition of a disk is a block device of its
 * own, found at boot: vda1, vda2, ... (GPT entry N; MBR primaries 1-4,
 * logical partitions from 5). It is a view of its disk: bios on it take
 * sectors counted from the partition's first sector, end -EINVAL past its
 * end, and go through the disk's queue; its counters, resources and health
 * are the disk's. blkdev_count()/blkdev_get() list disks only; blkdev_find()
 * finds both; blkdev_part() lists a disk's partitions (docs/interface.md,
 * Partitions).
 * A device is never unregistered, so a pointer from blkdev_find() stays
 * valid. Every function here may be called from any context.
 *
 * Units: capacity and sectors are 512-byte sectors; sizes are bytes.
 */
#ifndef LEVBLK_BLKDEV_H
#define LEVBLK_BLKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <levblk/lib/hist.h>

struct blkdev;

/* Room for the longest name, NUL included: a partition of a two-letter disk, vdzz4096. */
#define BLKDEV_NAME_MAX 12u
#define BLKDEV_MAX	16u

/*
 * What one request may carry; a bio beyond these is split. A logical block
 * that lies in more of the bio's segments than one request may carry is
 * copied through a buffer of the layer's own (the `bounces` counter), so
 * segments never make a bio fail.
 */
struct blk_limits {
	uint32_t max_segs;	/* data segments per request */
	uint32_t max_seg_bytes; /* bytes per data segment */
	uint32_t max_sectors;	/* 512-byte sectors per read/write request */
	uint32_t max_discard_sectors;
	uint32_t max_write_zeroes_sectors;
	uint32_t nr_requests; /* preallocated requests (queue depth seen by the layer) */
};

struct blkdev_info {
	char name[BLKDEV_NAME_MAX];
	uint64_t capacity; /* 512-byte sectors */
	uint32_t lbs;	   /* logical block size, bytes (512 or 4096 ...) */
	uint32_t pbs;	   /* physical block size, bytes */
	bool ro;
	bool volatile_cache; /* writes need a flush to be durable */
	uint32_t ops;	     /* bit (1u << BIO_OP_x) for each op the device offers */
	struct blk_limits limits;
	/* A partition: its first 512-byte sector on the disk (blkdev_parent); 0 for a disk. */
	uint64_t start;
};

/* Monotonic totals since the device registered, plus two gauges. */
struct blk_counters {
	uint64_t bios;	       /* bios submitted, once each however split (plugged: at flush) */
	uint64_t requests;     /* requests handed to the driver (descriptor chains made) */
	uint64_t merges;       /* bios (or bio pieces) merged into an existing request */
	uint64_t splits;       /* extra requests made because a bio exceeded the limits */
	uint64_t kicks;	       /* device notifications */
	uint64_t irqs;	       /* interrupts taken for the device */
	uint64_t errors;       /* bios ended with a non-zero status */
	uint64_t retries;      /* requests dispatched again after an error */
	uint64_t flushes;      /* flush requests sent to the device */
	uint64_t timeouts;     /* requests found past their deadline (blk.timeout_ms) */
	uint64_t lost_irqs;    /* deadline checks that found completions no interrupt reported */
	uint64_t resets;       /* device resets for recovery (in-flight requests resubmitted) */
	uint64_t bounces;      /* bio pieces copied through the layer's own buffers */
	uint64_t bounce_waits; /* placements that found no bounce buffer free and waited */
	/*
	 * Contention (blkdev_counters reads these from the lock and the submit
	 * path): queue lock acquisitions and the waiting-loop turns they spun
	 * (spins per acquisition measures contention); with several CPUs, the
	 * passes that moved staged bios into the queue and the submissions that
	 * left theirs to another CPU's pass (src/blk/blk_core.c, "Submission").
	 */
	uint64_t lock_acquired, lock_spins;
	uint64_t submit_moves, submit_handoffs;
	uint64_t in_flight;    /* gauge: requests owned by the driver now */
	uint64_t queued;       /* gauge: bios accepted and not yet ended */
};

/*
 * The device's resources at a glance, for checking that nothing leaked once
 * I/O is over: at rest, free_requests == nr_requests, ring_free == ring_size,
 * ring_in_flight == 0, bounce_free == bounce_slots and the counters'
 * in_flight and queued are 0.
 */
struct blk_resources {
	uint32_t nr_requests, free_requests; /* the core's preallocated requests */
	uint32_t ring_size, ring_free;	     /* the driver's ring: descriptors (0, 0: none) */
	uint32_t ring_in_flight;	     /* chains the device holds */
	uint32_t pending_bios;		     /* bios waiting for a free request */
	uint32_t bounce_slots, bounce_free;  /* the layer's bounce buffers, in slots */
};

/*
 * Latency by op, kept by the layer for every disk: from the moment a bio
 * enters the disk's queue (after any plug: submit_bio, or the plug's
 * flush) to the moment the layer ends it (bio_end_ns), in nanoseconds,
 * every bio that entered the queue, failed ones included. A partition's
 * bios count in its disk. The clock is the queue lock hold's (one read
 * per hold, shared with the layer's deadlines), so values are within the
 * length of one hold (microseconds) of the truth.
 */
enum blk_lat_op {
	BLK_LAT_READ = 0,
	BLK_LAT_WRITE = 1,
	BLK_LAT_FLUSH = 2,
	BLK_LAT_OTHER = 3, /* discard, write-zeroes, get-id */
	BLK_LAT_OPS
};
struct blk_latency {
	struct hist op[BLK_LAT_OPS]; /* indexed by enum blk_lat_op; levblk/lib/hist.h */
};
/* "read", "write", "flush", "other". */
const char *blk_lat_op_name(unsigned int lat_op);

unsigned int blkdev_count(void);
/* The i-th registered device (0 = vda), or NULL. */
struct blkdev *blkdev_get(unsigned int i);
/* The device (disk or partition) called `name`, or NULL. */
struct blkdev *blkdev_find(const char *name);
/* The disk a partition lies on; NULL for a disk. */
struct blkdev *blkdev_parent(const struct blkdev *dev);
/* The i-th partition of `disk` (ascending start), or NULL. */
struct blkdev *blkdev_part(const struct blkdev *disk, unsigned int i);
const struct blkdev_info *blkdev_info(const struct blkdev *dev);
/*
 * How the driver attached the device, as space-separated key=value words for
 * people (virtio-blk: "transport=2 irq=48 features=0x..."; run=demo prints
 * them); "" when the driver says nothing. A partition is described by its
 * disk. Writes at most len bytes including the NUL.
 */
void blkdev_describe(const struct blkdev *dev, char *buf, size_t len);
/*
 * Where the device's completion interrupts went, one group of words per
 * hardware queue: "q0 irq=8193 cpu=0 taken=512 away=0, q1 ...", cpu being
 * where it is routed, taken the interrupts counted since boot and away
 * those taken on another CPU (levblk/irq/irq.h). "" when the driver says
 * nothing. Any context; as blkdev_describe.
 */
void blkdev_irq_report(const struct blkdev *dev, char *buf, size_t len);
/* Bios handed to their submitting CPU to end (blk.complete_ipi=1), all disks, since boot. */
uint64_t blk_remote_ends(void);
/* A consistent snapshot of the counters (a partition's are its disk's). */
void blkdev_counters(const struct blkdev *dev, struct blk_counters *out);
/* A consistent snapshot of the latency histograms (a partition's are its disk's). */
void blkdev_latency(const struct blkdev *dev, struct blk_latency *out);
/* A consistent snapshot of the resources. */
void blkdev_resources(const struct blkdev *dev, struct blk_resources *out);
/* True when r (blkdev_resources) and c say the device is idle with nothing leaked. */
bool blkdev_at_rest(const struct blk_resources *r, const struct blk_counters *c);
/* True once the device misbehaved and was declared broken (bios then end -ENODEV). */
bool blkdev_broken(const struct blkdev *dev);

#endif
