/*
 * The device tree reader on blobs dumped from QEMU 7.2 (test/data, made with
 * -M virt,gic-version=N,dumpdtb=... then repacked by dtc), and on corrupted
 * copies of them, which must give errors and never read out of bounds (ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/errno.h>
#include <levblk/hal/dt.h>
#include <levblk/lib/fdt.h>
#include <levblk/lib/prng.h>

static uint8_t *load(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", LEVBLK_TEST_DATA, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(*len);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

/* Loads a blob and parses it, asserting both steps succeed; the caller frees the blob. */
static uint8_t *load_parsed(const char *name, struct fdt *f, struct dt_info *info)
{
	size_t len;
	uint8_t *b = load(name, &len);

	assert_int_equal(fdt_init(f, b, len), 0);
	assert_int_equal(dt_parse(f, info), 0);
	return b;
}

static void test_gicv3_blob(void **state)
{
	struct fdt f;
	struct dt_info info;
	uint8_t *b = load_parsed("virt-gicv3.dtb", &f, &info);

	assert_int_equal(info.mem_base, 0x40000000);
	assert_int_equal(info.mem_size, 512ull << 20);
	assert_string_equal(info.bootargs, "run=selftest blk.merge=0");
	assert_int_equal(info.gic.version, 3);
	assert_int_equal(info.gic.dist_base, 0x08000000);
	assert_int_equal(info.gic.cpu_base, 0x080a0000);
	assert_int_equal(info.timer_intid_virt, 27);
	assert_int_equal(info.timer_intid_phys, 30);
	assert_int_equal(info.psci_smc, 0);
	assert_int_equal(info.n_virtio, 32);
	/* Device-tree order is ascending address: slot n at 0x0a000000 + n * 0x200, INTID 48 + n. */
	for (unsigned int i = 0; i < info.n_virtio; i++) {
		assert_int_equal(info.virtio[i].base, 0x0a000000 + i * 0x200);
		assert_int_equal(info.virtio[i].size, 0x200);
		assert_int_equal(info.virtio[i].intid, 48 + i);
	}
	int node = fdt_path_offset(&f, "/pl011@9000000");
	assert_true(node > 0);
	assert_true(fdt_is_compatible(&f, node, "arm,pl011"));
	assert_int_equal(fdt_path_offset(&f, "/pl011"), node);
	assert_int_equal(fdt_path_offset(&f, "/nosuch"), -ENOENT);
	free(b);
}

static void test_gicv2_blob(void **state)
{
	struct fdt f;
	struct dt_info info;
	uint8_t *b = load_parsed("virt-gicv2.dtb", &f, &info);

	assert_int_equal(info.mem_size, 128ull << 20);
	assert_string_equal(info.bootargs, "");
	assert_int_equal(info.gic.version, 2);
	assert_int_equal(info.gic.dist_base, 0x08000000);
	assert_int_equal(info.gic.cpu_base, 0x08010000);
	free(b);
}

static void test_bad_headers(void **state)
{
	size_t len;
	uint8_t *b = load("virt-gicv3.dtb", &len);
	struct fdt f;

	assert_int_equal(fdt_init(&f, b, 16), -EINVAL);      /* shorter than a header */
	assert_int_equal(fdt_init(&f, b, len - 1), -EINVAL); /* totalsize beyond the buffer */
	b[0] ^= 0xff;
	assert_int_equal(fdt_init(&f, b, len), -EINVAL); /* magic */
	free(b);
}

/* Flip bytes all over the structure block: the reader may fail but must stay in bounds. */
static void test_corrupted_structure(void **state)
{
	size_t len;
	uint8_t *orig = load("virt-gicv3.dtb", &len);
	uint8_t *b = malloc(len);
	struct fdt f;
	struct dt_info info;
	struct prng r;

	prng_seed(&r, 1);
	for (int round = 0; round < 2000; round++) {
		memcpy(b, orig, len);
		for (int k = 0; k < 4; k++)
			b[40 + prng_below(&r, len - 40)] ^= (uint8_t)prng_next(&r);
		if (fdt_init(&f, b, len) == 0)
			(void)dt_parse(&f, &info);
	}
	free(b);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gicv3_blob),
		cmocka_unit_test(test_gicv2_blob),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_corrupted_structure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
