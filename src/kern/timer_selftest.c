/*
 * Selftests of the clock and the one-shot timers: the clock advances and is
 * monotonic, timers fire in deadline order, never early and less than
 * TIMER_LATE_LIMIT late, cancel works, and thread_sleep_ns sleeps as long as
 * asked (bounded above by the same generous limit).
 */
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/init.h>
#include <levblk/kern/thread.h>
#include <levblk/kern/timer.h>

/*
 * The guest's counter follows host time, so a QEMU thread descheduled by a
 * loaded host makes timers look late: the bound is generous. Early firing,
 * wrong order and a timer that never fires still fail the test.
 */
#define TIMER_LATE_LIMIT (200ull * NSEC_PER_MSEC)
#define N_TIMERS	 6

struct fired {
	uint64_t at;
	unsigned int order;
};

static struct fired fired[N_TIMERS];
static volatile unsigned int fired_n;

static void record(void *arg)
{
	struct fired *f = arg;

	f->at = clock_ns();
	f->order = fired_n++;
}

static bool st_clock_advances(void)
{
	uint64_t first = clock_ns(), prev = first;

	for (unsigned int i = 0; i < 100000; i++) {
		uint64_t now = clock_ns();
		if (now < prev) {
			kprintf("# clock went back: %lu then %lu\n", (unsigned long)prev,
				(unsigned long)now);
			return false;
		}
		prev = now;
	}
	if (prev == first) {
		kprintf("# clock stood still at %lu ns\n", (unsigned long)first);
		return false;
	}
	/* 1 ms of busy waiting by the clock takes at least 1 ms by the clock, obviously,
	 * but it must also end: a stuck counter would hang the test (and time out). */
	uint64_t t0 = clock_ns();
	while (clock_ns() - t0 < NSEC_PER_MSEC)
		cpu_relax();
	return true;
}
SELFTEST("clock.advances", st_clock_advances);

static bool st_timer_oneshot(void)
{
	/* Offsets in ms, armed out of order; one is cancelled. */
	static const unsigned int offs_ms[N_TIMERS] = {7, 1, 4, 20, 2, 12};
	const unsigned int cancelled = 5;
	struct ktimer t[N_TIMERS] = {0}; /* zeroed, as levblk/lib/timerlist.h asks */
	uint64_t base = clock_ns(), dl[N_TIMERS];
	bool ok = true;

	fired_n = 0;
	/* Armed with IRQs masked: a stalled host must not let one fire before the rest exist. */
	irqflags_t f = irq_save();
	for (unsigned int i = 0; i < N_TIMERS; i++) {
		dl[i] = base + offs_ms[i] * NSEC_PER_MSEC;
		fired[i].at = 0;
		timer_arm(&t[i], dl[i], record, &fired[i]);
	}
	if (!timer_cancel(&t[cancelled])) {
		kprintf("# timer_cancel of a pending timer returned false\n");
		ok = false;
	}
	irq_restore(f);
	thread_sleep_ns(20 * NSEC_PER_MSEC + TIMER_LATE_LIMIT);
	for (unsigned int i = 0; i < N_TIMERS; i++) {
		if (i == cancelled) {
			if (fired[i].at) {
				kprintf("# cancelled timer fired\n");
				ok = false;
			}
			continue;
		}
		if (!fired[i].at || fired[i].at < dl[i] || fired[i].at - dl[i] > TIMER_LATE_LIMIT) {
			kprintf("# timer %u (+%u ms): fired at %ld ns from its deadline\n", i,
				offs_ms[i], fired[i].at ? (long)(fired[i].at - dl[i]) : -1L);
			ok = false;
		}
		/* Order: a timer with an earlier deadline fired before. */
		for (unsigned int j = 0; j < N_TIMERS; j++) {
			if (j != cancelled && dl[j] < dl[i] && fired[j].order > fired[i].order) {
				kprintf("# timer %u fired before timer %u\n", i, j);
				ok = false;
			}
		}
	}
	if (fired_n != N_TIMERS - 1 || timer_cancel(&t[0])) {
		kprintf("# %u timers fired, expected %u\n", fired_n, N_TIMERS - 1);
		ok = false;
	}
	/* t[] is on this stack: a timer that never fired must not outlive it on the list. */
	for (unsigned int i = 0; i < N_TIMERS; i++)
		timer_cancel(&t[i]);
	return ok;
}
SELFTEST("timer.oneshot", st_timer_oneshot);

static struct ktimer rearm_timer;
static volatile unsigned int rearm_n;

static void rearm(void *arg)
{
	(void)arg;
	if (++rearm_n < 50)
		timer_arm(&rearm_timer, clock_ns() + 100 * NSEC_PER_USEC, rearm, NULL);
}

static bool st_timer_rearm(void)
{
	uint64_t end;

	rearm_n = 0;
	timer_arm(&rearm_timer, clock_ns(), rearm, NULL);
	end = clock_ns() + 50 * (100 * NSEC_PER_USEC) + 10 * TIMER_LATE_LIMIT;
	while (rearm_n < 50 && clock_ns() < end)
		thread_sleep_ns(NSEC_PER_MSEC);
	if (rearm_n != 50) {
		kprintf("# self-rearming timer ran %u times of 50\n", rearm_n);
		return false;
	}
	return true;
}
SELFTEST("timer.rearm_from_callback", st_timer_rearm);

static bool st_sleep_bounds(void)
{
	static const uint64_t req[] = {0, 100 * NSEC_PER_USEC, NSEC_PER_MSEC, 5 * NSEC_PER_MSEC,
				       25 * NSEC_PER_MSEC};
	bool ok = true;

	for (unsigned int i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		uint64_t t0 = clock_ns();
		thread_sleep_ns(req[i]);
		uint64_t d = clock_ns() - t0;
		if (d < req[i] || d > req[i] + TIMER_LATE_LIMIT) {
			kprintf("# sleep %lu ns took %lu ns\n", (unsigned long)req[i],
				(unsigned long)d);
			ok = false;
		}
	}
	return ok;
}
SELFTEST("timer.sleep_bounds", st_sleep_bounds);
