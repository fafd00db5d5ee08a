/*
 * CPU-local interrupt masking. Masking IRQs keeps this CPU's interrupt
 * handlers (and preemption, so a move to another CPU) out; it excludes
 * nothing on the other CPUs: shared data needs a spinlock
 * (levblk/hal/spinlock.h), which masks IRQs too.
 */
#ifndef LEVBLK_HAL_CPU_H
#define LEVBLK_HAL_CPU_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t irqflags_t;

#ifdef LEVBLK_HOST
irqflags_t irq_save(void);
void irq_restore(irqflags_t flags);
bool irqs_disabled(void);
void cpu_relax(void);
#else
#define DAIF_I (1u << 7) /* IRQ masked */

/*
 * Masks IRQ (DAIF.I) and returns the previous DAIF for irq_restore().
 * Sections nest (save/restore pairs never cross), so a pair opened with
 * IRQs already masked changes nothing and writes nothing: under QEMU's TCG
 * every DAIF write ends the translation block (such a pair cost 60-66 ns,
 * now 4; an unmasking pair costs 33), and the completion path (interrupt
 * context, always masked) opens several per I/O.
 */
static inline irqflags_t irq_save(void)
{
	irqflags_t f;
	__asm__ volatile("mrs %0, daif" : "=r"(f) : : "memory");
	if (!(f & DAIF_I))
		__asm__ volatile("msr daifset, #2" ::: "memory");
	return f;
}

static inline void irq_restore(irqflags_t flags)
{
	if (!(flags & DAIF_I))
		__asm__ volatile("msr daif, %0" : : "r"(flags) : "memory");
	else
		__asm__ volatile("" ::: "memory"); /* still a compiler barrier */
}

static inline bool irqs_disabled(void)
{
	irqflags_t f;
	__asm__ volatile("mrs %0, daif" : "=r"(f));
	return (f & DAIF_I) != 0;
}

static inline void irq_enable_local(void)
{
	__asm__ volatile("msr daifclr, #2" ::: "memory");
}

static inline void irq_disable_local(void)
{
	__asm__ volatile("msr daifset, #2" ::: "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("yield" ::: "memory");
}

static inline void cpu_wfi(void)
{
	__asm__ volatile("dsb sy\n\twfi" ::: "memory");
}

#define ISR_EL1_I (1u << 7) /* an IRQ is pending at this CPU */

/* True if an IRQ is pending at this CPU, masked or not (ISR_EL1.I). */
static inline bool cpu_irq_pending(void)
{
	uint64_t isr;
	__asm__ volatile("mrs %0, isr_el1" : "=r"(isr)::"memory");
	return (isr & ISR_EL1_I) != 0;
}
#endif

#endif
