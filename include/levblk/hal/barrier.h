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
/* Stores to ring memory before this are seen before stores after it (avail idx publish). */
#define vq_wmb() __asm__ volatile("dmb ishst" ::: "memory")
/* Loads before this (used idx) complete before loads after it (used ring entries). */
#define vq_rmb() __asm__ volatile("dmb ishld" ::: "memory")
/* Full: a store (avail idx) is visible before a later load (avail_event / used flags). */
#define vq_mb()  __asm__ volatile("dmb ish" ::: "memory")
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
