#ifndef LEVBLK_TEST_THREAD_STUB_H
#define LEVBLK_TEST_THREAD_STUB_H

#include <levblk/kern/thread.h>

/* Calls the current plug's hook as the scheduler would (no-op without a plug). */
void thread_stub_plug_event(enum thread_plug_event why);

/* What the block layer asked of sched_idle_poll_until: hint count and latest deadline. */
extern uint64_t thread_stub_poll_deadline;
extern unsigned int thread_stub_poll_hints;

/*
 * What a wait_for_completion() that would sleep does instead: the test
 * completes requests here, as interrupts would while the thread sleeps.
 * NULL: such a wait panics. thread_stub_sleeps counts the calls.
 */
extern void (*thread_stub_sleep)(void);
extern unsigned int thread_stub_sleeps;

/* smp_set_work's function, and smp_kick_work's kicks per CPU (levblk/kern/smp.h). */
extern void (*thread_stub_work_fn)(void);
extern unsigned int thread_stub_kicks[8];

#endif
