/*
 * The kernel command line (/chosen/bootargs): words "key=value" separated by
 * spaces. The parser and the number syntax are levblk/lib/cmdline.h; the
 * kernel keeps one parsed instance, and jobs read their arguments from it.
 */
#ifndef LEVBLK_KERN_CMDLINE_H
#define LEVBLK_KERN_CMDLINE_H

#include <stdint.h>
#include <levblk/lib/cmdline.h>

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
