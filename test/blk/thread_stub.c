/* The host tests run on one "thread": what plug.c asks thread_current() for. */
#include <levblk/kern/thread.h>

struct thread *thread_current(void)
{
	static int the_thread;
	return (struct thread *)&the_thread;
}
