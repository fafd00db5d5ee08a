/*
 * Compiled with the irq layer's flags and include path (test/layers/layers.cmake):
 * its own private header and a lower layer's public header must be reachable.
 * The control for irq_other_private.c, which differs only in what it includes.
 */
#include <levblk/hal/cpu.h>
#include "gic.h"

unsigned int layers_probe(void);
unsigned int layers_probe(void)
{
	return GIC_INTID_LIMIT;
}
