/*
 * printf-style formatting, freestanding and allocation-free.
 * Conversions: %d %i %u %x %X %o %c %s %p %%, length modifiers hh h l ll z,
 * flags '-' '0' '+' ' ', field width and precision (also '*').
 * Pure code: used by the kernel console and unit-tested on the host.
 */
#ifndef LEVBLK_LIB_FMT_H
#define LEVBLK_LIB_FMT_H

#include <stdarg.h>
#include <stddef.h>

typedef void (*fmt_out_fn)(void *ctx, char c);

/* Emits the formatted text through out(); returns the number of characters. */
int fmt_vformat(fmt_out_fn out, void *ctx, const char *fmt, va_list ap);
/* Like vsnprintf: always NUL-terminates when n > 0; returns the untruncated length. */
int fmt_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
