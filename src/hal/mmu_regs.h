/*
 * Translation-control constants for the stage 1 EL1&0 regime with the 4 KiB
 * granule (Arm ARM D8 "The AArch64 Virtual Memory System Architecture",
 * D19 register descriptions). Used by src/hal/mmu.c and the memory selftests.
 */
#ifndef LEVBLK_HAL_MMU_REGS_H
#define LEVBLK_HAL_MMU_REGS_H

/* SCTLR_EL1 */
#define SCTLR_EL1_M   (1ull << 0) /* stage 1 translation on */
#define SCTLR_EL1_A   (1ull << 1) /* alignment checks: kept off so unaligned normal accesses work */
#define SCTLR_EL1_C   (1ull << 2) /* data and unified caches on */
#define SCTLR_EL1_SA  (1ull << 3) /* SP alignment check at EL1 */
#define SCTLR_EL1_I   (1ull << 12) /* instruction cache on */
#define SCTLR_EL1_WXN (1ull << 19) /* writable implies execute-never */

/*
 * MAIR_EL1: eight 8-bit memory attribute encodings; descriptors pick one by
 * index (AttrIndx). Only two are used.
 */
#define MAIR_ATTR_DEVICE_nGnRE 0x04ull /* device: no gathering, no reordering, early ack */
#define MAIR_ATTR_NORMAL_WB    0xffull /* normal, inner+outer write-back, read+write allocate */
#define MAIR_IDX_DEVICE	       0
#define MAIR_IDX_NORMAL	       1
#define MAIR_ATTR_SHIFT(idx)   ((idx)*8)
#define MAIR_EL1_VALUE                                                                             \
	((MAIR_ATTR_DEVICE_nGnRE << MAIR_ATTR_SHIFT(MAIR_IDX_DEVICE)) |                            \
	 (MAIR_ATTR_NORMAL_WB << MAIR_ATTR_SHIFT(MAIR_IDX_NORMAL)))

/*
 * TCR_EL1. TTBR0 covers a 2^(64 - T0SZ) byte region: T0SZ = 25 gives 39 bits
 * (512 GiB), which with the 4 KiB granule starts the walk at level 1 (one
 * 512-entry table of 1 GiB slots). The virt machine's RAM ends at most at
 * 0x1_4000_0000 for 4 GiB, far below that. TTBR1 (the upper half) is unused.
 */
#define MMU_VA_BITS		  39
#define TCR_T0SZ_SHIFT		  0
#define TCR_EPD1		  (1ull << 23) /* no walks through TTBR1 */
#define TCR_IRGN0_WBWA		  (1ull << 8)  /* table walks: inner write-back cacheable */
#define TCR_ORGN0_WBWA		  (1ull << 10) /* table walks: outer write-back cacheable */
#define TCR_SH0_INNER		  (3ull << 12) /* table walks: inner shareable */
#define TCR_TG0_4K		  (0ull << 14)
#define TCR_IPS_SHIFT		  32
#define TCR_IPS_MAX_48BIT	  5ull /* ID_AA64MMFR0_EL1.PARange encoding of 48 bits */
#define ID_AA64MMFR0_PARANGE_MASK 0xfull

/* Translation table descriptors (4 KiB granule, 512 entries per table). */
#define PT_ENTRIES	512
#define PT_INDEX_BITS	9
#define PT_PAGE_SHIFT	12
#define PT_L1_SHIFT	30 /* a level 1 entry spans 1 GiB */
#define PT_L2_SHIFT	21 /* a level 2 entry spans 2 MiB */
#define PT_L3_SHIFT	12 /* a level 3 entry spans 4 KiB */
#define PT_VALID	(1ull << 0)
#define PT_TABLE	(1ull << 1) /* at levels 0-2: next-level table; at level 3: a page */
#define PT_TYPE_MASK	(3ull << 0)
#define PT_BLOCK	PT_VALID
#define PT_PAGE		(PT_VALID | PT_TABLE)
#define PT_ATTRIDX(i)	((unsigned long long)(i) << 2)
#define PT_ATTRIDX_MASK (7ull << 2)
#define PT_AP_RO	(1ull << 7) /* AP[2]: read-only (AP[1] = 0: no EL0 access) */
#define PT_SH_INNER	(3ull << 8)
#define PT_AF		(1ull << 10) /* access flag: set, or the first access faults */
#define PT_PXN		(1ull << 53) /* EL1 may not execute */
#define PT_UXN		(1ull << 54) /* EL0 may not execute */
#define PT_ADDR_MASK	0x0000fffffffff000ull

/* PAR_EL1 after an AT instruction (used by the selftests). */
#define PAR_F	       (1ull << 0) /* the translation faulted */
#define PAR_ATTR_SHIFT 56
#define PAR_ADDR_MASK  0x0000fffffffff000ull

#endif
