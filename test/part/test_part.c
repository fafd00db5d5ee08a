/*
 * The partition-table parser (src/blk/part_*.c) on images made by the fdisk
 * package (make_part_images.py, run by ctest before this test). Each image
 * comes with what util-linux reads from it (its .expect); the parser must
 * agree, must report the damaged ones, and must never read outside the disk.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/lib/crc32.h>
#include "blk/part_table.h"

#ifndef PART_IMG_DIR
#error "PART_IMG_DIR: where make_part_images.py wrote the images"
#endif

struct disk {
	uint8_t *data;
	uint64_t bytes;
	uint32_t lbs;
	uint32_t reads;
	int fail_at; /* read number that fails with -EIO, or -1 */
};

static int disk_read(void *ctx, uint64_t lba, void *buf)
{
	struct disk *d = ctx;

	/* The parser must never ask for a block past the disk. */
	assert_true(lba < d->bytes / d->lbs);
	if ((int)d->reads++ == d->fail_at)
		return -EIO;
	memcpy(buf, d->data + lba * d->lbs, d->lbs);
	return 0;
}

struct expect {
	uint32_t lbs;
	char kind[16];
	int note;
	char why[128];
	uint32_t n;
	struct part_entry e[PART_MAX];
};

static void load(const char *name, struct disk *d, struct expect *x)
{
	char path[512], line[256];
	FILE *f;

	memset(x, 0, sizeof(*x));
	snprintf(path, sizeof(path), "%s/%s.expect", PART_IMG_DIR, name);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, n;
		unsigned int num;
		if (sscanf(line, "lbs %u", &x->lbs) == 1 || sscanf(line, "kind %15s", x->kind) == 1 ||
		    sscanf(line, "note %d", &x->note) == 1)
			continue;
		if (strncmp(line, "why ", 4) == 0) {
			snprintf(x->why, sizeof(x->why), "%s", line + 4);
			x->why[strcspn(x->why, "\n")] = '\0';
		} else if (sscanf(line, "part %u %llu %llu", &num, &s, &n) == 3) {
			assert_true(x->n < PART_MAX);
			x->e[x->n++] = (struct part_entry){.num = num, .start = s, .nsectors = n};
		}
	}
	fclose(f);
	assert_true(x->lbs == 512 || x->lbs == 4096);

	snprintf(path, sizeof(path), "%s/%s.img", PART_IMG_DIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	d->bytes = (uint64_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	d->data = malloc(d->bytes);
	assert_non_null(d->data);
	assert_int_equal(fread(d->data, 1, d->bytes, f), d->bytes);
	fclose(f);
	d->lbs = x->lbs;
	d->reads = 0;
	d->fail_at = -1;
}

static int parse(struct disk *d, struct part_table *t)
{
	uint8_t *scratch = malloc(2 * d->lbs);
	struct part_src src = {.read = disk_read,
			       .ctx = d,
			       .lbs = d->lbs,
			       .nblocks = d->bytes / d->lbs,
			       .buf = scratch};
	int err = part_table_read(&src, t);

	free(scratch);
	return err;
}

static int cmp_num(const void *a, const void *b)
{
	const struct part_entry *x = a, *y = b;
	return (int)x->num - (int)y->num;
}

/* The image named by *state, against its .expect. */
static void test_image(void **state)
{
	const char *name = *state;
	static struct part_table t;
	struct expect x;
	struct disk d;
	int err;

	load(name, &d, &x);
	err = parse(&d, &t);
	if (strcmp(x.kind, "damaged") == 0) {
		assert_int_equal(err, -EINVAL);
		assert_int_equal(t.n, 0);
		assert_non_null(t.why);
		if (x.why[0] && !strstr(t.why, x.why))
			fail_msg("%s: why \"%s\", expected \"%s\"", name, t.why, x.why);
	} else {
		assert_int_equal(err, 0);
		assert_null(t.why);
		assert_int_equal(t.kind, strcmp(x.kind, "none") == 0  ? PART_KIND_NONE
					 : strcmp(x.kind, "mbr") == 0 ? PART_KIND_MBR
								      : PART_KIND_GPT);
		assert_int_equal(t.note != NULL, x.note);
		/* The parser sorts by start; fdisk lists by number. */
		for (uint32_t i = 1; i < t.n; i++)
			assert_true(t.e[i - 1].start < t.e[i].start);
		qsort(t.e, t.n, sizeof(t.e[0]), cmp_num);
		assert_int_equal(t.n, x.n);
		for (uint32_t i = 0; i < t.n; i++) {
			assert_int_equal(t.e[i].num, x.e[i].num);
			assert_int_equal(t.e[i].start, x.e[i].start);
			assert_int_equal(t.e[i].nsectors, x.e[i].nsectors);
		}
	}
	free(d.data);
}

/* A read error anywhere is passed on, with no partitions. */
static void test_read_errors(void **state)
{
	static const char *const names[] = {"gpt_three", "mbr_logical", "gpt_bad_primary_header"};
	static struct part_table t;

	for (unsigned int k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		struct expect x;
		struct disk d;
		load(names[k], &d, &x);
		assert_int_equal(parse(&d, &t), 0);
		uint32_t total = d.reads;
		assert_true(total > 1);
		for (uint32_t i = 0; i < total; i++) {
			d.reads = 0;
			d.fail_at = (int)i;
			assert_int_equal(parse(&d, &t), -EIO);
			assert_int_equal(t.n, 0);
		}
		free(d.data);
	}
}

/* A disk of one block holds no table; a block size the parser does not take is refused. */
static void test_tiny_and_odd_disks(void **state)
{
	static uint8_t block[4096];
	static struct part_table t;
	struct disk d = {.data = block, .bytes = 512, .lbs = 512, .fail_at = -1};

	block[510] = 0x55;
	block[511] = 0xAA;
	assert_int_equal(parse(&d, &t), 0);
	assert_int_equal(t.kind, PART_KIND_NONE);
	d.lbs = 1024 + 512;
	d.bytes = d.lbs;
	assert_int_equal(parse(&d, &t), -EINVAL);
}

/* A boot sector with a signature but impossible boot flags is not an MBR. */
static void test_not_an_mbr(void **state)
{
	static uint8_t disk[8 * 512];
	static struct part_table t;
	struct disk d = {.data = disk, .bytes = sizeof(disk), .lbs = 512, .fail_at = -1};

	disk[446] = 0x01; /* boot flag of slot 1 */
	disk[446 + 4] = 0x83;
	disk[446 + 8] = 1;
	disk[446 + 12] = 2;
	disk[510] = 0x55;
	disk[511] = 0xAA;
	assert_int_equal(parse(&d, &t), 0);
	assert_int_equal(t.kind, PART_KIND_NONE);
	disk[446] = 0x80;
	assert_int_equal(parse(&d, &t), 0);
	assert_int_equal(t.kind, PART_KIND_MBR);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.e[0].start, 1);
	assert_int_equal(t.e[0].nsectors, 2);
}

static void test_crc32(void **state)
{
	/* The check value of CRC-32/ISO-HDLC, and the CRC of nothing. */
	assert_int_equal(crc32("123456789", 9), 0xCBF43926u);
	assert_int_equal(crc32("", 0), 0);
	uint32_t s = crc32_update(CRC32_INIT, "1234", 4);
	assert_int_equal(crc32_final(crc32_update(s, "56789", 5)), 0xCBF43926u);
}

#define IMAGE(n) cmocka_unit_test_prestate(test_image, (void *)(n))

int main(void)
{
	const struct CMUnitTest tests[] = {
	    IMAGE("none"),
	    IMAGE("mbr_one"),
	    IMAGE("mbr_four"),
	    IMAGE("mbr_logical"),
	    IMAGE("mbr_unaligned"),
	    IMAGE("mbr_4k"),
	    IMAGE("gpt_three"),
	    IMAGE("gpt_full"),
	    IMAGE("gpt_eight_entries"),
	    IMAGE("gpt_unaligned"),
	    IMAGE("gpt_4k"),
	    IMAGE("gpt_bad_primary_header"),
	    IMAGE("gpt_bad_primary_entries"),
	    IMAGE("gpt_4k_bad_primary_header"),
	    IMAGE("gpt_both_bad"),
	    IMAGE("gpt_past_end"),
	    IMAGE("gpt_overlap"),
	    IMAGE("mbr_past_end"),
	    IMAGE("mbr_overlap"),
	    IMAGE("mbr_ebr_loop"),
	    cmocka_unit_test(test_read_errors),
	    cmocka_unit_test(test_tiny_and_odd_disks),
	    cmocka_unit_test(test_not_an_mbr),
	    cmocka_unit_test(test_crc32),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
