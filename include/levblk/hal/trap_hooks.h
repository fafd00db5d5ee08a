/*
 * The IRQ exception as the layers above the HAL see it: two hooks the trap
 * code calls, in this order, for every IRQ exception, with IRQs masked and on
 * the interrupted context's stack.
 *
 *   handler  the interrupt controller driver (src/irq): acknowledges and
 *            handles what is pending. An IRQ before it is set is fatal.
 *   exit     the scheduler (src/kern), once the handler has returned: may
 *            switch threads; the interrupted context then resumes when its
 *            thread is scheduled again. Optional.
 *
 * Each is set once at boot, with IRQs masked, before IRQs are first enabled.
 */
#ifndef LEVBLK_HAL_TRAP_HOOKS_H
#define LEVBLK_HAL_TRAP_HOOKS_H

typedef void trap_hook_fn(void);

void trap_set_irq_handler(trap_hook_fn *handler);
void trap_set_irq_exit(trap_hook_fn *exit_hook);

#endif
