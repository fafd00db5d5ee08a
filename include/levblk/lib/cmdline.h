/*
 * Command-line words "key=value" separated by spaces: the parser and the
 * number syntax. Pure and host-tested; the kernel's own parsed command line
 * and the jobs' typed access to it are in levblk/kern/cmdline.h.
 */
#ifndef LEVBLK_LIB_CMDLINE_H
#define LEVBLK_LIB_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMDLINE_MAX_WORDS 32
#define CMDLINE_MAX_LEN   1024

struct cmdline {
	char buf[CMDLINE_MAX_LEN];
	unsigned int n;
	const char *key[CMDLINE_MAX_WORDS];
	const char *val[CMDLINE_MAX_WORDS];
};

/*
 * Splits `text` into words. Returns 0, or -EINVAL with *bad pointing at a
 * static description and *word at the offending word (a word without '=', an
 * empty key, a key given twice), or -E2BIG when there are too many words or
 * characters.
 */
int cmdline_parse(struct cmdline *cl, const char *text, const char **bad, const char **word);
/* The value of `key`, or NULL when it was not given. */
const char *cmdline_get(const struct cmdline *cl, const char *key);
/*
 * Parses an unsigned integer: decimal, or hex with 0x; an optional K/M/G/T
 * suffix multiplies by 1024^n. Returns 0 or -EINVAL (not a number, trailing
 * junk, overflow, outside [min, max]).
 */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
