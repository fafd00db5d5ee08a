/* Private to src/kern: starting the one-shot timer interrupt. */
#ifndef LEVBLK_KERN_TIMER_PRIVATE_H
#define LEVBLK_KERN_TIMER_PRIVATE_H

#include <stdint.h>

/* More urgent than devices (IRQ_PRIO_DEFAULT) so the tick is acked first. */
#define TIMER_IRQ_PRIO 0x80u

/* Registers the virtual timer PPI and starts the boot CPU's timer; called by sched_start(). 0 or -Exxx. */
int timer_start(void);
/* Another CPU, IRQs masked, after irq_cpu_init(): programs its own timer from its (empty) list. */
void timer_cpu_start(void);

#endif
