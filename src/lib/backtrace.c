/* Frame-pointer stack walking: see include/levblk/lib/backtrace.h for the rules. */
#include <stdbool.h>
#include <levblk/lib/backtrace.h>

#define BT_RECORD_SIZE	(2 * sizeof(uintptr_t)) /* {x29, x30} */
#define BT_RECORD_ALIGN sizeof(uintptr_t)

static bool in_range(const struct bt_range *r, uintptr_t a, uintptr_t len)
{
	return a >= r->lo && a < r->hi && len <= r->hi - a;
}

enum bt_stop bt_walk(uintptr_t fp, const struct bt_limits *lim,
		     void (*fn)(void *ctx, unsigned int n, uintptr_t ret), void *ctx,
		     uintptr_t *bad)
{
	uintptr_t prev = 0;

	for (unsigned int n = 0;; n++) {
		if (fp == 0)
			return BT_END;
		if (n == lim->max_frames)
			return BT_MAX_FRAMES;
		if (bad)
			*bad = fp;
		if ((fp & (BT_RECORD_ALIGN - 1)) != 0 || !in_range(&lim->stack, fp, BT_RECORD_SIZE))
			return BT_BAD_FP;
		/* The stack grows down, so each caller's record sits strictly higher. */
		if (n > 0 && fp <= prev)
			return BT_NOT_UP;
		/* Read only now that the record is known to lie inside the stack range. */
		const uintptr_t *rec = (const uintptr_t *)fp;
		uintptr_t next = rec[0], ret = rec[1];

		if (!in_range(&lim->text, ret, 1)) {
			if (bad)
				*bad = ret;
			return BT_BAD_RET;
		}
		fn(ctx, n, ret);
		prev = fp;
		fp = next;
	}
}

const char *bt_stop_reason(enum bt_stop why)
{
	switch (why) {
	case BT_END:
		return "end of chain";
	case BT_BAD_FP:
		return "frame pointer outside the stack";
	case BT_NOT_UP:
		return "frame chain does not go up the stack";
	case BT_BAD_RET:
		return "return address outside kernel text";
	case BT_MAX_FRAMES:
		return "frame limit reached";
	}
	return "?";
}
