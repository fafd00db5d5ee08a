/* The few string functions the freestanding kernel provides (src/lib/string.c). */
#ifndef LEVBLK_LIB_STRING_H
#define LEVBLK_LIB_STRING_H

#include <stddef.h>

#ifdef LEVBLK_HOST
#include <string.h>
#else
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
void *memchr(const void *s, int c, size_t n);
#endif

#endif
