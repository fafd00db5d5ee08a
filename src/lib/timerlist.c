/* Sorted one-shot timer list: see include/levblk/lib/timerlist.h. */
#include <stddef.h>
#include <levblk/lib/timerlist.h>

bool timerlist_insert(struct ktimer **head, struct ktimer *t)
{
	struct ktimer **pp = head;

	/* Strictly-greater stops the walk, so equal deadlines fire in arming order. */
	while (*pp && (*pp)->deadline_ns <= t->deadline_ns)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	t->pending = true;
	return pp == head;
}

bool timerlist_remove(struct ktimer **head, struct ktimer *t)
{
	for (struct ktimer **pp = head; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			t->next = NULL;
			t->pending = false;
			return true;
		}
	}
	return false;
}

struct ktimer *timerlist_pop_due(struct ktimer **head, uint64_t now_ns)
{
	struct ktimer *t = *head;

	if (!t || t->deadline_ns > now_ns)
		return NULL;
	*head = t->next;
	t->next = NULL;
	t->pending = false;
	return t;
}
