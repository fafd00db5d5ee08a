/* The test driver behind vtest.h. */
#include <stdlib.h>
#include <string.h>
#include <levblk/errno.h>
#include <levblk/hal/dma.h>
#include <levblk/irq/irq.h>
#include "virtio/vtest.h"

static void vt_complete(struct vt *t, struct vt_req *r, uint32_t len)
{
	if (r->done)
		abort(); /* the virtqueue handed a cookie back twice */
	r->done = true;
	r->used_len = len;
	t->completed++;
}

/* Interrupt handler: ack exactly what was raised, then drain with the race-free re-check. */
static void vt_irq(void *arg)
{
	struct vt *t = arg;
	uint32_t st = vmmio_ack_interrupt(t->dev);

	t->irqs++;
	if (!(st & VMMIO_INT_VRING))
		return;
	vq_irq_note(t->vq, 1);
	do {
		vq_disable_cb(t->vq);
		vt_poll(t);
	} while (!vq_enable_cb(t->vq));
}

int vt_setup(struct vt *t, const struct sim_blk_cfg *cfg, unsigned qsize, uint64_t wanted)
{
	unsigned n;
	int err;

	memset(t, 0, sizeof(*t));
	sim_reset_bus();
	t->sim = sim_add_blk(cfg);
	if (!t->sim)
		return -ENOMEM;
	err = vmmio_probe(sim_slots(&n), n);
	if (err != 1)
		return err < 0 ? err : -ENODEV;
	t->dev = vmmio_find(VIRTIO_ID_BLOCK, 0);
	if (!t->dev)
		return -ENODEV;
	err = vmmio_init(t->dev, wanted, 0, &t->features);
	if (err)
		return err;
	err = vmmio_setup_queue(t->dev, 0, qsize, &t->vq);
	if (err)
		return err;
	err = irq_register(t->dev->intid, vt_irq, t);
	if (err)
		return err;
	return vmmio_driver_ok(t->dev);
}

void vt_teardown(struct vt *t)
{
	if (t->dev) {
		irq_unregister(t->dev->intid);
		vmmio_release(t->dev);
	}
	sim_reset_bus();
	memset(t, 0, sizeof(*t));
}

int vt_submit(struct vt *t, struct vt_req *r, uint32_t type, uint64_t sector, void *buf,
	      uint32_t len, unsigned nseg)
{
	struct vq_sg sg[1100];
	unsigned n = 0, n_out, n_in;
	bool in = type == VT_T_IN;

	if (nseg + 2 > sizeof(sg) / sizeof(sg[0]))
		return -EINVAL;
	r->hdr.type = type;
	r->hdr.reserved = 0;
	r->hdr.sector = sector;
	r->status = VT_STATUS_UNSET;
	r->done = false;
	r->used_len = 0;
	sg[n++] = (struct vq_sg){hal_virt_to_bus(&r->hdr), sizeof(r->hdr)};
	for (unsigned i = 0; i < nseg; i++) {
		uint32_t off = (uint32_t)((uint64_t)len * i / nseg);
		uint32_t end = (uint32_t)((uint64_t)len * (i + 1) / nseg);

		sg[n++] = (struct vq_sg){hal_virt_to_bus((uint8_t *)buf + off), end - off};
	}
	sg[n++] = (struct vq_sg){hal_virt_to_bus(&r->status), 1};
	n_out = in ? 1 : 1 + nseg;
	n_in = n - n_out;
	return vq_add(t->vq, r, sg, n_out, n_in);
}

bool vt_kick(struct vt *t)
{
	bool k = vq_kick_prepare(t->vq);

	if (k)
		vq_notify(t->vq);
	return k;
}

unsigned vt_poll(struct vt *t)
{
	struct vt_req *r;
	uint32_t len;
	unsigned n = 0;

	while ((r = vq_get_used(t->vq, &len))) {
		vt_complete(t, r, len);
		n++;
	}
	return n;
}
