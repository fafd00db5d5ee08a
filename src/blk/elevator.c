/*
 * The deadline elevator: which queued request goes to the device next.
 * Modelled on Linux's mq-deadline (sorted one-way sweep plus FIFO expiry per
 * direction) and FreeBSD's bioq_disksort (C-LOOK by sector).
 *
 * READ BEFORE CHANGING. Invariants (all under the queue lock):
 *  1. Only requests of the current flush epoch are in here (blk_core.c keeps
 *     later ones on the held list and flushes on the barrier list), so the
 *     elevator can reorder freely: nothing here crosses a flush.
 *  2. Every request here is on exactly two lists: sorted[dir] (ascending
 *     rq_sector, ties in arrival order) and fifo[dir] (arrival order, so
 *     rq_fifo_deadline_ns is non-decreasing along it). count[dir] is the
 *     length of both.
 *  3. pos[dir] is the end sector of the last request dispatched in dir. The
 *     sweep is one-way: the next request in a batch is the first one with
 *     rq_sector >= pos[dir]; when none is left ahead, the sweep wraps to the
 *     lowest sector (C-LOOK), never goes backwards mid-sweep.
 *  4. Starvation is bounded twice over: (a) when directions are weighed
 *     (every ELV_FIFO_BATCH requests, or when a batch runs dry), reads win
 *     at most ELV_WRITES_STARVED times in a row while writes wait; (b) in
 *     the chosen direction, an expired FIFO head is taken before the sweep.
 *     So no request waits much past its expiry (read 500 ms, write 5 s) plus
 *     one batch, however many adjacent requests keep arriving.
 *  5. The elevator never allocates and never calls the driver.
 */
#include <levblk/bio.h>
#include "blk_queue.h"

static struct request *sorted_first_from(struct blk_elv *e, int dir, uint64_t pos);
static void elv_remove(struct blk_elv *e, struct request *rq);
static struct request *fifo_expired(struct blk_elv *e, int dir, uint64_t now_ns);
static int choose_dir(const struct blk_elv *e);

void elv_init(struct blk_elv *e)
{
	for (int d = 0; d < ELV_DIRS; d++) {
		blk_list_init(&e->sorted[d]);
		blk_list_init(&e->fifo[d]);
		e->count[d] = 0;
		e->pos[d] = 0;
	}
	e->batch_dir = -1;
	e->batch_count = 0;
	e->starved = 0;
	e->read_expire_ns = ELV_READ_EXPIRE_NS;
	e->write_expire_ns = ELV_WRITE_EXPIRE_NS;
}

static void sorted_insert(struct blk_elv *e, struct request *rq)
{
	struct blk_list *head = &e->sorted[elv_dir(rq->rq_op)];
	struct blk_list *at;

	/* Walk from the tail: requests mostly arrive in ascending order. */
	for (at = head->prev; at != head; at = at->prev) {
		struct request *o = blk_list_entry(at, struct request, rq_sort);
		if (o->rq_sector <= rq->rq_sector)
			break;
	}
	blk_list_insert_before(at->next, &rq->rq_sort);
}

/* Adds a new request; its rq_fifo_deadline_ns was set when it was made. */
void elv_add(struct blk_elv *e, struct request *rq)
{
	int dir = elv_dir(rq->rq_op);

	sorted_insert(e, rq);
	blk_list_add_tail(&e->fifo[dir], &rq->rq_fifo);
	e->count[dir]++;
	rq->rq_state = RQ_QUEUED;
}

/* rq_sector changed (front merge): move it to its new place in sorted order. */
void elv_resort(struct blk_elv *e, struct request *rq)
{
	blk_list_del(&rq->rq_sort);
	sorted_insert(e, rq);
}

bool elv_empty(const struct blk_elv *e)
{
	return e->count[ELV_READ] == 0 && e->count[ELV_WRITE] == 0;
}

static void elv_remove(struct blk_elv *e, struct request *rq)
{
	blk_list_del(&rq->rq_sort);
	blk_list_del(&rq->rq_fifo);
	e->count[elv_dir(rq->rq_op)]--;
}

/* First request at or after pos; NULL when the sweep has passed them all. */
static struct request *sorted_first_from(struct blk_elv *e, int dir, uint64_t pos)
{
	struct blk_list *n;

	blk_list_for_each(n, &e->sorted[dir])
	{
		struct request *rq = blk_list_entry(n, struct request, rq_sort);
		if (rq->rq_sector >= pos)
			return rq;
	}
	return NULL;
}

static struct request *fifo_expired(struct blk_elv *e, int dir, uint64_t now_ns)
{
	if (blk_list_empty(&e->fifo[dir]))
		return NULL;
	struct request *rq = blk_list_entry(e->fifo[dir].next, struct request, rq_fifo);
	return now_ns >= rq->rq_fifo_deadline_ns ? rq : NULL;
}

/* Invariant 4a: reads are preferred, but writes get their turn. Does not change state. */
static int choose_dir(const struct blk_elv *e)
{
	bool reads = e->count[ELV_READ] != 0, writes = e->count[ELV_WRITE] != 0;

	if (reads && (!writes || e->starved < ELV_WRITES_STARVED))
		return ELV_READ;
	if (writes)
		return ELV_WRITE;
	return -1;
}

/*
 * Chooses the next request to dispatch without taking it: the driver may
 * have no room for it, and then it must stay queued (and mergeable).
 * elv_take() commits the choice. NULL when empty.
 */
struct request *elv_peek(struct blk_elv *e, uint64_t now_ns, struct elv_pick *pick)
{
	struct request *rq = NULL;
	int dir = e->batch_dir;

	pick->new_batch = false;
	/* Continue the current batch along the sweep while it lasts. */
	if (dir >= 0 && e->batch_count < ELV_FIFO_BATCH && e->count[dir] != 0)
		rq = sorted_first_from(e, dir, e->pos[dir]);
	if (!rq) {
		dir = choose_dir(e);
		if (dir < 0)
			return NULL;
		pick->new_batch = true;
		rq = fifo_expired(e, dir, now_ns);
		if (!rq)
			rq = sorted_first_from(e, dir, e->pos[dir]);
		if (!rq) /* C-LOOK wrap: back to the lowest sector */
			rq = blk_list_entry(e->sorted[dir].next, struct request, rq_sort);
	}
	pick->rq = rq;
	pick->dir = dir;
	return rq;
}

/* Takes the request elv_peek() chose out of the elevator. */
void elv_take(struct blk_elv *e, const struct elv_pick *pick)
{
	struct request *rq = pick->rq;
	int dir = pick->dir;

	if (pick->new_batch) {
		if (dir == ELV_READ && e->count[ELV_WRITE] != 0)
			e->starved++;
		else if (dir == ELV_WRITE)
			e->starved = 0;
		e->batch_dir = dir;
		e->batch_count = 0;
	}
	elv_remove(e, rq);
	e->batch_count++;
	e->pos[dir] = rq->rq_sector + rq->rq_sectors;
}

/* Takes any request out (device broken: everything is ending). */
struct request *elv_next(struct blk_elv *e, uint64_t now_ns)
{
	struct elv_pick pick;

	if (!elv_peek(e, now_ns, &pick))
		return NULL;
	elv_take(e, &pick);
	return pick.rq;
}
