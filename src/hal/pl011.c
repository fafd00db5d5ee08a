/*
 * PL011 UART, transmit only, polled. QEMU's UART needs no baud or line setup
 * (docs/qemu-virt.md, "Memory map"); the base address is the virt machine's
 * fixed one, which is also /chosen/stdout-path.
 *
 * The UART is used before the MMU is on and after, always through the device
 * mapping of the same address (the MMU identity-maps the MMIO region).
 */
#include <stdint.h>
#include <levblk/console.h>
#include <levblk/hal/mmio.h>

#define PL011_BASE     0x09000000ul
#define PL011_DR       0x00
#define PL011_FR       0x18
#define PL011_FR_TXFF  (1u << 5)
#define PL011_SPIN_MAX 1000000 /* bound on waiting for FIFO space; then drop the byte */

void console_putc(char c)
{
	for (int i = 0; i < PL011_SPIN_MAX; i++) {
		if (!(mmio_read32_relaxed(PL011_BASE + PL011_FR) & PL011_FR_TXFF))
			break;
	}
	mmio_write32_relaxed(PL011_BASE + PL011_DR, (uint8_t)c);
}
