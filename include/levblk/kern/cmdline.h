/*
 * The kernel command line (/chosen/bootargs): words "key=value" separated by
 * spaces. See CONTRACT.md. The parser itself (src/lib/cmdline.c) is pure and
 * host-tested; the kernel keeps one parsed instance.
 */
#ifndef LEVBLK_KERN_CMDLINE_H
#define LEVBLK_KERN_CMDLINE_H

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

/* The kernel's parsed command line (valid after boot parsing). */
const struct cmdline *kernel_cmdline(void);
/*
 * Job helpers: read key as a u64 (or a string) with a default. On a bad
 * value arg_u64 prints "cmdline: bad value in KEY=WORD (want MIN..MAX)" and
 * returns -EINVAL.
 */
int arg_u64(const char *key, uint64_t def, uint64_t min, uint64_t max, uint64_t *out);
const char *arg_str(const char *key, const char *def);

#endif
