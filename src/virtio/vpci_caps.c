/*
 * virtio-pci capability parsing and checking (vpci_caps.h). The first
 * capability of each type whose BAR is usable is taken, as the
 * specification asks of a driver (4.1.4: "the driver SHOULD use the first
 * one"); a capability of a type in use that fails a check refuses the device.
 */
#include <stddef.h>
#include <levblk/errno.h>
#include <levblk/lib/fmt.h>
#include "vpci_caps.h"

#define VPCI_CAP_WALK_MAX 48U
#define VPCI_CAP_MIN_OFF  0x40U
#define VPCI_CAP_OFF_MASK 0xfcU
#define VPCI_ISR_MIN_LEN  1U
#define VPCI_NOTIFY_MIN_LEN 2U /* one 16-bit queue index */

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Checks one capability's region against its BAR; fills *r. NULL or why not. */
static const char *vpci_region(const uint8_t *cap, const struct pci_bar bars[PCI_NUM_BARS],
			       uint32_t min_len, struct vpci_region *r)
{
	const struct pci_bar *b;

	r->bar = cap[VPCI_CAP_BAR_OFF];
	r->offset = le32_at(cap + VPCI_CAP_OFFSET_OFF);
	r->length = le32_at(cap + VPCI_CAP_LENGTH_OFF);
	if (r->bar >= PCI_NUM_BARS)
		return "names a BAR that does not exist";
	b = &bars[r->bar];
	if (!b->cpu_addr || b->io)
		return "lies in a BAR that is not an assigned memory BAR";
	if (r->length < min_len)
		return "is shorter than its structure";
	/* Compared without offset + length, which could wrap. */
	if (r->offset > b->size || r->length > b->size - r->offset)
		return "runs past the end of its BAR";
	r->cpu_addr = b->cpu_addr + r->offset;
	return NULL;
}

static bool vpci_overlap(const struct vpci_region *a, const struct vpci_region *b)
{
	return a->bar == b->bar && a->offset < b->offset + (uint64_t)b->length &&
	       b->offset < a->offset + (uint64_t)a->length;
}

int vpci_parse_caps(const uint8_t cfg[VPCI_CFG_SNAPSHOT], unsigned cap_list,
		    const struct pci_bar bars[PCI_NUM_BARS], struct vpci_layout *out,
		    const char **why)
{
	static const char *const names[] = {
	    [VPCI_CAP_COMMON] = "common configuration capability",
	    [VPCI_CAP_NOTIFY] = "notification capability",
	    [VPCI_CAP_ISR] = "ISR capability",
	    [VPCI_CAP_DEVICE] = "device configuration capability",
	};
	static const uint32_t min_len[] = {
	    [VPCI_CAP_COMMON] = VPCI_COMMON_MIN_LEN,
	    [VPCI_CAP_NOTIFY] = VPCI_NOTIFY_MIN_LEN,
	    [VPCI_CAP_ISR] = VPCI_ISR_MIN_LEN,
	    [VPCI_CAP_DEVICE] = 0,
	};
	struct vpci_region *slot[] = {
	    [VPCI_CAP_COMMON] = &out->common,
	    [VPCI_CAP_NOTIFY] = &out->notify,
	    [VPCI_CAP_ISR] = &out->isr,
	    [VPCI_CAP_DEVICE] = &out->device,
	};
	bool seen[VPCI_CAP_DEVICE + 1] = {false};
	unsigned off = cap_list;
	static char reason[96];

	*out = (struct vpci_layout){0};
	*why = NULL;
	for (unsigned n = 0; n < VPCI_CAP_WALK_MAX; n++) {
		const uint8_t *cap;
		unsigned type, len;
		const char *bad;

		off &= VPCI_CAP_OFF_MASK;
		if (off < VPCI_CAP_MIN_OFF)
			break;
		cap = cfg + off;
		if (cap[0] != PCI_CAP_ID_VENDOR) {
			off = cap[1];
			continue;
		}
		len = cap[VPCI_CAP_LEN_OFF];
		type = cap[VPCI_CAP_TYPE_OFF];
		if (type < VPCI_CAP_COMMON || type > VPCI_CAP_DEVICE || seen[type]) {
			off = cap[1];
			continue; /* not one we use, or a later duplicate */
		}
		if (len < (type == VPCI_CAP_NOTIFY ? VPCI_NOTIFY_CAP_LEN : VPCI_CAP_MIN_LEN) ||
		    off + len > VPCI_CFG_SNAPSHOT) {
			*why = "a virtio capability is shorter than its structure";
			return -EINVAL;
		}
		bad = vpci_region(cap, bars, min_len[type], slot[type]);
		if (bad) {
			/* The buffer outlives the call: one probe at a time, at boot. */
			fmt_snprintf(reason, sizeof(reason), "the %s %s", names[type], bad);
			*why = reason;
			return -EINVAL;
		}
		if (type == VPCI_CAP_NOTIFY)
			out->notify_mult = le32_at(cap + VPCI_NOTIFY_MULT_OFF);
		seen[type] = true;
		off = cap[1];
	}
	if (!seen[VPCI_CAP_COMMON]) {
		*why = "no common configuration capability (a legacy-only device)";
		return -ENODEV;
	}
	if (!seen[VPCI_CAP_NOTIFY] || !seen[VPCI_CAP_ISR]) {
		*why = "no notification or no ISR capability";
		return -EINVAL;
	}
	out->has_device = seen[VPCI_CAP_DEVICE];
	for (unsigned a = VPCI_CAP_COMMON; a <= VPCI_CAP_DEVICE; a++) {
		for (unsigned b = a + 1; b <= VPCI_CAP_DEVICE; b++) {
			if (seen[a] && seen[b] && slot[a]->length && slot[b]->length &&
			    vpci_overlap(slot[a], slot[b])) {
				*why = "two virtio capabilities overlap in their BAR";
				return -EINVAL;
			}
		}
	}
	return 0;
}
