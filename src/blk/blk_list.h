/*
 * A circular doubly linked list with an embedded node, for the request
 * queue's lists. A node that is on no list points at itself, so
 * blk_list_unlinked() tells whether it is queued anywhere.
 */
#ifndef LEVBLK_BLK_LIST_H
#define LEVBLK_BLK_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct blk_list {
	struct blk_list *next, *prev;
};

#define blk_list_entry(node, type, member) ((type *)((char *)(node)-offsetof(type, member)))

static inline void blk_list_init(struct blk_list *l)
{
	l->next = l;
	l->prev = l;
}

static inline bool blk_list_empty(const struct blk_list *l)
{
	return l->next == l;
}

static inline bool blk_list_unlinked(const struct blk_list *n)
{
	return n->next == n;
}

/* Inserts n just before `at` (at the tail when `at` is the head). */
static inline void blk_list_insert_before(struct blk_list *at, struct blk_list *n)
{
	n->prev = at->prev;
	n->next = at;
	at->prev->next = n;
	at->prev = n;
}

static inline void blk_list_add_tail(struct blk_list *head, struct blk_list *n)
{
	blk_list_insert_before(head, n);
}

static inline void blk_list_add_head(struct blk_list *head, struct blk_list *n)
{
	blk_list_insert_before(head->next, n);
}

static inline void blk_list_del(struct blk_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	blk_list_init(n);
}

#define blk_list_for_each(pos, head)                                                               \
	for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

#endif
