/*
 * SMMUv3 driver: taking the SMMU over from firmware and bringing it up with
 * every stream aborting. Default deny is kept at every step: GBPA aborts
 * while the SMMU is disabled, the stream table only ever holds abort STEs
 * (or, 2-level, L1 descriptors with Span 0) until a stream is attached, and
 * SMMUEN is set last, after all cached configuration was invalidated.
 *
 * Queues (queue.c, events.c), the stream table (strtab.c), domains
 * (domain.c), streams (stream.c) and the shell view (status.c) live in
 * their own files; this one holds the shared plumbing and smmu_init.
 */
#include <errno.h>
#include <string.h>

#include "smmu/smmu_int.h"
#include "lib/log.h"

struct smmu_dev smmu_dev;

uint32_t smmu_read32(uint32_t off)
{
	return mmio_read32(smmu_dev.regs + off);
}

void smmu_write32(uint32_t off, uint32_t v)
{
	mmio_write32(smmu_dev.regs + off, v);
}

void smmu_write64(uint32_t off, uint64_t v)
{
	mmio_write64(smmu_dev.regs + off, v);
}

uint64_t smmu_deadline(void)
{
	return timer_now() + timer_ns_to_ticks(SMMU_POLL_TIMEOUT_US * 1000ull);
}

bool smmu_expired(uint64_t deadline)
{
	return timer_now() > deadline;
}

/* cpu_relax() (YIELD) lets QEMU's round-robin TCG run the other vCPUs under
 * -icount; a bare spin would not. */
int smmu_poll_reg(uint32_t off, uint32_t mask, uint32_t want, const char *what)
{
	uint64_t deadline = smmu_deadline();

	while ((smmu_read32(off) & mask) != want) {
		if (smmu_expired(deadline)) {
			kprintf("smmu: timeout waiting for %s (register 0x%x reads 0x%08x)\n", what,
				off, smmu_read32(off));
			return -ETIMEDOUT;
		}
		cpu_relax();
	}
	return 0;
}

/* The contract says zeroed; a table that is not would be a hole in default
 * deny, so the driver does not rely on it. */
void *smmu_alloc(uint64_t size, uint64_t align)
{
	void *p = smmu_dev.mem.alloc(size, align);

	if (p) {
		memset(p, 0, size);
		smmu_sync_for_device(p, size);
	}
	return p;
}

void smmu_free(void *p, uint64_t size)
{
	if (p)
		smmu_dev.mem.free(p, size);
}

/* A non-coherent SMMU reads memory, not the CPU caches: clean to PoC. The
 * barrier orders the writes before whatever tells the SMMU to look. */
void smmu_sync_for_device(const void *p, uint64_t size)
{
	if (!smmu_dev.coherent)
		dcache_clean_range((uintptr_t)p, size);
	dsb(st);
}

void smmu_sync_for_cpu(const void *p, uint64_t size)
{
	if (!smmu_dev.coherent)
		dcache_clean_inval_range((uintptr_t)p, size);
}

/* ---- smmu_init ----------------------------------------------------------- */

static int check_info(const struct smmu_info *info)
{
	const struct smmu_features *f = &info->f;

	if (!info->regs || info->size < SMMU_REG_SPAN) {
		kprintf("smmu: register window too small (0x%llx bytes, need 0x%x)\n",
			(unsigned long long)info->size, SMMU_REG_SPAN);
		return -EINVAL;
	}
	if ((!f->s1p && !f->s2p) || !(f->ttf & 2) || !f->gran4k) {
		kprintf("smmu: needs stage-1 or stage-2 with AArch64 4 KiB tables\n");
		return -ENOTSUP;
	}
	if (f->ttendian == 3) {
		kprintf("smmu: big-endian-only table walks are not supported\n");
		return -ENOTSUP;
	}
	return 0;
}

/* GBPA.ABORT makes a disabled SMMU terminate transactions instead of
 * letting them through; Update=1 starts the change, the SMMU clears it. */
static int gbpa_abort(void)
{
	int e = smmu_poll_reg(SMMU_GBPA, GBPA_UPDATE, 0, "GBPA.Update");

	if (e)
		return e;
	smmu_write32(SMMU_GBPA, smmu_read32(SMMU_GBPA) | GBPA_ABORT | GBPA_UPDATE);
	e = smmu_poll_reg(SMMU_GBPA, GBPA_UPDATE, 0, "GBPA.Update");
	if (!e && !(smmu_read32(SMMU_GBPA) & GBPA_ABORT))
		kprintf("smmu: warning: GBPA.ABORT does not stick (this SMMU lacks it?); "
			"DMA may bypass while the SMMU is disabled during takeover\n");
	return e;
}

static int write_cr0(uint32_t v)
{
	smmu_write32(SMMU_CR0, v);
	return smmu_poll_reg(SMMU_CR0ACK, ~0u, v, "CR0ACK");
}

static int write_irq_ctrl(uint32_t v)
{
	smmu_write32(SMMU_IRQ_CTRL, v);
	return smmu_poll_reg(SMMU_IRQ_CTRLACK, ~0u, v, "IRQ_CTRLACK");
}

/* Whatever firmware left running stops here: abort while disabled, SMMU
 * and its queues off, interrupts off, stale global errors acknowledged. */
static int quiesce(void)
{
	int e = gbpa_abort();

	if (!e)
		e = write_cr0(0);
	if (!e)
		e = write_irq_ctrl(0);
	if (!e)
		smmu_write32(SMMU_GERRORN, smmu_read32(SMMU_GERROR));
	return e;
}

/* Table walks and queue accesses: WB inner shareable if the SMMU snoops
 * the CPU caches, otherwise non-cacheable (and the driver cleans). */
static void program_attrs(void)
{
	uint32_t cr1 = 0;

	if (smmu_dev.coherent)
		cr1 = CR1_QUEUE_IC(CR1_CACHE_WB) | CR1_QUEUE_OC(CR1_CACHE_WB) |
		      CR1_QUEUE_SH(SH_INNER) | CR1_TABLE_IC(CR1_CACHE_WB) |
		      CR1_TABLE_OC(CR1_CACHE_WB) | CR1_TABLE_SH(SH_INNER);
	smmu_write32(SMMU_CR1, cr1);
	/* RECINVSID: out-of-range stream IDs are reported (C_BAD_STREAMID);
	 * PTM: the CPUs' broadcast TLBIs are not for us (ASET=1 anyway). */
	smmu_write32(SMMU_CR2, CR2_RECINVSID | CR2_PTM);
}

/* Wired interrupts only: a zero MSI address keeps MSIs off. */
static int enable_irqs(void)
{
	const struct smmu_info *i = &smmu_dev.info;

	smmu_write64(SMMU_GERROR_IRQ_CFG0, 0);
	smmu_write64(SMMU_EVTQ_IRQ_CFG0, 0);
	if (i->irq_evtq)
		gic_enable_irq(i->irq_evtq, true, 0);
	if (i->irq_gerror)
		gic_enable_irq(i->irq_gerror, true, 0);
	smmu_dev.irqs = true;
	return write_irq_ctrl(IRQ_CTRL_GERROR_IRQEN | IRQ_CTRL_EVTQ_IRQEN);
}

/* Nothing the SMMU may have cached from firmware's configuration survives:
 * TLBI_EL2_ALL is only legal with IDR0.HYP. */
static int invalidate_all(void)
{
	uint64_t cmds[3][CMD_DWORDS];
	unsigned n = 0;

	cmd_cfgi_all(cmds[n++]);
	cmd_tlbi_nsnh_all(cmds[n++]);
	if (smmu_dev.info.f.hyp)
		cmd_tlbi_el2_all(cmds[n++]);
	return smmu_cmds((const uint64_t(*)[CMD_DWORDS])cmds, n);
}

/* The order Linux and the spec's examples use: commands first (to
 * invalidate), then events, then interrupts, translation last. */
static int enable(void)
{
	int e = write_cr0(CR0_CMDQEN);

	if (!e)
		e = invalidate_all();
	if (!e)
		e = write_cr0(CR0_CMDQEN | CR0_EVTQEN);
	if (!e)
		e = enable_irqs();
	if (!e)
		e = write_cr0(CR0_CMDQEN | CR0_EVTQEN | CR0_SMMUEN);
	return e;
}

/* Back to disabled-and-aborting, then the memory may go: the SMMU no
 * longer reads it. */
static void teardown(void)
{
	struct smmu_dev *s = &smmu_dev;

	write_cr0(0);
	write_irq_ctrl(0);
	s->irqs = false;
	strtab_free();
	smmu_free(s->cmdq.base, (8ull * s->cmdq.dwords) << s->cmdq.log2);
	smmu_free(s->evtq.base, (8ull * s->evtq.dwords) << s->evtq.log2);
	s->cmdq.base = s->evtq.base = NULL;
}

static int setup(void)
{
	int e = quiesce();

	if (!e)
		e = strtab_init();
	if (!e)
		e = cmdq_init();
	if (!e)
		e = evtq_init();
	if (!e) {
		program_attrs();
		e = enable();
	}
	return e;
}

int smmu_init(const struct smmu_info *info, const struct smmu_mem_ops *mem)
{
	struct smmu_dev *s = &smmu_dev;
	int e;

	if (s->ready)
		return -EBUSY;
	if (!info || !mem || !mem->alloc || !mem->free)
		return -EINVAL;
	e = check_info(info);
	if (e)
		return e;
	s->info = *info;
	s->mem = *mem;
	s->regs = info->regs;
	s->stage2 = info->f.s2p;
	s->coherent = info->f.coherent;
	e = setup();
	if (e) {
		teardown();
		return e;
	}
	s->ready = true;
	kprintf("smmu: enabled, %s stream table, %s domains, all streams abort by default\n",
		s->two_level ? "2-level" : "linear", smmu_stage_name());
	evtq_drain(); /* anything recorded before the interrupt was on */
	return 0;
}

bool smmu_ready(void)
{
	return smmu_dev.ready;
}

const char *smmu_stage_name(void)
{
	if (!smmu_dev.regs)
		return "none";
	return smmu_dev.stage2 ? "stage-2" : "stage-1";
}

const struct smmu_stats *smmu_get_stats(void)
{
	return &smmu_dev.stats;
}
