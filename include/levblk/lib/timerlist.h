/*
 * The pending one-shot timers as a singly linked list sorted by deadline
 * (earliest first; equal deadlines keep arming order). Pure list logic,
 * host-tested; the caller provides the locking (IRQs masked on the target).
 */
#ifndef LEVBLK_LIB_TIMERLIST_H
#define LEVBLK_LIB_TIMERLIST_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A one-shot timer (armed through levblk/kern/timer.h). Its fields belong to
 * the timer code: callers only allocate it (zeroed) and pass it around.
 */
struct ktimer {
	uint64_t deadline_ns;
	void (*fn)(void *arg);
	void *arg;
	struct ktimer *next;
	bool pending;
	uint8_t cpu; /* the CPU whose list holds it while pending (kern/timer.c) */
};

/* Inserts t (not on the list) in deadline order, marks it pending; true if t is now first. */
bool timerlist_insert(struct ktimer **head, struct ktimer *t);
/* Unlinks t if it is on the list; returns whether it was. Clears pending. */
bool timerlist_remove(struct ktimer **head, struct ktimer *t);
/* Unlinks and returns the first timer if its deadline is <= now, else NULL. */
struct ktimer *timerlist_pop_due(struct ktimer **head, uint64_t now_ns);

#endif
