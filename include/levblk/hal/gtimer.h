/*
 * The ARM generic timer's EL1 virtual counter and timer (Arm ARM D11).
 * For the clock (src/hal/clock.c) and the kernel's one-shot timers
 * (src/kern/timer.c) only; other code uses levblk/hal/clock.h. The virtual
 * timer is used because it is always accessible at EL1 (CNTVOFF_EL2 is 0 when
 * we drop from EL2, see start.S), and its PPI is level-sensitive: the line
 * stays high while CVAL <= CNTVCT and the timer is enabled and unmasked.
 */
#ifndef LEVBLK_HAL_GTIMER_H
#define LEVBLK_HAL_GTIMER_H

#include <stdint.h>

#define CNTV_CTL_ENABLE	 (1u << 0)
#define CNTV_CTL_IMASK	 (1u << 1)
#define CNTV_CTL_ISTATUS (1u << 2)

/* CNTFRQ_EL0 as cached by clock.c (panics if the firmware left it 0). */
uint64_t clock_freq_hz(void);

static inline uint64_t gtimer_freq(void)
{
	uint64_t v;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
	return v;
}

static inline uint64_t gtimer_count(void)
{
	uint64_t v;
	/* The isb keeps the counter read from being hoisted above earlier instructions. */
	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
}

/* Fires (level high) once CNTVCT >= cval. */
static inline void gtimer_arm(uint64_t cval)
{
	__asm__ volatile("msr cntv_cval_el0, %0\n\t"
			 "msr cntv_ctl_el0, %1\n\t"
			 "isb"
			 :
			 : "r"(cval), "r"((uint64_t)CNTV_CTL_ENABLE)
			 : "memory");
}

/* Disabled: the line drops. */
static inline void gtimer_disarm(void)
{
	__asm__ volatile("msr cntv_ctl_el0, xzr\n\tisb" ::: "memory");
}

#endif
