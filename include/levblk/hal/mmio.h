/*
 * MMIO accessors. Only src/hal, src/irq and the virtio transport call these.
 *
 * Ordering (the same contract as Linux's arm64 readl/writel):
 *  - mmio_write32() puts io_wmb() before the store, so every normal-memory
 *    store program-ordered before it (descriptors, avail idx) is visible to
 *    the device before the register write (e.g. QueueNotify) lands.
 *  - mmio_read32() puts io_rmb() after the load, so normal-memory loads that
 *    follow (used ring) cannot be satisfied before the register read.
 *  - The _relaxed variants order only against other MMIO to the same device
 *    (Device-nGnRE memory keeps program order there) and are for register
 *    setup sequences that publish no DMA state.
 *
 * On the host build these are real functions supplied by the test harness
 * (test/hal_host), which routes them to a simulated device.
 */
#ifndef LEVBLK_HAL_MMIO_H
#define LEVBLK_HAL_MMIO_H

#include <stdint.h>
#include <levblk/hal/barrier.h>

#ifdef LEVBLK_HOST
uint32_t mmio_read32_relaxed(uintptr_t addr);
void mmio_write32_relaxed(uintptr_t addr, uint32_t val);
uint8_t mmio_read8_relaxed(uintptr_t addr);
/* Narrow accesses for PCI configuration space and virtio-pci's 16-bit fields. */
uint16_t mmio_read16_relaxed(uintptr_t addr);
void mmio_write16_relaxed(uintptr_t addr, uint16_t val);
void mmio_write8_relaxed(uintptr_t addr, uint8_t val);
#else
static inline uint32_t mmio_read32_relaxed(uintptr_t addr)
{
	uint32_t v;
	__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline void mmio_write32_relaxed(uintptr_t addr, uint32_t val)
{
	__asm__ volatile("str %w0, [%1]" : : "rZ"(val), "r"(addr) : "memory");
}

static inline uint8_t mmio_read8_relaxed(uintptr_t addr)
{
	uint8_t v;
	__asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

/* Narrow accesses for PCI configuration space and virtio-pci's 16-bit fields. */
static inline uint16_t mmio_read16_relaxed(uintptr_t addr)
{
	uint16_t v;
	__asm__ volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline void mmio_write16_relaxed(uintptr_t addr, uint16_t val)
{
	__asm__ volatile("strh %w0, [%1]" : : "rZ"(val), "r"(addr) : "memory");
}

static inline void mmio_write8_relaxed(uintptr_t addr, uint8_t val)
{
	__asm__ volatile("strb %w0, [%1]" : : "rZ"(val), "r"(addr) : "memory");
}
#endif

static inline uint32_t mmio_read32(uintptr_t addr)
{
	uint32_t v = mmio_read32_relaxed(addr);
	io_rmb();
	return v;
}

static inline void mmio_write32(uintptr_t addr, uint32_t val)
{
	io_wmb();
	mmio_write32_relaxed(addr, val);
}

static inline uint8_t mmio_read8(uintptr_t addr)
{
	uint8_t v = mmio_read8_relaxed(addr);
	io_rmb();
	return v;
}

#endif
