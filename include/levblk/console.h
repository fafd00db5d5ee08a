/*
 * Console output (PL011 on the target, stdout on the host build).
 * kprintf() may be called from any context; output lines from interrupt
 * handlers and threads are not interleaved within one call.
 */
#ifndef LEVBLK_CONSOLE_H
#define LEVBLK_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
void console_putc(char c);
void console_write(const char *s, size_t n);

#endif
