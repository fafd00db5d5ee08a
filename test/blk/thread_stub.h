#ifndef LEVBLK_TEST_THREAD_STUB_H
#define LEVBLK_TEST_THREAD_STUB_H

#include <levblk/kern/thread.h>

/* Calls the current plug's hook as the scheduler would (no-op without a plug). */
void thread_stub_plug_event(enum thread_plug_event why);

/* What the block layer asked of sched_idle_poll_until: hint count and latest deadline. */
extern uint64_t thread_stub_poll_deadline;
extern unsigned int thread_stub_poll_hints;

#endif
