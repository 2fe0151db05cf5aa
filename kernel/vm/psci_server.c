/*
 * PSCI 1.1 and SMCCC 1.1 for guests, over HVC (and SMC). Power requests
 * act on the calling partition only: SYSTEM_OFF stops it, SYSTEM_RESET
 * restarts it. Unknown function IDs answer NOT_SUPPORTED.
 */
#include "kernel/vm/vm.h"

#define SMCCC_VERSION	    0x80000000u
#define SMCCC_ARCH_FEATURES 0x80000001u
#define PSCI_VERSION	    0x84000000u
#define PSCI_CPU_SUSPEND32  0x84000001u
#define PSCI_CPU_SUSPEND64  0xc4000001u
#define PSCI_CPU_OFF	    0x84000002u
#define PSCI_CPU_ON32	    0x84000003u
#define PSCI_CPU_ON64	    0xc4000003u
#define PSCI_AFFINITY32	    0x84000004u
#define PSCI_AFFINITY64	    0xc4000004u
#define PSCI_MIGRATE_TYPE   0x84000006u
#define PSCI_SYSTEM_OFF	    0x84000008u
#define PSCI_SYSTEM_RESET   0x84000009u
#define PSCI_FEATURES	    0x8400000au

#define PSCI_SUCCESS	     0
#define PSCI_NOT_SUPPORTED   (-1)
#define PSCI_INVALID	     (-2)
#define PSCI_ALREADY_ON	     (-4)
#define PSCI_ON_PENDING	     (-5)
#define PSCI_TOS_NOT_PRESENT 2

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
	if ((mpidr & 0xff00ffff00ull) || aff0 >= p->nvcpus)
		return NULL;
	return &p->vcpus[aff0];
}

static int64_t cpu_on(struct vcpu *v, uint64_t mpidr, uint64_t entry, uint64_t ctx_id)
{
	struct vcpu *t = target(v, mpidr);
	if (!t)
		return PSCI_INVALID;
	struct partition *p = v->part;
	uint64_t flags = spin_lock_irqsave(&p->lock);
	/* still loaded after a CPU_OFF: its CPU has not let go of it yet */
	bool busy = t->power == VCPU_ON || percpu_data[t->pcpu].loaded == t;
	int64_t r = busy ? PSCI_ALREADY_ON : PSCI_SUCCESS;
	if (r == PSCI_SUCCESS) {
		vcpu_ctx_reset(&t->ctx, entry, ctx_id, t->ctx.vmpidr);
		__atomic_store_n(&t->power, VCPU_ON, __ATOMIC_RELEASE);
		sched_kick(t->pcpu);
	}
	spin_unlock_irqrestore(&p->lock, flags);
	return r;
}

static int64_t affinity_info(struct vcpu *v, uint64_t mpidr, uint64_t level)
{
	struct vcpu *t = target(v, mpidr);
	if (!t || level != 0)
		return PSCI_INVALID;
	bool off = t->power == VCPU_OFF && percpu_data[t->pcpu].loaded != t;
	return off ? 1 : 0; /* OFF : ON */
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
		v->power = VCPU_OFF; /* its CPU unloads it in the loop */
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
		partition_stop(v->part, false);
		return PSCI_SUCCESS;
	case PSCI_SYSTEM_RESET:
		kprintf("%s: SYSTEM_RESET from vCPU %u\n", v->part->cfg.name, v->idx);
		partition_stop(v->part, true);
		return PSCI_SUCCESS;
	}
	return PSCI_NOT_SUPPORTED;
}

void psci_handle(struct vcpu *v)
{
	uint32_t fid = (uint32_t)v->ctx.x[0];
	v->ctx.x[0] = (uint64_t)dispatch(v, fid, v->ctx.x);
}
