/*
 * Bounce buffers (blk_bounce.c): DMA memory the block layer owns, through
 * which data goes instead of the caller's buffers. Private to src/blk.
 *
 * Each device has one pool, preallocated at registration; nothing is
 * allocated on the I/O path. The core takes a buffer for a bio piece in two
 * cases (docs/interface.md, "Segments and device limits"):
 *  - a logical block lies in more of the caller's segments than one
 *    request may carry: the piece is copied into one contiguous buffer,
 *    which the device's segment size alone cuts;
 *  - blk.bounce=1 (a device not trusted with caller memory at all): every
 *    piece of every READ, WRITE and GET_ID goes through the pool, so the
 *    device is never given an address outside it.
 * Writes are copied in when the piece is placed into a request, reads are
 * copied out when the piece completes without error. A buffer goes back to
 * the pool only when its request is finished by the core, which is when the
 * driver has declared the device unable to touch it any more (a completion,
 * or a reset it has confirmed): the rule that protects caller buffers
 * protects the pool too.
 *
 * The pool is cut into BLK_BOUNCE_SLOT-byte slots; a buffer is a run of
 * contiguous slots, found next-fit from where the last one ended (requests
 * mostly complete in the order they were made, so the search usually stops
 * at once). An exhausted pool never fails a bio: the bio waits on the
 * pending list like one that found no free request, and tries again after
 * the next completion, which gives a buffer back.
 *
 * Locking: every function except init and destroy runs under the device's
 * queue lock, the one lock that guards the pool.
 */
#ifndef LEVBLK_BLK_BOUNCE_H
#define LEVBLK_BLK_BOUNCE_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/bio.h>
#include <levblk/hal/dma.h>

#define BLK_BOUNCE_SLOT 4096u /* bytes per slot: a buffer is a run of them */

/*
 * On the core's functions that bounce: kept out of line and out of the hot
 * path's way, so that a request with nothing to copy pays only the test
 * that leads there (inlined, they cost its callers spills; measured with
 * tools/guest-profile).
 */
#define BLK_BOUNCE_PATH __attribute__((noinline, cold))

/* A buffer's bookkeeping, kept in the entry of its first slot. */
struct blk_bounce_buf {
	/* The buffer as one segment: the wire iterator walks it like a caller's. */
	struct bio_seg seg;
	uint32_t nslots;	   /* slots it spans */
	uint32_t bio_seg, bio_off; /* where in the bio its bytes belong */
};

struct blk_bounce {
	struct dma_buf mem;	     /* nslots * BLK_BOUNCE_SLOT bytes of buffers */
	struct dma_buf meta;	     /* bufs[] and map[] */
	struct blk_bounce_buf *bufs; /* one per slot; valid at a buffer's first slot */
	uint64_t *map;		     /* bit set: slot taken */
	uint32_t nslots, nfree;
	uint32_t next;	    /* where the next search starts */
	uint32_t max_bytes; /* the largest buffer one piece may take */
	bool all;	    /* blk.bounce=1: every transfer goes through the pool */
};

/* blk.bounce and blk.bounce_kib (blk_bounce.c), read when a device registers. */
extern uint64_t blk_param_bounce;
extern uint64_t blk_param_bounce_kib;

/*
 * Preallocates a device's pool: blk.bounce_kib when blk.bounce=1, else a
 * small one for straddling blocks; `max_piece` bounds one buffer (the
 * device's largest request). Thread context, at registration. 0 or -ENOMEM.
 */
int blk_bounce_init(struct blk_bounce *b, uint64_t max_piece);
void blk_bounce_destroy(struct blk_bounce *b);

/* A buffer of at least `bytes` (<= max_bytes), or NULL when the pool has no such run free. */
struct blk_bounce_buf *blk_bounce_get(struct blk_bounce *b, uint32_t bytes);
void blk_bounce_put(struct blk_bounce *b, struct blk_bounce_buf *buf);

/*
 * Binds buf to `bytes` of bio's data from (seg, off) and, for a WRITE,
 * copies them in. The buffer's seg.len becomes `bytes`.
 */
void blk_bounce_fill(struct blk_bounce_buf *buf, const struct bio *bio, uint32_t seg, uint32_t off,
		     uint32_t bytes);
/* Copies a READ's or GET_ID's data out of buf into the bio's segments it was bound to. */
void blk_bounce_copy_out(const struct blk_bounce_buf *buf, const struct bio *bio);

#endif
