/*
 * PSCI 1.1 and SMCCC 1.1 for guests, over HVC (and SMC). Power requests
 * act on the calling partition only: SYSTEM_OFF stops it, SYSTEM_RESET
 * restarts it. Unknown function IDs answer NOT_SUPPORTED.
 */
#include "kernel/vm/vm.h"
#include <errno.h>

#include "kernel/vm/psci_ids.h"

static const uint32_t supported[] = {
    SMCCC_VERSION,   PSCI_VERSION,	PSCI_CPU_SUSPEND32, PSCI_CPU_SUSPEND64, PSCI_CPU_OFF,
    PSCI_CPU_ON32,   PSCI_CPU_ON64,	PSCI_AFFINITY32,    PSCI_AFFINITY64,	PSCI_MIGRATE_TYPE,
    PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET, PSCI_FEATURES,
};

static int64_t features(uint32_t fid)
{
	for (unsigned i = 0; i < ARRAY_SIZE(supported); i++)
		if (supported[i] == fid)
			return PSCI_SUCCESS;
	return PSCI_NOT_SUPPORTED;
}

static struct vcpu *target(struct vcpu *v, uint64_t mpidr)
{
	struct partition *p = v->part;
	uint64_t aff0 = mpidr & 0xff;
	/* Aff0 names the vCPU; Aff3-1 are 0 here, bits 63:40 must be 0; bits
	 * 31:24 (U, MT, RES1) are not affinity and are ignored */
	if ((mpidr & ~0xff0000ffull) || aff0 >= p->nvcpus)
		return NULL;
	return &p->vcpus[aff0];
}

static bool in_ram(const struct partition *p, uint64_t ipa)
{
	return ipa >= GUEST_RAM_BASE && ipa - GUEST_RAM_BASE < p->cfg.mem_size;
}

static int64_t cpu_on(struct vcpu *v, uint64_t mpidr, uint64_t entry, uint64_t ctx_id)
{
	struct vcpu *t = target(v, mpidr);
	if (!t)
		return PSCI_INVALID;
	if (!in_ram(v->part, entry))
		return PSCI_INVALID_ADDRESS;
	switch (lc_cpu_on(&v->part->lc, t->idx, entry, ctx_id)) {
	case 0:
		return PSCI_SUCCESS;
	case -EEXIST: /* on, or still leaving its CPU after a CPU_OFF */
		return PSCI_ALREADY_ON;
	default: /* the partition is stopping */
		return PSCI_DENIED;
	}
}

static int64_t affinity_info(struct vcpu *v, uint64_t mpidr, uint64_t level)
{
	struct vcpu *t = target(v, mpidr);
	if (!t || level != 0)
		return PSCI_INVALID;
	return lc_vcpu_off(&v->part->lc, t->idx) ? 1 : 0; /* OFF : ON */
}

static int64_t dispatch(struct vcpu *v, uint32_t fid, const uint64_t *x)
{
	switch (fid) {
	case SMCCC_VERSION:
	case PSCI_VERSION:
		return 0x10001; /* 1.1 */
	case SMCCC_ARCH_FEATURES:
		return PSCI_NOT_SUPPORTED; /* no workaround calls are needed or offered */
	case PSCI_FEATURES:
		return features((uint32_t)x[1]);
	case PSCI_CPU_ON32:
	case PSCI_CPU_ON64:
		return cpu_on(v, x[1], x[2], x[3]);
	case PSCI_CPU_OFF:
		lc_cpu_off(&v->part->lc, v->idx); /* its CPU unloads it in the loop */
		return PSCI_SUCCESS;
	case PSCI_CPU_SUSPEND32:
	case PSCI_CPU_SUSPEND64:
		return PSCI_SUCCESS; /* a power-down suspend may return like standby */
	case PSCI_AFFINITY32:
	case PSCI_AFFINITY64:
		return affinity_info(v, x[1], x[2]);
	case PSCI_MIGRATE_TYPE:
		return PSCI_TOS_NOT_PRESENT;
	case PSCI_SYSTEM_OFF:
		kprintf("%s: SYSTEM_OFF from vCPU %u\n", v->part->cfg.name, v->idx);
		partition_guest_stop(v->part, false);
		return PSCI_SUCCESS;
	case PSCI_SYSTEM_RESET:
		kprintf("%s: SYSTEM_RESET from vCPU %u\n", v->part->cfg.name, v->idx);
		partition_guest_stop(v->part, true);
		return PSCI_SUCCESS;
	}
	return PSCI_NOT_SUPPORTED;
}

/* SMC32/HVC32 calls (bit 30 clear) pass 32-bit arguments: the upper
 * halves of the registers are not part of the call. */
void psci_handle(struct vcpu *v)
{
	uint32_t fid = (uint32_t)v->ctx.x[0];
	uint64_t x[4] = {fid, v->ctx.x[1], v->ctx.x[2], v->ctx.x[3]};
	if (!(fid & BIT(30)))
		for (unsigned i = 1; i < 4; i++)
			x[i] = (uint32_t)x[i];
	v->ctx.x[0] = (uint64_t)dispatch(v, fid, x);
}

/* The fast exit path answers the calls that only compute an answer;
 * those acting on vCPUs or the partition take locks and log, and go the
 * full path. */
bool psci_fast(struct vcpu *v)
{
	uint32_t fid = (uint32_t)v->ctx.x[0];
	if (fid == PSCI_VERSION || fid == SMCCC_VERSION) { /* the common probe, first */
		v->ctx.x[0] = 0x10001;
		return true;
	}
	switch (fid) {
	case PSCI_CPU_ON32:
	case PSCI_CPU_ON64:
	case PSCI_CPU_OFF:
	case PSCI_AFFINITY32:
	case PSCI_AFFINITY64:
	case PSCI_SYSTEM_OFF:
	case PSCI_SYSTEM_RESET:
		return false;
	case SMCCC_ARCH_FEATURES:
	case PSCI_FEATURES:
	case PSCI_CPU_SUSPEND32:
	case PSCI_CPU_SUSPEND64:
	case PSCI_MIGRATE_TYPE:
		psci_handle(v);
		return true;
	}
	v->ctx.x[0] = (uint64_t)PSCI_NOT_SUPPORTED; /* as dispatch: unknown */
	return true;
}
