/*
 * The interface between the generic dispatch (irq.c) and the two GIC
 * drivers (gicv2.c, gicv3.c). Private to src/irq. Exactly one driver is
 * active, chosen from the device tree by irq.c.
 *
 * INTID ranges (both versions): 0..15 SGI, 16..31 PPI (banked per CPU),
 * 32..1019 SPI, 1020..1023 special (1023: nothing pending = spurious).
 */
#ifndef LEVBLK_IRQ_GIC_H
#define LEVBLK_IRQ_GIC_H

#include <stdbool.h>
#include <stdint.h>
#include <levblk/hal/dt.h>

#define GIC_SGI_COUNT	   16u
#define GIC_FIRST_SPI	   32u
#define GIC_INTID_LIMIT	   1020u /* INTIDs >= this are special */
#define GIC_INTID_SPURIOUS 1023u
#define GIC_LPI_BASE	   8192u /* GICv3 LPIs (message-signalled through the ITS) */
#define IRQ_MAX_LPIS	   64u	 /* LPIs the kernel hands out (gicv3_its.c) */

/* The distributor banks: bit/byte/two-bit fields per INTID, packed in 32-bit words. */
#define GIC_BANK_WORD(intid, bits)  (((intid) * (bits) / 32u) * 4u)
#define GIC_BANK_SHIFT(intid, bits) (((intid) * (bits)) % 32u)

/*
 * Per-CPU parts (SGIs, PPIs, the CPU interface, GICv3's redistributor) act
 * on the calling CPU (cpu_id()) unless a `cpu` is named; the caller keeps
 * the thread on its CPU (IRQs masked) while it uses them.
 */
struct gic_ops {
	int version;
	/* Boot CPU: resets and enables the distributor and its own interface; 0 or -Exxx. */
	int (*init)(const struct dt_gic *g);
	/* Every other CPU, once, IRQs masked: its CPU interface (and redistributor); 0 or -Exxx. */
	int (*cpu_init)(void);
	/* INTIDs the distributor implements (32 * (ITLinesNumber + 1), capped at 1020). */
	uint32_t (*nr_intids)(void);
	/* Reads the acknowledge register: returns the raw value to give eoi(). */
	uint32_t (*ack)(void);
	uint32_t (*ack_intid)(uint32_t raw);
	void (*eoi)(uint32_t raw);
	/* Level-sensitive, Group 1 (v3) / IRQ, routed to this CPU. Leaves it disabled. */
	void (*configure)(uint32_t intid);
	/* An SPI becomes edge-triggered (message-signalled interrupts). Leaves it disabled. */
	void (*set_edge)(uint32_t intid);
	void (*enable)(uint32_t intid);
	void (*disable)(uint32_t intid);
	void (*set_priority)(uint32_t intid, uint8_t prio);
	/* SGI to this CPU, or set-pending of a PPI/SPI (GICD_ISPENDR / GICR_ISPENDR0). */
	void (*raise)(uint32_t intid);
	/* SGI to CPU `cpu` (which has run init or cpu_init). */
	void (*send_sgi)(uint32_t intid, unsigned int cpu);
	/* Routes an SPI (GICv2 ITARGETSR, GICv3 IROUTER) or an LPI (its ITS collection) to CPU `cpu`; 0 or -Exxx. */
	int (*route)(uint32_t intid, unsigned int cpu);
};

/* GICv3 frames, for its ITS (gicv3_its.c): CPU cpu's redistributor (0 if not up). */
uintptr_t gicv3_rd_base_of(unsigned cpu);
uintptr_t gicv3_dist_base(void);

/* GICv3 LPIs through the ITS (gicv3_its.c); LPIs are Group 1 and edge by nature. */
struct irq_msi;
bool gicv3_its_lpi_exists(uint32_t intid);
void gicv3_its_lpi_enable(uint32_t intid, bool on);
void gicv3_its_lpi_priority(uint32_t intid, uint8_t prio);
/* Moves an LPI to CPU cpu (its ITS collection); 0, -EINVAL or -EIO. */
int gicv3_its_lpi_route(uint32_t intid, unsigned cpu);
int gicv3_its_msi_alloc(uint32_t rid, unsigned n, struct irq_msi *out, const char **why);
/* GICv2m (gicv2m.c). */
int gicv2m_msi_alloc(unsigned n, struct irq_msi *out, const char **why);

extern const struct gic_ops gicv2_ops;
extern const struct gic_ops gicv3_ops;

#endif
