/*
 * PCI host tests: the host bridge from QEMU's device trees (test/data), and
 * enumeration, bus numbering, BAR sizing and assignment, INTx routing,
 * capability walks and MSI-X tables on a simulated ECAM (ecam_sim.h).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/errno.h>
#include <levblk/hal/pci.h>
#include <levblk/lib/fdt.h>
#include <levblk/lib/pci_host_dt.h>
#include "hal_host/hal_host.h"
#include "pci/ecam_sim.h"

#define VA_LIMIT (1ULL << 39)

static uint8_t *blob;
static struct fdt fdt;
static struct pci_host_dt dt;
static struct pci_host host;

static void load_dt(const char *name)
{
	char path[512];
	const char *why;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/%s", LEVBLK_TEST_DATA, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	free(blob);
	blob = malloc((size_t)len);
	assert_non_null(blob);
	assert_int_equal(fread(blob, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_int_equal(fdt_init(&fdt, blob, (size_t)len), 0);
	assert_int_equal(pci_host_dt_parse(&fdt, &dt, &why), 0);
	assert_null(why);
}

static int setup(void **state)
{
	(void)state;
	hal_host_quiet = true;
	hal_host_console_clear();
	load_dt("virt-gicv2.dtb");
	esim_reset(dt.ecam_base);
	host = (struct pci_host){.dt = &dt, .ecam = (uintptr_t)dt.ecam_base, .va_limit = VA_LIMIT};
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	esim_reset(0);
	free(blob);
	blob = NULL;
	return 0;
}

static const struct pci_dev *find(unsigned bus, unsigned dev, unsigned fn)
{
	for (unsigned i = 0; i < host.n_devs; i++) {
		const struct pci_dev *d = &host.devs[i];

		if (d->bus == bus && d->dev == dev && d->fn == fn)
			return d;
	}
	return NULL;
}

/* QEMU's virt bridge as the device trees describe it. */
static void test_dt_virt_gicv2(void **state)
{
	const struct pci_dt_window *w;
	uint32_t intid;

	(void)state;
	assert_true(dt.present);
	assert_int_equal(dt.ecam_base, 0x4010000000ULL);
	assert_int_equal(dt.ecam_size, 0x10000000ULL);
	assert_int_equal(dt.bus_start, 0);
	assert_int_equal(dt.bus_end, 255);
	w = pci_host_dt_window(&dt, PCI_DT_SPACE_MEM32);
	assert_non_null(w);
	assert_int_equal(w->cpu_base, 0x10000000ULL);
	assert_int_equal(w->pci_base, 0x10000000ULL);
	assert_int_equal(w->size, 0x2eff0000ULL);
	w = pci_host_dt_window(&dt, PCI_DT_SPACE_IO);
	assert_non_null(w);
	assert_int_equal(w->cpu_base, 0x3eff0000ULL);
	assert_int_equal(w->pci_base, 0);
	w = pci_host_dt_window(&dt, PCI_DT_SPACE_MEM64);
	assert_non_null(w);
	assert_int_equal(w->cpu_base, 0x8000000000ULL);
	assert_int_equal(dt.n_irq_map, 16);
	/* Slot n pin p -> SPI 3 + (n + p - 1) % 4; slot 4 wraps to slot 0's lines. */
	for (unsigned dev = 0; dev < 8; dev++) {
		for (unsigned pin = 1; pin <= 4; pin++) {
			assert_int_equal(pci_host_dt_intx(&dt, dev, pin, &intid), 0);
			assert_int_equal(intid, 32 + 3 + (dev + pin - 1) % 4);
		}
	}
	assert_int_equal(pci_host_dt_intx(&dt, 0, 5, &intid), -ENOENT);
	assert_int_equal(dt.msi.kind, PCI_DT_MSI_GICV2M);
	assert_int_equal(dt.msi.base, 0x8020000ULL);
	assert_int_equal(dt.msi.rid_len, 0x10000);
}

static void test_dt_virt_gicv3(void **state)
{
	(void)state;
	load_dt("virt-gicv3.dtb");
	assert_true(dt.present);
	assert_int_equal(dt.ecam_base, 0x4010000000ULL);
	assert_int_equal(dt.msi.kind, PCI_DT_MSI_ITS);
	assert_int_equal(dt.msi.base, 0x8080000ULL);
	assert_int_equal(dt.msi.size, 0x20000ULL);
}

/* A blob without the bridge: -ENOENT, not present. */
static void test_dt_no_bridge(void **state)
{
	uint8_t *copy = malloc(fdt.total);
	struct fdt f2;
	const char *why;
	uint8_t *p;

	(void)state;
	memcpy(copy, blob, fdt.total);
	/* Rename the compatible string in place: the node no longer matches. */
	p = memmem(copy, fdt.total, "pci-host-ecam-generic", 21);
	assert_non_null(p);
	p[0] = 'x';
	assert_int_equal(fdt_init(&f2, copy, fdt.total), 0);
	assert_int_equal(pci_host_dt_parse(&f2, &dt, &why), -ENOENT);
	assert_false(dt.present);
	free(copy);
}

static bool overlap(const struct pci_bar *a, const struct pci_bar *b)
{
	return a->cpu_addr < b->cpu_addr + b->size && b->cpu_addr < a->cpu_addr + a->size;
}

/* Every assigned BAR: aligned to its size, inside the window, disjoint from the others. */
static void check_bars_sane(void)
{
	const struct pci_dt_window *mem = pci_host_dt_window(&dt, PCI_DT_SPACE_MEM32);

	for (unsigned i = 0; i < host.n_devs; i++) {
		for (unsigned b = 0; b < PCI_NUM_BARS; b++) {
			const struct pci_bar *x = &host.devs[i].bar[b];

			if (!x->cpu_addr)
				continue;
			assert_int_equal(x->cpu_addr % x->size, 0);
			if (!x->io) {
				assert_true(x->cpu_addr >= mem->cpu_base);
				assert_true(x->cpu_addr + x->size <= mem->cpu_base + mem->size);
				assert_int_equal(x->cpu_addr % 4096, 0);
			}
			for (unsigned j = 0; j < host.n_devs; j++) {
				for (unsigned c = 0; c < PCI_NUM_BARS; c++) {
					const struct pci_bar *y = &host.devs[j].bar[c];

					if ((i == j && b == c) || !y->cpu_addr || x->io != y->io)
						continue;
					assert_false(overlap(x, y));
				}
			}
		}
	}
}

static void test_enum_assigns_and_numbers(void **state)
{
	(void)state;
	int hb = esim_add(-1, 0, 0, 0x1b36, 0x0008, 0x060000, false, false, 0);
	int ep = esim_add(-1, 1, 0, 0x1af4, 0x1042, 0x010000, false, false, 1);
	esim_set_bar(ep, 0, 0x80, true, false, false);
	esim_set_bar(ep, 1, 0x1000, false, false, false);
	esim_set_bar(ep, 4, 0x4000, false, true, true);
	int br = esim_add(-1, 2, 0, 0x1b36, 0x000c, 0x060400, true, false, 1);
	esim_set_bar(br, 0, 0x1000, false, false, false);
	int c0 = esim_add(br, 0, 0, 0x1af4, 0x1042, 0x010000, false, false, 1);
	esim_set_bar(c0, 0, 0x100000, false, false, false);
	esim_set_bar(c0, 2, 0x4000, false, true, true);
	int c3 = esim_add(br, 3, 0, 0x1af4, 0x1042, 0x010000, false, false, 2);
	esim_set_bar(c3, 0, 0x1000, false, false, false);
	int mf0 = esim_add(-1, 3, 0, 0x8086, 0x1234, 0x020000, false, true, 0);
	int mf2 = esim_add(-1, 3, 2, 0x8086, 0x1235, 0x020000, false, false, 0);
	esim_set_bar(mf0, 0, 0x2000, false, false, false);
	esim_set_bar(mf2, 0, 0x2000, false, false, false);
	(void)hb;

	assert_int_equal(pci_enumerate(&host), 7);
	check_bars_sane();

	const struct pci_dev *d = find(0, 1, 0);
	assert_non_null(d);
	assert_int_equal(d->vendor, 0x1af4);
	assert_int_equal(d->device, 0x1042);
	assert_true(d->bar[0].io && d->bar[0].cpu_addr >= 0x3eff0000ULL + 0x1000);
	assert_true(d->bar[4].is64 && d->bar[4].prefetch && d->bar[4].size == 0x4000);
	assert_int_equal(esim_fn(ep)->bar_val[4], d->bar[4].pci_addr);
	assert_int_equal(esim_cfg32(ep, PCI_BAR0 + 5 * 4), 0); /* upper half: below 4 GiB */
	assert_int_equal(esim_fn(ep)->bar_val[1], d->bar[1].pci_addr);
	assert_int_equal(esim_cfg16(ep, PCI_COMMAND) &
			     (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(d->intx_intid, 32 + 4); /* slot 1, INTA */
	assert_int_equal(esim_cfg8(ep, PCI_INTERRUPT_LINE), 36);

	/* The bridge: bus 1 behind it, and a memory window holding its side's BARs. */
	assert_int_equal(esim_cfg8(br, PCI_PRIMARY_BUS), 0);
	assert_int_equal(esim_cfg8(br, PCI_SECONDARY_BUS), 1);
	assert_int_equal(esim_cfg8(br, PCI_SUBORDINATE_BUS), 1);
	const struct pci_dev *k0 = find(1, 0, 0), *k3 = find(1, 3, 0);
	assert_non_null(k0);
	assert_non_null(k3);
	uint64_t wbase = (uint64_t)(esim_cfg16(br, PCI_MEMORY_BASE) & 0xfff0) << 16;
	uint64_t wlim = ((uint64_t)(esim_cfg16(br, PCI_MEMORY_LIMIT) & 0xfff0) << 16) | 0xfffff;
	const struct pci_bar *kids[] = {&k0->bar[0], &k0->bar[2], &k3->bar[0]};
	for (unsigned i = 0; i < 3; i++) {
		assert_true(kids[i]->cpu_addr != 0);
		assert_true(kids[i]->pci_addr >= wbase && kids[i]->pci_addr + kids[i]->size - 1 <= wlim);
	}
	/* Nothing outside the bridge falls in its window. */
	assert_false(d->bar[1].pci_addr >= wbase && d->bar[1].pci_addr <= wlim);
	assert_true(esim_cfg16(br, PCI_PREF_MEMORY_BASE) > esim_cfg16(br, PCI_PREF_MEMORY_LIMIT));
	/* Swizzle: 01:00.0 INTA stays INTA at slot 2; 01:03.0 INTB becomes INTA. */
	assert_int_equal(k0->intx_intid, 32 + 5);
	assert_int_equal(k3->intx_intid, 32 + 5);

	/* Multi-function: fn 0 and 2 found, fn 1 absent. */
	assert_non_null(find(0, 3, 0));
	assert_null(find(0, 3, 1));
	assert_non_null(find(0, 3, 2));
}

static void test_enum_nested_bridges(void **state)
{
	(void)state;
	int outer = esim_add(-1, 1, 0, 0x1b36, 0x000c, 0x060400, true, false, 0);
	int inner = esim_add(outer, 0, 0, 0x1b36, 0x000c, 0x060400, true, false, 0);
	int ep = esim_add(inner, 0, 0, 0x1af4, 0x1042, 0x010000, false, false, 1);
	int after = esim_add(-1, 2, 0, 0x1b36, 0x000c, 0x060400, true, false, 0);
	int ep2 = esim_add(after, 0, 0, 0x1af4, 0x1042, 0x010000, false, false, 1);
	esim_set_bar(ep, 0, 0x1000, false, false, false);
	esim_set_bar(ep2, 0, 0x1000, false, false, false);

	assert_int_equal(pci_enumerate(&host), 5);
	assert_int_equal(esim_cfg8(outer, PCI_SECONDARY_BUS), 1);
	assert_int_equal(esim_cfg8(outer, PCI_SUBORDINATE_BUS), 2);
	assert_int_equal(esim_cfg8(inner, PCI_PRIMARY_BUS), 1);
	assert_int_equal(esim_cfg8(inner, PCI_SECONDARY_BUS), 2);
	assert_int_equal(esim_cfg8(inner, PCI_SUBORDINATE_BUS), 2);
	assert_int_equal(esim_cfg8(after, PCI_SECONDARY_BUS), 3);
	assert_int_equal(esim_cfg8(after, PCI_SUBORDINATE_BUS), 3);
	assert_non_null(find(2, 0, 0));
	assert_non_null(find(3, 0, 0));
	check_bars_sane();
	/* Swizzle through two bridges: INTA at 02:00.0 -> 01:00.0 -> slot 1 INTA. */
	assert_int_equal(find(2, 0, 0)->intx_intid, 32 + 4);
}

/* Untrusted BARs: a 64-bit BAR in the last slot, one larger than the window. */
static void test_enum_refuses_bad_bars(void **state)
{
	(void)state;
	int ep = esim_add(-1, 1, 0, 0x1af4, 0x1042, 0x010000, false, false, 0);
	esim_fn(ep)->bar[5] = (struct esim_bar){.size = 0x1000, .is64 = true};
	esim_fn(ep)->bar[5].mem = calloc(1, 0x1000);
	esim_set_bar(ep, 0, 0x80000000ULL, false, true, false); /* 2 GiB: more than the window */
	esim_set_bar(ep, 2, 0x1000, false, false, false);

	assert_int_equal(pci_enumerate(&host), 1);
	const struct pci_dev *d = find(0, 1, 0);
	assert_int_equal(d->bar[0].cpu_addr, 0);
	assert_int_equal(d->bar[0].size, 0x80000000ULL);
	assert_true(d->bar[2].cpu_addr != 0);
	assert_int_equal(d->bar[5].cpu_addr, 0);
	assert_true(hal_host_console_has("BAR0 (2147483648 bytes) not assigned: it does not fit"));
	assert_true(hal_host_console_has("BAR5: 64-bit BAR in the last slot, ignored"));
}

/* No memory window the kernel can reach: -ENODEV. */
static void test_enum_no_window(void **state)
{
	(void)state;
	host.va_limit = 0x1000;
	assert_int_equal(pci_enumerate(&host), -ENODEV);
}

/* A capability list that loops ends the walk. */
static void test_cap_walk_bounded(void **state)
{
	(void)state;
	uint8_t body[2] = {0};
	int ep = esim_add(-1, 1, 0, 0x1af4, 0x1042, 0x010000, false, false, 0);
	unsigned a = esim_add_cap(ep, 0x05, body, sizeof(body));
	unsigned b = esim_add_cap(ep, PCI_CAP_ID_VENDOR, body, sizeof(body));

	assert_int_equal(pci_enumerate(&host), 1);
	const struct pci_dev *d = find(0, 1, 0);
	assert_int_equal(pci_find_cap(&host, d, PCI_CAP_ID_VENDOR, 0), b);
	assert_int_equal(pci_find_cap(&host, d, PCI_CAP_ID_VENDOR, b), 0);
	esim_fn(ep)->cfg[b + 1] = (uint8_t)a; /* loop */
	assert_int_equal(pci_find_cap(&host, d, PCI_CAP_ID_MSIX, 0), 0);
	esim_fn(ep)->cfg[b + 1] = 0x10; /* into the header: ends */
	assert_int_equal(pci_find_cap(&host, d, PCI_CAP_ID_MSIX, 0), 0);
}

static void add_msix(int ep, unsigned entries, unsigned bir, uint32_t offset)
{
	uint8_t body[10] = {0};
	uint32_t tbl = offset | bir;

	body[0] = (uint8_t)(entries - 1);
	body[1] = (uint8_t)((entries - 1) >> 8);
	memcpy(body + 2, &tbl, 4);
	esim_add_cap(ep, PCI_CAP_ID_MSIX, body, sizeof(body));
}

static void test_msix_table(void **state)
{
	(void)state;
	struct pci_msix m;
	int ep = esim_add(-1, 1, 0, 0x1af4, 0x1042, 0x010000, false, false, 1);
	esim_set_bar(ep, 1, 0x4000, false, false, false);
	add_msix(ep, 3, 1, 0x2000);

	assert_int_equal(pci_enumerate(&host), 1);
	const struct pci_dev *d = find(0, 1, 0);
	assert_int_equal(pci_msix_probe(&host, d, &m), 0);
	assert_int_equal(m.n, 3);
	assert_int_equal(m.table, d->bar[1].cpu_addr + 0x2000);
	pci_msix_set(&m, 1, 0x8020040ULL, 112);
	pci_msix_set(&m, 3, 0x1234, 1); /* past the table: ignored */
	uint8_t *e = esim_fn(ep)->bar[1].mem + 0x2000 + 16;
	uint32_t lo, hi, data, ctl;
	memcpy(&lo, e, 4);
	memcpy(&hi, e + 4, 4);
	memcpy(&data, e + 8, 4);
	memcpy(&ctl, e + 12, 4);
	assert_int_equal(lo, 0x8020040);
	assert_int_equal(hi, 0);
	assert_int_equal(data, 112);
	assert_int_equal(ctl, 0); /* unmasked */
	assert_int_equal(esim_fn(ep)->bar[1].mem[0x2000 + 48], 0);
	pci_msix_enable(&host, d, &m, true);
	assert_true(esim_cfg16(ep, m.cap + 2) & 0x8000);
	assert_true(esim_cfg16(ep, PCI_COMMAND) & PCI_COMMAND_INTX_OFF);
	pci_msix_enable(&host, d, &m, false);
	assert_false(esim_cfg16(ep, m.cap + 2) & 0x8000);
}

/* A table that runs past its BAR, or in an unassigned BAR, is refused. */
static void test_msix_table_outside_bar(void **state)
{
	(void)state;
	struct pci_msix m;
	int ep = esim_add(-1, 1, 0, 0x1af4, 0x1042, 0x010000, false, false, 1);
	esim_set_bar(ep, 0, 0x1000, false, false, false);
	add_msix(ep, 4, 0, 0xff8);
	int ep2 = esim_add(-1, 2, 0, 0x1af4, 0x1042, 0x010000, false, false, 1);
	add_msix(ep2, 1, 3, 0);

	assert_int_equal(pci_enumerate(&host), 2);
	assert_int_equal(pci_msix_probe(&host, find(0, 1, 0), &m), -EINVAL);
	assert_int_equal(pci_msix_probe(&host, find(0, 2, 0), &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dt_virt_gicv2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dt_virt_gicv3, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dt_no_bridge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enum_assigns_and_numbers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enum_nested_bridges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enum_refuses_bad_bars, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enum_no_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cap_walk_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_msix_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_msix_table_outside_bar, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
