/*
 * Frame-pointer stack walking (AAPCS64 frame records): x29 points at a pair
 * {caller's x29, return address}, and the chain ends with a zero x29
 * (start.S clears x29 before calling C). The kernel is built with
 * -fno-omit-frame-pointer, so every C function has a record.
 *
 * The walk is for panics, where the stack may be the very thing that is
 * broken, so nothing it reads is trusted: a record is read only when it lies
 * inside the caller-given stack range, each record must be higher up the
 * stack than the last (so a loop is impossible), every return address must
 * point into kernel text, and the number of frames is bounded. Pure logic,
 * host-tested (test/mem/test_backtrace.c).
 */
#ifndef LEVBLK_LIB_BACKTRACE_H
#define LEVBLK_LIB_BACKTRACE_H

#include <stdint.h>

struct bt_range {
	uintptr_t lo, hi; /* [lo, hi) */
};

struct bt_limits {
	struct bt_range stack; /* where frame records may be read */
	struct bt_range text;  /* where return addresses may point */
	unsigned int max_frames;
};

enum bt_stop {
	BT_END,	       /* a zero frame pointer: the outermost frame */
	BT_BAD_FP,     /* a frame pointer outside the stack range or misaligned */
	BT_NOT_UP,     /* a record not above the previous one (corrupt or looping chain) */
	BT_BAD_RET,    /* a return address outside kernel text */
	BT_MAX_FRAMES, /* max_frames reported, chain not finished */
};

/*
 * Walks from frame pointer fp, calling fn(ctx, n, ret) with n = 0, 1, ...
 * for each return address found. Returns why it stopped; *bad (if not NULL)
 * gets the offending frame pointer or return address.
 */
enum bt_stop bt_walk(uintptr_t fp, const struct bt_limits *lim,
		     void (*fn)(void *ctx, unsigned int n, uintptr_t ret), void *ctx,
		     uintptr_t *bad);
const char *bt_stop_reason(enum bt_stop why);

#endif
