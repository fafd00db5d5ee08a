/* The CPU -> hardware queue map (blk_mq_map.h). */
#include <stdint.h>
#include "blk_mq_map.h"

unsigned int blk_mq_queue_of(unsigned int cpu, unsigned int ncpus, unsigned int nqueues)
{
	if (ncpus == 0)
		ncpus = 1;
	if (nqueues == 0)
		nqueues = 1;
	cpu %= ncpus;
	if (nqueues >= ncpus)
		return cpu;
	/* cpu * nqueues / ncpus: run q is the CPUs c with q * ncpus <= c * nqueues < (q + 1) * ncpus. */
	return (unsigned int)((uint64_t)cpu * nqueues / ncpus);
}

unsigned int blk_mq_irq_cpu(unsigned int q, unsigned int ncpus, unsigned int nqueues)
{
	if (ncpus == 0)
		ncpus = 1;
	/* Runs are consecutive and in queue order (above): the first CPU whose queue is q. */
	for (unsigned int c = 0; c < ncpus; c++) {
		if (blk_mq_queue_of(c, ncpus, nqueues) == q)
			return c;
	}
	return q % ncpus;
}
