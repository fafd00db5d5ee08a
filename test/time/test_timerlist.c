/* The sorted one-shot timer list: order, ties, removal, popping due timers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <levblk/lib/prng.h>
#include <levblk/lib/timerlist.h>

#define N 200

static struct ktimer *mk(struct ktimer *t, uint64_t dl)
{
	t->deadline_ns = dl;
	t->next = NULL;
	t->pending = false;
	return t;
}

static void test_order_and_ties(void **state)
{
	(void)state;
	struct ktimer a, b, c, d, *head = NULL;

	assert_true(timerlist_insert(&head, mk(&a, 50)));
	assert_false(timerlist_insert(&head, mk(&b, 70)));
	assert_true(timerlist_insert(&head, mk(&c, 10)));
	assert_false(timerlist_insert(&head, mk(&d, 50))); /* tie with a: after it */
	assert_true(a.pending && b.pending && c.pending && d.pending);
	assert_ptr_equal(head, &c);
	assert_ptr_equal(c.next, &a);
	assert_ptr_equal(a.next, &d);
	assert_ptr_equal(d.next, &b);
	assert_null(b.next);

	assert_null(timerlist_pop_due(&head, 9));
	assert_ptr_equal(timerlist_pop_due(&head, 10), &c);
	assert_false(c.pending);
	assert_true(timerlist_remove(&head, &d));  /* middle */
	assert_false(timerlist_remove(&head, &d)); /* not there any more */
	assert_false(d.pending);
	assert_ptr_equal(timerlist_pop_due(&head, 1000), &a);
	assert_true(timerlist_remove(&head, &b)); /* last one */
	assert_null(head);
	assert_null(timerlist_pop_due(&head, UINT64_MAX));
}

static void test_random_against_sort(void **state)
{
	(void)state;
	static struct ktimer t[N];
	struct ktimer *head = NULL;
	unsigned int seq[N], n = 0;
	struct prng r;

	prng_seed(&r, 7);
	for (unsigned int i = 0; i < N; i++)
		timerlist_insert(&head, mk(&t[i], prng_below(&r, 50)));
	/* Remove every third one (deadlines are random, so from all over the list). */
	for (unsigned int i = 0; i < N; i += 3)
		assert_true(timerlist_remove(&head, &t[i]));
	/* Pop everything in steps of time: non-decreasing deadlines, ties in insertion order. */
	for (uint64_t now = 0; now < 50; now++) {
		struct ktimer *x;
		while ((x = timerlist_pop_due(&head, now)) != NULL) {
			assert_true(x->deadline_ns <= now);
			seq[n++] = (unsigned int)(x - t);
		}
		if (head)
			assert_true(head->deadline_ns > now);
	}
	assert_null(head);
	assert_int_equal(n, N - (N + 2) / 3);
	for (unsigned int i = 1; i < n; i++) {
		uint64_t p = t[seq[i - 1]].deadline_ns, q = t[seq[i]].deadline_ns;
		assert_true(p < q || (p == q && seq[i - 1] < seq[i]));
		assert_true(seq[i] % 3 != 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_and_ties),
	    cmocka_unit_test(test_random_against_sort),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
