/*
 * GICv2 register offsets and fields (Arm IHI 0048B, chapter 4). Private to
 * src/irq. Distributor offsets are from GICD; CPU interface from GICC.
 */
#ifndef LEVBLK_IRQ_GICV2_REGS_H
#define LEVBLK_IRQ_GICV2_REGS_H

/* Distributor (4.3). The per-INTID banks take 1, 2 or 8 bits per INTID. */
#define GICD_CTLR	0x000u
#define GICD_TYPER	0x004u
#define GICD_IGROUPR	0x080u
#define GICD_ISENABLER	0x100u
#define GICD_ICENABLER	0x180u
#define GICD_ISPENDR	0x200u
#define GICD_ICPENDR	0x280u
#define GICD_ICACTIVER	0x380u
#define GICD_IPRIORITYR 0x400u
#define GICD_ITARGETSR	0x800u
#define GICD_ICFGR	0xc00u
#define GICD_SGIR	0xf00u

#define GICD_CTLR_ENABLE	(1u << 0)
#define GICD_TYPER_ITLINES_MASK 0x1fu	   /* (ITLinesNumber + 1) * 32 INTIDs */
#define GICD_SGIR_TARGET_SELF	(2u << 24) /* TargetListFilter: this CPU only */
#define GICD_SGIR_INTID_MASK	0xfu
#define GICD_SGIR_TARGETS_SHIFT 16 /* CPUTargetList, with TargetListFilter 0 */

/* CPU interface (4.4). */
#define GICC_CTLR 0x000u
#define GICC_PMR  0x004u
#define GICC_BPR  0x008u
#define GICC_IAR  0x00cu
#define GICC_EOIR 0x010u

#define GICC_CTLR_ENABLE    (1u << 0)
#define GICC_PMR_ALL	    0xffu /* let every priority through */
#define GICC_IAR_INTID_MASK 0x3ffu

#endif
