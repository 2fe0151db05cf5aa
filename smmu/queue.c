/*
 * The command queue. One producer at a time (cmdq.lock, IRQs masked so the
 * GERROR interrupt cannot interrupt a holder on the same CPU); every batch
 * ends with a CMD_SYNC whose completion is polled, because a completed
 * CMD_SYNC is the only proof that the commands before it took effect.
 *
 * Completion is seen as CMDQ_CONS catching up with our PROD (CS=NONE: no
 * MSI, no SEV needed). Every wait has a deadline and services GERROR on
 * the way, so an illegal command or a dead SMMU costs a logged
 * -ETIMEDOUT, never a hang.
 */
#include <errno.h>

#include "smmu/smmu_int.h"
#include "lib/log.h"

/* Queues are aligned to their size, as QUEUE_BASE requires (min 32 B). */
int queue_alloc(struct smmu_queue *q, unsigned log2, unsigned dwords, uint32_t base_reg,
		uint32_t prod_reg, uint32_t cons_reg)
{
	uint64_t size = (8ull * dwords) << log2;
	uint64_t rwa = smmu_dev.coherent ? Q_BASE_RWA : 0;

	q->base = smmu_alloc(size, MAX(size, 32u));
	if (!q->base)
		return -ENOMEM;
	q->log2 = log2;
	q->dwords = dwords;
	q->prod = q->cons = 0;
	q->prod_reg = prod_reg;
	q->cons_reg = cons_reg;
	smmu_write64(base_reg, rwa | ((uintptr_t)q->base & Q_BASE_ADDR_MASK) | log2);
	smmu_write32(prod_reg, 0);
	smmu_write32(cons_reg, 0);
	return 0;
}

int cmdq_init(void)
{
	unsigned log2 = MIN(SMMU_QUEUE_LOG2, smmu_dev.info.f.cmdq_log2);
	int e = queue_alloc(&smmu_dev.cmdq, log2, CMD_DWORDS, SMMU_CMDQ_BASE, SMMU_CMDQ_PROD,
			    SMMU_CMDQ_CONS);

	if (e)
		kprintf("smmu: no memory for the command queue\n");
	return e;
}

static bool has_space(const struct smmu_queue *q)
{
	return q_space(q->prod, q->cons, q->log2) > 0;
}

static bool drained(const struct smmu_queue *q)
{
	return q_empty(q->prod, q->cons, q->log2);
}

/* CMDQ_CONS.ERR keeps the last error after recovery: it only explains
 * this wait while GERROR.CMDQ_ERR is active. */
static void report_timeout(const struct smmu_queue *q, const char *what)
{
	uint32_t cons = smmu_read32(q->cons_reg);
	uint32_t gerror = smmu_read32(SMMU_GERROR), gerrorn = smmu_read32(SMMU_GERRORN);
	bool stopped = (gerror ^ gerrorn) & GERROR_CMDQ_ERR;

	smmu_dev.stats.cmd_timeouts++;
	kprintf("smmu: error: command queue timed out waiting for %s: PROD 0x%x CONS 0x%x "
		"(%s, CMDQ_CONS.ERR %s), GERROR 0x%x GERRORN 0x%x\n",
		what, q->prod, cons, stopped ? "stopped by CMDQ_ERR" : "not stopped by an error",
		cmdq_err_name(CMDQ_CONS_ERR(cons)), gerror, gerrorn);
}

/* With the lock held: re-reads CONS until done(q) or the deadline. */
static int wait(struct smmu_queue *q, bool (*done)(const struct smmu_queue *), const char *what)
{
	uint64_t deadline = smmu_deadline();

	for (;;) {
		q->cons = smmu_read32(q->cons_reg);
		if (done(q))
			return 0;
		/* A stopped queue (CMDQ_ERR) never catches up by itself. */
		if ((smmu_read32(SMMU_GERROR) ^ smmu_read32(SMMU_GERRORN)) & GERROR_ERR_MASK)
			gerror_service_locked();
		if (smmu_expired(deadline)) {
			report_timeout(q, what);
			return -ETIMEDOUT;
		}
		cpu_relax();
	}
}

/* The barrier in smmu_sync_for_device orders the entries before PROD. */
static void publish(struct smmu_queue *q)
{
	dsb(st);
	smmu_write32(q->prod_reg, q->prod);
}

static void put(struct smmu_queue *q, const uint64_t cmd[CMD_DWORDS])
{
	uint64_t *e = q->base + (size_t)q_idx(q->prod, q->log2) * CMD_DWORDS;

	e[0] = cmd[0];
	e[1] = cmd[1];
	smmu_sync_for_device(e, CMD_DWORDS * 8);
	q->prod = q_inc(q->prod, q->log2);
}

/* A full queue first gets what we wrote so far, then time to drain. */
static int reserve(struct smmu_queue *q)
{
	if (has_space(q))
		return 0;
	publish(q);
	return wait(q, has_space, "command queue space");
}

int smmu_cmds(const uint64_t (*cmds)[CMD_DWORDS], unsigned n)
{
	struct smmu_queue *q = &smmu_dev.cmdq;
	uint64_t sync[CMD_DWORDS], flags = spin_lock_irqsave(&q->lock);
	int e = 0;

	cmd_sync(sync, CMD_SYNC_CS_NONE);
	for (unsigned i = 0; i <= n && !e; i++) {
		e = reserve(q);
		if (!e)
			put(q, i < n ? cmds[i] : sync);
	}
	if (!e) {
		smmu_dev.stats.cmd_syncs++;
		publish(q);
		e = wait(q, drained, "CMD_SYNC");
	}
	spin_unlock_irqrestore(&q->lock, flags);
	return e;
}

int smmu_cmd(const uint64_t cmd[CMD_DWORDS])
{
	return smmu_cmds((const uint64_t(*)[CMD_DWORDS])cmd, 1);
}

/*
 * CMDQ_ERR: the SMMU stopped with CONS at the bad command and resumes
 * from there once GERRORN acknowledges. CMDQ_CONS is read-only while the
 * queue is enabled, so the command cannot be stepped over; instead it is
 * replaced in place by a CMD_SYNC (what Linux does), which always succeeds.
 */
void cmdq_skip_error_locked(void)
{
	struct smmu_queue *q = &smmu_dev.cmdq;
	uint32_t cons = smmu_read32(q->cons_reg), idx = q_idx(cons, q->log2);
	uint64_t *e = q->base + (size_t)idx * CMD_DWORDS, sync[CMD_DWORDS];

	kprintf("smmu: error: %s (0x%016llx 0x%016llx) at command queue index %u failed: "
		"CMDQ_CONS.ERR %s; replaced by CMD_SYNC\n",
		cmd_op_name(e[0] & 0xff), (unsigned long long)e[0], (unsigned long long)e[1], idx,
		cmdq_err_name(CMDQ_CONS_ERR(cons)));
	cmd_sync(sync, CMD_SYNC_CS_NONE);
	e[1] = sync[1];
	e[0] = sync[0];
	smmu_sync_for_device(e, CMD_DWORDS * 8);
}
