/*
 * Which hardware queue a CPU submits to, when a device has several
 * (virtio-blk multi-queue; docs/interface.md, "Multi-queue"). Pure code,
 * tested on the host (test/blk/test_blk_mq_map.c).
 */
#ifndef LEVBLK_BLK_BLK_MQ_MAP_H
#define LEVBLK_BLK_BLK_MQ_MAP_H

/*
 * The queue (0 .. nqueues - 1) of CPU `cpu` when ncpus CPUs share nqueues
 * queues. With at least as many queues as CPUs each CPU has a queue of its
 * own (CPU n: queue n; queues past ncpus stay unused). With fewer, CPUs
 * are grouped in consecutive runs, one run per queue, whose lengths differ
 * by at most one: neighbouring CPUs share, and every queue is used. A cpu
 * at or past ncpus is taken modulo ncpus; nqueues or ncpus 0 count as 1.
 */
unsigned int blk_mq_queue_of(unsigned int cpu, unsigned int ncpus, unsigned int nqueues);

/*
 * The CPU queue q's completion interrupt goes to, when the transport gives
 * each queue its own (virtio-pci MSI-X): the first CPU that submits to q,
 * so a request usually ends on the CPU that queued it; a queue no CPU
 * submits to (more queues than CPUs) gets q modulo ncpus. Counts of 0 are 1.
 */
unsigned int blk_mq_irq_cpu(unsigned int q, unsigned int ncpus, unsigned int nqueues);

#endif
