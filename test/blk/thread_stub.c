/*
 * The host tests run on one "thread": what plug.c asks of the scheduler
 * (thread_current, the plug slot). thread_stub_plug_event() plays the
 * scheduler: it calls the plug hook as a tick or a switch would.
 */
#include <stddef.h>
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
