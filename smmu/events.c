/*
 * The event queue: drained from the eventq interrupt and smmu_poll_events.
 * Every record is counted by type, kept in the stats' fault ring and
 * logged with the stream's owner, so a device doing DMA it was not granted
 * is named on the console.
 */
#include <string.h>

#include "smmu/smmu_int.h"
#include "lib/log.h"

#define EVTQ_PRINT_MAX 16 /* lines per drain; the rest are only counted */

int evtq_init(void)
{
	unsigned log2 = MIN(SMMU_EVTQ_LOG2, smmu_dev.info.f.evtq_log2);
	int e = queue_alloc(&smmu_dev.evtq, log2, EVT_DWORDS, SMMU_EVTQ_BASE, SMMU_EVTQ_PROD,
			    SMMU_EVTQ_CONS);

	if (e)
		kprintf("smmu: no memory for the event queue\n");
	smmu_dev.evtq_ovack = 0;
	return e;
}

static bool same_page(const struct smmu_fault *a, const struct smmu_fault *b)
{
	return a->sid == b->sid && a->type == b->type && a->write == b->write &&
	       (a->iova >> PAGE_SHIFT) == (b->iova >> PAGE_SHIFT);
}

/* Most recent last; a repeat of the newest entry only bumps its count, so
 * one faulting buffer does not push every other fault out of the ring. */
static void log_fault(struct smmu_stats *st, const struct smmu_fault *f)
{
	struct smmu_fault *last = st->nlog ? &st->log[st->nlog - 1] : NULL;

	if (last && same_page(last, f)) {
		last->repeats++;
		last->ts = f->ts;
		return;
	}
	if (st->nlog == SMMU_FAULT_LOG) {
		memmove(st->log, st->log + 1, sizeof(st->log) - sizeof(st->log[0]));
		st->nlog--;
	}
	st->log[st->nlog++] = *f;
}

static void record(const struct smmu_evt *ev)
{
	struct smmu_stats *st = &smmu_dev.stats;
	bool acc = evt_has_access(ev->type);
	struct smmu_fault f = {.sid = ev->sid,
			       .type = ev->type,
			       .write = acc && !ev->read,
			       .instr = acc && ev->instr,
			       .priv = acc && ev->priv,
			       .iova = ev->addr,
			       .ts = timer_now()};

	st->events++;
	if (ev->type < ARRAY_SIZE(st->faults_by_type))
		st->faults_by_type[ev->type]++;
	log_fault(st, &f);
}

/* What one drain printed: a device faulting on a buffer produces one
 * event per access (QEMU: per 4 bytes), so repeats on the same page and
 * anything past the line limit are only counted. */
struct drain {
	unsigned printed, quiet;
	bool have_last;
	struct smmu_evt last;
};

static bool repeat(const struct drain *dr, const struct smmu_evt *ev)
{
	const struct smmu_evt *l = &dr->last;

	return dr->have_last && ev->sid == l->sid && ev->type == l->type && ev->read == l->read &&
	       (ev->addr >> PAGE_SHIFT) == (l->addr >> PAGE_SHIFT);
}

static void handle(const uint64_t *raw, struct drain *dr)
{
	struct smmu_evt ev;
	char owner[sizeof(((struct smmu_owner *)0)->name) + 32], line[224];

	evt_decode(raw, &ev);
	record(&ev);
	if (repeat(dr, &ev) || dr->printed >= EVTQ_PRINT_MAX) {
		dr->quiet++;
		return;
	}
	stream_owner_name(ev.sid, owner, sizeof(owner));
	evt_format(&ev, owner, line, sizeof(line));
	kprintf("smmu: fault: %s\n", line);
	dr->printed++;
	dr->last = ev;
	dr->have_last = true;
}

/* PROD.OVFLG flips on each overflow; it is acknowledged by copying it to
 * CONS.OVACKFLG with the next CONS write. Returns whether it flipped. */
static bool check_overflow(uint32_t prod)
{
	if ((prod & Q_OVF) == smmu_dev.evtq_ovack)
		return false;
	smmu_dev.evtq_ovack = prod & Q_OVF;
	smmu_dev.stats.evtq_overflows++;
	kprintf("smmu: event queue overflowed: events were lost\n");
	return true;
}

/* Consumes everything up to prod. */
static void consume(struct smmu_queue *q, uint32_t prod, struct drain *dr)
{
	dsb(ld); /* entries only after the PROD read that announced them */
	while (!q_empty(prod, q->cons, q->log2)) {
		uint64_t *e = q->base + (size_t)q_idx(q->cons, q->log2) * EVT_DWORDS;

		smmu_sync_for_cpu(e, EVT_DWORDS * 8);
		handle(e, dr);
		q->cons = q_inc(q->cons, q->log2);
	}
}

void evtq_drain(void)
{
	struct smmu_queue *q = &smmu_dev.evtq;
	struct drain dr = {0};
	uint64_t flags = spin_lock_irqsave(&q->lock);

	for (;;) {
		uint32_t prod = smmu_read32(q->prod_reg);
		bool ack = check_overflow(prod);

		if (q_empty(prod, q->cons, q->log2) && !ack)
			break;
		consume(q, prod, &dr);
		/* Hands the slots back so the SMMU can record more. */
		smmu_write32(q->cons_reg, q->cons | smmu_dev.evtq_ovack);
	}
	spin_unlock_irqrestore(&q->lock, flags);
	if (dr.quiet)
		kprintf("smmu: %u more event%s not printed (repeats on a page, or past %u lines); "
			"`smmu` has the counts\n",
			dr.quiet, dr.quiet == 1 ? "" : "s", EVTQ_PRINT_MAX);
}

void smmu_poll_events(void)
{
	if (!smmu_dev.ready)
		return;
	evtq_drain();
	gerror_service();
}

/* Every interrupt passes through here first: only our INTIDs are taken.
 * priq and cmdq-sync are never enabled but are ours if they fire. */
bool smmu_handle_irq(unsigned intid)
{
	const struct smmu_info *i = &smmu_dev.info;

	if (!smmu_dev.irqs || !intid)
		return false;
	if (intid == i->irq_evtq)
		evtq_drain();
	else if (intid == i->irq_gerror)
		gerror_service();
	else if (intid != i->irq_priq && intid != i->irq_cmdq_sync)
		return false;
	return true;
}
