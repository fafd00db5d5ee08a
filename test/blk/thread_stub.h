#ifndef LEVBLK_TEST_THREAD_STUB_H
#define LEVBLK_TEST_THREAD_STUB_H

#include <levblk/kern/thread.h>

/* Calls the current plug's hook as the scheduler would (no-op without a plug). */
void thread_stub_plug_event(enum thread_plug_event why);

#endif
