/*
 * tools/pattern: the host-side writer and verifier of the disk pattern
 * (docs/interface.md) for raw disk images (sector s holds 64 little-endian words,
 * word i = splitmix64(seed XOR (s * 64 + i))). The pattern itself comes from
 * src/lib/pattern.c, the same code the guest's fill and check jobs use.
 *
 *   pattern write  IMG --seed S [--base B] [--start SECTOR] [--count N] [--size BYTES]
 *   pattern verify IMG --seed S [--base B] [--start SECTOR] [--count N] [--skip S:N]...
 *                  [--max-report M]
 *   pattern zero   IMG [--start SECTOR] [--count N] [--size BYTES]
 *   pattern word   --seed S SECTOR WORD
 *
 * Sectors are 512 bytes whatever the disk's logical block size. Numbers are
 * read as the guest reads its command line (parse_u64, src/lib/cmdline.c):
 * decimal or 0x-hex, with an optional K, M, G or T suffix (powers of 1024).
 * --count defaults to the rest of the image from --start. --size creates
 * the image or extends it (sparse) to that size first; it never shrinks
 * one. --skip leaves a range of sectors unchecked (repeatable), e.g. the
 * sectors of bios that failed on purpose.
 *
 * --base B: the pattern of a partition that starts at image sector B, as
 * the guest's fill writes it on that partition: image sector s holds the
 * pattern of sector s - B. --start defaults to B and may not be below it;
 * --start, --count, --skip and the MISMATCH lines still count image sectors.
 *
 * verify prints `MISMATCH sector=S word=I got=0x.. want=0x..` for the first
 * --max-report (default 10) mismatching sectors, the first bad word of each,
 * as the guest's check job does, then a summary line. Exit status: 0 all
 * good, 1 mismatches, 2 usage or I/O error.
 *
 * Built with src/lib/pattern.c and src/lib/cmdline.c by the tools/pattern
 * wrapper (cc -O2) into build/tools/pattern, and by the host preset for the
 * tests in test/tools/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <levblk/lib/cmdline.h>
#include <levblk/lib/pattern.h>

#define PAT_EXIT_OK	  0
#define PAT_EXIT_MISMATCH 1
#define PAT_EXIT_USAGE	  2

/* I/O unit: 1 MiB keeps syscalls cheap and the buffer in L2. */
#define PAT_CHUNK_SECTORS  2048u
#define PAT_CHUNK_BYTES	   (PAT_CHUNK_SECTORS * PATTERN_SECTOR_BYTES)
#define PAT_SKIP_MAX	   256u
#define PAT_DEFAULT_REPORT 10u

struct pat_range {
	uint64_t start;
	uint64_t count;
};

struct pat_opts {
	const char *cmd;
	const char *img;
	uint64_t seed;
	bool have_seed;
	uint64_t start;
	bool have_start;
	uint64_t base; /* image sector where the pattern's sector 0 lies */
	uint64_t count;
	bool have_count;
	uint64_t size;
	bool have_size;
	struct pat_range skip[PAT_SKIP_MAX];
	unsigned int nskip;
	uint64_t max_report;
	const char *pos[2]; /* positional words of `word` */
	unsigned int npos;
};

static int pat_usage(const char *why, const char *arg);
static bool pat_parse_u64(const char *s, uint64_t *out);
static int pat_parse_args(int argc, char **argv, struct pat_opts *o);
static int pat_open(const struct pat_opts *o, int flags, uint64_t *nsectors);
static int pat_check_range(const struct pat_opts *o, uint64_t nsectors, uint64_t *count);
static bool pat_skipped(const struct pat_opts *o, uint64_t sector);
static int pat_io_all(int fd, uint8_t *buf, size_t len, uint64_t off, bool write);
static int pat_cmd_write(const struct pat_opts *o, bool zero);
static int pat_cmd_verify(const struct pat_opts *o);
static int pat_cmd_word(const struct pat_opts *o);

static uint8_t pat_buf[PAT_CHUNK_BYTES];

static int pat_usage(const char *why, const char *arg)
{
	if (why)
		fprintf(stderr, "pattern: %s%s%s\n", why, arg ? ": " : "", arg ? arg : "");
	fprintf(stderr,
		"usage: pattern write  IMG --seed S [--base B] [--start SECTOR] [--count N] "
		"[--size BYTES]\n"
		"       pattern verify IMG --seed S [--base B] [--start SECTOR] [--count N] "
		"[--skip S:N]... [--max-report M]\n"
		"       pattern zero   IMG [--start SECTOR] [--count N] [--size BYTES]\n"
		"       pattern word   --seed S SECTOR WORD\n");
	return PAT_EXIT_USAGE;
}

/*
 * A number as the guest's command line reads it (src/lib/cmdline.c):
 * decimal or 0x-hex, an optional K/M/G/T (1024-based) suffix, no overflow.
 */
static bool pat_parse_u64(const char *s, uint64_t *out)
{
	return s && parse_u64(s, 0, UINT64_MAX, out) == 0;
}

static int pat_parse_args(int argc, char **argv, struct pat_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_report = PAT_DEFAULT_REPORT;
	if (argc < 2)
		return pat_usage(NULL, NULL);
	o->cmd = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true;

		if (!strcmp(a, "--seed")) {
			ok = pat_parse_u64(v, &o->seed);
			o->have_seed = true;
		} else if (!strcmp(a, "--start")) {
			ok = pat_parse_u64(v, &o->start);
			o->have_start = true;
		} else if (!strcmp(a, "--base")) {
			ok = pat_parse_u64(v, &o->base);
		} else if (!strcmp(a, "--count")) {
			ok = pat_parse_u64(v, &o->count);
			o->have_count = true;
		} else if (!strcmp(a, "--size")) {
			ok = pat_parse_u64(v, &o->size);
			o->have_size = true;
		} else if (!strcmp(a, "--max-report")) {
			ok = pat_parse_u64(v, &o->max_report);
		} else if (!strcmp(a, "--skip")) {
			char word[64], *colon;
			struct pat_range *r = &o->skip[o->nskip];

			if (!v || strlen(v) >= sizeof(word) || o->nskip == PAT_SKIP_MAX)
				return pat_usage("bad --skip", v);
			strcpy(word, v);
			colon = strchr(word, ':');
			if (!colon)
				return pat_usage("--skip wants SECTOR:COUNT", v);
			*colon = '\0';
			ok = pat_parse_u64(word, &r->start) && pat_parse_u64(colon + 1, &r->count);
			o->nskip++;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			pat_usage(NULL, NULL);
			exit(PAT_EXIT_OK);
		} else if (a[0] == '-' && a[1] == '-') {
			return pat_usage("unknown option", a);
		} else {
			if (!strcmp(o->cmd, "word")) {
				if (o->npos == 2)
					return pat_usage("too many arguments", a);
				o->pos[o->npos++] = a;
			} else {
				if (o->img)
					return pat_usage("more than one image", a);
				o->img = a;
			}
			continue;
		}
		if (!ok)
			return pat_usage("bad value for", a);
		i++; /* every option takes a value */
	}
	if (!o->have_start)
		o->start = o->base;
	if (o->start < o->base)
		return pat_usage("--start is below --base", NULL);
	return 0;
}

/* Opens the image; *nsectors is its size in whole 512-byte sectors. */
static int pat_open(const struct pat_opts *o, int flags, uint64_t *nsectors)
{
	struct stat st;
	int fd = open(o->img, flags, 0644);

	if (fd < 0) {
		fprintf(stderr, "pattern: %s: %s\n", o->img, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		fprintf(stderr, "pattern: %s: %s\n", o->img, strerror(errno));
		close(fd);
		return -1;
	}
	if (o->have_size && (uint64_t)st.st_size < o->size) {
		if (ftruncate(fd, (off_t)o->size) < 0) {
			fprintf(stderr, "pattern: %s: extend: %s\n", o->img, strerror(errno));
			close(fd);
			return -1;
		}
		st.st_size = (off_t)o->size;
	}
	*nsectors = (uint64_t)st.st_size / PATTERN_SECTOR_BYTES;
	return fd;
}

/* Applies the --count default and refuses ranges past the end of the image. */
static int pat_check_range(const struct pat_opts *o, uint64_t nsectors, uint64_t *count)
{
	if (o->start > nsectors) {
		fprintf(stderr,
			"pattern: --start %" PRIu64 " is past the end (%" PRIu64 " sectors)\n",
			o->start, nsectors);
		return -1;
	}
	*count = o->have_count ? o->count : nsectors - o->start;
	if (*count > nsectors - o->start) {
		fprintf(stderr,
			"pattern: sectors %" PRIu64 "+%" PRIu64 " go past the end (%" PRIu64
			" sectors)\n",
			o->start, *count, nsectors);
		return -1;
	}
	return 0;
}

static bool pat_skipped(const struct pat_opts *o, uint64_t sector)
{
	for (unsigned int i = 0; i < o->nskip; i++)
		if (sector - o->skip[i].start < o->skip[i].count) /* unsigned: below start wraps */
			return true;
	return false;
}

/*
 * The whole of [off, off+len) written from, or read into, buf. A short read
 * (end of file) is an error: the range was checked against the size.
 */
static int pat_io_all(int fd, uint8_t *buf, size_t len, uint64_t off, bool write)
{
	while (len) {
		ssize_t n =
		    write ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pat_cmd_write(const struct pat_opts *o, bool zero)
{
	uint64_t nsectors, count;
	int flags = O_RDWR | (o->have_size ? O_CREAT : 0);

	if (!o->img)
		return pat_usage("no image", NULL);
	if (!zero && !o->have_seed)
		return pat_usage("write needs --seed", NULL);
	if (o->have_size && o->size % PATTERN_SECTOR_BYTES)
		return pat_usage("--size is not a multiple of 512", NULL);
	int fd = pat_open(o, flags, &nsectors);
	if (fd < 0)
		return PAT_EXIT_USAGE;
	if (pat_check_range(o, nsectors, &count) < 0) {
		close(fd);
		return PAT_EXIT_USAGE;
	}
	if (zero)
		memset(pat_buf, 0, sizeof(pat_buf));
	for (uint64_t done = 0; done < count;) {
		uint64_t n = count - done < PAT_CHUNK_SECTORS ? count - done : PAT_CHUNK_SECTORS;
		uint64_t first = o->start + done;

		for (uint64_t k = 0; !zero && k < n; k++)
			pattern_fill_sector(pat_buf + k * PATTERN_SECTOR_BYTES, o->seed,
					    first + k - o->base);
		if (pat_io_all(fd, pat_buf, n * PATTERN_SECTOR_BYTES, first * PATTERN_SECTOR_BYTES,
			       true) < 0) {
			fprintf(stderr, "pattern: %s: write at sector %" PRIu64 ": %s\n", o->img,
				first, strerror(errno));
			close(fd);
			return PAT_EXIT_USAGE;
		}
		done += n;
	}
	if (close(fd) < 0) {
		fprintf(stderr, "pattern: %s: close: %s\n", o->img, strerror(errno));
		return PAT_EXIT_USAGE;
	}
	if (zero)
		printf("ZERO img=%s start=%" PRIu64 " sectors=%" PRIu64 "\n", o->img, o->start,
		       count);
	else
		printf("WRITE img=%s seed=%" PRIu64 " start=%" PRIu64 " sectors=%" PRIu64 "\n",
		       o->img, o->seed, o->start, count);
	return PAT_EXIT_OK;
}

static int pat_cmd_verify(const struct pat_opts *o)
{
	uint64_t nsectors, count, checked = 0, skipped = 0, mismatches = 0;

	if (!o->img)
		return pat_usage("no image", NULL);
	if (!o->have_seed)
		return pat_usage("verify needs --seed", NULL);
	if (o->have_size)
		return pat_usage("verify takes no --size", NULL);
	int fd = pat_open(o, O_RDONLY, &nsectors);
	if (fd < 0)
		return PAT_EXIT_USAGE;
	if (pat_check_range(o, nsectors, &count) < 0) {
		close(fd);
		return PAT_EXIT_USAGE;
	}
	for (uint64_t done = 0; done < count;) {
		uint64_t n = count - done < PAT_CHUNK_SECTORS ? count - done : PAT_CHUNK_SECTORS;
		uint64_t first = o->start + done;

		if (pat_io_all(fd, pat_buf, n * PATTERN_SECTOR_BYTES, first * PATTERN_SECTOR_BYTES,
			       false) < 0) {
			fprintf(stderr, "pattern: %s: read at sector %" PRIu64 ": %s\n", o->img,
				first, errno ? strerror(errno) : "short read");
			close(fd);
			return PAT_EXIT_USAGE;
		}
		for (uint64_t k = 0; k < n; k++) {
			uint64_t s = first + k, got, want;

			if (o->nskip && pat_skipped(o, s)) {
				skipped++;
				continue;
			}
			checked++;
			int w = pattern_check_sector(pat_buf + k * PATTERN_SECTOR_BYTES, o->seed,
						     s - o->base, &got, &want);
			if (w < 0)
				continue;
			if (mismatches < o->max_report)
				printf("MISMATCH sector=%" PRIu64 " word=%d got=0x%016" PRIx64
				       " want=0x%016" PRIx64 "\n",
				       s, w, got, want);
			mismatches++;
		}
		done += n;
	}
	close(fd);
	printf("VERIFY img=%s seed=%" PRIu64 " start=%" PRIu64 " sectors=%" PRIu64
	       " checked=%" PRIu64 " skipped=%" PRIu64 " mismatches=%" PRIu64 "\n",
	       o->img, o->seed, o->start, count, checked, skipped, mismatches);
	return mismatches ? PAT_EXIT_MISMATCH : PAT_EXIT_OK;
}

static int pat_cmd_word(const struct pat_opts *o)
{
	uint64_t sector, word;

	if (!o->have_seed || o->npos != 2 || !pat_parse_u64(o->pos[0], &sector) ||
	    !pat_parse_u64(o->pos[1], &word) || word >= PATTERN_WORDS)
		return pat_usage("word wants --seed S SECTOR WORD (WORD 0..63)", NULL);
	printf("0x%016" PRIx64 "\n", pattern_word(o->seed, sector, (unsigned int)word));
	return PAT_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct pat_opts o;
	int rc = pat_parse_args(argc, argv, &o);

	if (rc)
		return rc;
	if (!strcmp(o.cmd, "write"))
		return pat_cmd_write(&o, false);
	if (!strcmp(o.cmd, "zero"))
		return pat_cmd_write(&o, true);
	if (!strcmp(o.cmd, "verify"))
		return pat_cmd_verify(&o);
	if (!strcmp(o.cmd, "word"))
		return pat_cmd_word(&o);
	if (!strcmp(o.cmd, "-h") || !strcmp(o.cmd, "--help")) {
		pat_usage(NULL, NULL);
		return PAT_EXIT_OK;
	}
	return pat_usage("unknown command", o.cmd);
}
