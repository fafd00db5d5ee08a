/*
 * Named memory barriers. Every use names what it orders and what it pairs
 * with; nothing else in the tree writes a raw "dmb".
 *
 * Shared-memory rings (virtqueue) are coherent normal memory in the inner
 * shareable domain as far as the CPU is concerned, and QEMU's device model
 * observes them as another agent: the "inner shareable" flavour is what Linux
 * uses for virtio on arm64 (virt_wmb/virt_rmb/virt_mb).
 *
 * The io_ flavours order normal memory against device (MMIO) accesses: the
 * outer shareable domain covers the device.
 *
 * On the host build (LEVBLK_HOST) the simulated device is another piece of C
 * code, so C11 fences give the same guarantees to the compiler and the CPU.
 */
#ifndef LEVBLK_HAL_BARRIER_H
#define LEVBLK_HAL_BARRIER_H

#ifdef LEVBLK_HOST
#include <stdatomic.h>
#define vq_wmb() atomic_thread_fence(memory_order_release)
#define vq_rmb() atomic_thread_fence(memory_order_acquire)
#define vq_mb()  atomic_thread_fence(memory_order_seq_cst)
#define io_wmb() atomic_thread_fence(memory_order_release)
#define io_rmb() atomic_thread_fence(memory_order_acquire)
#define io_mb()  atomic_thread_fence(memory_order_seq_cst)
#define compiler_barrier() atomic_signal_fence(memory_order_seq_cst)
#define dsb_sy() atomic_thread_fence(memory_order_seq_cst)
#define isb()    atomic_signal_fence(memory_order_seq_cst)
#else
#include <stdint.h>

/* Stores to ring memory before this are seen before stores after it (avail idx publish). */
#define vq_wmb() __asm__ volatile("dmb ishst" ::: "memory")
/* Loads before this (used idx) complete before loads after it (used ring entries). */
#define vq_rmb() __asm__ volatile("dmb ishld" ::: "memory")
/*
 * Full: a store (avail idx, used_event) is visible before a later load
 * (avail_event / used flags, used idx): the split ring's two store-load
 * hand-offs, where a reordering makes the driver and the device miss each
 * other and a kick or an interrupt is suppressed that was needed.
 *
 * The dmb alone is not enough under QEMU before 8.1: with one vCPU
 * (CF_PARALLEL off) its TCG drops every guest barrier from translated code,
 * although the virtio device model runs on other host threads (upstream
 * commit c914d46d0a64, "tcg: Do not elide memory barriers for !CF_PARALLEL
 * in system mode", first in v8.1.0). On an x86 host a load may then pass an
 * earlier store still in the store buffer, and a request waits for its
 * deadline (blk.timeout_ms). Debian 12's QEMU 7.2 is affected: `-d op`
 * shows no "mb" op for a dmb with -smp 1 and 13 of them with -smp 2. The
 * counter read after the dmb is a system-register access that QEMU
 * performs under its global mutex (ARM_CP_IO): taking a mutex is a locked
 * host instruction, a full host barrier, so the store is visible before
 * the load on every QEMU. On hardware the dmb does the work and the read
 * costs a few cycles.
 */
static inline void vq_mb(void)
{
	uint64_t tcg_fence;

	__asm__ volatile("dmb ish\n\tmrs %0, cntvct_el0" : "=r"(tcg_fence)::"memory");
	(void)tcg_fence;
}
/* Normal-memory stores are visible to the device before a later MMIO store (QueueNotify). */
#define io_wmb() __asm__ volatile("dmb oshst" ::: "memory")
/* An MMIO load (InterruptStatus) completes before later normal-memory loads. */
#define io_rmb() __asm__ volatile("dmb oshld" ::: "memory")
#define io_mb()  __asm__ volatile("dmb osh" ::: "memory")
#define compiler_barrier() __asm__ volatile("" ::: "memory")
/* Completion barrier: used before GIC EOI and around system-register changes. */
#define dsb_sy() __asm__ volatile("dsb sy" ::: "memory")
#define isb()    __asm__ volatile("isb" ::: "memory")
#endif

#endif
