/*
 * The ext2 reading core against real images: a tree is written here, the
 * host's mke2fs turns it into an image (1, 2 and 4 KiB blocks, revision 0
 * and 1, with directories indexed by e2fsck -D), and everything the core
 * reads is compared with the host's own view of the same tree (lstat,
 * readdir, readlink, read) and with dumpe2fs's view of the superblock.
 * Nothing expected is computed by the code under test.
 */
#define _GNU_SOURCE
#include <dirent.h>
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

#include "ext2_host.h"

#define MANY_ENTRIES  3000
#define DEEP_LEVELS   30
#define DENSE_BYTES   (300u * 1024u + 123u)
#define FULL_COMPARE_MAX (96ull << 20) /* larger files are compared extent by extent */
#define READ_CHUNK    7919u /* a prime: reads straddle block boundaries at every offset */

struct img_case {
	uint32_t block_bytes;
	const char *mke2fs_opts;
	int index_dirs; /* run e2fsck -fyD so that large directories get a hash index */
};

static uint8_t pattern_byte(uint64_t off, unsigned int file)
{
	return (uint8_t)((off * 2654435761u >> 11) ^ (off >> 9) ^ file);
}

static void write_pattern(int fd, uint64_t off, size_t len, unsigned int file)
{
	uint8_t buf[4096];

	while (len > 0) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern_byte(off + i, file);
		assert_int_equal(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
		off += n;
		len -= n;
	}
}

static void make_file(const char *dir, const char *name, uint64_t len, unsigned int file)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	assert_true(fd >= 0);
	write_pattern(fd, 0, len, file);
	close(fd);
}

/*
 * A sparse file with one block of data at each mapping boundary for block
 * size bs: the first and last direct block, the first and last block of the
 * single and double indirect trees, the first of the triple, and a hole at
 * the end.
 */
static void sparse_boundaries(uint32_t bs, uint64_t lblk[8])
{
	const uint64_t p = bs / 4u;

	lblk[0] = 0;
	lblk[1] = 11;
	lblk[2] = 12;
	lblk[3] = 12 + p - 1;
	lblk[4] = 12 + p;
	lblk[5] = 12 + p + p * p - 1;
	lblk[6] = 12 + p + p * p;
	lblk[7] = 12 + p + p * p + 5;
}

static void make_tree(const char *root, uint32_t bs)
{
	char path[4096], sub[4096];
	uint64_t lblk[8];
	int fd;

	assert_int_equal(mkdir(root, 0755), 0);
	make_file(root, "empty", 0, 1);
	make_file(root, "small.txt", 100, 2);
	make_file(root, "dense", DENSE_BYTES, 3);

	snprintf(path, sizeof(path), "%s/sparse", root);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	sparse_boundaries(bs, lblk);
	for (int i = 0; i < 8; i++)
		write_pattern(fd, lblk[i] * bs, bs, 4);
	write_pattern(fd, 13 * (uint64_t)bs + 7, 100, 5); /* a partial block between two holes */
	assert_int_equal(ftruncate(fd, (off_t)((lblk[7] + 3) * bs + 17)), 0);
	close(fd);

	snprintf(path, sizeof(path), "%s/holes", root);
	fd = open(path, O_CREAT | O_WRONLY, 0640);
	assert_true(fd >= 0);
	write_pattern(fd, 0, 10, 6);
	write_pattern(fd, 50 * 1024, 3000, 6);
	assert_int_equal(ftruncate(fd, 200 * 1024), 0);
	close(fd);

	snprintf(path, sizeof(path), "%s/deep", root);
	assert_int_equal(mkdir(path, 0700), 0);
	for (int i = 0; i < DEEP_LEVELS; i++) {
		size_t len = strlen(path);
		snprintf(path + len, sizeof(path) - len, "/d%02d", i);
		assert_int_equal(mkdir(path, 0755), 0);
	}
	make_file(path, "leaf.txt", 5000, 7);

	snprintf(sub, sizeof(sub), "%s/many", root);
	assert_int_equal(mkdir(sub, 0755), 0);
	for (int i = 0; i < MANY_ENTRIES; i++) {
		char name[64];
		snprintf(name, sizeof(name), "entry-%05d-%.*s", i, i % 23, "abcdefghijklmnopqrstuvwxyz");
		make_file(sub, name, i % 100 == 0 ? (uint64_t)i + 1 : 0, 8);
	}

	/* Hard links: one inode, two names in two directories. */
	make_file(root, "hard_a", 4321, 9);
	snprintf(path, sizeof(path), "%s/hard_a", root);
	snprintf(sub, sizeof(sub), "%s/many/hard_b", root);
	assert_int_equal(link(path, sub), 0);

	/* A fast symlink (target inside the inode) and a slow one (target in a block). */
	snprintf(path, sizeof(path), "%s/fast_link", root);
	assert_int_equal(symlink("small.txt", path), 0);
	memset(sub, 0, sizeof(sub));
	for (int i = 0; i < 100; i++)
		memcpy(sub + 3 * i, "ab/", 3);
	memcpy(sub + 300, "end", 3);
	snprintf(path, sizeof(path), "%s/slow_link", root);
	assert_int_equal(symlink(sub, path), 0);
	snprintf(path, sizeof(path), "%s/deep/d00/up_link", root);
	assert_int_equal(symlink("../../dense", path), 0);
	/* For resolving: an absolute target, a link to a directory, a chain, a loop. */
	snprintf(path, sizeof(path), "%s/abs_link", root);
	assert_int_equal(symlink("/dense", path), 0);
	snprintf(path, sizeof(path), "%s/dir_link", root);
	assert_int_equal(symlink("deep/d00", path), 0);
	snprintf(path, sizeof(path), "%s/chain_link", root);
	assert_int_equal(symlink("dir_link/up_link", path), 0);
	snprintf(path, sizeof(path), "%s/loop_a", root);
	assert_int_equal(symlink("loop_b/x", path), 0);
	snprintf(path, sizeof(path), "%s/loop_b", root);
	assert_int_equal(symlink("./loop_a", path), 0);

	memset(sub, 'n', EXT2_NAME_LEN);
	sub[EXT2_NAME_LEN] = '\0';
	make_file(root, sub, 77, 10);
}

/* Compares one regular file's bytes between the host tree and the image. */
static void compare_file(const struct ext2_vol *v, const struct ext2_inode_info *ip, const char *host_path,
			 uint64_t size)
{
	static uint8_t want[READ_CHUNK], got[READ_CHUNK];
	int fd = open(host_path, O_RDONLY);
	uint64_t off = 0;

	assert_true(fd >= 0);
	while (off < size) {
		uint64_t next = off + READ_CHUNK;
		size_t n = size - off < READ_CHUNK ? (size_t)(size - off) : READ_CHUNK, done;

		if (size > FULL_COMPARE_MAX) {
			/* Big sparse file: compare around each data extent and the ends of each hole. */
			off_t data = lseek(fd, (off_t)off, SEEK_DATA);
			if (data < 0 || (uint64_t)data > off + READ_CHUNK) {
				uint64_t hole_end = data < 0 ? size : (uint64_t)data;
				next = hole_end > off + 2 * READ_CHUNK ? hole_end - READ_CHUNK : off + READ_CHUNK;
			}
		}
		assert_int_equal(pread(fd, want, n, (off_t)off), (ssize_t)n);
		assert_int_equal(ext2_file_read(v, ip, off, got, n, &done), 0);
		assert_int_equal(done, n);
		if (memcmp(want, got, n) != 0)
			fail_msg("%s differs in the %zu bytes at %llu", host_path, n, (unsigned long long)off);
		off = next;
	}
	close(fd);
}

struct name_list {
	char names[MANY_ENTRIES + 64][EXT2_NAME_LEN + 1];
	size_t n;
	uint32_t ino_dotdot;
};

static int collect_name(void *ctx, const struct ext2_dirent_view *d)
{
	struct name_list *l = ctx;

	if (d->name_len == 2 && memcmp(d->name, "..", 2) == 0)
		l->ino_dotdot = d->ino;
	if ((d->name_len == 1 && d->name[0] == '.') || (d->name_len == 2 && memcmp(d->name, "..", 2) == 0))
		return 0;
	if (l->n >= sizeof(l->names) / sizeof(l->names[0]))
		return -E2BIG;
	memcpy(l->names[l->n], d->name, d->name_len);
	l->names[l->n][d->name_len] = '\0';
	l->n++;
	return 0;
}

/*
 * Walks the host tree under host_dir; for each entry looks the same path up
 * in the image and compares type, permissions, links, size, content and link
 * targets; then checks the image's directory lists exactly the host's names.
 */
static void compare_dir(const struct ext2_vol *v, const char *host_dir, const char *img_dir, uint32_t parent_ino,
			unsigned long *files)
{
	static struct name_list *lists[DEEP_LEVELS + 4];
	static unsigned int depth;
	struct ext2_inode_info dir, ip;
	struct name_list *l;
	struct dirent *e;
	size_t host_n = 0;
	DIR *d;

	assert_true(depth < sizeof(lists) / sizeof(lists[0]));
	assert_int_equal(ext2_path_lookup(v, img_dir, &dir), 0);
	assert_true(ext2_is_dir(&dir));
	d = opendir(host_dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char hp[8192], ip_path[8192];
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		host_n++;
		snprintf(hp, sizeof(hp), "%s/%s", host_dir, e->d_name);
		snprintf(ip_path, sizeof(ip_path), "%s/%s", img_dir, e->d_name);
		assert_int_equal(lstat(hp, &st), 0);
		if (ext2_path_lookup(v, ip_path, &ip) != 0)
			fail_msg("lookup of %s failed", ip_path);
		assert_int_equal(ip.mode, st.st_mode & 0xffffu);
		assert_int_equal(ip.links, st.st_nlink);
		if (S_ISREG(st.st_mode)) {
			assert_int_equal(ip.size, st.st_size);
			compare_file(v, &ip, hp, ip.size);
			(*files)++;
		} else if (S_ISLNK(st.st_mode)) {
			char want[4096], got[4096];
			ssize_t n = readlink(hp, want, sizeof(want));
			size_t len;
			assert_true(n > 0);
			assert_int_equal(ext2_readlink(v, &ip, got, sizeof(got), &len), 0);
			assert_int_equal(len, n);
			assert_memory_equal(got, want, len);
			assert_int_equal(got[len], '\0');
			assert_int_equal(ext2_symlink_is_fast(v, &ip), len < EXT2_FAST_SYMLINK_MAX);
			/* A path through a symlink is not followed. */
			strcat(ip_path, "/x");
			assert_int_equal(ext2_path_lookup(v, ip_path, &ip), -ENOTDIR);
		} else if (S_ISDIR(st.st_mode)) {
			depth++;
			compare_dir(v, hp, ip_path, dir.ino, files);
			depth--;
		}
	}
	closedir(d);

	if (lists[depth] == NULL)
		lists[depth] = malloc(sizeof(*l));
	l = lists[depth];
	assert_non_null(l);
	l->n = 0;
	assert_int_equal(ext2_dir_iterate(v, &dir, collect_name, l), 0);
	assert_int_equal(l->ino_dotdot, parent_ino);
	for (size_t i = 0; i < l->n; i++) {
		char hp[8192];
		struct stat st;
		if (dir.ino == EXT2_ROOT_INO && strcmp(l->names[i], "lost+found") == 0) {
			host_n++; /* made by mke2fs */
			continue;
		}
		snprintf(hp, sizeof(hp), "%s/%s", host_dir, l->names[i]);
		if (lstat(hp, &st) != 0)
			fail_msg("image has %s, the host tree does not", hp);
	}
	assert_int_equal(l->n, host_n);
	if (depth == 0) {
		for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
			free(lists[i]);
			lists[i] = NULL;
		}
	}
}

/* dumpe2fs -h's value of `field` ("Block count:"), as a number. */
static unsigned long long dumpe2fs_value(const char *img, const char *field)
{
	char cmd[512], line[512];
	unsigned long long value = ~0ull;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' -h '%s' 2>/dev/null", LEVBLK_DUMPE2FS, img);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			value = strtoull(line + strlen(field), NULL, 0);
	pclose(p);
	if (value == ~0ull)
		fail_msg("dumpe2fs shows no '%s'", field);
	return value;
}

static void check_geometry(const struct ext2_geom *g, const char *img)
{
	assert_int_equal(g->block_bytes, dumpe2fs_value(img, "Block size:"));
	assert_int_equal(g->blocks_count, dumpe2fs_value(img, "Block count:"));
	assert_int_equal(g->inodes_count, dumpe2fs_value(img, "Inode count:"));
	assert_int_equal(g->first_data_block, dumpe2fs_value(img, "First block:"));
	assert_int_equal(g->blocks_per_group, dumpe2fs_value(img, "Blocks per group:"));
	assert_int_equal(g->inodes_per_group, dumpe2fs_value(img, "Inodes per group:"));
	assert_int_equal(g->free_blocks, dumpe2fs_value(img, "Free blocks:"));
	assert_int_equal(g->free_inodes, dumpe2fs_value(img, "Free inodes:"));
	assert_int_equal(g->itable_blocks, dumpe2fs_value(img, "Inode blocks per group:"));
}

/* The sparse file's mapping: data exactly at the boundaries, holes between them. */
static void check_sparse_map(const struct ext2_vol *v)
{
	const uint64_t p = v->g.ptrs_per_block;
	struct ext2_inode_info ip;
	uint64_t lblk[8], run;
	uint32_t pblk;

	assert_int_equal(ext2_path_lookup(v, "/sparse", &ip), 0);
	sparse_boundaries(v->g.block_bytes, lblk);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(ext2_bmap(v, &ip, lblk[i], &pblk, &run), 0);
		assert_int_not_equal(pblk, 0);
	}
	/* Between 13 (partial data) and the last direct block: holes one block long each. */
	assert_int_equal(ext2_bmap(v, &ip, 10, &pblk, &run), 0);
	assert_int_equal(pblk, 0);
	assert_int_equal(run, 1);
	/* Inside the single indirect tree, after lblk 13: holes up to its last block. */
	assert_int_equal(ext2_bmap(v, &ip, 14, &pblk, &run), 0);
	assert_int_equal(pblk, 0);
	assert_int_equal(run, 1);
	/* The second double-indirect subtree is empty: one hole of p blocks from its start. */
	assert_int_equal(ext2_bmap(v, &ip, 12 + p + p, &pblk, &run), 0);
	assert_int_equal(pblk, 0);
	assert_int_equal(run, p);
	/* After the last data block, before the end of the size. */
	assert_int_equal(ext2_bmap(v, &ip, lblk[7] + 1, &pblk, &run), 0);
	assert_int_equal(pblk, 0);
	/* Beyond the triple indirect tree. */
	assert_int_equal(ext2_bmap(v, &ip, 12 + p + p * p + p * p * p, &pblk, &run), -EFBIG);
	/* Only the data and indirect blocks are allocated, not the holes. */
	assert_true(ip.blocks_512 < 64u * v->g.block_bytes / EXT2_IBLOCK_UNIT);
}

/*
 * ext2_bmap_run over a whole file, run after run: every block of every run
 * maps as ext2_bmap maps it alone, and a file written in one piece comes in
 * runs of many blocks (one indirect block's worth at most).
 */
static void check_bmap_runs(const struct ext2_vol *v, const char *path, bool contiguous)
{
	struct ext2_inode_info ip;
	uint64_t blocks, lblk = 0, runs = 0, run;
	uint32_t pblk, count, one;

	assert_int_equal(ext2_path_lookup(v, path, &ip), 0);
	blocks = (ip.size + v->g.block_bytes - 1u) >> v->g.block_log;
	while (lblk < blocks) {
		assert_int_equal(ext2_bmap_run(v, &ip, lblk, 1024, &pblk, &count), 0);
		assert_true(count >= 1 && count <= 1024);
		for (uint32_t i = 0; i < count && lblk + i < blocks; i++) {
			assert_int_equal(ext2_bmap(v, &ip, lblk + i, &one, &run), 0);
			assert_int_equal(one, pblk != 0 ? pblk + i : 0u);
		}
		lblk += count;
		runs++;
	}
	if (contiguous)
		assert_true(runs * 8u < blocks);
	/* max bounds a run; 0 counts as 1. */
	assert_int_equal(ext2_bmap_run(v, &ip, 0, 0, &pblk, &count), 0);
	assert_int_equal(count, 1);
}

/* Symlinks followed as open(2) follows them; the expected inodes come from lookups without links. */
static void check_resolve(const struct ext2_vol *v)
{
	static char scratch[EXT2_RESOLVE_SCRATCH];
	struct ext2_inode_info want, got;

	assert_int_equal(ext2_path_lookup(v, "/small.txt", &want), 0);
	assert_int_equal(ext2_path_resolve(v, "/fast_link", scratch, &got), 0);
	assert_int_equal(got.ino, want.ino);
	assert_int_equal(ext2_path_lookup(v, "/dense", &want), 0);
	assert_int_equal(ext2_path_resolve(v, "/deep/d00/up_link", scratch, &got), 0);
	assert_int_equal(got.ino, want.ino);
	assert_int_equal(ext2_path_resolve(v, "abs_link", scratch, &got), 0);
	assert_int_equal(got.ino, want.ino);
	assert_int_equal(ext2_path_resolve(v, "/chain_link", scratch, &got), 0); /* two links deep */
	assert_int_equal(got.ino, want.ino);
	assert_int_equal(ext2_path_lookup(v, "/deep/d00/d01/d02", &want), 0);
	assert_int_equal(ext2_path_resolve(v, "/dir_link/d01//d02/", scratch, &got), 0);
	assert_int_equal(got.ino, want.ino);
	/* ".." after a link to a directory is that directory's parent (deep), not the link's (the root). */
	assert_int_equal(ext2_path_resolve(v, "/dir_link/../dense", scratch, &got), -ENOENT);
	assert_int_equal(ext2_path_lookup(v, "/deep", &want), 0);
	assert_int_equal(ext2_path_resolve(v, "/dir_link/..", scratch, &got), 0);
	assert_int_equal(got.ino, want.ino);
	assert_int_equal(ext2_path_resolve(v, "/loop_a", scratch, &got), -ELOOP);
	assert_int_equal(ext2_path_resolve(v, "/slow_link", scratch, &got), -ENOENT); /* dangling */
	assert_int_equal(ext2_path_resolve(v, "/fast_link/x", scratch, &got), -ENOTDIR);
	/* Without following, a link is itself. */
	assert_int_equal(ext2_path_lookup(v, "/dir_link", &got), 0);
	assert_true(ext2_is_symlink(&got));
}

static void check_lookups(const struct ext2_vol *v)
{
	struct ext2_inode_info a, b, ip;
	char name[EXT2_NAME_LEN + 2];

	assert_int_equal(ext2_path_lookup(v, "/hard_a", &a), 0);
	assert_int_equal(ext2_path_lookup(v, "many/./hard_b", &b), 0);
	assert_int_equal(a.ino, b.ino);
	assert_int_equal(a.links, 2);
	assert_int_equal(ext2_path_lookup(v, "/deep/d00/d01/../d01/d02/../../../d00", &ip), 0);
	assert_int_equal(ext2_path_lookup(v, "/deep/d00", &a), 0);
	assert_int_equal(ip.ino, a.ino);
	assert_int_equal(ext2_path_lookup(v, "/", &ip), 0);
	assert_int_equal(ip.ino, EXT2_ROOT_INO);
	assert_int_equal(ext2_path_lookup(v, "/nothing", &ip), -ENOENT);
	assert_int_equal(ext2_path_lookup(v, "/small.txt/x", &ip), -ENOTDIR);
	memset(name, 'n', sizeof(name));
	name[0] = '/';
	name[EXT2_NAME_LEN + 1] = '\0';
	assert_int_equal(ext2_path_lookup(v, name, &ip), 0); /* the 255-byte name */
	name[EXT2_NAME_LEN] = 'n';
	assert_int_equal(ext2_path_lookup(v, "/many/entry-02999-abcdefghi", &ip), 0);
	check_resolve(v);
}

static void run_case(const struct img_case *c)
{
	const char *tmp = host_tmpdir();
	char tree[512], img[512];
	unsigned long files = 0;
	struct ext2_vol v;
	struct himg h;

	assert_non_null(tmp);
	snprintf(tree, sizeof(tree), "%s/tree", tmp);
	snprintf(img, sizeof(img), "%s/img", tmp);
	make_tree(tree, c->block_bytes);
	assert_int_equal(host_run("truncate -s 48M '%s' && '%s' -q -F -t ext2 -b %u %s -d '%s' '%s'", img,
				  LEVBLK_MKE2FS, c->block_bytes, c->mke2fs_opts, tree, img), 0);
	if (c->index_dirs)
		assert_true(host_run("'%s' -fyD '%s' >/dev/null 2>&1", LEVBLK_E2FSCK, img) <= 1);
	assert_int_equal(host_run("'%s' -fn '%s' >/dev/null 2>&1", LEVBLK_E2FSCK, img), 0);
	assert_int_equal(himg_load(&h, img), 0);
	assert_int_equal(himg_mount(&h, &v), 0);
	assert_false(v.g.read_only);
	check_geometry(&v.g, img);
	check_sparse_map(&v);
	check_bmap_runs(&v, "/sparse", false);
	check_bmap_runs(&v, "/dense", true);
	check_lookups(&v);
	compare_dir(&v, tree, "/", EXT2_ROOT_INO, &files);
	assert_true(files > MANY_ENTRIES);
	if (c->index_dirs) {
		/* The test means something only if the big directory really is indexed. */
		struct ext2_inode_info ip;
		assert_int_equal(ext2_path_lookup(&v, "/many", &ip), 0);
		assert_true(ip.flags & EXT2_INDEX_FL);
	}
	assert_int_equal(h.faults, 0);
	assert_int_equal(h.gets, h.puts);
	himg_free(&h);
	assert_int_equal(host_run("rm -rf '%s'", tmp), 0);
}

static void test_1k(void **state)
{
	run_case(&(struct img_case){ .block_bytes = 1024, .mke2fs_opts = "" });
}

static void test_2k(void **state)
{
	run_case(&(struct img_case){ .block_bytes = 2048, .mke2fs_opts = "" });
}

static void test_4k(void **state)
{
	run_case(&(struct img_case){ .block_bytes = 4096, .mke2fs_opts = "" });
}

static void test_1k_dir_index(void **state)
{
	run_case(&(struct img_case){ .block_bytes = 1024, .mke2fs_opts = "", .index_dirs = 1 });
}

static void test_4k_dir_index(void **state)
{
	run_case(&(struct img_case){ .block_bytes = 4096, .mke2fs_opts = "", .index_dirs = 1 });
}

/* Revision 0: fixed 128-byte inodes, no features, so 16-bit name lengths and no file types. */
static void test_1k_rev0(void **state)
{
	run_case(&(struct img_case){ .block_bytes = 1024, .mke2fs_opts = "-r 0" });
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_1k),
		cmocka_unit_test(test_2k),
		cmocka_unit_test(test_4k),
		cmocka_unit_test(test_1k_dir_index),
		cmocka_unit_test(test_4k_dir_index),
		cmocka_unit_test(test_1k_rev0),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
