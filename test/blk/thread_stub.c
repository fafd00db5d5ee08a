/*
 * The host tests run on one "thread": what plug.c asks of the scheduler
 * (thread_current, the plug slot). thread_stub_plug_event() plays the
 * scheduler: it calls the plug hook as a tick or a switch would. Completions
 * are counted; a wait that would sleep runs thread_stub_sleep.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <levblk/hal/exit.h>
#include <levblk/completion.h>
#include <levblk/kern/smp.h>
#include <levblk/kern/thread.h>
#include "thread_stub.h"

static void *stub_plug;
static thread_plug_hook_fn *stub_hook;

struct thread *thread_current(void)
{
	static int the_thread;
	return (struct thread *)&the_thread;
}

void thread_set_plug(void *plug, thread_plug_hook_fn *hook)
{
	stub_plug = plug;
	stub_hook = plug ? hook : NULL;
}

void *thread_plug(void)
{
	return stub_plug;
}

void thread_stub_plug_event(enum thread_plug_event why)
{
	if (stub_plug)
		stub_hook(stub_plug, why);
}

uint64_t thread_stub_poll_deadline;
unsigned int thread_stub_poll_hints;

void sched_idle_poll_until(uint64_t deadline_ns)
{
	thread_stub_poll_hints++;
	if (deadline_ns > thread_stub_poll_deadline)
		thread_stub_poll_deadline = deadline_ns;
}

/*
 * Completions for the one host "thread": complete() counts; a wait that
 * would sleep runs thread_stub_sleep instead (the test's stand-in for the
 * interrupts that arrive while a thread sleeps) until the count is there.
 */
void (*thread_stub_sleep)(void);
unsigned int thread_stub_sleeps;

void completion_init(struct completion *c)
{
	c->done = 0;
	c->wq.head = c->wq.tail = NULL;
}

void complete(struct completion *c)
{
	c->done++;
}

void wait_for_completion(struct completion *c)
{
	while (c->done == 0) {
		if (!thread_stub_sleep)
			panic("thread_stub: a wait would sleep forever (no thread_stub_sleep)");
		thread_stub_sleeps++;
		thread_stub_sleep();
	}
	c->done--;
}

/* Only a polled bio quarantined with its device sleeps (for ever): a test that gets there fails. */
void thread_sleep_ns(uint64_t ns)
{
	(void)ns;
	fprintf(stderr, "thread_sleep_ns: a polled bio was quarantined\n");
	abort();
}

/* levblk/kern/smp.h: the work SGI is a recorded kick; a test runs the work as the kicked CPU. */
void (*thread_stub_work_fn)(void);
unsigned int thread_stub_kicks[8];

void smp_set_work(void (*fn)(void))
{
	thread_stub_work_fn = fn;
}

void smp_kick_work(unsigned int cpu)
{
	if (cpu < 8)
		thread_stub_kicks[cpu]++;
}
