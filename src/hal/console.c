/*
 * kprintf: formats into a line buffer on the caller's stack, then writes it
 * to the UART under console_lock (IRQs masked), so neither an interrupt
 * handler's output nor another CPU's can land in the middle of a line.
 * Callable from any context. Once a panic has started the lock is no longer
 * taken: the panicking CPU may be the one holding it.
 */
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/spinlock.h>
#include <levblk/lib/fmt.h>
#include "trap.h"

#define CONSOLE_LINE_MAX 256

struct linebuf {
	char buf[CONSOLE_LINE_MAX];
	size_t n;
};

static void flush_line(struct linebuf *lb)
{
	console_write(lb->buf, lb->n);
	lb->n = 0;
}

static void line_out(void *ctx, char c)
{
	struct linebuf *lb = ctx;

	lb->buf[lb->n++] = c;
	if (lb->n == sizeof(lb->buf))
		flush_line(lb);
}

static spinlock_t console_lock = SPINLOCK_INIT("console");

void console_write(const char *s, size_t n)
{
	bool locked = !hal_panicking();
	irqflags_t f = locked ? spin_lock_irqsave(&console_lock) : irq_save();

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			console_putc('\r');
		console_putc(s[i]);
	}
	if (locked)
		spin_unlock_irqrestore(&console_lock, f);
	else
		irq_restore(f);
}

int kvprintf(const char *fmt, va_list ap)
{
	struct linebuf lb;

	lb.n = 0;
	int n = fmt_vformat(line_out, &lb, fmt, ap);
	flush_line(&lb);
	return n;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = kvprintf(fmt, ap);
	va_end(ap);
	return n;
}
