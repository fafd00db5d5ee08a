/*
 * Interrupts: the GIC driver (src/irq) behind a small interface.
 * GICv2 or GICv3 is chosen from the device tree at boot; callers never know.
 *
 * Handlers run in interrupt context with IRQs masked on the CPU (no nesting),
 * on the interrupted thread's stack: they must not sleep, yield or allocate.
 * For level-triggered sources the handler must quiet the device (e.g. ack
 * virtio's InterruptStatus) before it returns: end of interrupt follows it.
 */
#ifndef LEVBLK_IRQ_IRQ_H
#define LEVBLK_IRQ_IRQ_H

#include <stdint.h>

typedef void (*irq_handler_t)(void *arg);

#define IRQ_PRIO_DEFAULT 0xa0u /* lower value = more urgent; the timer uses a more urgent one */

/*
 * Installs fn(arg) for `intid` (SGI, PPI, SPI, or an LPI irq_msi_alloc gave),
 * configured level-sensitive, routed to the calling CPU, at IRQ_PRIO_DEFAULT,
 * and enables it. Returns 0, -EINVAL (no such INTID) or -EBUSY (already
 * registered). Thread context, at init. An SGI or PPI is per CPU: it is
 * enabled on every CPU brought up later; of the CPUs already up, GICv3
 * enables it on all, GICv2 (whose banks only their own CPU reaches) on the
 * calling CPU only: register per-CPU interrupts before the other CPUs come
 * up, or stay on one CPU (pinned).
 */
int irq_register(uint32_t intid, irq_handler_t fn, void *arg);
void irq_unregister(uint32_t intid);
/* Makes an SPI edge-triggered (for message-signalled interrupts, levblk/irq/msi.h). */
void irq_set_edge(uint32_t intid);
void irq_enable(uint32_t intid);
void irq_disable(uint32_t intid);
void irq_set_priority(uint32_t intid, uint8_t prio);
/*
 * Routes an SPI or an LPI to CPU `cpu` (< cpu_count()): GICv3 GICD_IROUTER,
 * GICv2 GICD_ITARGETSR, an LPI's ITS collection (MOVI). irq_register routes
 * to the registering CPU. 0, -EINVAL (not an SPI or LPI, no such CPU) or
 * -EIO (the ITS stopped). Any context; an LPI's move waits for the ITS.
 */
int irq_set_affinity(uint32_t intid, unsigned int cpu);
/* The CPU a registered SPI or LPI is routed to, or -EINVAL. */
int irq_affinity(uint32_t intid);
/*
 * Sends SGI `sgi` (0..15) to CPU `cpu`, online or coming up (its GIC
 * interface set up: irq_cpu_init); nothing for another CPU. Any context.
 */
void irq_send_ipi(uint32_t sgi, unsigned int cpu);
/*
 * A CPU other than the boot CPU, once, IRQs masked, before it takes
 * interrupts: its GIC CPU interface (GICv3: its redistributor too) and the
 * SGIs/PPIs registered so far. 0 or -Exxx.
 */
int irq_cpu_init(void);
/* Interrupts taken for intid, and acknowledgements that found no pending interrupt. */
uint64_t irq_count(uint32_t intid);
/* Of irq_count, those taken on a CPU other than the one it was routed to (SPI, LPI). */
uint64_t irq_count_away(uint32_t intid);
uint64_t irq_spurious_count(void);
/* 2 or 3 once the controller is up, 0 before. */
int irq_gic_version(void);
/* INTIDs the controller implements (SGIs + PPIs + SPIs); 0 before init. */
uint32_t irq_nr_intids(void);
/*
 * Makes intid pending by software: an SGI (0..15) to this CPU, or the
 * set-pending bit of a PPI/SPI. For selftests and for kicking a handler.
 * Any context.
 */
void irq_raise(uint32_t intid);

#endif
