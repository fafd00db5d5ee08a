/*
 * Ending a bio on the CPU that submitted it (blk.complete_ipi=1): an
 * experiment the SMP work asked for (README, "The SMP set"). A completion
 * taken on CPU A for a bio submitted on CPU B is handed to B (its list
 * here, then the work SGI: smp_kick_work) and B runs end_io in interrupt
 * context, as A would have. Off by default: measured, it does not win on
 * this emulator (the README has the figures).
 *
 * Which bios move: those submit_bio took (bio_cpu a CPU online other than
 * this one). A polled bio (BIO_CPU_ANY) never moves: its caller spins for
 * it with IRQs masked and would never take the SGI.
 *
 * Locking: each CPU's list has its own lock (IRQ-saving; the owner takes
 * it from the work SGI, others from their completion paths). A CPU is
 * kicked when its list goes from empty to not empty; kicks may merge, and
 * blk_remote_run drains the whole list, so nothing handed over waits for a
 * second kick. The lock orders the bios' fields (written by the ending CPU
 * under the queue lock) before the owner reads them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <levblk/bio.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/init.h>
#include <levblk/kern/smp.h>
#include "blk_driver.h"
#include "blk_list.h"
#include "blk_queue.h"

uint64_t blk_param_complete_ipi;
PARAM_U64("blk.complete_ipi", blk_param_complete_ipi, 0, 1,
	  "1: a bio ends on the CPU that submitted it (handed over with an SGI); 0: where its completion is taken");

struct blk_remote {
	spinlock_t lock;
	struct bio *head, *tail;
	uint64_t ended; /* bios handed to this CPU (under lock) */
} __attribute__((aligned(64)));

static struct blk_remote blk_remote[CPU_MAX];

/* The work SGI on the owning CPU, interrupt context: ends what was handed over. */
static void blk_remote_run(void)
{
	struct blk_remote *r = &blk_remote[cpu_id()];
	irqflags_t f = spin_lock_irqsave(&r->lock);
	struct blk_done done = {r->head, r->tail};

	r->head = r->tail = NULL;
	spin_unlock_irqrestore(&r->lock, f);
	blk_end_done(&done); /* every bio here has bio_cpu == this CPU: none moves again */
}

struct bio *blk_remote_split(struct bio *list)
{
	unsigned int me = cpu_id(), n = cpu_count();
	struct bio *keep = NULL, *keep_tail = NULL;

	while (list) {
		struct bio *bio = list;
		unsigned int to = bio->bio_cpu;

		list = bio->bio_next;
		bio->bio_next = NULL;
		if (to == me || to >= n) {
			bio_fifo_push(&keep, &keep_tail, bio);
			continue;
		}
		struct blk_remote *r = &blk_remote[to];
		spin_lock(&r->lock); /* IRQs masked: blk_end_done's caller */
		bool kick = r->head == NULL;
		bio_fifo_push(&r->head, &r->tail, bio);
		__atomic_store_n(&r->ended, r->ended + 1, __ATOMIC_RELAXED);
		spin_unlock(&r->lock);
		if (kick)
			smp_kick_work(to);
	}
	return keep;
}

uint64_t blk_remote_ends(void)
{
	uint64_t n = 0;

	for (unsigned int c = 0; c < CPU_MAX; c++)
		n += __atomic_load_n(&blk_remote[c].ended, __ATOMIC_RELAXED);
	return n;
}

static int blk_remote_init(void)
{
	for (unsigned int c = 0; c < CPU_MAX; c++)
		spin_init(&blk_remote[c].lock, "blk_remote");
	smp_set_work(blk_remote_run);
	return 0;
}
INITCALL(INIT_LEVEL_KERN, blk_remote_init);
