/*
 * kprintf: formats into a line buffer on the caller's stack, then writes it
 * to the UART with IRQs masked so an interrupt handler's output cannot land
 * in the middle of a thread's line. Callable from any context.
 */
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/lib/fmt.h>

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

void console_write(const char *s, size_t n)
{
	irqflags_t f = irq_save();

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			console_putc('\r');
		console_putc(s[i]);
	}
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
