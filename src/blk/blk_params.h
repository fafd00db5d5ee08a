/*
 * The block layer's settings from the command line (docs/interface.md,
 * Layer settings), private to src/blk: set while the command line is read at
 * boot, read at submission and dispatch time. Host tests set them directly.
 * The bounce buffers' settings are in blk_bounce.h, the driver's own in
 * virtio_blk.h.
 */
#ifndef LEVBLK_BLK_PARAMS_H
#define LEVBLK_BLK_PARAMS_H

#include <stdint.h>

/* blk.merge: 0 turns merging off. */
extern uint64_t blk_param_merge;
/* blk.retries: extra attempts after an error. */
extern uint64_t blk_param_retries;
/* blk.timeout_ms: a request's deadline. */
extern uint64_t blk_param_timeout_ms;
/* blk.percpu: 1 stages submissions per CPU when several CPUs run (blk_core.c, "Submission"). */
extern uint64_t blk_param_percpu;
/* blk.trace: 1 records events in the trace ring (read at every event site, blk_trace.h). */
extern uint64_t blk_param_trace;

#endif
