/*
 * GICv3 register offsets and fields (Arm IHI 0069, chapter 12). Private to
 * src/irq. GICD offsets are from the distributor; GICR_* from a CPU's
 * redistributor RD_base; GICR_SGI_* from its SGI_base (RD_base + 64 KiB).
 */
#ifndef LEVBLK_IRQ_GICV3_REGS_H
#define LEVBLK_IRQ_GICV3_REGS_H

/* Distributor: the SPI banks share the GICv2 offsets. */
#define GICD_CTLR	0x0000u
#define GICD_TYPER	0x0004u
#define GICD_IGROUPR	0x0080u
#define GICD_ISENABLER	0x0100u
#define GICD_ICENABLER	0x0180u
#define GICD_ISPENDR	0x0200u
#define GICD_ICPENDR	0x0280u
#define GICD_ICACTIVER	0x0380u
#define GICD_IPRIORITYR 0x0400u
#define GICD_ICFGR	0x0c00u
#define GICD_IROUTER	0x6000u /* 64 bits per INTID, SPIs only */

#define GICD_CTLR_ENABLE_GRP1	(1u << 1) /* with DS = 1: the single Group 1 */
#define GICD_CTLR_ARE		(1u << 4) /* affinity routing (reads as 1 on QEMU) */
#define GICD_CTLR_RWP		(1u << 31)
#define GICD_TYPER_ITLINES_MASK 0x1fu

/* Redistributor, RD_base frame. */
#define GICR_CTLR  0x0000u
#define GICR_TYPER 0x0008u /* 64 bits */
#define GICR_WAKER 0x0014u

#define GICR_TYPER_VLPIS	   (1ull << 1)
#define GICR_TYPER_LAST		   (1ull << 4)
#define GICR_TYPER_AFF_SHIFT	   32
#define GICR_WAKER_PROCESSOR_SLEEP (1u << 1)
#define GICR_WAKER_CHILDREN_ASLEEP (1u << 2)
#define GICR_CTLR_RWP		   (1u << 3)

/* Each redistributor is RD_base + SGI_base, 64 KiB each; GICv4 adds two VLPI frames. */
#define GICR_FRAME_SIZE	 0x10000u
#define GICR_SGI_BASE	 GICR_FRAME_SIZE
#define GICR_STRIDE	 (2u * GICR_FRAME_SIZE)
#define GICR_STRIDE_VLPI (4u * GICR_FRAME_SIZE)

/* Redistributor, SGI_base frame: SGIs and PPIs (INTID 0..31) of that CPU. */
#define GICR_IGROUPR0	0x0080u
#define GICR_ISENABLER0 0x0100u
#define GICR_ICENABLER0 0x0180u
#define GICR_ISPENDR0	0x0200u
#define GICR_ICPENDR0	0x0280u
#define GICR_ICACTIVER0 0x0380u
#define GICR_IPRIORITYR 0x0400u
#define GICR_ICFGR1	0x0c04u /* PPIs */

/* CPU interface system registers (ICC_*_EL1) fields. */
#define ICC_SRE_SRE	      (1u << 0)
#define ICC_SRE_DFB	      (1u << 1)
#define ICC_SRE_DIB	      (1u << 2)
#define ICC_PMR_ALL	      0xffu
#define ICC_IGRPEN1_EN	      1u
#define ICC_IAR_INTID_MASK    0xffffffu
#define ICC_SGI1R_INTID_SHIFT 24
#define ICC_SGI1R_AFF1_SHIFT  16
#define ICC_SGI1R_AFF2_SHIFT  32
#define ICC_SGI1R_AFF3_SHIFT  48

/* Polls of RWP / ChildrenAsleep: QEMU clears them at once; bound the wait anyway. */
#define GICV3_POLL_LIMIT 1000000u

#endif
