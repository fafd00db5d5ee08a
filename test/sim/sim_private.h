/* Between the simulator's device model (sim.c) and its interrupt controller (sim_irq.c). */
#ifndef LEVBLK_TEST_SIM_PRIVATE_H
#define LEVBLK_TEST_SIM_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

/* Forgets every registered handler and counter. */
void sim_irq_reset(void);
/* Calls the handler for intid as an interrupt would (IRQs masked inside); false if none/disabled.
 */
bool sim_irq_dispatch(uint32_t intid);

#endif
