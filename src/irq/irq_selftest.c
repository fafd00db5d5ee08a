/*
 * Selftests of interrupt delivery on whichever GIC booted: the timer PPI
 * keeps arriving, a software-generated interrupt (SGI) and a software-pended
 * SPI reach their registered handlers, registration rejects bad INTIDs, and
 * nested IRQ masking unmasks only at the outermost restore.
 */
#include <levblk/errno.h>
#include <levblk/hal/clock.h>
#include <levblk/console.h>
#include <levblk/hal/cpu.h>
#include <levblk/hal/dt.h>
#include <levblk/irq/irq.h>
#include <levblk/init.h>
#include "gic.h"

#define TEST_SGI	   7u
#define WAIT_LIMIT_NS	   (100ull * NSEC_PER_MSEC)
#define TICK_WAIT_LIMIT_NS (1000ull * NSEC_PER_MSEC)

static volatile unsigned int test_hits;
static volatile uint32_t test_last_arg;

static void test_handler(void *arg)
{
	test_last_arg = (uint32_t)(uintptr_t)arg;
	test_hits++;
}

/* Waits (IRQs on) until test_hits reaches want or the limit passes. */
static bool wait_hits(unsigned int want)
{
	uint64_t end = clock_ns() + WAIT_LIMIT_NS;

	while (test_hits < want && clock_ns() < end)
		cpu_relax();
	return test_hits >= want;
}

/*
 * Lets `ns` pass with IRQs on, spinning: this layer sits below the
 * scheduler, so it does not sleep.
 */
static void spin_ns(uint64_t ns)
{
	uint64_t end = clock_ns() + ns;

	while (clock_ns() < end)
		cpu_relax();
}

static bool st_irq_timer_ticks(void)
{
	uint32_t intid = dt_info()->timer_intid_virt;
	uint64_t before = irq_count(intid), end = clock_ns() + TICK_WAIT_LIMIT_NS;

	/*
	 * The scheduler's tick (every 10 ms) keeps the timer PPI coming. Waits
	 * for the next one rather than a fixed time: a loaded host can hold
	 * QEMU's timer back well past a tick while the clock runs on.
	 */
	while (irq_count(intid) == before && clock_ns() < end)
		cpu_relax();
	uint64_t after = irq_count(intid);
	if (irq_gic_version() != dt_info()->gic.version) {
		kprintf("# GIC version %d, device tree says %d\n", irq_gic_version(),
			dt_info()->gic.version);
		return false;
	}
	if (after <= before) {
		kprintf("# timer INTID %u count stayed at %lu\n", intid, (unsigned long)before);
		return false;
	}
	return true;
}
SELFTEST("irq.timer_ticks", st_irq_timer_ticks);

/* Raises intid by software `times` times and checks each delivery. */
static bool raise_and_check(uint32_t intid, unsigned int times)
{
	uint64_t before = irq_count(intid), t0;
	bool ok = true;

	test_hits = 0;
	if (irq_register(intid, test_handler, (void *)(uintptr_t)intid) < 0) {
		kprintf("# irq_register(%u) failed\n", intid);
		return false;
	}
	t0 = clock_ns();
	for (unsigned int i = 1; i <= times && ok; i++) {
		irq_raise(intid);
		ok = wait_hits(i);
	}
	kprintf("# INTID %u: raise to handler return %lu ns on average\n", intid,
		(unsigned long)((clock_ns() - t0) / times));
	if (!ok || test_last_arg != intid || irq_count(intid) != before + times) {
		kprintf("# INTID %u: %u/%u handler calls, arg %u, count +%lu\n", intid, test_hits,
			times, test_last_arg, (unsigned long)(irq_count(intid) - before));
		ok = false;
	}
	irq_unregister(intid);
	return ok;
}

static bool st_irq_sgi(void)
{
	return raise_and_check(TEST_SGI, 100);
}
SELFTEST("irq.sgi", st_irq_sgi);

/*
 * irq_save/irq_restore nest: an inner pair opened while masked (which writes
 * nothing to DAIF, levblk/hal/cpu.h) leaves IRQs masked, and only the outer
 * restore unmasks; an SGI raised meanwhile waits for it.
 */
static bool st_irq_mask_nesting(void)
{
	bool ok = true;

	if (irqs_disabled()) {
		kprintf("# selftests run with IRQs masked\n");
		return false;
	}
	test_hits = 0;
	if (irq_register(TEST_SGI, test_handler, NULL) < 0)
		return false;
	irqflags_t outer = irq_save();
	irqflags_t inner = irq_save();
	irq_raise(TEST_SGI);
	irq_restore(inner);
	uint64_t end = clock_ns() + NSEC_PER_MSEC;
	while (clock_ns() < end)
		cpu_relax();
	if (!irqs_disabled() || test_hits != 0) {
		kprintf("# inner restore: masked %d, hits %u (want 1, 0)\n", irqs_disabled(),
			test_hits);
		ok = false;
	}
	irq_restore(outer);
	if (irqs_disabled() || !wait_hits(1)) {
		kprintf("# outer restore: masked %d, hits %u (want 0, 1)\n", irqs_disabled(),
			test_hits);
		ok = false;
	}
	irq_unregister(TEST_SGI);
	return ok;
}
SELFTEST("irq.mask_nesting", st_irq_mask_nesting);

static bool st_irq_spi_pended(void)
{
	/* The last SPI the distributor implements: no virt device is wired to it. */
	uint32_t intid = irq_nr_intids() - 1;
	bool ok = raise_and_check(intid, 100);

	/* Unregistered: a raise must no longer reach the handler (disabled at the GIC). */
	unsigned int hits = test_hits;
	irq_raise(intid);
	spin_ns(NSEC_PER_MSEC);
	if (test_hits != hits) {
		kprintf("# INTID %u delivered after irq_unregister\n", intid);
		ok = false;
	}
	return ok;
}
SELFTEST("irq.spi_pended", st_irq_spi_pended);

static bool st_irq_register_errors(void)
{
	uint32_t timer = dt_info()->timer_intid_virt;
	bool ok = true;

	if (irq_register(irq_nr_intids(), test_handler, NULL) != -EINVAL)
		ok = false;
	if (irq_register(GIC_INTID_SPURIOUS, test_handler, NULL) != -EINVAL)
		ok = false;
	if (irq_register(timer, test_handler, NULL) != -EBUSY)
		ok = false;
	if (!ok)
		kprintf("# bad INTIDs or a taken INTID were accepted\n");
	kprintf("# GICv%d, %u INTIDs, %lu spurious so far\n", irq_gic_version(), irq_nr_intids(),
		(unsigned long)irq_spurious_count());
	return ok;
}
SELFTEST("irq.register_errors", st_irq_register_errors);
