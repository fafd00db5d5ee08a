/*
 * The ext2 reading core against damaged images. Named damages (a superblock
 * field, a group descriptor, an inode, a directory entry, an indirect
 * pointer) must give their error and a report; thousands of random byte
 * changes in the metadata must never crash, hang, read outside a block
 * (AddressSanitizer watches every block handed out) or leave a block held.
 *
 * The structures are located with debugfs, not with the code under test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <levblk/lib/pattern.h>

#include "ext2_host.h"

#define FUZZ_ROUNDS 3000

/* One clean image and where its structures are. */
struct base {
	char dir[256];
	char img[512];
	struct himg clean;
	uint32_t bs;
	uint64_t root_inode_off, file_inode_off, dir_inode_off, link_inode_off, sparse_inode_off;
	uint64_t root_dir_block, big_dir_block, sparse_ind_block, sparse_dind_block;
	uint64_t gdt_off;
};

static struct base bases[2];

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Runs debugfs -R cmd on the image and returns the first number after `key` in its output. */
static uint64_t debugfs_number(const char *img, const char *cmd, const char *key)
{
	char line[512], full[1024];
	uint64_t value = UINT64_MAX;
	FILE *p;

	snprintf(full, sizeof(full), "'%s' -R '%s' '%s' 2>/dev/null", LEVBLK_DEBUGFS, cmd, img);
	p = popen(full, "r");
	assert_non_null(p);
	while (value == UINT64_MAX && fgets(line, sizeof(line), p) != NULL) {
		char *at = key[0] != '\0' ? strstr(line, key) : line;
		if (at != NULL)
			value = strtoull(at + strlen(key), NULL, 0);
	}
	pclose(p);
	if (value == UINT64_MAX)
		fail_msg("debugfs -R '%s': no '%s'", cmd, key);
	return value;
}

/* Byte offset of an inode in the image ("imap" says block and offset). */
static uint64_t inode_offset(const struct base *b, const char *spec)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "imap %s", spec);
	return debugfs_number(b->img, cmd, "located at block ") * b->bs + debugfs_number(b->img, cmd, ", offset ");
}

static void make_base(struct base *b, uint32_t bs)
{
	char path[600];
	int fd;

	b->bs = bs;
	snprintf(b->dir, sizeof(b->dir), "%s", host_tmpdir());
	snprintf(path, sizeof(path), "%s/tree", b->dir);
	assert_int_equal(host_run("mkdir -p '%s/d/e/f' '%s/big' && echo hello > '%s/file' && "
				  "ln -s file '%s/link' && ln -s \"$(printf 'x%%.0s' $(seq 200))\" '%s/slow' && "
				  "for i in $(seq 150); do echo $i > '%s/big/name-number-'$i; done",
				  path, path, path, path, path, path), 0);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/sparse");
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	/* Data in the single and the double indirect trees. */
	assert_int_equal(pwrite(fd, "single", 6, (off_t)20 * bs), 6);
	assert_int_equal(pwrite(fd, "double", 6, (off_t)(12 + bs / 4 + 3) * bs), 6);
	close(fd);
	snprintf(b->img, sizeof(b->img), "%s/img", b->dir);
	assert_int_equal(host_run("truncate -s 2M '%s' && '%s' -q -F -t ext2 -b %u -N 256 -d '%s/tree' '%s'", b->img,
				  LEVBLK_MKE2FS, bs, b->dir, b->img), 0);
	assert_int_equal(himg_load(&b->clean, b->img), 0);
	b->clean.quiet = 1;
	b->root_inode_off = inode_offset(b, "<2>");
	b->file_inode_off = inode_offset(b, "/file");
	b->dir_inode_off = inode_offset(b, "/d");
	b->link_inode_off = inode_offset(b, "/slow");
	b->sparse_inode_off = inode_offset(b, "/sparse");
	b->root_dir_block = debugfs_number(b->img, "bmap <2> 0", "");
	b->big_dir_block = debugfs_number(b->img, "bmap /big 0", "");
	b->gdt_off = (uint64_t)(bs == 1024 ? 2 : 1) * bs;
	/* The sparse file's indirect pointers, read from its inode as debugfs located it. */
	b->sparse_ind_block = get_le32(b->clean.bytes + b->sparse_inode_off + 40 + 4 * EXT2_IND_BLOCK);
	b->sparse_dind_block = get_le32(b->clean.bytes + b->sparse_inode_off + 40 + 4 * EXT2_DIND_BLOCK);
	assert_int_not_equal(b->sparse_ind_block, 0);
	assert_int_not_equal(b->sparse_dind_block, 0);
}

static int setup(void **state)
{
	make_base(&bases[0], 1024);
	make_base(&bases[1], 4096);
	return 0;
}

static int teardown(void **state)
{
	for (int i = 0; i < 2; i++) {
		himg_free(&bases[i].clean);
		host_run("rm -rf '%s'", bases[i].dir);
	}
	return 0;
}

/* A copy of the clean image to damage. */
static void copy_base(const struct base *b, struct himg *h)
{
	*h = b->clean;
	h->bytes = malloc(b->clean.len);
	assert_non_null(h->bytes);
	memcpy(h->bytes, b->clean.bytes, b->clean.len);
	h->gets = h->puts = h->faults = 0;
}

/* Mounts and walks; returns the mount's error or else the walk's first. */
static int mount_and_walk(struct himg *h, struct ext2_vol *v, struct himg_walk_stats *st)
{
	int err = himg_mount(h, v);

	memset(st, 0, sizeof(*st)); /* default limits */
	if (err == 0) {
		himg_walk(v, st);
		err = st->first_err;
	}
	assert_int_equal(h->gets, h->puts);
	return err;
}

typedef void (*damage_fn)(const struct base *b, uint8_t *img);

static int damaged(const struct base *b, damage_fn fn, struct ext2_vol *v)
{
	struct himg_walk_stats st;
	struct himg h;
	int err;

	copy_base(b, &h);
	fn(b, h.bytes);
	err = mount_and_walk(&h, v, &st);
	if (err == -EUCLEAN)
		assert_true(h.faults > 0); /* every -EUCLEAN comes with its report */
	himg_free(&h);
	return err;
}

#define SB(img, field) ((img) + EXT2_SUPER_OFFSET + offsetof(struct ext2_super, field))

static void d_magic(const struct base *b, uint8_t *img) { put_le16(SB(img, s_magic), 0xEF54); }
static void d_log_block_garbage(const struct base *b, uint8_t *img) { put_le32(SB(img, s_log_block_size), 7); put_le32(SB(img, s_log_frag_size), 7); }
static void d_log_block_8k(const struct base *b, uint8_t *img) { put_le32(SB(img, s_log_block_size), 3); put_le32(SB(img, s_log_frag_size), 3); }
static void d_frag(const struct base *b, uint8_t *img) { put_le32(SB(img, s_log_frag_size), get_le32(SB(img, s_log_block_size)) + 1); }
static void d_blocks_count(const struct base *b, uint8_t *img) { put_le32(SB(img, s_blocks_count), 0x40000000); }
static void d_inodes_count(const struct base *b, uint8_t *img) { put_le32(SB(img, s_inodes_count), get_le32(SB(img, s_inodes_count)) + 1); }
static void d_bpg_zero(const struct base *b, uint8_t *img) { put_le32(SB(img, s_blocks_per_group), 0); }
static void d_ipg_huge(const struct base *b, uint8_t *img) { put_le32(SB(img, s_inodes_per_group), 0x100000); }
static void d_first_data(const struct base *b, uint8_t *img) { put_le32(SB(img, s_first_data_block), b->bs == 1024 ? 0 : 1); }
static void d_inode_size(const struct base *b, uint8_t *img) { put_le16(SB(img, s_inode_size), 100); }
static void d_first_ino(const struct base *b, uint8_t *img) { put_le32(SB(img, s_first_ino), 1); }
static void d_free_blocks(const struct base *b, uint8_t *img) { put_le32(SB(img, s_free_blocks_count), 0xfffffff0u); }
static void d_rev(const struct base *b, uint8_t *img) { put_le32(SB(img, s_rev_level), 2); }
static void d_incompat_extents(const struct base *b, uint8_t *img) { put_le32(SB(img, s_feature_incompat), get_le32(SB(img, s_feature_incompat)) | 0x40); }
static void d_incompat_unknown(const struct base *b, uint8_t *img) { put_le32(SB(img, s_feature_incompat), get_le32(SB(img, s_feature_incompat)) | 0x80000000u); }
static void d_ro_compat_unknown(const struct base *b, uint8_t *img) { put_le32(SB(img, s_feature_ro_compat), get_le32(SB(img, s_feature_ro_compat)) | 0x40000000u); }
static void d_compat_unknown(const struct base *b, uint8_t *img) { put_le32(SB(img, s_feature_compat), get_le32(SB(img, s_feature_compat)) | 0x40000000u); }

#define GD(b, img, field) ((img) + (b)->gdt_off + offsetof(struct ext2_group_desc, field))
static void d_gd_itable(const struct base *b, uint8_t *img) { put_le32(GD(b, img, bg_inode_table), 0x7fffff00); }
static void d_gd_bitmap_in_itable(const struct base *b, uint8_t *img) { put_le32(GD(b, img, bg_block_bitmap), get_le32(GD(b, img, bg_inode_table)) + 1); }
static void d_gd_free(const struct base *b, uint8_t *img) { put_le16(GD(b, img, bg_free_inodes_count), 0xffff); }

#define INO(img, off, field) ((img) + (off) + offsetof(struct ext2_inode, field))
static void d_root_mode(const struct base *b, uint8_t *img) { put_le16(INO(img, b->root_inode_off, i_mode), 0); }
static void d_root_links(const struct base *b, uint8_t *img) { put_le16(INO(img, b->root_inode_off, i_links_count), 0); }
static void d_dir_size(const struct base *b, uint8_t *img) { put_le32(INO(img, b->dir_inode_off, i_size), 1000); }
static void d_dir_hole(const struct base *b, uint8_t *img) { put_le32(INO(img, b->dir_inode_off, i_block), 0); }
static void d_file_extents(const struct base *b, uint8_t *img) { put_le32(INO(img, b->file_inode_off, i_flags), EXT4_EXTENTS_FL); }
static void d_file_block(const struct base *b, uint8_t *img) { put_le32(INO(img, b->file_inode_off, i_block), 0x7ffffff0); }
static void d_file_size(const struct base *b, uint8_t *img) { put_le32(INO(img, b->file_inode_off, i_size_high), 0x7fffffff); }
static void d_link_size(const struct base *b, uint8_t *img) { put_le32(INO(img, b->link_inode_off, i_size), 5000); }
static void d_sparse_ind(const struct base *b, uint8_t *img) { put_le32(INO(img, b->sparse_inode_off, i_block) + 4 * EXT2_IND_BLOCK, 0x7ffffff0); }
static void d_sparse_ind_entry(const struct base *b, uint8_t *img)
{
	/* Entry 8 of the single indirect block maps logical block 20, where "single" was written. */
	put_le32(img + b->sparse_ind_block * b->bs + 4 * 8, 0xfffffff0u);
}
static void d_sparse_dind_entry(const struct base *b, uint8_t *img) { put_le32(img + b->sparse_dind_block * b->bs, 0xfffffff0u); }

#define DE(b, img, off) ((img) + (b)->root_dir_block * (b)->bs + (off))
/* The root block starts with "." (12 bytes) then ".." at offset 12. */
static void d_rec_len_zero(const struct base *b, uint8_t *img) { put_le16(DE(b, img, 4), 0); }
static void d_rec_len_odd(const struct base *b, uint8_t *img) { put_le16(DE(b, img, 12 + 4), 13); }
static void d_rec_len_past(const struct base *b, uint8_t *img) { put_le16(DE(b, img, 12 + 4), (uint16_t)b->bs); }
static void d_name_len(const struct base *b, uint8_t *img) { DE(b, img, 12 + 6)[0] = 200; }
static void d_de_inode(const struct base *b, uint8_t *img) { put_le32(DE(b, img, 12), 0x7fffffff); }
static void d_de_reserved(const struct base *b, uint8_t *img) { put_le32(img + b->big_dir_block * b->bs + 24, 5); }
static void d_de_type(const struct base *b, uint8_t *img) { DE(b, img, 12 + 7)[0] = 9; }
static void d_de_slash(const struct base *b, uint8_t *img) { img[b->big_dir_block * b->bs + 24 + 8] = '/'; }
static void d_de_free_inode(const struct base *b, uint8_t *img)
{
	/* The first entry after "." and ".." of /big names an inode never used (the last one). */
	put_le32(img + b->big_dir_block * b->bs + 24, get_le32(SB(img, s_inodes_count)));
}

static void test_named_damage(void **state)
{
	static const struct {
		const char *name;
		damage_fn fn;
		int err;
	} cases[] = {
		{ "bad magic", d_magic, -EUCLEAN },
		{ "block size field garbage", d_log_block_garbage, -EUCLEAN },
		{ "8 KiB blocks", d_log_block_8k, -EOPNOTSUPP },
		{ "fragment size", d_frag, -EUCLEAN },
		{ "blocks past the device", d_blocks_count, -EUCLEAN },
		{ "inode count", d_inodes_count, -EUCLEAN },
		{ "blocks per group 0", d_bpg_zero, -EUCLEAN },
		{ "inodes per group huge", d_ipg_huge, -EUCLEAN },
		{ "first data block", d_first_data, -EUCLEAN },
		{ "inode size", d_inode_size, -EUCLEAN },
		{ "first inode", d_first_ino, -EUCLEAN },
		{ "free blocks", d_free_blocks, -EUCLEAN },
		{ "revision 2", d_rev, -EOPNOTSUPP },
		{ "extents feature", d_incompat_extents, -EOPNOTSUPP },
		{ "unknown incompatible feature", d_incompat_unknown, -EOPNOTSUPP },
		{ "unknown compatible feature", d_compat_unknown, 0 },
		{ "unknown ro-compatible feature", d_ro_compat_unknown, 0 },
		{ "inode table outside", d_gd_itable, -EUCLEAN },
		{ "bitmap inside the inode table", d_gd_bitmap_in_itable, -EUCLEAN },
		{ "group free inodes", d_gd_free, -EUCLEAN },
		{ "root mode 0", d_root_mode, -EUCLEAN },
		{ "root without links", d_root_links, -EUCLEAN },
		{ "directory size", d_dir_size, -EUCLEAN },
		{ "directory hole", d_dir_hole, -EUCLEAN },
		{ "extent flag", d_file_extents, -EUCLEAN },
		{ "block pointer outside", d_file_block, -EUCLEAN },
		{ "file size past the format", d_file_size, -EUCLEAN },
		{ "symlink size", d_link_size, -EUCLEAN },
		{ "single indirect pointer outside", d_sparse_ind, -EUCLEAN },
		{ "single indirect entry outside", d_sparse_ind_entry, -EUCLEAN },
		{ "double indirect entry outside", d_sparse_dind_entry, -EUCLEAN },
		{ "rec_len 0", d_rec_len_zero, -EUCLEAN },
		{ "rec_len unaligned", d_rec_len_odd, -EUCLEAN },
		{ "rec_len past the block", d_rec_len_past, -EUCLEAN },
		{ "name_len past rec_len", d_name_len, -EUCLEAN },
		{ "entry inode out of range", d_de_inode, -EUCLEAN },
		{ "entry names a reserved inode", d_de_reserved, -EUCLEAN },
		{ "entry file type", d_de_type, -EUCLEAN },
		{ "slash in a name", d_de_slash, -EUCLEAN },
		{ "entry names a free inode", d_de_free_inode, -EUCLEAN },
	};
	struct ext2_vol v;

	for (int i = 0; i < 2; i++) {
		struct himg_walk_stats st;
		struct himg h;

		/* The undamaged image walks cleanly, and the walk sees what was put in. */
		copy_base(&bases[i], &h);
		assert_int_equal(mount_and_walk(&h, &v, &st), 0);
		assert_int_equal(st.symlinks, 2);
		assert_int_equal(st.files, 152);
		assert_int_equal(st.dirs, 6); /* /, lost+found, d, e, f, big */
		himg_free(&h);
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			int err = damaged(&bases[i], cases[c].fn, &v);
			if (err != cases[c].err)
				fail_msg("%u-byte blocks, %s: got %d, want %d", bases[i].bs, cases[c].name, err,
					 cases[c].err);
		}
		/* Unknown read-only-compatible features mount read-only; compatible ones do not matter. */
		damaged(&bases[i], d_ro_compat_unknown, &v);
		assert_true(v.g.read_only);
		damaged(&bases[i], d_compat_unknown, &v);
		assert_false(v.g.read_only);
	}
}

/*
 * Random damage: 1 to 16 bytes changed in the superblock, the group
 * descriptors, the first inodes, the root and /big directory blocks or the
 * sparse file's indirect blocks, then a mount and a full walk. Any outcome
 * is allowed but a crash, a leak of a held block or an errno outside the
 * documented set; some rounds must fail and some pass, or the test proves
 * nothing.
 */
static void test_random_damage(void **state)
{
	unsigned long outcome_ok = 0, outcome_unclean = 0, outcome_other = 0;
	uint64_t rng = 0x5eed;

	for (int round = 0; round < FUZZ_ROUNDS; round++) {
		const struct base *b = &bases[round & 1];
		struct himg_walk_stats st;
		struct ext2_vol v;
		struct himg h;
		int changes, err;

		copy_base(b, &h);
		rng = splitmix64(rng);
		changes = 1 + (int)(rng % 16);
		for (int c = 0; c < changes; c++) {
			uint64_t r = splitmix64(rng + (uint64_t)c * 7919u), region_off, region_len;
			switch (r % 8) {
			case 0: region_off = EXT2_SUPER_OFFSET; region_len = 264; break;
			case 1: region_off = b->gdt_off; region_len = 64; break;
			case 2: region_off = b->root_inode_off - b->root_inode_off % b->bs; region_len = b->bs; break;
			case 3: region_off = b->sparse_inode_off; region_len = 128; break;
			case 4: region_off = b->root_dir_block * b->bs; region_len = b->bs; break;
			case 5: region_off = b->big_dir_block * b->bs; region_len = b->bs; break;
			case 6: region_off = b->sparse_ind_block * b->bs; region_len = 64; break;
			default: region_off = b->sparse_dind_block * b->bs; region_len = 64; break;
			}
			h.bytes[region_off + (r >> 8) % region_len] = (uint8_t)(r >> 40);
		}
		err = mount_and_walk(&h, &v, &st);
		switch (err) {
		case 0:
			outcome_ok++;
			break;
		case -EUCLEAN:
			assert_true(h.faults > 0);
			outcome_unclean++;
			break;
		case -EOPNOTSUPP: /* a feature or revision field hit */
		case -ELOOP:      /* a directory entry hit that names an ancestor: the walk's own bound */
		case -EFBIG:
			outcome_other++;
			break;
		default:
			fail_msg("round %d: unexpected %d", round, err);
		}
		himg_free(&h);
	}
	print_message("random damage: %lu clean, %lu -EUCLEAN, %lu other\n", outcome_ok, outcome_unclean,
		      outcome_other);
	assert_true(outcome_ok > 0);
	assert_true(outcome_unclean > FUZZ_ROUNDS / 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_named_damage),
		cmocka_unit_test(test_random_damage),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
