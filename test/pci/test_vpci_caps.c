/*
 * The virtio-pci capability parser (src/virtio/vpci_caps.c) on
 * configuration-space snapshots: QEMU's virtio-blk-pci layout (one 16 KiB
 * 64-bit BAR 4 holding common, ISR, device and notify structures 4 KiB
 * apart, a PCI-config-access capability and MSI-X in the list too), and
 * hostile variants the parser must refuse with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <levblk/errno.h>
#include "virtio/vpci_caps.h"

#define BAR4_ADDR 0x10104000ULL
#define BAR4_SIZE 0x4000ULL

static uint8_t cfg[VPCI_CFG_SNAPSHOT];
static struct pci_bar bars[PCI_NUM_BARS];
static unsigned caps[8]; /* offsets of the capabilities, in list order */

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A virtio vendor capability at off, linked to next. */
static void vcap(unsigned off, unsigned next, unsigned type, unsigned bar, uint32_t offset,
		 uint32_t length, unsigned cap_len)
{
	cfg[off] = PCI_CAP_ID_VENDOR;
	cfg[off + 1] = (uint8_t)next;
	cfg[off + VPCI_CAP_LEN_OFF] = (uint8_t)cap_len;
	cfg[off + VPCI_CAP_TYPE_OFF] = (uint8_t)type;
	cfg[off + VPCI_CAP_BAR_OFF] = (uint8_t)bar;
	put32(cfg + off + VPCI_CAP_OFFSET_OFF, offset);
	put32(cfg + off + VPCI_CAP_LENGTH_OFF, length);
}

/* QEMU 7.2's virtio-blk-pci (modern) as its capability list reads. */
static int setup(void **state)
{
	(void)state;
	memset(cfg, 0, sizeof(cfg));
	memset(bars, 0, sizeof(bars));
	bars[1] = (struct pci_bar){.cpu_addr = 0x10100000, .pci_addr = 0x10100000, .size = 0x1000};
	bars[4] = (struct pci_bar){
	    .cpu_addr = BAR4_ADDR, .pci_addr = BAR4_ADDR, .size = BAR4_SIZE, .is64 = true,
	    .prefetch = true};
	caps[0] = 0x98; /* MSI-X */
	cfg[0x98] = PCI_CAP_ID_MSIX;
	cfg[0x99] = 0x84;
	caps[1] = 0x84;
	vcap(0x84, 0x70, VPCI_CAP_PCI_CFG, 0, 0, 0, 20);
	caps[2] = 0x70;
	vcap(0x70, 0x60, VPCI_CAP_NOTIFY, 4, 0x3000, 0x1000, 20);
	put32(cfg + 0x70 + VPCI_NOTIFY_MULT_OFF, 4);
	caps[3] = 0x60;
	vcap(0x60, 0x50, VPCI_CAP_DEVICE, 4, 0x2000, 0x1000, 16);
	caps[4] = 0x50;
	vcap(0x50, 0x40, VPCI_CAP_ISR, 4, 0x1000, 0x1000, 16);
	caps[5] = 0x40;
	vcap(0x40, 0x00, VPCI_CAP_COMMON, 4, 0x0000, 0x1000, 16);
	return 0;
}

static void test_qemu_layout(void **state)
{
	struct vpci_layout l;
	const char *why;

	(void)state;
	assert_int_equal(vpci_parse_caps(cfg, 0x98, bars, &l, &why), 0);
	assert_null(why);
	assert_int_equal(l.common.cpu_addr, BAR4_ADDR);
	assert_int_equal(l.isr.cpu_addr, BAR4_ADDR + 0x1000);
	assert_int_equal(l.device.cpu_addr, BAR4_ADDR + 0x2000);
	assert_int_equal(l.notify.cpu_addr, BAR4_ADDR + 0x3000);
	assert_int_equal(l.notify.length, 0x1000);
	assert_int_equal(l.notify_mult, 4);
	assert_true(l.has_device);
}

static void expect_refused(int err, const char *reason)
{
	struct vpci_layout l;
	const char *why;

	assert_int_equal(vpci_parse_caps(cfg, 0x98, bars, &l, &why), err);
	assert_non_null(why);
	assert_non_null(strstr(why, reason));
}

static void test_cap_past_bar_end(void **state)
{
	(void)state;
	put32(cfg + 0x60 + VPCI_CAP_OFFSET_OFF, 0x3800); /* device cfg 0x3800 + 0x1000 > 16 KiB */
	expect_refused(-EINVAL, "device configuration capability runs past the end of its BAR");
}

static void test_cap_offset_wraps(void **state)
{
	(void)state;
	put32(cfg + 0x50 + VPCI_CAP_OFFSET_OFF, 0xfffffff0);
	put32(cfg + 0x50 + VPCI_CAP_LENGTH_OFF, 0x20);
	expect_refused(-EINVAL, "ISR capability runs past the end of its BAR");
}

static void test_cap_bad_bar(void **state)
{
	(void)state;
	cfg[0x40 + VPCI_CAP_BAR_OFF] = 6;
	expect_refused(-EINVAL, "common configuration capability names a BAR that does not exist");
	cfg[0x40 + VPCI_CAP_BAR_OFF] = 2; /* not assigned */
	expect_refused(-EINVAL, "not an assigned memory BAR");
}

static void test_caps_overlap(void **state)
{
	(void)state;
	put32(cfg + 0x50 + VPCI_CAP_OFFSET_OFF, 0x0800); /* ISR inside the common structure */
	expect_refused(-EINVAL, "overlap");
}

static void test_common_too_short(void **state)
{
	(void)state;
	put32(cfg + 0x40 + VPCI_CAP_LENGTH_OFF, 0x20);
	expect_refused(-EINVAL, "common configuration capability is shorter than its structure");
}

static void test_notify_cap_too_short(void **state)
{
	(void)state;
	cfg[0x70 + VPCI_CAP_LEN_OFF] = 16; /* no room for notify_off_multiplier */
	expect_refused(-EINVAL, "shorter than its structure");
}

static void test_legacy_only(void **state)
{
	(void)state;
	cfg[0x50 + 1] = 0; /* the list ends before the common capability */
	expect_refused(-ENODEV, "legacy-only");
}

static void test_no_notify(void **state)
{
	(void)state;
	cfg[0x84 + 1] = 0x60; /* skips the notify capability */
	expect_refused(-EINVAL, "no notification");
}

/* A looping list ends; the duplicate of a type already taken is ignored. */
static void test_loop_and_duplicates(void **state)
{
	struct vpci_layout l;
	const char *why;

	(void)state;
	cfg[0x40 + 1] = 0x50; /* common -> ISR again: a loop */
	assert_int_equal(vpci_parse_caps(cfg, 0x98, bars, &l, &why), 0);
	assert_int_equal(l.isr.cpu_addr, BAR4_ADDR + 0x1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_qemu_layout, setup),
	    cmocka_unit_test_setup(test_cap_past_bar_end, setup),
	    cmocka_unit_test_setup(test_cap_offset_wraps, setup),
	    cmocka_unit_test_setup(test_cap_bad_bar, setup),
	    cmocka_unit_test_setup(test_caps_overlap, setup),
	    cmocka_unit_test_setup(test_common_too_short, setup),
	    cmocka_unit_test_setup(test_notify_cap_too_short, setup),
	    cmocka_unit_test_setup(test_legacy_only, setup),
	    cmocka_unit_test_setup(test_no_notify, setup),
	    cmocka_unit_test_setup(test_loop_and_duplicates, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
