/*
 * Stage 1 translation for EL1: an identity map (VA == PA, so DMA bus
 * addresses are kernel addresses, levblk/hal/dma.h) built once at boot from
 * the device tree, then the MMU and caches are turned on.
 *
 *   kernel text    [__kernel_start, __text_end)   normal WB, read-only, executable
 *   kernel rodata  [__text_end, __rodata_end)     normal WB, read-only, execute-never
 *   rest of RAM    [mem_base, mem_base + size)    normal WB, read-write, execute-never
 *   devices        0x0800_0000..0x4000_0000 and   Device-nGnRE, execute-never
 *                  every GIC/virtio range in the DT
 *   anything else  unmapped: an access faults (flash at 0, past the end of RAM)
 *
 * All normal memory is inner shareable, which is what the inner-shareable
 * barriers in levblk/hal/barrier.h assume. The map uses the largest block
 * that fits: 1 GiB at level 1, 2 MiB at level 2, 4 KiB pages at level 3
 * only where the kernel's text and rodata boundaries need them. Tables come
 * from a fixed pool in BSS. Mapping calls are ordered from the most specific
 * (kernel text) to the least, and an address already mapped keeps its first
 * mapping, so later, coarser calls fill the gaps around it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <levblk/errno.h>
#include <levblk/console.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/exit.h>
#include <levblk/hal/mem.h>
#include <levblk/init.h>
#include "mem_private.h"
#include "mmu_regs.h"

/* The virt machine's low device window (GIC, UART, RTC, virtio-mmio, PCIe windows). */
#define VIRT_DEVICE_START 0x08000000ull
#define VIRT_DEVICE_END	  0x40000000ull
/* Regions the DT gives without a size (GIC distributor): GICv3's is 64 KiB, GICv2's smaller. */
#define GICD_MAP_SIZE	   0x10000ull
#define MMU_MAX_TABLES	   16
#define MMU_PAGE_SIZE	   (1ull << PT_PAGE_SHIFT)
#define CTR_DMINLINE_SHIFT 16
#define CTR_DMINLINE_MASK  0xfull

#define ATTR_NORMAL (PT_ATTRIDX(MAIR_IDX_NORMAL) | PT_SH_INNER | PT_AF)
#define ATTR_TEXT   (ATTR_NORMAL | PT_AP_RO | PT_UXN)
#define ATTR_RODATA (ATTR_NORMAL | PT_AP_RO | PT_UXN | PT_PXN)
#define ATTR_RAM    (ATTR_NORMAL | PT_UXN | PT_PXN)
#define ATTR_DEVICE (PT_ATTRIDX(MAIR_IDX_DEVICE) | PT_AF | PT_UXN | PT_PXN)

/* Table 0 is the level 1 root; the rest are handed out in order. Written only before the MMU is on.
 */
static uint64_t mmu_tables[MMU_MAX_TABLES][PT_ENTRIES] __attribute__((aligned(MMU_PAGE_SIZE)));
static unsigned int mmu_tables_used = 1;
static bool mmu_on;

static uint64_t *table_alloc(void)
{
	if (mmu_tables_used == MMU_MAX_TABLES)
		return NULL;
	return mmu_tables[mmu_tables_used++]; /* BSS: already all invalid (zero) entries */
}

static unsigned int level_shift(unsigned int level)
{
	return PT_PAGE_SHIFT + (3 - level) * PT_INDEX_BITS;
}

/* Maps [va, end) (page-aligned) through `table` at `level`; see the file comment for the rules. */
static int map_level(uint64_t *table, unsigned int level, uint64_t va, uint64_t end, uint64_t attrs)
{
	uint64_t size = 1ull << level_shift(level);

	while (va < end) {
		uint64_t *e = &table[(va >> level_shift(level)) & (PT_ENTRIES - 1)];
		uint64_t slot_end = (va & ~(size - 1)) + size;
		uint64_t chunk_end = end < slot_end ? end : slot_end;
		bool whole = (va & (size - 1)) == 0 && chunk_end == slot_end;
		int err;

		if (*e == 0 && whole) {
			/* Level 1 and 2 hold blocks, level 3 pages; the address is the block's own.
			 */
			*e = va | attrs | (level == 3 ? PT_PAGE : PT_BLOCK);
		} else if (*e == 0) {
			uint64_t *next = table_alloc();

			if (!next)
				return -ENOMEM;
			*e = (uint64_t)(uintptr_t)next | PT_VALID | PT_TABLE;
			err = map_level(next, level + 1, va, chunk_end, attrs);
			if (err)
				return err;
		} else if (level < 3 && (*e & PT_TYPE_MASK) == (PT_VALID | PT_TABLE)) {
			err = map_level((uint64_t *)(uintptr_t)(*e & PT_ADDR_MASK), level + 1, va,
					chunk_end, attrs);
			if (err)
				return err;
		}
		/* Otherwise a block or page is already there: the first mapping wins. */
		va = chunk_end;
	}
	return 0;
}

/* Maps [start, end) rounded out to whole pages. */
static int mmu_map(uint64_t start, uint64_t end, uint64_t attrs, const char *what)
{
	start &= ~(MMU_PAGE_SIZE - 1);
	end = (end + MMU_PAGE_SIZE - 1) & ~(MMU_PAGE_SIZE - 1);
	if (end > (1ull << MMU_VA_BITS) || start >= end) {
		kprintf("mmu: %s [0x%lx, 0x%lx) is outside the %d-bit address space\n", what,
			(unsigned long)start, (unsigned long)end, MMU_VA_BITS);
		return -EINVAL;
	}
	int err = map_level(mmu_tables[0], 1, start, end, attrs);

	if (err)
		kprintf("mmu: out of page tables mapping %s\n", what);
	return err;
}

/*
 * Invalidates the data cache lines of [start, end) to the point of
 * coherency. Used on the page tables, which were written with the MMU (and
 * so the data cache) off: a stale line for them left in the cache would
 * otherwise be seen by the cacheable table walks once the MMU is on.
 */
static void dcache_inval_range(const void *start, const void *end)
{
	uint64_t ctr;

	__asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
	/* CTR_EL0.DminLine: log2 of the smallest data cache line, in 4-byte words. */
	uint64_t line = 4ull << ((ctr >> CTR_DMINLINE_SHIFT) & CTR_DMINLINE_MASK);

	for (uint64_t a = (uint64_t)(uintptr_t)start & ~(line - 1); a < (uint64_t)(uintptr_t)end;
	     a += line)
		__asm__ volatile("dc ivac, %0" : : "r"(a) : "memory");
	/* The invalidations complete before the walker may read the tables. */
	__asm__ volatile("dsb ish" ::: "memory");
}

static void mmu_enable(bool tables_written_uncached)
{
	uint64_t mmfr0, sctlr;

	__asm__ volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(mmfr0));
	/* Output address size: what the CPU implements (a53: 40 bits), capped at 48. */
	uint64_t ips = mmfr0 & ID_AA64MMFR0_PARANGE_MASK;

	if (ips > TCR_IPS_MAX_48BIT)
		ips = TCR_IPS_MAX_48BIT;
	uint64_t tcr = ((64ull - MMU_VA_BITS) << TCR_T0SZ_SHIFT) | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA |
		       TCR_SH0_INNER | TCR_TG0_4K | TCR_EPD1 | (ips << TCR_IPS_SHIFT);

	/* Only the boot CPU wrote them uncached; another CPU must not discard the boot CPU's lines. */
	if (tables_written_uncached)
		dcache_inval_range(mmu_tables, mmu_tables + MMU_MAX_TABLES);
	__asm__ volatile("msr mair_el1, %0" : : "r"(MAIR_EL1_VALUE));
	__asm__ volatile("msr tcr_el1, %0" : : "r"(tcr));
	__asm__ volatile("msr ttbr0_el1, %0" : : "r"((uint64_t)(uintptr_t)mmu_tables[0]));
	/* The new MAIR/TCR/TTBR0 take effect before the TLB maintenance below. */
	__asm__ volatile("isb" ::: "memory");
	/*
	 * Nothing may survive from before: drop every EL1 TLB entry and every
	 * instruction cache line (the I-cache may hold lines fetched by whoever
	 * ran before us). dsb nsh waits for both on this CPU; isb then refetches.
	 */
	__asm__ volatile("tlbi vmalle1\n\tic iallu\n\tdsb nsh\n\tisb" ::: "memory");

	/*
	 * Everything the kernel wrote so far (BSS, data, the tables) went to
	 * memory uncached, and the caches hold no lines for it: they come out of
	 * reset invalidated (and QEMU models none), so turning the data cache on
	 * here exposes no stale data. Alignment checks stay off so unaligned
	 * accesses to normal memory work, as C code assumes.
	 */
	__asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
	sctlr |= SCTLR_EL1_M | SCTLR_EL1_C | SCTLR_EL1_I;
	sctlr &= ~SCTLR_EL1_A;
	__asm__ volatile("msr sctlr_el1, %0" : : "r"(sctlr) : "memory");
	/* Instructions after this are fetched and translated with the MMU on. */
	__asm__ volatile("isb" ::: "memory");
	mmu_on = true;
}

void hal_mmu_enable_secondary(void)
{
	mmu_enable(false);
}

bool hal_mmu_enabled(void)
{
	return mmu_on;
}

int hal_mem_init(void)
{
	const struct dt_info *dt = dt_info();
	uint64_t ram_end = dt->mem_base + dt->mem_size;
	int err = 0;

	if (mmu_on)
		return 0;
	if (dt->mem_size == 0 || (uint64_t)(uintptr_t)__kernel_start < dt->mem_base ||
	    (uint64_t)(uintptr_t)__kernel_end > ram_end)
		panic("mmu: the kernel [%p, %p) is not inside RAM [0x%lx, 0x%lx)", __kernel_start,
		      __kernel_end, (unsigned long)dt->mem_base, (unsigned long)ram_end);

	/* Most specific first: see the file comment. */
	err |= mmu_map((uintptr_t)__kernel_start, (uintptr_t)__text_end, ATTR_TEXT, "kernel text");
	err |= mmu_map((uintptr_t)__text_end, (uintptr_t)__rodata_end, ATTR_RODATA, "rodata");
	err |= mmu_map(dt->mem_base, ram_end, ATTR_RAM, "RAM");
	err |= mmu_map(VIRT_DEVICE_START, VIRT_DEVICE_END, ATTR_DEVICE, "device window");
	/* No GIC node leaves dist_base 0: mapping it would map flash at 0 (irq_init then panics). */
	if (dt->gic.dist_base)
		err |= mmu_map(dt->gic.dist_base, dt->gic.dist_base + GICD_MAP_SIZE, ATTR_DEVICE,
			       "GICD");
	if (dt->gic.cpu_size)
		err |= mmu_map(dt->gic.cpu_base, dt->gic.cpu_base + dt->gic.cpu_size, ATTR_DEVICE,
			       "GIC CPU interface");
	for (unsigned int i = 0; i < dt->n_virtio; i++)
		err |= mmu_map(dt->virtio[i].base, dt->virtio[i].base + dt->virtio[i].size,
			       ATTR_DEVICE, "virtio-mmio");
	/*
	 * PCIe configuration space (QEMU's high ECAM lies above 4 GiB) and the
	 * memory windows BARs are given from. A window beyond the 39-bit map
	 * (virt's 64-bit window at 512 GiB) stays unmapped: the enumerator
	 * gives BARs only from windows hal_mem_mapped() says are mapped.
	 */
	if (dt->pcie.present)
		err |= mmu_map(dt->pcie.ecam_base, dt->pcie.ecam_base + dt->pcie.ecam_size,
			       ATTR_DEVICE, "PCIe ECAM");
	for (unsigned int i = 0; dt->pcie.present && i < dt->pcie.n_windows; i++) {
		const struct pci_dt_window *w = &dt->pcie.win[i];

		if (w->cpu_base + w->size <= (1ull << MMU_VA_BITS))
			err |= mmu_map(w->cpu_base, w->cpu_base + w->size, ATTR_DEVICE,
				       "PCIe window");
	}
	if (err)
		panic("mmu: cannot build the identity map");
	mmu_enable(true);
	kprintf("mem: MMU and caches on, RAM 0x%lx + %lu MiB, %u page tables\n",
		(unsigned long)dt->mem_base, (unsigned long)(dt->mem_size >> 20), mmu_tables_used);
	return 0;
}
INITCALL(INIT_LEVEL_EARLY, hal_mem_init);

bool hal_mmio_window_contains(uint64_t base, uint64_t size)
{
	return base >= VIRT_DEVICE_START && size <= VIRT_DEVICE_END - base;
}
