/*
 * virtio-pci's vendor capabilities (virtio 1.2 section 4.1.4): where the
 * common configuration, notification area, ISR byte and device-specific
 * configuration live, as (BAR, offset, length). The device is untrusted:
 * vpci_parse_caps checks every capability it uses against its BAR (inside,
 * no wrap), the minimum length of its structure, and the others (no two
 * used regions overlap), and refuses the device with a reason otherwise.
 *
 * Pure: it reads a snapshot of the first 256 bytes of configuration space
 * and the BARs as enumerated, so host tests feed it snapshots.
 */
#ifndef LEVBLK_VIRTIO_VPCI_CAPS_H
#define LEVBLK_VIRTIO_VPCI_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/hal/pci.h>

#define VPCI_CFG_SNAPSHOT 256U

/* cfg_type of struct virtio_pci_cap. */
#define VPCI_CAP_COMMON	 1U
#define VPCI_CAP_NOTIFY	 2U
#define VPCI_CAP_ISR	 3U
#define VPCI_CAP_DEVICE	 4U
#define VPCI_CAP_PCI_CFG 5U

/* struct virtio_pci_cap: id, next, cap_len, cfg_type, bar, id, padding[2], offset, length. */
#define VPCI_CAP_LEN_OFF    2U
#define VPCI_CAP_TYPE_OFF   3U
#define VPCI_CAP_BAR_OFF    4U
#define VPCI_CAP_OFFSET_OFF 8U
#define VPCI_CAP_LENGTH_OFF 12U
#define VPCI_CAP_MIN_LEN    16U
/* struct virtio_pci_notify_cap adds notify_off_multiplier. */
#define VPCI_NOTIFY_MULT_OFF 16U
#define VPCI_NOTIFY_CAP_LEN  20U

/* struct virtio_pci_common_cfg (4.1.4.3). */
#define VPCI_COMMON_DFSELECT	  0x00U
#define VPCI_COMMON_DF		  0x04U
#define VPCI_COMMON_GFSELECT	  0x08U
#define VPCI_COMMON_GF		  0x0cU
#define VPCI_COMMON_MSIX	  0x10U
#define VPCI_COMMON_NUMQ	  0x12U
#define VPCI_COMMON_STATUS	  0x14U
#define VPCI_COMMON_CFGGENERATION 0x15U
#define VPCI_COMMON_Q_SELECT	  0x16U
#define VPCI_COMMON_Q_SIZE	  0x18U
#define VPCI_COMMON_Q_MSIX	  0x1aU
#define VPCI_COMMON_Q_ENABLE	  0x1cU
#define VPCI_COMMON_Q_NOFF	  0x1eU
#define VPCI_COMMON_Q_DESCLO	  0x20U
#define VPCI_COMMON_Q_DESCHI	  0x24U
#define VPCI_COMMON_Q_AVAILLO	  0x28U
#define VPCI_COMMON_Q_AVAILHI	  0x2cU
#define VPCI_COMMON_Q_USEDLO	  0x30U
#define VPCI_COMMON_Q_USEDHI	  0x34U
#define VPCI_COMMON_MIN_LEN	  0x38U /* up to queue_device */
#define VPCI_NO_VECTOR		  0xffffU

/* The ISR byte (4.1.4.5): read clears it. */
#define VPCI_ISR_QUEUE	(1U << 0)
#define VPCI_ISR_CONFIG (1U << 1)

/* PCI ids (4.1.2). */
#define VPCI_VENDOR		 0x1af4U
#define VPCI_DEVICE_TRANSITIONAL 0x1000U /* ..0x103f: legacy-capable, type in subsystem id */
#define VPCI_DEVICE_TRANS_LAST	 0x103fU
#define VPCI_DEVICE_MODERN	 0x1040U /* + virtio device type */
#define VPCI_DEVICE_MODERN_LAST	 0x107fU

struct vpci_region {
	unsigned bar;
	uint32_t offset, length;
	uint64_t cpu_addr; /* BAR address + offset */
};

struct vpci_layout {
	struct vpci_region common, notify, isr, device;
	uint32_t notify_mult;
	bool has_device; /* a device configuration region (optional for some types) */
};

/*
 * Finds the capabilities in the snapshot (cap_list: the offset of the first
 * capability, 0 if none) and checks them. 0, or -ENODEV (no common
 * configuration: a legacy-only device) or -EINVAL, with the reason in *why.
 */
int vpci_parse_caps(const uint8_t cfg[VPCI_CFG_SNAPSHOT], unsigned cap_list,
		    const struct pci_bar bars[PCI_NUM_BARS], struct vpci_layout *out,
		    const char **why);

#endif
