/*
 * Compiled with the irq layer's flags and include path (test/layers/layers.cmake):
 * the HAL's private trap frame header must NOT be reachable, so this file must
 * fail with "'hal/trap.h' file not found".
 */
#include <levblk/hal/cpu.h>
#include "hal/trap.h"

unsigned int layers_probe(void);
unsigned int layers_probe(void)
{
	return sizeof(struct trap_frame);
}
