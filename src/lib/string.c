/*
 * memset/memcpy/memmove/memcmp and friends. Clang emits calls to the first
 * four for struct copies and zeroing even in freestanding mode, so the kernel
 * must define them. Kernel only: the host build uses its libc.
 */
#ifndef LEVBLK_HOST
#include <stdint.h>
#include <levblk/lib/string.h>

/* Word-at-a-time when both pointers allow it (memcpy: 64 bytes at a time). */
void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;
	uint64_t w = (unsigned char)c * 0x0101010101010101ull;

	while (n && ((uintptr_t)p & 7)) {
		*p++ = (unsigned char)c;
		n--;
	}
	for (; n >= 8; n -= 8, p += 8)
		*(volatile uint64_t *)p =
		    w; /* volatile: keep clang from turning this back into memset */
	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

/*
 * Copies n / 64 blocks of 64 bytes, four load-pair / store-pair couples
 * each; d and s advance past them. The bounce buffers of the block layer
 * copy whole requests (up to 1 MiB) through memcpy, and under QEMU's TCG
 * every guest instruction costs: this does in 10 what the word loop does in
 * about 48 (asm, so the compiler cannot turn it back into a memcpy call).
 */
static void copy_blocks64(unsigned char **d, const unsigned char **s, size_t blocks)
{
	uint64_t a, b, c, e, f, g, h, k;

	__asm__ volatile(
	    "1:\n\t"
	    "ldp %[a], %[b], [%[s]]\n\t"
	    "ldp %[c], %[e], [%[s], #16]\n\t"
	    "ldp %[f], %[g], [%[s], #32]\n\t"
	    "ldp %[h], %[k], [%[s], #48]\n\t"
	    "add %[s], %[s], #64\n\t"
	    "stp %[a], %[b], [%[d]]\n\t"
	    "stp %[c], %[e], [%[d], #16]\n\t"
	    "stp %[f], %[g], [%[d], #32]\n\t"
	    "stp %[h], %[k], [%[d], #48]\n\t"
	    "add %[d], %[d], #64\n\t"
	    "subs %[n], %[n], #1\n\t"
	    "b.ne 1b"
	    : [d] "+r"(*d), [s] "+r"(*s), [n] "+r"(blocks), [a] "=&r"(a), [b] "=&r"(b),
	      [c] "=&r"(c), [e] "=&r"(e), [f] "=&r"(f), [g] "=&r"(g), [h] "=&r"(h), [k] "=&r"(k)
	    :
	    : "memory", "cc");
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
		if (n >= 64) {
			copy_blocks64(&d, &s, n / 64);
			n %= 64;
		}
		for (; n >= 8; n -= 8, d += 8, s += 8)
			*(volatile uint64_t *)d = *(const uint64_t *)s;
	}
	while (n--)
		*(volatile unsigned char *)d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d == s || n == 0)
		return dst;
	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		*(volatile unsigned char *)(d + n) = s[n];
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x < *y ? -1 : 1;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b || !*a)
			return (unsigned char)*a - (unsigned char)*b;
	}
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;

	for (; n; n--, p++) {
		if (*p == (unsigned char)c)
			return (void *)p;
	}
	return NULL;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}
#endif
