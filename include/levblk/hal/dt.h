/*
 * What the kernel needs from QEMU's device tree, read once at boot.
 * QEMU loads the blob at the start of RAM for ELF kernels (x0 is not set),
 * which is why the kernel links at RAM + 1 MiB (src/hal/link.ld).
 */
#ifndef LEVBLK_HAL_DT_H
#define LEVBLK_HAL_DT_H

#include <stdint.h>
#include <levblk/lib/fdt.h>
#include <levblk/lib/pci_host_dt.h>

#define DT_MAX_VIRTIO_MMIO 64
#define DT_MAX_CPUS	   8 /* the kernel runs at most CPU_MAX (levblk/hal/percpu.h) */

struct dt_virtio_mmio {
	uint64_t base, size;
	uint32_t intid;
};

struct dt_gic {
	int version;          /* 2 or 3; 0 when the tree has no usable GIC node */
	uint64_t dist_base;   /* GICD */
	uint64_t cpu_base;    /* GICv2: GICC; GICv3: first redistributor (GICR) */
	uint64_t cpu_size;
};

struct dt_info {
	uint64_t mem_base, mem_size;
	const char *bootargs;  /* "" when absent */
	struct dt_gic gic;
	uint32_t timer_intid_virt, timer_intid_phys; /* EL1 virtual / non-secure physical */
	int psci_smc;          /* 1: conduit SMC, 0: HVC, -1: no PSCI node */
	unsigned int n_cpus;   /* cpu nodes under /cpus (up to DT_MAX_CPUS), in tree order */
	uint64_t cpu_mpidr[DT_MAX_CPUS]; /* their reg: MPIDR_EL1 affinity fields */
	unsigned int n_virtio;
	struct dt_virtio_mmio virtio[DT_MAX_VIRTIO_MMIO]; /* in device-tree order */
	struct pci_host_dt pcie;  /* the PCIe host bridge; pcie.present false when none */
	const char *pcie_problem; /* why a bridge node was not usable, or NULL */
};

/* Parses the blob into dt_info(). Returns 0 or -EINVAL (no usable blob). */
int dt_init(void);
const struct dt_info *dt_info(void);
/* The parsed blob itself, for drivers that need more than dt_info holds. */
const struct fdt *dt_fdt(void);
/* Parses any blob into *out (used by dt_init and by host tests). */
int dt_parse(const struct fdt *f, struct dt_info *out);

#endif
