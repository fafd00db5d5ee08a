/* System register bits used by the boot and exception code (Arm ARM D17/D19). */
#ifndef LEVBLK_HAL_SYSREGS_H
#define LEVBLK_HAL_SYSREGS_H

#define HCR_EL2_RW            (1 << 31)
#define CNTHCTL_EL1PCTEN      (1 << 0)
#define CNTHCTL_EL1PCEN       (1 << 1)
#define CPTR_EL2_RES1         0x33ff
/* SCTLR_EL1 with MMU, caches and alignment checks off; RES1 bits set. */
#define SCTLR_EL1_RESET       0x30d00800
/* EL1h with D, A, I, F masked. */
#define SPSR_EL1H_DAIF_MASKED 0x3c5

/* GICv3 CPU interface at EL2: system registers for EL2, and EL1 may use them too. */
#define ID_AA64PFR0_GIC_SHIFT 24
#define ICC_SRE_EL2_SRE       (1 << 0)
#define ICC_SRE_EL2_ENABLE    (1 << 3)

#define ESR_EC_SHIFT 26
#define ESR_EC_MASK  0x3f

#endif
