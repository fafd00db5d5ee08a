/*
 * run=selftest checks of the memory set-up on the real target: the MMU and
 * caches are on, the identity map gives each region the attributes and
 * permissions src/hal/mmu.c promises (asked of the MMU itself with AT), an
 * unaligned load works on normal memory, and the page pool honours
 * alignment, runs out cleanly and gets every page back.
 */
#include <stdbool.h>
#include <stdint.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/hal/dma.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/mem.h>
#include <levblk/init.h>
#include "mem_private.h"
#include "mmu_regs.h"

#define PAGE_SIZE	    4096ull
#define PL011_BASE_FOR_AT   0x09000000ull /* the UART: a device page that is always there */
#define EXHAUST_MAX_CHUNKS  128
#define EXHAUST_FIRST_PAGES (1ull << 16) /* 256 MiB */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			kprintf("# %s:%d: %s\n", __FILE__, __LINE__, #cond);                       \
			return false;                                                              \
		}                                                                                  \
	} while (0)

static uint64_t at_read(uint64_t va)
{
	uint64_t par;

	/* Translate for an EL1 read; the isb makes PAR_EL1 hold this translation's result. */
	__asm__ volatile("at s1e1r, %1\n\tisb\n\tmrs %0, par_el1" : "=r"(par) : "r"(va) : "memory");
	return par;
}

static uint64_t at_write(uint64_t va)
{
	uint64_t par;

	__asm__ volatile("at s1e1w, %1\n\tisb\n\tmrs %0, par_el1" : "=r"(par) : "r"(va) : "memory");
	return par;
}

static bool test_caches_on(void)
{
	uint64_t sctlr;

	__asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
	CHECK(hal_mmu_enabled());
	CHECK(sctlr & SCTLR_EL1_M);
	CHECK(sctlr & SCTLR_EL1_C);
	CHECK(sctlr & SCTLR_EL1_I);
	CHECK(!(sctlr & SCTLR_EL1_A));
	return true;
}
SELFTEST("mem.mmu_caches_on", test_caches_on);

static uint64_t selftest_bss_word;

static bool test_map_attrs(void)
{
	const struct dt_info *dt = dt_info();
	uint64_t ram_end = dt->mem_base + dt->mem_size;
	uint64_t data = (uint64_t)(uintptr_t)&selftest_bss_word;
	uint64_t par;

	/* RAM: identity, normal write-back, writable. */
	par = at_write(data);
	CHECK(!(par & PAR_F));
	CHECK((par & PAR_ADDR_MASK) == (data & ~(PAGE_SIZE - 1)));
	CHECK(par >> PAR_ATTR_SHIFT == MAIR_ATTR_NORMAL_WB);
	par = at_write(ram_end - PAGE_SIZE);
	CHECK(!(par & PAR_F) && (par & PAR_ADDR_MASK) == ram_end - PAGE_SIZE);
	/* The device tree blob at the start of RAM stays readable (bootargs point into it). */
	CHECK(!(at_read(dt->mem_base) & PAR_F));
	/* Devices: Device-nGnRE. */
	par = at_read(PL011_BASE_FOR_AT);
	CHECK(!(par & PAR_F));
	CHECK(par >> PAR_ATTR_SHIFT == MAIR_ATTR_DEVICE_nGnRE);
	par = at_read(dt->gic.dist_base);
	CHECK(!(par & PAR_F) && par >> PAR_ATTR_SHIFT == MAIR_ATTR_DEVICE_nGnRE);
	for (unsigned int i = 0; i < dt->n_virtio; i++) {
		par = at_read(dt->virtio[i].base);
		CHECK(!(par & PAR_F) && par >> PAR_ATTR_SHIFT == MAIR_ATTR_DEVICE_nGnRE);
	}
	/* Kernel text and rodata: readable, not writable. */
	CHECK(!(at_read((uintptr_t)test_map_attrs) & PAR_F));
	CHECK(at_write((uintptr_t)test_map_attrs) & PAR_F);
	CHECK(!(at_read((uintptr_t)__text_end) & PAR_F));
	CHECK(at_write((uintptr_t)__text_end) & PAR_F);
	/* Unmapped: past the end of RAM and the flash at 0. */
	CHECK(at_read(ram_end) & PAR_F);
	CHECK(at_read(0) & PAR_F);
	return true;
}
SELFTEST("mem.map_attributes", test_map_attrs);

/* An 8-byte load from an address that is 1 mod 8: legal on normal memory with SCTLR.A clear. */
static uint64_t load64_unaligned(const uint8_t *p)
{
	uint64_t v;

	/* Written as one LDR so the compiler cannot split it into aligned pieces. */
	__asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(p) : "memory");
	return v;
}

static bool test_unaligned(void)
{
	static uint8_t buf[32] __attribute__((aligned(16)));
	uint64_t want = 0;

	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(0x11 * (i + 1));
	/* Little-endian: byte k of the loaded word is buf[1 + k]. */
	for (unsigned int k = 0; k < 8; k++)
		want |= (uint64_t)buf[1 + k] << (8 * k);
	CHECK(load64_unaligned(buf + 1) == want);
	/* Across a 16-byte boundary too. */
	want = 0;
	for (unsigned int k = 0; k < 8; k++)
		want |= (uint64_t)buf[13 + k] << (8 * k);
	CHECK(load64_unaligned(buf + 13) == want);
	return true;
}
SELFTEST("mem.unaligned_load", test_unaligned);

static bool all_zero(const void *p, size_t n)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < n / sizeof(uint64_t); i++) {
		if (w[i])
			return false;
	}
	return true;
}

static bool test_dma_alloc(void)
{
	static const size_t aligns[] = {4096, 16384, 65536, 1u << 21};
	struct dma_buf a, b;
	uint64_t free0, free1, total;

	hal_page_stats(&free0, &total);
	CHECK(total > 0);
	CHECK(dma_alloc(0, 4096, &a) == -EINVAL);
	CHECK(dma_alloc(100, 3000, &a) == -EINVAL);
	/* A small buffer is one whole page, identity-mapped, zeroed. */
	CHECK(dma_alloc(1, 0, &a) == 0);
	CHECK(a.size == PAGE_SIZE);
	CHECK(a.bus == (uint64_t)(uintptr_t)a.va && hal_virt_to_bus(a.va) == a.bus);
	CHECK((a.bus & (PAGE_SIZE - 1)) == 0);
	CHECK(a.bus >= (uint64_t)(uintptr_t)__kernel_end);
	CHECK(all_zero(a.va, a.size));
	/* Dirty it, free it, take it again: it must come back zeroed. */
	for (size_t i = 0; i < a.size; i++)
		((volatile uint8_t *)a.va)[i] = 0xa5;
	uint64_t old = a.bus;
	dma_free(&a);
	CHECK(a.va == NULL && a.size == 0);
	CHECK(dma_alloc(PAGE_SIZE, PAGE_SIZE, &a) == 0);
	CHECK(a.bus == old); /* first fit: the page just freed */
	CHECK(all_zero(a.va, a.size));
	for (unsigned int i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		CHECK(dma_alloc(3 * PAGE_SIZE + 1, aligns[i], &b) == 0);
		CHECK(b.size == 4 * PAGE_SIZE);
		CHECK((b.bus & (aligns[i] - 1)) == 0);
		/* No overlap with the other live buffer. */
		CHECK(b.bus + b.size <= a.bus || a.bus + a.size <= b.bus);
		CHECK(all_zero(b.va, b.size));
		dma_free(&b);
	}
	dma_free(&a);
	hal_page_stats(&free1, &total);
	CHECK(free1 == free0);
	return true;
}
SELFTEST("mem.dma_alloc", test_dma_alloc);

/*
 * Takes every free page of the pool in chunks that halve whenever an
 * allocation fails (so a few dozen allocations cover even 4 GiB), checks
 * that a single page then fails with -ENOMEM, that no two chunks overlap and
 * each is aligned to its own size, then frees everything and checks the
 * free count is back. Uses the non-zeroing page interface: zeroing 4 GiB
 * would only measure memset.
 */
static bool test_page_exhaust(void)
{
	static struct {
		uint64_t pa, n;
	} chunk[EXHAUST_MAX_CHUNKS];
	unsigned int nchunks = 0;
	uint64_t free0, free1, total, got = 0, pa, start, end;
	uint64_t n = EXHAUST_FIRST_PAGES;
	bool ok = true;

	hal_page_stats(&free0, &total);
	hal_page_range(&start, &end);
	while (n >= 1 && ok) {
		int err = hal_page_alloc(n, n, &pa);

		if (err == -ENOMEM) {
			n /= 2;
			continue;
		}
		if (err != 0 || nchunks == EXHAUST_MAX_CHUNKS) {
			kprintf("# alloc of %lu pages: err %d, chunk %u\n", (unsigned long)n, err,
				nchunks);
			ok = false;
			if (err == 0)
				hal_page_free(pa, n);
			break;
		}
		if ((pa & (n * PAGE_SIZE - 1)) != 0 || pa < start || pa + n * PAGE_SIZE > end) {
			kprintf("# chunk 0x%lx +%lu pages misplaced\n", (unsigned long)pa,
				(unsigned long)n);
			ok = false;
		}
		for (unsigned int i = 0; i < nchunks; i++) {
			if (pa < chunk[i].pa + chunk[i].n * PAGE_SIZE &&
			    chunk[i].pa < pa + n * PAGE_SIZE) {
				kprintf("# chunk 0x%lx overlaps 0x%lx\n", (unsigned long)pa,
					(unsigned long)chunk[i].pa);
				ok = false;
			}
		}
		chunk[nchunks].pa = pa;
		chunk[nchunks].n = n;
		nchunks++;
		got += n;
	}
	uint64_t free_empty, dummy;

	hal_page_stats(&free_empty, &dummy);
	if (ok && (free_empty != 0 || got != free0 || hal_page_alloc(1, 1, &pa) != -ENOMEM)) {
		kprintf("# after %u chunks: got %lu of %lu pages, %lu still free\n", nchunks,
			(unsigned long)got, (unsigned long)free0, (unsigned long)free_empty);
		ok = false;
	}
	while (nchunks > 0) {
		nchunks--;
		hal_page_free(chunk[nchunks].pa, chunk[nchunks].n);
	}
	hal_page_stats(&free1, &total);
	CHECK(ok);
	CHECK(free1 == free0);
	return true;
}
SELFTEST("mem.page_exhaust", test_page_exhaust);
