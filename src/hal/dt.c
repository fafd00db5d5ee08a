/*
 * Device tree: turns the blob QEMU passes into struct dt_info.
 * dt_parse() is pure (host-tested against a blob dumped from QEMU); dt_init()
 * finds the blob in RAM.
 */
#include <levblk/errno.h>
#include <levblk/hal/dt.h>
#include <levblk/lib/string.h>

#define DT_BLOB_ADDR 0x40000000ul
#define DT_BLOB_MAX  (1ul << 20) /* QEMU's virt blob is 1 MiB; the kernel starts right after */

/* Indices of the ARMv8 timer's interrupts (arm,armv8-timer binding). */
#define DT_TIMER_SEC_PHYS 0
#define DT_TIMER_PHYS     1
#define DT_TIMER_VIRT     2

static struct fdt dt_blob;
static struct dt_info dt;

static void parse_gic(const struct fdt *f, struct dt_gic *g)
{
	int node = fdt_find_compatible(f, -1, "arm,gic-v3");
	uint64_t size;

	g->version = 3;
	if (node < 0) {
		g->version = 2;
		node = fdt_find_compatible(f, -1, "arm,cortex-a15-gic");
		if (node < 0)
			node = fdt_find_compatible(f, -1, "arm,gic-400");
	}
	if (node < 0 || fdt_reg(f, node, 0, &g->dist_base, &size) < 0 ||
	    fdt_reg(f, node, 1, &g->cpu_base, &g->cpu_size) < 0)
		g->version = 0;
}

/* The cpu nodes directly under /cpus (device_type "cpu"), their reg = MPIDR affinity. */
static void parse_cpus(const struct fdt *f, struct dt_info *out)
{
	int cpus = fdt_path_offset(f, "/cpus"), depth = 0;
	uint32_t len;

	if (cpus < 0)
		return;
	for (int node = fdt_next_node(f, cpus, &depth); node >= 0 && depth > 0;
	     node = fdt_next_node(f, node, &depth)) {
		const char *type = fdt_getprop(f, node, "device_type", &len);
		const uint8_t *reg;

		if (depth != 1 || !type || len < 4 || strcmp(type, "cpu") != 0)
			continue;
		reg = fdt_getprop(f, node, "reg", &len);
		if (!reg || (len != 4 && len != 8) || out->n_cpus == DT_MAX_CPUS)
			continue;
		uint64_t mpidr = fdt_be32(reg);
		if (len == 8)
			mpidr = mpidr << 32 | fdt_be32(reg + 4);
		out->cpu_mpidr[out->n_cpus++] = mpidr;
	}
}

int dt_parse(const struct fdt *f, struct dt_info *out)
{
	uint32_t len;
	uint64_t size;
	int node;

	memset(out, 0, sizeof(*out));
	out->bootargs = "";
	node = fdt_path_offset(f, "/memory");
	if (node < 0 || fdt_reg(f, node, 0, &out->mem_base, &out->mem_size) < 0)
		return -EINVAL;
	node = fdt_path_offset(f, "/chosen");
	if (node >= 0) {
		const char *args = fdt_getprop(f, node, "bootargs", &len);
		if (args && len > 0 && memchr(args, '\0', len))
			out->bootargs = args;
	}
	parse_gic(f, &out->gic);
	node = fdt_find_compatible(f, -1, "arm,armv8-timer");
	if (node >= 0) {
		fdt_gic_intid(f, node, DT_TIMER_VIRT, &out->timer_intid_virt);
		fdt_gic_intid(f, node, DT_TIMER_PHYS, &out->timer_intid_phys);
	}
	out->psci_smc = -1;
	node = fdt_path_offset(f, "/psci");
	if (node >= 0) {
		const char *m = fdt_getprop(f, node, "method", &len);
		if (m && len >= 4 && memchr(m, '\0', len))
			out->psci_smc = strcmp(m, "smc") == 0;
	}
	parse_cpus(f, out);
	for (node = fdt_find_compatible(f, -1, "virtio,mmio");
	     node >= 0 && out->n_virtio < DT_MAX_VIRTIO_MMIO;
	     node = fdt_find_compatible(f, node, "virtio,mmio")) {
		struct dt_virtio_mmio *v = &out->virtio[out->n_virtio];
		/* A window of size 0 (or wrapping past 2^64) is unusable: skip it, do not map it. */
		if (fdt_reg(f, node, 0, &v->base, &size) < 0 || size == 0 ||
		    v->base + size < v->base || fdt_gic_intid(f, node, 0, &v->intid) < 0)
			continue;
		v->size = size;
		out->n_virtio++;
	}
	/* A bridge node that does not parse leaves PCI out, not the boot. */
	(void)pci_host_dt_parse(f, &out->pcie, &out->pcie_problem);
	return 0;
}

#ifndef LEVBLK_HOST
int dt_init(void)
{
	int err = fdt_init(&dt_blob, (const void *)DT_BLOB_ADDR, DT_BLOB_MAX);

	if (err)
		return err;
	return dt_parse(&dt_blob, &dt);
}
#endif

const struct dt_info *dt_info(void)
{
	return &dt;
}

const struct fdt *dt_fdt(void)
{
	return &dt_blob;
}
