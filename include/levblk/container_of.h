/*
 * container_of(ptr, type, member): the structure that holds *ptr as its
 * member `member`. The usual way from a struct bio (or a list link, a
 * timer) embedded in a caller's structure back to that structure, e.g. in
 * an end_io:
 *
 *   struct my_read { struct bio bio; int done; };
 *   static void my_end_io(struct bio *b)
 *   {
 *           struct my_read *r = container_of(b, struct my_read, bio);
 *           ...
 *   }
 *
 * ptr's type must match the member's (checked at compile time).
 */
#ifndef LEVBLK_CONTAINER_OF_H
#define LEVBLK_CONTAINER_OF_H

#include <stddef.h>

#define container_of(ptr, type, member)                                                            \
	({                                                                                         \
		const __typeof__(((type *)0)->member) *container_of_p_ = (ptr);                    \
		(type *)(void *)((char *)container_of_p_ - offsetof(type, member));                \
	})

#endif
