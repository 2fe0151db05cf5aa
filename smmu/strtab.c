/*
 * The stream table: one STE per stream ID, all "valid, Config=abort"
 * unless a stream is attached. 2-level tables (IDR0.ST_LEVEL) get their L1
 * for every SID up front and an L2 table (256 STEs, 16 KiB) only when a
 * stream in its range is attached; an L1 descriptor with Span 0 makes its
 * whole range abort (QEMU records C_BAD_STREAMID, which names the stream).
 */
#include <errno.h>

#include "smmu/smmu_int.h"
#include "lib/log.h"

#define STE_BYTES  (STE_DWORDS * 8u)
#define L2_ENTRIES (1u << STRTAB_SPLIT)
#define L2_BYTES   ((uint64_t)STE_BYTES << STRTAB_SPLIT)

static void fill_abort(uint64_t *stes, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		ste_abort(stes + i * STE_DWORDS);
	smmu_sync_for_device(stes, n * STE_BYTES);
}

/* Aligned to its size, as STRTAB_BASE requires. */
static int linear_init(uint32_t *cfg)
{
	struct smmu_dev *s = &smmu_dev;

	s->strtab_size = (uint64_t)STE_BYTES << s->sid_bits;
	s->strtab = smmu_alloc(s->strtab_size, s->strtab_size);
	if (!s->strtab)
		return -ENOMEM;
	fill_abort(s->strtab, 1ull << s->sid_bits);
	*cfg = STRTAB_CFG_FMT_LINEAR | STRTAB_CFG_LOG2SIZE(s->sid_bits);
	return 0;
}

/* Zeroed L1 descriptors are Span 0: every stream aborts. */
static int two_level_init(uint32_t *cfg)
{
	struct smmu_dev *s = &smmu_dev;

	s->strtab_size = 8ull << (s->sid_bits - STRTAB_SPLIT);
	s->strtab = smmu_alloc(s->strtab_size, MAX(s->strtab_size, 64u));
	if (!s->strtab)
		return -ENOMEM;
	*cfg =
	    STRTAB_CFG_FMT_2LVL | STRTAB_CFG_SPLIT(STRTAB_SPLIT) | STRTAB_CFG_LOG2SIZE(s->sid_bits);
	return 0;
}

/* Sized to the SIDs the SMMU has, capped: a linear table costs 64 bytes per
 * SID, so it stops at 16 bits (the PCI requester ID space, 4 MiB). */
int strtab_init(void)
{
	struct smmu_dev *s = &smmu_dev;
	const struct smmu_features *f = &s->info.f;
	uint32_t cfg = 0;
	int e;

	s->two_level = f->two_level_st && f->sid_bits > STRTAB_SPLIT;
	s->sid_bits = MIN(f->sid_bits, s->two_level ? SMMU_2LVL_MAX_BITS : SMMU_LINEAR_MAX_BITS);
	e = s->two_level ? two_level_init(&cfg) : linear_init(&cfg);
	if (e) {
		kprintf("smmu: no memory for the stream table (%llu bytes)\n",
			(unsigned long long)s->strtab_size);
		return e;
	}
	smmu_write64(SMMU_STRTAB_BASE, (s->coherent ? STRTAB_BASE_RA : 0) |
					   ((uintptr_t)s->strtab & STRTAB_BASE_ADDR_MASK));
	smmu_write32(SMMU_STRTAB_BASE_CFG, cfg);
	return 0;
}

static uint64_t *l2_table(uint32_t l1_idx)
{
	uint64_t d = smmu_dev.strtab[l1_idx];

	return (d & STRTAB_L1_SPAN_MASK) ? (uint64_t *)(uintptr_t)(d & STRTAB_L1_L2PTR_MASK) : NULL;
}

void strtab_free(void)
{
	struct smmu_dev *s = &smmu_dev;

	if (s->strtab && s->two_level)
		for (uint32_t i = 0; i < s->strtab_size / 8; i++)
			smmu_free(l2_table(i), L2_BYTES);
	smmu_free(s->strtab, s->strtab_size);
	s->strtab = NULL;
	s->n_l2 = 0;
}

/* The STE of sid, or NULL if it does not exist (yet). */
static volatile uint64_t *ste_of(uint32_t sid)
{
	struct smmu_dev *s = &smmu_dev;
	uint64_t *l2;

	if (sid >> s->sid_bits)
		return NULL;
	if (!s->two_level)
		return s->strtab + (size_t)sid * STE_DWORDS;
	l2 = l2_table(sid >> STRTAB_SPLIT);
	return l2 ? l2 + (size_t)(sid & (L2_ENTRIES - 1)) * STE_DWORDS : NULL;
}

/* A new L2 table is complete (all abort) before the one 64-bit store that
 * publishes it; then any cached Span-0 descriptor for the range goes. */
static int l2_alloc(uint32_t sid)
{
	struct smmu_dev *s = &smmu_dev;
	uint64_t *l2 = smmu_alloc(L2_BYTES, L2_BYTES), cmd[CMD_DWORDS];
	volatile uint64_t *l1 = &s->strtab[sid >> STRTAB_SPLIT];

	if (!l2)
		return -ENOMEM;
	fill_abort(l2, L2_ENTRIES);
	*l1 = strtab_l1_desc((uintptr_t)l2, STRTAB_L1_SPAN);
	smmu_sync_for_device((const void *)(uintptr_t)l1, 8);
	s->n_l2++;
	cmd_cfgi_ste_range(cmd, sid & ~(L2_ENTRIES - 1), STRTAB_SPLIT - 1);
	return smmu_cmd(cmd);
}

int strtab_prepare(uint32_t sid)
{
	if (sid >> smmu_dev.sid_bits)
		return -ERANGE;
	return ste_of(sid) ? 0 : l2_alloc(sid);
}

/* CFGI_STE(Leaf) drops the cached STE; CFGI_CD_ALL the CDs cached for the
 * stream, which are tagged by SID and would outlive a domain change. */
static int ste_sync(uint32_t sid, volatile uint64_t *ste)
{
	uint64_t cmds[2][CMD_DWORDS];
	unsigned n = 0;

	smmu_sync_for_device((const void *)(uintptr_t)ste, STE_BYTES);
	cmd_cfgi_ste(cmds[n++], sid, true);
	if (!smmu_dev.stage2)
		cmd_cfgi_cd_all(cmds[n++], sid);
	return smmu_cmds((const uint64_t(*)[CMD_DWORDS])cmds, n);
}

static bool ste_live(uint64_t w0)
{
	return (w0 & STE_0_V) && (w0 & STE_0_CFG_MASK) != STE_0_CFG(STE_CFG_ABORT);
}

static bool body_differs(volatile const uint64_t *ste, const uint64_t *new)
{
	for (unsigned i = 1; i < STE_DWORDS; i++)
		if (ste[i] != new[i])
			return true;
	return false;
}

/*
 * The SMMU may fetch an STE at any time and only 64-bit single-copy
 * atomicity is guaranteed, so (3.21.3): a translating STE is first turned
 * to abort (word 0 alone); words 1-7, ignored by an abort STE, are written
 * and made visible; then word 0 switches the stream in one store. Each
 * step is invalidated and synced before the next.
 */
int ste_write(uint32_t sid, const uint64_t new[STE_DWORDS])
{
	volatile uint64_t *ste = ste_of(sid);
	bool body;
	int e = 0, e2;

	if (!ste)
		return -ENOENT;
	body = body_differs(ste, new);
	if (ste_live(ste[0]) && (body || ste[0] != new[0])) {
		ste[0] = STE_0_V | STE_0_CFG(STE_CFG_ABORT);
		e = ste_sync(sid, ste);
	}
	if (body) {
		for (unsigned i = 1; i < STE_DWORDS; i++)
			ste[i] = new[i];
		e2 = ste_sync(sid, ste);
		e = e ? e : e2;
	}
	if (ste[0] != new[0]) {
		ste[0] = new[0];
		e2 = ste_sync(sid, ste);
		e = e ? e : e2;
	}
	return e;
}

static void count_range(const uint64_t *stes, uint64_t n, unsigned *present, unsigned *abort)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t w0 = stes[i * STE_DWORDS];

		(*present)++;
		if ((w0 & STE_0_V) && (w0 & STE_0_CFG_MASK) == STE_0_CFG(STE_CFG_ABORT))
			(*abort)++;
	}
}

void strtab_count(unsigned *present, unsigned *abort)
{
	struct smmu_dev *s = &smmu_dev;

	*present = *abort = 0;
	if (!s->strtab)
		return;
	if (!s->two_level) {
		count_range(s->strtab, 1ull << s->sid_bits, present, abort);
		return;
	}
	for (uint32_t i = 0; i < s->strtab_size / 8; i++)
		if (l2_table(i))
			count_range(l2_table(i), L2_ENTRIES, present, abort);
}
