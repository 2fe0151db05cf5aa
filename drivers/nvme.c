/*
 * NVMe controller bring-up (NVM Express Base 2.0, 3.5.1): PCI command
 * register and BAR0, CAP, reset, admin queue, enable, then Identify and the
 * I/O queue pair (nvme_admin.c). Every failure leaves the controller
 * disabled with bus mastering off before its memory is given back.
 */
#include "drivers/nvme_priv.h"
#include "lib/log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define PCI_CMD		 0x04
#define PCI_CMD_MEM	 BIT(1)
#define PCI_CMD_MASTER	 BIT(2)
#define PCI_CMD_INTX_OFF BIT(10) /* completions are polled: no INTx */

/* COMMAND shares its word with STATUS, whose error bits are write-1-to-
 * clear: writing zeroes in the upper half leaves them alone. */
static void pci_command(const struct pci_dev *d, uint32_t set, uint32_t clear)
{
	uint32_t cmd = mmio_read32(d->cfg + PCI_CMD) & 0xffff;

	mmio_write32(d->cfg + PCI_CMD, (cmd | set) & ~clear);
}

/* 64-bit registers as two 32-bit accesses, low half first: what every
 * controller accepts (some reject 64-bit accesses). */
static uint64_t rd64(const struct nvme_ctrl *c, unsigned reg)
{
	uint64_t lo = nvme_rd32(c, reg);

	return lo | (uint64_t)nvme_rd32(c, reg + 4) << 32;
}
static void wr64(const struct nvme_ctrl *c, unsigned reg, uint64_t v)
{
	nvme_wr32(c, reg, (uint32_t)v);
	nvme_wr32(c, reg + 4, (uint32_t)(v >> 32));
}

/* Memory decode on (bus mastering waits until the controller is reset),
 * then BAR0 mapped at EL2. */
static int map_bar0(struct nvme_ctrl *c)
{
	const struct pci_bar *b = &c->pci->bar[0];

	if (!b->base || b->is_io || b->size < 2 * NVME_PAGE) {
		kprintf("nvme: %s: BAR0 unusable (base 0x%llx size 0x%llx%s)\n", c->bdf,
			(unsigned long long)b->base, (unsigned long long)b->size,
			b->is_io ? ", I/O space" : "");
		return -ENODEV;
	}
	if (!b->is_64)
		kprintf("nvme: %s: BAR0 is 32-bit (the spec says 64-bit); using it\n", c->bdf);
	pci_command(c->pci, PCI_CMD_MEM | PCI_CMD_INTX_OFF, 0);
	c->regs = el2_map_device(b->base, b->size);
	if (!c->regs) {
		kprintf("nvme: %s: cannot map BAR0 at 0x%llx\n", c->bdf,
			(unsigned long long)b->base);
		return -ENOMEM;
	}
	return 0;
}

static int check_cap(struct nvme_ctrl *c)
{
	if (c->cap == UINT64_MAX) {
		kprintf("nvme: %s: CAP reads all-ones: controller not responding\n", c->bdf);
		return -EIO;
	}
	if (NVME_CAP_MPSMIN(c->cap)) {
		kprintf("nvme: %s: needs pages of at least %llu bytes; tessera uses 4 KiB\n",
			c->bdf, NVME_PAGE << NVME_CAP_MPSMIN(c->cap));
		return -ENOTSUP;
	}
	if (!(NVME_CAP_CSS(c->cap) & NVME_CAP_CSS_NVM)) {
		kprintf("nvme: %s: NVM command set not supported (CAP.CSS 0x%x)\n", c->bdf,
			NVME_CAP_CSS(c->cap));
		return -ENOTSUP;
	}
	if (NVME_CAP_MQES(c->cap) < 1) {
		kprintf("nvme: %s: CAP.MQES 0 is invalid\n", c->bdf);
		return -EIO;
	}
	return 0;
}

/* CAP: queue limits, doorbell stride, how long enable/disable may take. */
static int read_cap(struct nvme_ctrl *c)
{
	c->cap = rd64(c, NVME_REG_CAP);
	int e = check_cap(c);

	if (e)
		return e;
	c->db_stride = 4u << NVME_CAP_DSTRD(c->cap);
	c->ready_ms = MAX(NVME_CAP_TO(c->cap) * 500u, NVME_MIN_READY_MS);
	c->info.timeout_ms = c->ready_ms;
	/* Doorbells of queues 0 and 1 (SQ and CQ each) must lie inside BAR0. */
	if (NVME_REG_DBS + 4ull * c->db_stride > c->pci->bar[0].size) {
		kprintf("nvme: %s: doorbells beyond BAR0 (stride %u)\n", c->bdf, c->db_stride);
		return -ENODEV;
	}
	return 0;
}

/* Waits until CSTS.RDY equals rdy, for at most CAP.TO. -EIO if the
 * controller reports a fatal error or stops answering (CSTS all-ones). */
static int wait_rdy(struct nvme_ctrl *c, bool rdy, uint32_t *csts)
{
	uint64_t deadline = timer_now() + timer_ns_to_ticks(c->ready_ms * 1000000ull);

	for (;;) {
		*csts = nvme_rd32(c, NVME_REG_CSTS);
		if (*csts == UINT32_MAX)
			return -EIO;
		if (!!(*csts & NVME_CSTS_RDY) == rdy)
			return 0;
		if (rdy && (*csts & NVME_CSTS_CFS))
			return -EIO;
		if (timer_now() >= deadline)
			return -ETIMEDOUT;
		cpu_relax();
	}
}

/* Clearing EN while an enable is still in progress (EN 1, RDY 0) is
 * undefined, so let that finish first, or fail, whichever comes. */
int nvme_disable(struct nvme_ctrl *c)
{
	uint32_t cc = nvme_rd32(c, NVME_REG_CC), csts;

	if (cc & NVME_CC_EN) {
		wait_rdy(c, true, &csts);
		nvme_wr32(c, NVME_REG_CC, cc & ~(uint32_t)NVME_CC_EN);
	}
	int e = wait_rdy(c, false, &csts);
	if (e)
		kprintf("nvme: %s: reset: CSTS.RDY still 1 after %u ms (CSTS 0x%x)\n", c->bdf,
			c->ready_ms, csts);
	return e;
}

/* Configuration first with EN clear, then EN: some controllers only take
 * CC's fields while disabled. 4 KiB pages, NVM command set, 64-byte SQ and
 * 16-byte CQ entries, round-robin arbitration. */
static int enable(struct nvme_ctrl *c)
{
	const struct nvme_qpair *a = &c->admin;
	uint32_t cc = NVME_CC_CSS_NVM | NVME_CC_MPS(NVME_PAGE_SHIFT) |
		      NVME_CC_IOSQES(NVME_SQE_LOG2) | NVME_CC_IOCQES(NVME_CQE_LOG2),
		 csts;

	nvme_wr32(c, NVME_REG_AQA, (uint32_t)(a->cq.depth - 1) << 16 | (a->sq.depth - 1u));
	wr64(c, NVME_REG_ASQ, a->sq.buf.iova);
	wr64(c, NVME_REG_ACQ, a->cq.buf.iova);
	nvme_wr32(c, NVME_REG_CC, cc);
	nvme_wr32(c, NVME_REG_CC, cc | NVME_CC_EN);
	int e = wait_rdy(c, true, &csts);
	if (e == -ETIMEDOUT)
		kprintf("nvme: %s: enable: CSTS.RDY not set within %u ms (CAP.TO)\n", c->bdf,
			c->ready_ms);
	else if (e)
		kprintf("nvme: %s: enable: controller fatal status (CSTS 0x%x)\n", c->bdf, csts);
	return e;
}

/* The admin queue pair plus the Identify page. */
static int alloc_admin(struct nvme_ctrl *c)
{
	uint16_t depth = (uint16_t)MIN(NVME_ADMIN_DEPTH, NVME_CAP_MQES(c->cap) + 1u);
	int e = nvme_qpair_alloc(c, &c->admin, 0, depth);

	if (!e)
		e = nvme_buf_get(c, &c->ident, NVME_PAGE, true, false);
	if (e)
		kprintf("nvme: %s: cannot allocate or map the admin queues (%d)\n", c->bdf, e);
	return e;
}

static void log_version(const struct nvme_ctrl *c)
{
	uint32_t vs = nvme_rd32(c, NVME_REG_VS);

	kprintf("nvme: %s: NVMe %u.%u, queues up to %u entries, DSTRD %u, CAP.TO %u ms, max "
		"transfer %u KiB\n",
		c->bdf, vs >> 16, (vs >> 8) & 0xff, NVME_CAP_MQES(c->cap) + 1,
		NVME_CAP_DSTRD(c->cap), c->ready_ms, c->info.max_xfer >> 10);
}

/* Reset before bus mastering and before any buffer is mapped: firmware may
 * have left the controller running on its own queues. */
static int bring_up(struct nvme_ctrl *c)
{
	int e = map_bar0(c);

	if (!e)
		e = read_cap(c);
	if (!e)
		e = nvme_disable(c);
	if (!e) {
		pci_command(c->pci, PCI_CMD_MASTER, 0);
		e = alloc_admin(c);
	}
	if (!e)
		e = enable(c);
	if (!e)
		e = nvme_identify(c);
	if (!e)
		e = nvme_create_io_queues(c);
	if (!e)
		e = nvme_start_engine(c);
	if (!e)
		log_version(c);
	return e;
}

/* Quiesce first (reset ends all DMA, bus mastering off stops any the
 * reset missed), then unmap and free. */
static void tear_down(struct nvme_ctrl *c)
{
	if (c->regs)
		nvme_disable(c);
	pci_command(c->pci, 0, PCI_CMD_MASTER);
	nvme_qpair_free(c, &c->io);
	nvme_qpair_free(c, &c->admin);
	nvme_buf_put(c, &c->ident);
	nvme_buf_put(c, &c->prps);
}

int nvme_init(const struct pci_dev *dev, const struct dma_ops *dma, struct nvme_ctrl **out)
{
	struct nvme_ctrl *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->pci = dev;
	c->dma = *dma;
	snprintf(c->bdf, sizeof(c->bdf), "%02x:%02x.%x", dev->bus, dev->dev, dev->fn);
	int e = bring_up(c);
	if (e) {
		tear_down(c);
		free(c);
		return e;
	}
	*out = c;
	return 0;
}

const struct nvme_info *nvme_get_info(const struct nvme_ctrl *c)
{
	return &c->info;
}

const struct nvme_stats *nvme_get_stats(const struct nvme_ctrl *c)
{
	return &c->stats;
}
