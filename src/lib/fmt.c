/*
 * printf-style formatter (see include/levblk/lib/fmt.h). No allocation, no
 * floating point (the kernel is built -mgeneral-regs-only), bounded stack.
 */
#include <stdbool.h>
#include <stdint.h>
#include <levblk/lib/fmt.h>

struct spec {
	bool left, zero, plus, space, alt;
	int width;
	int prec; /* -1: none */
	int len;  /* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t */
};

struct sink {
	fmt_out_fn out;
	void *ctx;
	int count;
};

static void put(struct sink *s, char c)
{
	s->out(s->ctx, c);
	s->count++;
}

static void pad(struct sink *s, char c, int n)
{
	while (n-- > 0)
		put(s, c);
}

static void emit_str(struct sink *s, const struct spec *sp, const char *str)
{
	int n = 0;

	if (!str)
		str = "(null)";
	while (str[n] && (sp->prec < 0 || n < sp->prec))
		n++;
	if (!sp->left)
		pad(s, ' ', sp->width - n);
	for (int i = 0; i < n; i++)
		put(s, str[i]);
	if (sp->left)
		pad(s, ' ', sp->width - n);
}

/* Formats an unsigned magnitude with optional sign/prefix, honouring width and precision. */
static void emit_num(struct sink *s, const struct spec *sp, uint64_t v, unsigned base, bool upper,
		     char sign, const char *prefix)
{
	char digits[24];
	int nd = 0;
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	while (v) {
		digits[nd++] = set[v % base];
		v /= base;
	}
	if (nd == 0 && sp->prec != 0)
		digits[nd++] = '0';
	int zeros = sp->prec > nd ? sp->prec - nd : 0;
	int plen = 0;
	while (prefix && prefix[plen])
		plen++;
	int body = nd + zeros + plen + (sign ? 1 : 0);
	int fill = sp->width > body ? sp->width - body : 0;

	if (!sp->left && !(sp->zero && sp->prec < 0))
		pad(s, ' ', fill);
	if (sign)
		put(s, sign);
	for (int i = 0; i < plen; i++)
		put(s, prefix[i]);
	if (!sp->left && sp->zero && sp->prec < 0)
		pad(s, '0', fill);
	pad(s, '0', zeros);
	while (nd)
		put(s, digits[--nd]);
	if (sp->left)
		pad(s, ' ', fill);
}

static uint64_t arg_unsigned(va_list *ap, int len)
{
	switch (len) {
	case -2:
		return (unsigned char)va_arg(*ap, unsigned int);
	case -1:
		return (unsigned short)va_arg(*ap, unsigned int);
	case 1:
		return va_arg(*ap, unsigned long);
	case 2:
		return va_arg(*ap, unsigned long long);
	case 3:
		return va_arg(*ap, size_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static int64_t arg_signed(va_list *ap, int len)
{
	switch (len) {
	case -2:
		return (signed char)va_arg(*ap, int);
	case -1:
		return (short)va_arg(*ap, int);
	case 1:
		return va_arg(*ap, long);
	case 2:
		return va_arg(*ap, long long);
	case 3:
		return (int64_t)va_arg(*ap, size_t);
	default:
		return va_arg(*ap, int);
	}
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){.prec = -1};
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else if (*f == '+')
			sp->plus = true;
		else if (*f == ' ')
			sp->space = true;
		else if (*f == '#')
			sp->alt = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->left = true;
			sp->width = -sp->width;
		}
		f++;
	} else {
		while (*f >= '0' && *f <= '9')
			sp->width = sp->width * 10 + (*f++ - '0');
	}
	if (*f == '.') {
		f++;
		sp->prec = 0;
		if (*f == '*') {
			sp->prec = va_arg(*ap, int);
			if (sp->prec < 0)
				sp->prec = -1;
			f++;
		} else {
			while (*f >= '0' && *f <= '9')
				sp->prec = sp->prec * 10 + (*f++ - '0');
		}
	}
	if (*f == 'h') {
		sp->len = -1;
		if (*++f == 'h') {
			sp->len = -2;
			f++;
		}
	} else if (*f == 'l') {
		sp->len = 1;
		if (*++f == 'l') {
			sp->len = 2;
			f++;
		}
	} else if (*f == 'z') {
		sp->len = 3;
		f++;
	}
	return f;
}

int fmt_vformat(fmt_out_fn out, void *ctx, const char *fmt, va_list ap_in)
{
	struct sink s = {.out = out, .ctx = ctx};
	struct spec sp;
	va_list ap;

	va_copy(ap, ap_in);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&s, *f);
			continue;
		}
		f = parse_spec(f + 1, &sp, &ap);
		switch (*f) {
		case 'd':
		case 'i': {
			int64_t v = arg_signed(&ap, sp.len);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			char sign = v < 0 ? '-' : sp.plus ? '+' : sp.space ? ' ' : 0;
			emit_num(&s, &sp, mag, 10, false, sign, NULL);
			break;
		}
		case 'u':
			emit_num(&s, &sp, arg_unsigned(&ap, sp.len), 10, false, 0, NULL);
			break;
		case 'x':
		case 'X': {
			uint64_t v = arg_unsigned(&ap, sp.len);
			const char *pre = sp.alt && v ? (*f == 'x' ? "0x" : "0X") : NULL;
			emit_num(&s, &sp, v, 16, *f == 'X', 0, pre);
			break;
		}
		case 'o':
			emit_num(&s, &sp, arg_unsigned(&ap, sp.len), 8, false, 0, sp.alt ? "0" : NULL);
			break;
		case 'p':
			emit_num(&s, &sp, (uintptr_t)va_arg(ap, void *), 16, false, 0, "0x");
			break;
		case 'c': {
			char c[2] = {(char)va_arg(ap, int), 0};
			if (!sp.left)
				pad(&s, ' ', sp.width - 1);
			put(&s, c[0]);
			if (sp.left)
				pad(&s, ' ', sp.width - 1);
			break;
		}
		case 's':
			emit_str(&s, &sp, va_arg(ap, const char *));
			break;
		case '%':
			put(&s, '%');
			break;
		case '\0':
			f--; /* a lone '%' at the end: stop */
			break;
		default: /* unknown conversion: print it as written */
			put(&s, '%');
			put(&s, *f);
			break;
		}
	}
	va_end(ap);
	return s.count;
}

struct bufctx {
	char *buf;
	size_t n, pos;
};

static void buf_out(void *ctx, char c)
{
	struct bufctx *b = ctx;

	if (b->pos + 1 < b->n)
		b->buf[b->pos] = c;
	b->pos++;
}

int fmt_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct bufctx b = {.buf = buf, .n = n};
	int len = fmt_vformat(buf_out, &b, fmt, ap);

	if (n)
		buf[b.pos < n ? b.pos : n - 1] = '\0';
	return len;
}

int fmt_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int len = fmt_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return len;
}
