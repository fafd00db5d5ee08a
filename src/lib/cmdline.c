/*
 * Command-line word splitting and number parsing (include/levblk/lib/cmdline.h).
 * Pure code, host-tested in test/lib.
 */
#include <levblk/errno.h>
#include <levblk/lib/cmdline.h>
#include <levblk/lib/string.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int cmdline_parse(struct cmdline *cl, const char *text, const char **bad, const char **word)
{
	size_t len = strlen(text);
	char *p;

	cl->n = 0;
	*bad = NULL;
	*word = NULL;
	if (len >= sizeof(cl->buf)) {
		*bad = "command line too long";
		return -E2BIG;
	}
	memcpy(cl->buf, text, len + 1);
	p = cl->buf;
	for (;;) {
		while (is_space(*p))
			*p++ = '\0';
		if (!*p)
			break;
		char *start = p;
		while (*p && !is_space(*p))
			p++;
		if (*p)
			*p++ = '\0';
		char *eq = strchr(start, '=');
		if (!eq || eq == start) {
			*bad = eq ? "empty key" : "expected key=value";
			*word = start;
			return -EINVAL;
		}
		*eq = '\0';
		if (cmdline_get(cl, start)) {
			*eq = '=';
			*bad = "key given twice";
			*word = start;
			return -EINVAL;
		}
		if (cl->n == CMDLINE_MAX_WORDS) {
			*eq = '=';
			*bad = "too many words";
			*word = start;
			return -E2BIG;
		}
		cl->key[cl->n] = start;
		cl->val[cl->n] = eq + 1;
		cl->n++;
	}
	return 0;
}

const char *cmdline_get(const struct cmdline *cl, const char *key)
{
	for (unsigned int i = 0; i < cl->n; i++) {
		if (strcmp(cl->key[i], key) == 0)
			return cl->val[i];
	}
	return NULL;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0, base = 10, mul = 1;
	const char *digits;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (digits = s; *s; s++) {
		uint64_t d;

		if (*s >= '0' && *s <= '9')
			d = (uint64_t)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (uint64_t)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (uint64_t)(*s - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -EINVAL;
		v = v * base + d;
	}
	if (s == digits)
		return -EINVAL; /* no digit: "", "0x", or a suffix alone ("k") */
	if (*s) {
		switch (*s) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		case 't': case 'T': mul = 1ull << 40; break;
		default: return -EINVAL;
		}
		if (s[1])
			return -EINVAL;
		if (v > UINT64_MAX / mul)
			return -EINVAL;
		v *= mul;
	}
	if (v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}
