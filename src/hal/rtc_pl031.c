/*
 * PL031 real-time clock (levblk/hal/rtc.h). Only the data register is read:
 * QEMU sets it from the host's clock when the machine starts and it counts
 * seconds from there; the kernel never sets or enables it (QEMU's clock
 * runs out of reset).
 */
#include <stdbool.h>
#include <stdint.h>
#include <levblk/errno.h>
#include <levblk/hal/dt.h>
#include <levblk/hal/mem.h>
#include <levblk/hal/mmio.h>
#include <levblk/hal/rtc.h>
#include <levblk/init.h>

#define PL031_RTCDR      0x000u /* data register: the current count, seconds */
#define PL031_MAP_BYTES  0x1000u /* the register block, PrimeCell IDs included */

/* The register block, 0 until rtc_init found one. Written once before threads run, then only read. */
static uint64_t pl031_base;

static int rtc_init(void)
{
	const struct fdt *f = dt_fdt();
	uint64_t base, size;
	int node;

	if (f == NULL)
		return 0;
	node = fdt_find_compatible(f, -1, "arm,pl031");
	if (node < 0 || fdt_reg(f, node, 0, &base, &size) != 0)
		return 0; /* no RTC: callers fall back to what they document */
	if (size < PL031_MAP_BYTES || !hal_mmio_window_contains(base, PL031_MAP_BYTES))
		return 0; /* not where the identity map has device memory: never touch it */
	pl031_base = base;
	return 0;
}
INITCALL(INIT_LEVEL_IRQ, rtc_init);

int rtc_seconds(uint64_t *out)
{
	if (pl031_base == 0)
		return -ENODEV;
	*out = mmio_read32(pl031_base + PL031_RTCDR);
	return 0;
}
