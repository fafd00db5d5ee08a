/*
 * The ext2 write core (allocation, inode writes, the allocating block map,
 * truncate, file writes, release) against images made by the host's mke2fs,
 * held in memory and judged after every test by the host's e2fsck -fn.
 *
 * What a file should hold is kept here in a model (the bytes written, in
 * order) and compared with what ext2_file_read returns; free counts are
 * compared with the group descriptors summed here and with the blocks the
 * files' i_blocks say they use. The files are linked into the root
 * directory by a small helper of this test (splitting the last record of
 * the root's first block), so e2fsck sees them as ordinary files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ext2_host.h"

#define TEST_NOW      1700000000u
#define FILE_MODE     (EXT2_S_IFREG | 0644u)
#define DIR_MODE      (EXT2_S_IFDIR | 0755u)
#define MAX_WRITES    4096u

/* One write of the model: len bytes of pattern `seed` at off. */
struct mwrite {
	uint64_t off;
	size_t len;
	unsigned int seed;
};

/* A file under test and what it should hold. */
struct mfile {
	struct ext2_inode_info ip;
	struct mwrite w[MAX_WRITES];
	unsigned int n;
	uint64_t size;
};

static uint32_t test_now(void *ctx)
{
	(void)ctx;
	return TEST_NOW;
}

static uint8_t pat(uint64_t off, unsigned int seed)
{
	return (uint8_t)((off * 2654435761u >> 13) ^ (off >> 7) ^ (seed * 37u) ^ 0x5Au);
}

/* Makes an image and mounts it writable with a clock. */
static void mk(struct himg *h, struct ext2_vol *v, uint32_t bs, uint32_t kib, const char *opts)
{
	assert_int_equal(himg_mkfs(h, bs, kib, opts), 0);
	assert_int_equal(himg_mount(h, v), 0);
	v->now = test_now;
}

/* Sums the descriptors' free counts (what e2fsck counts from the bitmaps must match them). */
static void group_sums(const struct ext2_vol *v, uint64_t *free_blocks, uint64_t *free_inodes, uint64_t *dirs)
{
	struct ext2_group_desc gd;

	*free_blocks = *free_inodes = 0;
	if (dirs != NULL)
		*dirs = 0;
	for (uint32_t g = 0; g < v->g.groups; g++) {
		assert_int_equal(ext2_group_get(v, g, &gd), 0);
		*free_blocks += gd.bg_free_blocks_count;
		*free_inodes += gd.bg_free_inodes_count;
		if (dirs != NULL)
			*dirs += gd.bg_used_dirs_count;
	}
}

static uint64_t free_blocks(const struct ext2_vol *v)
{
	uint64_t b, i;

	group_sums(v, &b, &i, NULL);
	assert_int_equal(b, v->g.free_blocks); /* the allocator's running total agrees with the descriptors */
	return b;
}

/* Every block taken was given back, and no block was ever out twice with one copy writable. */
static void balanced(const struct himg *h)
{
	assert_int_equal(h->gets, h->puts);
	assert_int_equal(h->conflicts, 0);
	assert_null(h->held);
}

/*
 * Links ino into the root as name: the last record of the root's first
 * block is cut to its own length and the new entry takes the rest.
 */
static void link_root(struct ext2_vol *v, const char *name, uint32_t ino, uint32_t ft)
{
	struct ext2_inode_info root;
	struct ext2_dirent_view d;
	struct ext2_fault f;
	uint32_t off = 0, last = 0, pblk, len = (uint32_t)strlen(name), need = EXT2_DIRENT_REC_LEN(len);
	uint8_t *data;
	void *ref;

	assert_int_equal(ext2_inode_get(v, EXT2_ROOT_INO, &root), 0);
	assert_int_equal(ext2_bmap(v, &root, 0, &pblk, NULL), 0);
	assert_int_equal(ext2_block_get_mut(v, 0, pblk, false, &data, &ref), 0);
	while (off < v->g.block_bytes) {
		assert_int_equal(ext2_dirent_parse(&v->g, data, off, &d, &f), 0);
		last = off;
		off += d.rec_len;
	}
	assert_int_equal(ext2_dirent_parse(&v->g, data, last, &d, &f), 0);
	uint32_t keep = EXT2_DIRENT_REC_LEN(d.name_len);
	assert_true(d.rec_len >= keep + need); /* the tests link few enough files */
	struct ext2_dirent *old = (struct ext2_dirent *)(void *)(data + last);
	struct ext2_dirent *e = (struct ext2_dirent *)(void *)(data + last + keep);
	e->inode = ext2_le32(ino);
	e->rec_len = ext2_le16((uint16_t)(d.rec_len - keep));
	e->name_len = (uint8_t)len;
	e->file_type = v->g.filetype ? (uint8_t)ft : 0;
	memcpy(e->name, name, len);
	old->rec_len = ext2_le16((uint16_t)keep);
	ext2_block_dirty(v, ref, true);
	ext2_block_put(v, ref);
}

/* A new regular file linked into the root. */
static void new_file(struct ext2_vol *v, struct mfile *mf, const char *name)
{
	memset(mf, 0, sizeof(*mf));
	assert_int_equal(ext2_inode_new(v, EXT2_ROOT_INO, FILE_MODE, &mf->ip), 0);
	assert_true(mf->ip.ino >= v->g.first_ino);
	mf->ip.links = 1;
	assert_int_equal(ext2_inode_put(v, &mf->ip), 0);
	link_root(v, name, mf->ip.ino, EXT2_FT_REG_FILE);
}

static void fill(uint8_t *buf, uint64_t off, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(off + i, seed);
}

/* Writes through ext2_file_write and records it in the model; returns the error and *done. */
static int mwrite(struct ext2_vol *v, struct mfile *mf, uint64_t off, size_t len, unsigned int seed, size_t *done)
{
	uint8_t *buf = malloc(len ? len : 1);
	int err;

	assert_non_null(buf);
	fill(buf, off, len, seed);
	err = ext2_file_write(v, &mf->ip, off, buf, len, done);
	free(buf);
	if (*done > 0) {
		assert_true(mf->n < MAX_WRITES);
		mf->w[mf->n++] = (struct mwrite){ .off = off, .len = *done, .seed = seed };
		if (off + *done > mf->size)
			mf->size = off + *done;
	}
	assert_int_equal(mf->ip.size, mf->size);
	return err;
}

static void mwrite_ok(struct ext2_vol *v, struct mfile *mf, uint64_t off, size_t len, unsigned int seed)
{
	size_t done;

	assert_int_equal(mwrite(v, mf, off, len, seed, &done), 0);
	assert_int_equal(done, len);
}

/* What the model says bytes [off, off + len) hold (zeros outside every write and past the size). */
static void model_read(const struct mfile *mf, uint64_t off, size_t len, uint8_t *out)
{
	memset(out, 0, len);
	for (unsigned int i = 0; i < mf->n; i++) {
		const struct mwrite *w = &mf->w[i];
		uint64_t lo = w->off > off ? w->off : off;
		uint64_t hi = w->off + w->len < off + len ? w->off + w->len : off + len;
		for (uint64_t b = lo; b < hi; b++)
			out[b - off] = pat(b, w->seed);
	}
	if (off + len > mf->size) {
		uint64_t from = mf->size > off ? mf->size - off : 0;
		memset(out + from, 0, (size_t)(len - from));
	}
}

static void model_truncate(struct mfile *mf, uint64_t size)
{
	/* Bytes past the new size are gone: clip the writes to it. */
	for (unsigned int i = 0; i < mf->n; i++) {
		struct mwrite *w = &mf->w[i];
		if (w->off >= size)
			w->len = 0;
		else if (w->off + w->len > size)
			w->len = (size_t)(size - w->off);
	}
	mf->size = size;
}

/* Reads [off, off + len) back from the disk (fresh inode) and compares it with the model. */
static void compare_range(const struct ext2_vol *v, const struct mfile *mf, uint64_t off, size_t len)
{
	struct ext2_inode_info ip;
	uint8_t *got = malloc(len), *want = malloc(len);
	size_t done, expect;

	assert_non_null(got);
	assert_non_null(want);
	assert_int_equal(ext2_inode_get(v, mf->ip.ino, &ip), 0);
	assert_int_equal(ip.size, mf->size);
	assert_int_equal(ext2_file_read(v, &ip, off, got, len, &done), 0);
	expect = off >= mf->size ? 0 : (mf->size - off < len ? (size_t)(mf->size - off) : len);
	assert_int_equal(done, expect);
	model_read(mf, off, done, want);
	if (memcmp(got, want, done) != 0) {
		for (size_t i = 0; i < done; i++)
			if (got[i] != want[i])
				fail_msg("byte %llu: got %u want %u", (unsigned long long)(off + i), got[i], want[i]);
	}
	free(got);
	free(want);
}

/* Compares every written region, two blocks either side of it, and the last block. */
static void compare_all(const struct ext2_vol *v, const struct mfile *mf)
{
	const uint32_t bs = v->g.block_bytes;

	for (unsigned int i = 0; i < mf->n; i++) {
		uint64_t lo = mf->w[i].off > 2u * bs ? mf->w[i].off - 2u * bs : 0;
		compare_range(v, mf, lo, mf->w[i].len + 4u * bs);
	}
	if (mf->size > 0)
		compare_range(v, mf, (mf->size - 1u) & ~(uint64_t)(bs - 1u), bs);
}

/* The blocks the file holds by its i_blocks, data and indirect. */
static uint64_t file_blocks(const struct ext2_vol *v, const struct mfile *mf)
{
	return mf->ip.blocks_512 / (v->g.block_bytes / EXT2_IBLOCK_UNIT);
}

static void fsck_clean(struct himg *h, struct ext2_vol *v)
{
	assert_int_equal(ext2_super_write(v, EXT2_VALID_FS), 0);
	balanced(h);
	assert_int_equal(h->faults, 0);
	assert_int_equal(himg_fsck(h), 0);
}

/* The logical blocks at which the mapping changes for block size bs. */
static unsigned int boundaries(uint32_t bs, uint64_t out[])
{
	const uint64_t p = bs / 4u;
	unsigned int n = 0;

	out[n++] = 11;                   /* the last direct block */
	out[n++] = 12;                   /* the first single-indirect */
	out[n++] = 12 + p;               /* the first double-indirect */
	out[n++] = 12 + p + p;           /* the second leaf of the double tree */
	out[n++] = 12 + p + p * p;       /* the first triple-indirect */
	out[n++] = 12 + p + p * p + p * p; /* the second subtree of the triple tree */
	return n;
}

/*
 * Writes straddling every mapping boundary (sparse, so the triple-indirect
 * tree is reached with few blocks), a dense file across the first two, then
 * reads everything back and has e2fsck judge the image.
 */
static void boundary_writes(uint32_t bs, uint32_t kib)
{
	struct himg h;
	struct ext2_vol v;
	struct mfile *sparse = calloc(1, sizeof(*sparse)), *dense = calloc(1, sizeof(*dense));
	uint64_t b[8], before, used;
	unsigned int n = boundaries(bs, b);
	size_t done;

	mk(&h, &v, bs, kib, NULL);
	before = free_blocks(&v);
	new_file(&v, sparse, "sparse");
	for (unsigned int i = 0; i < n; i++)
		mwrite_ok(&v, sparse, b[i] * bs - bs / 2u - 37u, 2u * bs + 101u, i + 1u);
	/* A write entirely inside one existing block (read-modify-write) and one into a hole inside the file. */
	mwrite_ok(&v, sparse, b[1] * bs + 5u, 17u, 20u);
	mwrite_ok(&v, sparse, 40u * bs + 3u, 10u, 21u);
	compare_all(&v, sparse);
	assert_int_equal(sparse->ip.block[EXT2_TIND_BLOCK] != 0, 1);

	new_file(&v, dense, "dense");
	/* Odd-sized pieces, so writes start and end at every offset inside blocks. */
	uint64_t end = (12u + bs / 4u + 3u) * (uint64_t)bs + 555u;
	for (uint64_t off = 0; off < end; off += done) {
		size_t len = end - off < 7919u ? (size_t)(end - off) : 7919u;
		assert_int_equal(mwrite(&v, dense, off, len, 30u + (unsigned int)(off % 5u), &done), 0);
		assert_int_equal(done, len);
	}
	compare_range(&v, dense, 0, (size_t)end);

	/* Every block taken from the free count is a data or indirect block of these two files. */
	used = file_blocks(&v, sparse) + file_blocks(&v, dense);
	assert_int_equal(free_blocks(&v), before - used);
	fsck_clean(&h, &v);
	himg_free(&h);
	free(sparse);
	free(dense);
}

static void test_boundaries_1k(void **state)
{
	(void)state;
	boundary_writes(1024, 16384);
}

static void test_boundaries_4k(void **state)
{
	(void)state;
	boundary_writes(4096, 32768);
}

/*
 * Truncating down across each boundary frees exactly the blocks past it
 * (indirect blocks left empty included: the free count comes back to what
 * i_blocks says is still used), then up again leaves a hole.
 */
static void truncate_across(uint32_t bs, uint32_t kib)
{
	struct himg h;
	struct ext2_vol v;
	struct mfile *mf = calloc(1, sizeof(*mf));
	uint64_t b[8], before;
	unsigned int n = boundaries(bs, b);

	mk(&h, &v, bs, kib, NULL);
	before = free_blocks(&v);
	new_file(&v, mf, "trunc");
	/* Dense over the first blocks, then a few blocks at each boundary. */
	mwrite_ok(&v, mf, 0, 14u * bs + 9u, 1);
	for (unsigned int i = 1; i < n; i++)
		mwrite_ok(&v, mf, b[i] * bs - 3u * bs, 5u * bs, i + 2u);
	assert_int_equal(free_blocks(&v), before - file_blocks(&v, mf));
	compare_all(&v, mf);

	for (unsigned int i = n; i-- > 0;) {
		/* Just past the boundary (one partial block kept), then exactly at it. */
		uint64_t sizes[2] = { b[i] * bs + 100u, b[i] * bs };
		for (unsigned int k = 0; k < 2; k++) {
			assert_int_equal(ext2_truncate(&v, &mf->ip, sizes[k]), 0);
			model_truncate(mf, sizes[k]);
			assert_int_equal(free_blocks(&v), before - file_blocks(&v, mf));
			compare_all(&v, mf);
		}
	}
	/* Past the last boundary back to just before it, the trees above are gone. */
	assert_int_equal(mf->ip.block[EXT2_TIND_BLOCK], 0);
	assert_int_equal(mf->ip.block[EXT2_DIND_BLOCK], 0);
	assert_int_equal(mf->ip.block[EXT2_IND_BLOCK], 0);
	assert_int_equal(mf->ip.block[11], 0);
	assert_true(mf->ip.block[10] != 0);

	/* Down into the middle of a block, then up: the tail of that block reads as zeros, the rest is a hole. */
	assert_int_equal(ext2_truncate(&v, &mf->ip, 3u * bs + 10u), 0);
	model_truncate(mf, 3u * bs + 10u);
	assert_int_equal(ext2_truncate(&v, &mf->ip, 20u * (uint64_t)bs + 1u), 0);
	mf->size = 20u * (uint64_t)bs + 1u;
	compare_range(&v, mf, 0, (size_t)mf->size);
	assert_int_equal(mf->ip.block[12], 0);
	assert_int_equal(free_blocks(&v), before - 4u);
	fsck_clean(&h, &v);

	assert_int_equal(ext2_truncate(&v, &mf->ip, 0), 0);
	model_truncate(mf, 0);
	assert_int_equal(mf->ip.blocks_512, 0);
	assert_int_equal(free_blocks(&v), before);
	fsck_clean(&h, &v);
	himg_free(&h);
	free(mf);
}

static void test_boundaries_2k(void **state)
{
	(void)state;
	boundary_writes(2048, 16384);
}

static void test_truncate_1k(void **state)
{
	(void)state;
	truncate_across(1024, 16384);
}

static void test_truncate_4k(void **state)
{
	(void)state;
	truncate_across(4096, 32768);
}

/*
 * A full disk: the write stops with -ENOSPC, the size covers exactly what
 * was written, an earlier file is intact, the free count is 0 and e2fsck
 * agrees; removing the second file gives every block back.
 */
static void full_disk(uint32_t bs, uint32_t kib)
{
	struct himg h;
	struct ext2_vol v;
	struct mfile *a = calloc(1, sizeof(*a)), *big = calloc(1, sizeof(*big));
	uint64_t before, after_a, free_inodes, dirs, fb;
	size_t done, chunk = 3u * bs + 123u;
	int err = 0;

	mk(&h, &v, bs, kib, NULL);
	new_file(&v, a, "a");
	mwrite_ok(&v, a, 0, 5u * bs + 7u, 1);
	after_a = free_blocks(&v);
	new_file(&v, big, "big");
	before = free_blocks(&v);
	assert_int_equal(before, after_a);
	for (uint64_t off = 0; err == 0; off += done) {
		err = mwrite(&v, big, off, chunk, 2u + (unsigned int)(off / chunk % 3u), &done);
		if (err == 0)
			assert_int_equal(done, chunk);
	}
	assert_int_equal(err, -ENOSPC);
	group_sums(&v, &fb, &free_inodes, &dirs);
	assert_int_equal(fb, 0);
	assert_int_equal(v.g.free_blocks, 0);
	assert_int_equal(file_blocks(&v, big), before);
	assert_true(big->size > 0);
	compare_range(&v, big, 0, (size_t)big->size);
	compare_range(&v, a, 0, (size_t)a->size);
	/* A new indirect-tree write fails the same way, changing nothing. */
	assert_int_equal(mwrite(&v, big, big->size + 100u * (uint64_t)bs, 10, 9, &done), -ENOSPC);
	assert_int_equal(done, 0);
	assert_int_equal(free_blocks(&v), 0);
	fsck_clean(&h, &v);

	/*
	 * One block free (the last data block given back, its indirect block
	 * still holding others): a write that needs an indirect block and a
	 * data block fails and leaves that block free; one that needs only a
	 * data block takes it.
	 */
	uint64_t last = (big->size - 1u) / bs;
	assert_true(last > EXT2_NDIR_BLOCKS && (last - EXT2_NDIR_BLOCKS) % (bs / 4u) != 0);
	assert_int_equal(ext2_truncate(&v, &big->ip, last * bs), 0);
	model_truncate(big, last * bs);
	assert_int_equal(free_blocks(&v), 1);
	assert_int_equal(mwrite(&v, big, (last + 2u * bs / 4u) * bs, 10, 9, &done), -ENOSPC);
	assert_int_equal(done, 0);
	assert_int_equal(free_blocks(&v), 1);
	mwrite_ok(&v, big, last * bs + 1u, 10u, 10);
	assert_int_equal(free_blocks(&v), 0);
	compare_all(&v, big);
	fsck_clean(&h, &v);

	assert_int_equal(ext2_truncate(&v, &big->ip, 0), 0);
	model_truncate(big, 0);
	assert_int_equal(free_blocks(&v), before);
	compare_range(&v, a, 0, (size_t)a->size);
	fsck_clean(&h, &v);
	himg_free(&h);
	free(a);
	free(big);
}

static void test_enospc_1k(void **state)
{
	(void)state;
	full_disk(1024, 1024);
}

static void test_enospc_4k(void **state)
{
	(void)state;
	full_disk(4096, 2048);
}

/*
 * Released inodes give back every block (data, indirect) and their number:
 * counts as before, e2fsck clean with the inodes never linked.
 */
static void test_release(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct mfile *mf = calloc(1, sizeof(*mf));
	uint64_t fb0, fi0, d0, fb, fi, d, b[8];
	unsigned int n;
	size_t done;

	(void)state;
	mk(&h, &v, 1024, 16384, NULL);
	n = boundaries(1024, b);
	group_sums(&v, &fb0, &fi0, &d0);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(ext2_inode_new(&v, EXT2_ROOT_INO, FILE_MODE, &mf->ip), 0);
		mf->n = 0;
		mf->size = 0;
		for (unsigned int i = 0; i < n; i++)
			assert_int_equal(mwrite(&v, mf, b[i] * 1024u - 10u, 30, i, &done), 0);
		assert_true(free_blocks(&v) < fb0);
		assert_int_equal(ext2_inode_release(&v, &mf->ip), 0);
		group_sums(&v, &fb, &fi, &d);
		assert_int_equal(fb, fb0);
		assert_int_equal(fi, fi0);
		assert_int_equal(d, d0);
	}
	/* A directory number: the directory count goes up and back. */
	assert_int_equal(ext2_inode_new(&v, EXT2_ROOT_INO, DIR_MODE, &mf->ip), 0);
	group_sums(&v, &fb, &fi, &d);
	assert_int_equal(d, d0 + 1u);
	assert_int_equal(fi, fi0 - 1u);
	assert_int_equal(ext2_inode_release(&v, &mf->ip), 0);
	group_sums(&v, &fb, &fi, &d);
	assert_int_equal(d, d0);
	assert_int_equal(fi, fi0);
	fsck_clean(&h, &v);
	himg_free(&h);
	free(mf);
}

/* Inodes run out with -ENOSPC after exactly the free count; every number handed out is distinct and ordinary. */
static void test_inode_enospc(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct ext2_inode_info *ips;
	uint64_t fb0, fi0, d0, fb, fi, d;
	uint8_t *seen;
	unsigned long n = 0;
	int err;

	(void)state;
	mk(&h, &v, 1024, 2048, "-g 1024 -N 300");
	group_sums(&v, &fb0, &fi0, &d0);
	assert_true(v.g.groups >= 2);
	ips = calloc(fi0 + 1u, sizeof(*ips));
	seen = calloc(v.g.inodes_count + 1u, 1);
	assert_non_null(ips);
	assert_non_null(seen);
	/* Every fourth a directory, so the directory counts move too. */
	while ((err = ext2_inode_new(&v, EXT2_ROOT_INO, n % 4u == 0 ? DIR_MODE : FILE_MODE, &ips[n])) == 0) {
		assert_true(ips[n].ino >= v.g.first_ino && ips[n].ino <= v.g.inodes_count);
		assert_int_equal(seen[ips[n].ino], 0);
		seen[ips[n].ino] = 1;
		assert_true(++n <= fi0);
	}
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(n, fi0);
	group_sums(&v, &fb, &fi, &d);
	assert_int_equal(fi, 0);
	assert_int_equal(v.g.free_inodes, 0);
	assert_int_equal(d, d0 + (fi0 + 3u) / 4u);
	for (unsigned long i = 0; i < n; i++)
		assert_int_equal(ext2_inode_release(&v, &ips[i]), 0);
	group_sums(&v, &fb, &fi, &d);
	assert_int_equal(fi, fi0);
	assert_int_equal(d, d0);
	assert_int_equal(fb, fb0);
	fsck_clean(&h, &v);
	free(ips);
	free(seen);
	himg_free(&h);
}

/* Directories spread over groups (fewest directories among the roomy ones); files stay with their parent. */
static void test_inode_placement(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct ext2_inode_info ip[3], f;
	uint32_t groups_seen = 0;

	(void)state;
	/* Four groups; group 0 (root, lost+found, the resize inode's blocks) has fewer free inodes than average. */
	mk(&h, &v, 1024, 32768, NULL);
	assert_int_equal(v.g.groups, 4);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ext2_inode_new(&v, EXT2_ROOT_INO, DIR_MODE, &ip[i]), 0);
		groups_seen |= 1u << ((ip[i].ino - 1u) / v.g.inodes_per_group);
	}
	assert_int_equal(groups_seen, 0xEu);
	/* A file under the last directory lands in that directory's group. */
	assert_int_equal(ext2_inode_new(&v, ip[2].ino, FILE_MODE, &f), 0);
	assert_int_equal((f.ino - 1u) / v.g.inodes_per_group, (ip[2].ino - 1u) / v.g.inodes_per_group);
	assert_int_equal(ext2_inode_release(&v, &f), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ext2_inode_release(&v, &ip[i]), 0);
	fsck_clean(&h, &v);
	himg_free(&h);
}

/*
 * An appended block goes right after the file's previous one even when an
 * earlier hole in the group is free; an indirect block comes between the
 * 12th and 13th data blocks.
 */
static void test_goal_follows_file(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct mfile *a = calloc(1, sizeof(*a)), *c = calloc(1, sizeof(*c));
	uint32_t p4, p5, p11, p12, p13;

	(void)state;
	mk(&h, &v, 1024, 8192, NULL);
	new_file(&v, a, "a");
	new_file(&v, c, "c");
	mwrite_ok(&v, a, 0, 5u * 1024u, 1);
	mwrite_ok(&v, c, 0, 5u * 1024u, 2);
	assert_int_equal(ext2_truncate(&v, &a->ip, 0), 0);
	model_truncate(a, 0);
	mwrite_ok(&v, c, 5u * 1024u, 9u * 1024u, 3);
	assert_int_equal(ext2_bmap(&v, &c->ip, 4, &p4, NULL), 0);
	assert_int_equal(ext2_bmap(&v, &c->ip, 5, &p5, NULL), 0);
	assert_int_equal(p5, p4 + 1u);
	assert_int_equal(ext2_bmap(&v, &c->ip, 11, &p11, NULL), 0);
	assert_int_equal(ext2_bmap(&v, &c->ip, 12, &p12, NULL), 0);
	assert_int_equal(ext2_bmap(&v, &c->ip, 13, &p13, NULL), 0);
	assert_int_equal(c->ip.block[EXT2_IND_BLOCK], p11 + 1u);
	assert_int_equal(p12, p11 + 2u);
	assert_int_equal(p13, p12 + 1u);
	compare_all(&v, c);
	fsck_clean(&h, &v);
	himg_free(&h);
	free(a);
	free(c);
}

/*
 * Data blocks are dirtied as data, indirect blocks and inodes as metadata;
 * whole blocks are taken fresh (never read).
 */
static void test_meta_flags(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct mfile *mf = calloc(1, sizeof(*mf));
	unsigned long data0, gm0;

	(void)state;
	mk(&h, &v, 1024, 8192, NULL);
	new_file(&v, mf, "f");
	data0 = h.dirty_data;
	mwrite_ok(&v, mf, 0, 13u * 1024u, 1);
	assert_int_equal(h.dirty_data - data0, 13);
	/* Rewriting one whole block: one data block dirtied, no allocation, no read needed. */
	data0 = h.dirty_data;
	gm0 = h.get_muts;
	mwrite_ok(&v, mf, 1024u, 1024u, 2);
	assert_int_equal(h.dirty_data - data0, 1);
	assert_int_equal(h.get_muts - gm0, 2); /* the data block and the inode */
	compare_all(&v, mf);
	fsck_clean(&h, &v);
	himg_free(&h);
	free(mf);
}

/* Sizes from 2 GiB need large_file: set when missing; revision 0 refuses them. */
static void test_large_file(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct mfile *mf = calloc(1, sizeof(*mf));
	const uint64_t two_gib = 1ull << 31;
	size_t done;

	(void)state;
	/*
	 * mke2fs sets large_file on revision 1 (the resize inode is a large
	 * file): without the resize inode the flag can be cleared by hand, as an
	 * older mke2fs left it.
	 */
	assert_int_equal(himg_mkfs(&h, 4096, 8192, "-O ^resize_inode"), 0);
	struct ext2_super *sb = (struct ext2_super *)(void *)(h.bytes + EXT2_SUPER_OFFSET);
	sb->s_feature_ro_compat = ext2_le32(ext2_le32(sb->s_feature_ro_compat) & ~EXT2_FEATURE_RO_COMPAT_LARGE_FILE);
	assert_int_equal(himg_mount(&h, &v), 0);
	v.now = test_now;
	assert_int_equal(himg_fsck(&h), 0);
	assert_int_equal(v.g.feature_ro_compat & EXT2_FEATURE_RO_COMPAT_LARGE_FILE, 0);
	new_file(&v, mf, "large");
	mwrite_ok(&v, mf, two_gib - 10u, 20u, 1);
	assert_true((v.g.feature_ro_compat & EXT2_FEATURE_RO_COMPAT_LARGE_FILE) != 0);
	compare_all(&v, mf);
	fsck_clean(&h, &v);
	himg_free(&h);

	mk(&h, &v, 1024, 8192, "-r 0");
	new_file(&v, mf, "small");
	assert_int_equal(mwrite(&v, mf, two_gib - 10u, 20u, 1, &done), -EFBIG);
	assert_int_equal(done, 9); /* up to 2 GiB - 1, the largest revision 0 size */
	assert_int_equal(mf->ip.size, two_gib - 1u);
	assert_int_equal(ext2_truncate(&v, &mf->ip, two_gib), -EFBIG);
	compare_all(&v, mf);
	fsck_clean(&h, &v);
	himg_free(&h);
	free(mf);
}

/*
 * A data block that cannot be taken (-EIO) stops the write there: the bytes
 * before it are written and counted, the size ends at them, and the block
 * allocated for the failed part is given back.
 */
static void test_write_eio(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct mfile *mf = calloc(1, sizeof(*mf));
	uint32_t pblk;
	uint64_t before;
	size_t done;

	(void)state;
	mk(&h, &v, 1024, 8192, NULL);
	new_file(&v, mf, "eio");
	mwrite_ok(&v, mf, 0, 2048u, 1);
	before = free_blocks(&v);
	/* The allocator's next block for this file is the one after its last (the goal). */
	assert_int_equal(ext2_bmap(&v, &mf->ip, 1, &pblk, NULL), 0);
	h.fail_block = pblk + 1u;
	assert_int_equal(mwrite(&v, mf, 2048u - 100u, 3000u, 2, &done), -EIO);
	assert_int_equal(done, 100);
	assert_int_equal(mf->ip.size, 2048u);
	assert_int_equal(free_blocks(&v), before);
	assert_int_equal(mwrite(&v, mf, 5000u, 3000u, 3, &done), -EIO);
	assert_int_equal(done, 0);
	assert_int_equal(mf->ip.size, 2048u);
	assert_int_equal(free_blocks(&v), before);
	h.fail_block = 0;
	compare_all(&v, mf);
	mwrite_ok(&v, mf, 5000u, 3000u, 4);
	compare_all(&v, mf);
	fsck_clean(&h, &v);
	himg_free(&h);
	free(mf);
}

#define RANDOM_FILES   3u
#define RANDOM_OPS     400u
#define RANDOM_BLOCKS  600u /* largest size, in blocks: past the first double-indirect block at 1 KiB */

/*
 * Random writes (holes, overwrites, appends) and truncates (down and up) on
 * a few files at once, each compared in full with a byte model after every
 * operation; free counts follow i_blocks; e2fsck judges the end.
 */
static void random_ops(uint32_t bs)
{
	const size_t max = (size_t)RANDOM_BLOCKS * bs;
	struct himg h;
	struct ext2_vol v;
	struct mfile *f = calloc(RANDOM_FILES, sizeof(*f));
	uint8_t *model[RANDOM_FILES], *buf = malloc(max), *got = malloc(max);
	uint64_t before, used;
	uint32_t seed = 12345u + bs;
	char name[16];
	size_t done;

	assert_non_null(buf);
	assert_non_null(got);
	mk(&h, &v, bs, 16384, NULL);
	before = free_blocks(&v);
	for (unsigned int i = 0; i < RANDOM_FILES; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		new_file(&v, &f[i], name);
		model[i] = calloc(1, max);
		assert_non_null(model[i]);
	}
	for (unsigned int op = 0; op < RANDOM_OPS; op++) {
		seed = seed * 1103515245u + 12345u;
		struct mfile *mf = &f[(seed >> 8) % RANDOM_FILES];
		uint8_t *m = model[mf - f];
		uint32_t r = seed >> 4;
		uint64_t size = mf->ip.size;

		if (r % 4u == 0) {
			uint64_t to = (uint64_t)(r >> 3) % (max + 1u);
			assert_int_equal(ext2_truncate(&v, &mf->ip, to), 0);
			if (to < size)
				memset(m + to, 0, (size_t)(size - to));
		} else {
			uint64_t off = r % 3u == 0 ? size : (uint64_t)(r >> 3) % max; /* appends, and anywhere */
			size_t len = (size_t)((seed >> 11) % (4u * bs) + 1u);
			if (off + len > max)
				len = max - (size_t)off;
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)(seed + k * 7u + op);
			assert_int_equal(ext2_file_write(&v, &mf->ip, off, buf, len, &done), 0);
			assert_int_equal(done, len);
			memcpy(m + off, buf, len);
			if (off + len < size)
				assert_int_equal(mf->ip.size, size);
		}
		assert_int_equal(ext2_file_read(&v, &mf->ip, 0, got, max, &done), 0);
		assert_int_equal(done, mf->ip.size);
		assert_memory_equal(got, m, done);
	}
	used = 0;
	for (unsigned int i = 0; i < RANDOM_FILES; i++)
		used += f[i].ip.blocks_512 / (bs / EXT2_IBLOCK_UNIT);
	assert_int_equal(free_blocks(&v), before - used);
	fsck_clean(&h, &v);
	for (unsigned int i = 0; i < RANDOM_FILES; i++)
		free(model[i]);
	free(f);
	free(buf);
	free(got);
	himg_free(&h);
}

static void test_random_1k(void **state)
{
	(void)state;
	random_ops(1024);
}

static void test_random_4k(void **state)
{
	(void)state;
	random_ops(4096);
}

/*
 * Releasing files that hold an extended attribute block (made by debugfs,
 * shared by two files with a reference count of 2): the first release
 * drops a reference, the second frees the block; e2fsck agrees each time.
 */
static void test_release_xattr_block(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct ext2_inode_info f, g;
	const char *dir = host_tmpdir();
	uint64_t fb0, fi0, d0, fb, fi, d;
	uint32_t orphan, acl;
	char img[512];

	(void)state;
	assert_non_null(dir);
	snprintf(img, sizeof(img), "%s/xattr.img", dir);
	/* f: 6 bytes of data and a 600-byte attribute (too big for the inode: a block); g: no data. */
	assert_int_equal(host_run("cd '%s' && echo hello >hello && head -c 600 /dev/zero | tr '\\0' a >val && "
				  "'%s' -q -F -t ext2 -b 1024 xattr.img 4096 && "
				  "'%s' -w -R 'write hello f' xattr.img && '%s' -w -R 'write /dev/null g' xattr.img && "
				  "'%s' -w -R 'ea_set -f val f user.big' xattr.img >/dev/null 2>&1",
				  dir, LEVBLK_MKE2FS, LEVBLK_DEBUGFS, LEVBLK_DEBUGFS, LEVBLK_DEBUGFS),
			 0);
	assert_int_equal(himg_load(&h, img), 0);
	host_run("rm -rf '%s'", dir);
	assert_int_equal(himg_mount(&h, &v), 0);
	v.now = test_now;
	assert_int_equal(ext2_path_lookup(&v, "/f", &f), 0);
	assert_int_equal(ext2_path_lookup(&v, "/g", &g), 0);
	acl = f.file_acl;
	assert_true(acl != 0);
	assert_int_equal(f.blocks_512, 4); /* one data block and the attribute block */
	/* Share it with g: g points at it too, counted in g's blocks, and the block counts two references. */
	g.file_acl = acl;
	g.blocks_512 = 2;
	assert_int_equal(ext2_inode_put(&v, &g), 0);
	h.bytes[(uint64_t)acl * 1024u + EXT2_XATTR_REFCOUNT_OFF] = 2;
	h.bytes[(uint64_t)acl * 1024u + EXT2_XATTR_REFCOUNT_OFF + 1u] = 0;
	fsck_clean(&h, &v);
	group_sums(&v, &fb0, &fi0, &d0);

	assert_int_equal(ext2_unlink(&v, "/f", &orphan), 0);
	assert_int_equal(orphan, f.ino);
	assert_int_equal(ext2_inode_get_unlinked(&v, orphan, &f), 0);
	assert_int_equal(ext2_inode_release(&v, &f), 0);
	group_sums(&v, &fb, &fi, &d);
	assert_int_equal(fb, fb0 + 1u); /* the data block only: g still holds the attribute block */
	assert_int_equal(h.bytes[(uint64_t)acl * 1024u + EXT2_XATTR_REFCOUNT_OFF], 1);
	fsck_clean(&h, &v);

	assert_int_equal(ext2_unlink(&v, "/g", &orphan), 0);
	assert_int_equal(ext2_inode_get_unlinked(&v, orphan, &g), 0);
	assert_int_equal(ext2_inode_release(&v, &g), 0);
	group_sums(&v, &fb, &fi, &d);
	assert_int_equal(fb, fb0 + 2u);
	assert_int_equal(fi, fi0 + 2u);
	fsck_clean(&h, &v);
	himg_free(&h);
}

/* Saves the whole image, so that a refused change can be shown to have changed nothing. */
static uint8_t *snapshot(const struct himg *h)
{
	uint8_t *s = malloc(h->len);

	assert_non_null(s);
	memcpy(s, h->bytes, h->len);
	return s;
}

static uint8_t *block_ptr(struct himg *h, uint32_t block)
{
	return h->bytes + (uint64_t)block * h->block_bytes;
}

/* A bitmap that disagrees with its counts, and frees of what is not in use, are -EUCLEAN and change nothing. */
static void test_damage_refused(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct ext2_group_desc gd;
	uint32_t out, first;
	uint8_t *snap;

	(void)state;
	mk(&h, &v, 1024, 8192, NULL);
	h.quiet = 1;
	assert_int_equal(v.g.groups, 1);
	assert_int_equal(ext2_group_get(&v, 0, &gd), 0);
	first = v.g.first_data_block;

	/* Freeing a free block, an inode table block, a block outside the file system, a free inode. */
	snap = snapshot(&h);
	assert_int_equal(ext2_block_free(&v, 0, v.g.blocks_count - 1u), -EUCLEAN);
	assert_int_equal(ext2_block_free(&v, 0, gd.bg_inode_table), -EUCLEAN);
	assert_int_equal(ext2_block_free(&v, 0, v.g.blocks_count), -EUCLEAN);
	assert_int_equal(ext2_inode_free(&v, v.g.inodes_count, FILE_MODE), -EUCLEAN);
	assert_int_equal(ext2_inode_free(&v, EXT2_ROOT_INO, DIR_MODE), -EUCLEAN);
	assert_memory_equal(h.bytes, snap, h.len);
	free(snap);

	/* The bitmap says the first inode table block is free: never handed out. */
	uint8_t *bitmap = block_ptr(&h, gd.bg_block_bitmap);
	uint32_t bit = gd.bg_inode_table - first;
	bitmap[bit / 8u] &= (uint8_t)~(1u << (bit % 8u));
	snap = snapshot(&h);
	assert_int_equal(ext2_block_alloc(&v, 0, first, &out), -EUCLEAN);
	assert_memory_equal(h.bytes, snap, h.len);
	free(snap);
	bitmap[bit / 8u] |= (uint8_t)(1u << (bit % 8u));

	/* A full bitmap under a count that says blocks are free. */
	memset(bitmap, 0xFF, v.g.block_bytes);
	snap = snapshot(&h);
	assert_int_equal(ext2_block_alloc(&v, 0, 0, &out), -EUCLEAN);
	assert_memory_equal(h.bytes, snap, h.len);
	free(snap);
	balanced(&h);
	himg_free(&h);
}

/*
 * Regression: an inode the bitmap calls free while it is linked (here
 * lost+found) is refused with -EUCLEAN, its number given back, nothing
 * changed; the report was built from the inode's block after it was put
 * (use after free under AddressSanitizer).
 */
static void test_inode_new_live_inode_refused(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct ext2_inode_info ip;
	struct ext2_group_desc gd;
	uint8_t *snap, *bitmap;
	const uint32_t lost_found = 11;

	(void)state;
	mk(&h, &v, 1024, 8192, NULL);
	h.quiet = 1;
	assert_int_equal(v.g.first_ino, lost_found);
	assert_int_equal(ext2_group_get(&v, 0, &gd), 0);
	bitmap = block_ptr(&h, gd.bg_inode_bitmap);
	bitmap[(lost_found - 1u) / 8u] &= (uint8_t)~(1u << ((lost_found - 1u) % 8u));
	snap = snapshot(&h);
	assert_int_equal(ext2_inode_new(&v, EXT2_ROOT_INO, FILE_MODE, &ip), -EUCLEAN);
	assert_int_equal(h.last.ino, lost_found);
	assert_int_equal(h.last.value, 2); /* lost+found's links, read from the inode before its block went */
	assert_memory_equal(h.bytes, snap, h.len);
	free(snap);
	balanced(&h);
	himg_free(&h);
}

/*
 * Regression: ext2_super_write (and the large_file setting of
 * ext2_inode_put) that found the superblock's magic changed while mounted
 * reported the magic read from the block after putting it (use after free,
 * found by fuzz_ext2). Now -EUCLEAN with the value read first, and nothing
 * written.
 */
static void test_super_write_magic_changed(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct ext2_inode_info ip;
	uint8_t *snap;

	(void)state;
	mk(&h, &v, 1024, 8192, NULL);
	h.quiet = 1;
	h.bytes[EXT2_SUPER_OFFSET + offsetof(struct ext2_super, s_magic)] ^= 0x5a;
	snap = snapshot(&h);
	assert_int_equal(ext2_super_write(&v, EXT2_VALID_FS), -EUCLEAN);
	assert_int_equal(h.last.value, EXT2_SUPER_MAGIC ^ 0x5a);
	assert_memory_equal(h.bytes, snap, h.len);
	free(snap);
	balanced(&h);
	himg_free(&h);

	/* The same in setting large_file, when a file first needs it. */
	mk(&h, &v, 1024, 8192, "-O ^large_file");
	h.quiet = 1;
	assert_int_equal(ext2_inode_new(&v, EXT2_ROOT_INO, FILE_MODE, &ip), 0);
	h.bytes[EXT2_SUPER_OFFSET + offsetof(struct ext2_super, s_magic)] ^= 0x5a;
	snap = snapshot(&h);
	ip.size = 1ull << 31;
	assert_int_equal(ext2_inode_put(&v, &ip), -EUCLEAN);
	assert_int_equal(h.last.value, EXT2_SUPER_MAGIC ^ 0x5a);
	assert_memory_equal(h.bytes, snap, h.len);
	free(snap);
	balanced(&h);
	himg_free(&h);
}

/* Superblock totals found wrong at mount (they are hints) are right again after ext2_super_write. */
static void test_super_totals_stale(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct ext2_super *sb;
	struct mfile *mf = calloc(1, sizeof(*mf));

	(void)state;
	assert_int_equal(himg_mkfs(&h, 1024, 8192, NULL), 0);
	sb = (struct ext2_super *)(void *)(h.bytes + EXT2_SUPER_OFFSET);
	sb->s_free_blocks_count = ext2_le32(ext2_le32(sb->s_free_blocks_count) - 100u);
	sb->s_free_inodes_count = ext2_le32(ext2_le32(sb->s_free_inodes_count) - 7u);
	assert_int_equal(himg_mount(&h, &v), 0);
	v.now = test_now;
	h.quiet = 1;
	assert_int_not_equal(himg_fsck(&h), 0); /* the judge sees the damage */
	new_file(&v, mf, "f");
	mwrite_ok(&v, mf, 0, 5000u, 1);
	assert_int_equal(ext2_super_write(&v, EXT2_VALID_FS), 0);
	assert_int_equal(ext2_le32(sb->s_free_blocks_count), free_blocks(&v));
	assert_int_equal(ext2_le16(sb->s_state), EXT2_VALID_FS);
	assert_int_equal(ext2_le32(sb->s_wtime), TEST_NOW);
	fsck_clean(&h, &v);
	himg_free(&h);
	free(mf);
}

/* A volume that may not be written refuses every change. */
static void test_read_only(void **state)
{
	struct himg h;
	struct ext2_vol v;
	struct ext2_inode_info ip;
	uint32_t out;

	(void)state;
	mk(&h, &v, 1024, 4096, NULL);
	v.g.read_only = true;
	assert_int_equal(ext2_block_alloc(&v, 0, 0, &out), -EROFS);
	assert_int_equal(ext2_inode_new(&v, EXT2_ROOT_INO, FILE_MODE, &ip), -EROFS);
	assert_int_equal(ext2_super_write(&v, EXT2_VALID_FS), -EROFS);
	assert_int_equal(h.get_muts, 0);
	himg_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundaries_1k),
		cmocka_unit_test(test_boundaries_2k),
		cmocka_unit_test(test_boundaries_4k),
		cmocka_unit_test(test_truncate_1k),
		cmocka_unit_test(test_truncate_4k),
		cmocka_unit_test(test_enospc_1k),
		cmocka_unit_test(test_enospc_4k),
		cmocka_unit_test(test_write_eio),
		cmocka_unit_test(test_random_1k),
		cmocka_unit_test(test_random_4k),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_release_xattr_block),
		cmocka_unit_test(test_inode_enospc),
		cmocka_unit_test(test_inode_placement),
		cmocka_unit_test(test_goal_follows_file),
		cmocka_unit_test(test_meta_flags),
		cmocka_unit_test(test_large_file),
		cmocka_unit_test(test_damage_refused),
		cmocka_unit_test(test_inode_new_live_inode_refused),
		cmocka_unit_test(test_super_totals_stale),
		cmocka_unit_test(test_super_write_magic_changed),
		cmocka_unit_test(test_read_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
