/*
 * The host HAL: what src/hal gives the kernel, for host unit tests.
 * Interrupt masking is a flag (tests check lock/IRQ rules against it), the
 * clock is set by the test, DMA memory comes from low anonymous mappings (see
 * dma_alloc) and its "bus address" is its host address (the simulated device dereferences it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/dma.h>
#include <levblk/hal/percpu.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/spinlock.h>
#include <levblk/lib/pfa.h>
#include "hal_host/hal_host.h"

static bool host_irqs_masked;
uint64_t hal_host_now_ns;
bool hal_host_quiet;
unsigned int hal_host_cpu;
unsigned int hal_host_cpus = 1;

unsigned int cpu_id(void)
{
	return hal_host_cpu;
}

unsigned int cpu_count(void)
{
	return hal_host_cpus;
}

irqflags_t irq_save(void)
{
	irqflags_t f = host_irqs_masked;
	host_irqs_masked = true;
	return f;
}

void irq_restore(irqflags_t flags)
{
	host_irqs_masked = flags != 0;
}

bool irqs_disabled(void)
{
	return host_irqs_masked;
}

void cpu_relax(void)
{
}

/* One host thread runs the code under test: a lock is free or held, never waited for. */
void spin_lock(spinlock_t *l)
{
	if (spin_is_locked(l))
		panic("spinlock %s: %s", l->name ? l->name : "?", SPIN_FAULT_RECURSIVE);
	l->ticket += 1u << 16;
	l->holder = 1;
	l->acquired++;
}

void spin_unlock(spinlock_t *l)
{
	if (!spin_is_locked(l))
		panic("spinlock %s: %s", l->name ? l->name : "?", SPIN_FAULT_NOT_HELD);
	l->holder = 0;
	l->ticket = (l->ticket & 0xffff0000u) | ((l->ticket + 1) & 0xffffu);
}

bool spin_trylock(spinlock_t *l)
{
	if (spin_is_locked(l))
		return false;
	spin_lock(l);
	return true;
}

irqflags_t spin_lock_irqsave(spinlock_t *l)
{
	irqflags_t f = irq_save();

	spin_lock(l);
	return f;
}

void spin_unlock_irqrestore(spinlock_t *l, irqflags_t flags)
{
	spin_unlock(l);
	irq_restore(flags);
}

bool spin_held_here(const spinlock_t *l)
{
	return l->holder != 0;
}

/* One thread: nobody ever waits, so spins stay 0. */
void spin_stats(const spinlock_t *l, uint64_t *acquired, uint64_t *spins)
{
	*acquired = l->acquired;
	*spins = l->spins;
}

bool cpu_in_irq(void)
{
	return false;
}

/* What kprintf printed since the last hal_host_console_clear (quiet or not), truncated. */
static char hal_host_console[16384];
static size_t hal_host_console_len;

void hal_host_console_clear(void)
{
	hal_host_console_len = 0;
	hal_host_console[0] = '\0';
}

bool hal_host_console_has(const char *text)
{
	return strstr(hal_host_console, text) != NULL;
}

int kvprintf(const char *fmt, va_list ap)
{
	size_t room = sizeof(hal_host_console) - hal_host_console_len;
	int n = 0;

	if (room > 1) { /* a full buffer costs nothing more (fuzzers print a lot) */
		va_list ap2;

		va_copy(ap2, ap);
		n = vsnprintf(hal_host_console + hal_host_console_len, room, fmt, ap2);
		va_end(ap2);
		if (n > 0)
			hal_host_console_len += (size_t)n < room ? (size_t)n : room - 1;
	}
	if (hal_host_quiet)
		return n;
	return vprintf(fmt, ap);
}

int kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = kvprintf(fmt, ap);
	va_end(ap);
	return n;
}

void console_putc(char c)
{
	if (!hal_host_quiet)
		putchar(c);
}

void console_write(const char *s, size_t n)
{
	if (!hal_host_quiet)
		fwrite(s, 1, n, stdout);
}

/*
 * DMA memory comes from the low 2 GiB of the address space where the host
 * allows it (MAP_32BIT, x86-64): legacy virtio-mmio addresses a ring through
 * a 32-bit page number (QueuePFN), so the simulated legacy device can only
 * reach memory below 2^44, and the host heap lies above that.
 */
int dma_alloc(size_t size, size_t align, struct dma_buf *out)
{
	/* The same contract as the kernel (src/hal/page.c): a power-of-two alignment or 0. */
	if ((align & (align - 1)) || size == 0)
		return -EINVAL;
	if (align < PFA_PAGE_SIZE)
		align = PFA_PAGE_SIZE;
	size = (size + PFA_PAGE_SIZE - 1) & ~(size_t)(PFA_PAGE_SIZE - 1);
#ifdef MAP_32BIT
	size_t span = size + align - PFA_PAGE_SIZE;
	uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
			  -1, 0);
	if (m == MAP_FAILED)
		return -ENOMEM;
	uint8_t *p = (uint8_t *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
	if (p > m)
		munmap(m, (size_t)(p - m));
	if (m + span > p + size)
		munmap(p + size, (size_t)(m + span - (p + size)));
#else
	void *p = aligned_alloc(align, size);
	if (!p)
		return -ENOMEM;
	memset(p, 0, size);
#endif
	out->va = p;
	out->bus = (uint64_t)(uintptr_t)p;
	out->size = size;
	return 0;
}

void dma_free(struct dma_buf *buf)
{
#ifdef MAP_32BIT
	if (buf->va)
		munmap(buf->va, buf->size);
#else
	free(buf->va);
#endif
	buf->va = NULL;
	buf->size = 0;
}

_Noreturn void hal_exit(int status)
{
	fflush(stdout);
	exit(status);
}

_Noreturn void panic(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "PANIC: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}
