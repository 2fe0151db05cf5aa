/*
 * The shell's view of the SMMU (`smmu`): features, the stream table and
 * what it holds, domains, attached streams, counters and the last faults.
 */
#include <stdio.h>
#include <string.h>

#include "smmu/smmu_int.h"
#include "lib/log.h"

static const char *plural(unsigned n)
{
	return n == 1 ? "" : "s";
}

static void print_state(void)
{
	const struct smmu_dev *s = &smmu_dev;
	char buf[256];

	smmu_features_str(&s->info.f, buf, sizeof(buf));
	kprintf("smmu: SMMUv3 at 0x%llx: %s\n", (unsigned long long)s->info.base, buf);
	kprintf("smmu: %s, %s domains, %s; CR0 0x%x, GBPA 0x%x, GERROR 0x%x, GERRORN 0x%x\n",
		s->ready ? "enabled" : "NOT enabled (initialisation failed)", smmu_stage_name(),
		s->coherent ? "coherent" : "non-coherent (driver cleans caches)",
		smmu_read32(SMMU_CR0), smmu_read32(SMMU_GBPA), smmu_read32(SMMU_GERROR),
		smmu_read32(SMMU_GERRORN));
	kprintf("smmu: queues: cmdq %u entries (PROD 0x%x CONS 0x%x), evtq %u entries "
		"(PROD 0x%x CONS 0x%x), irqs eventq %u gerror %u\n",
		1u << s->cmdq.log2, smmu_read32(SMMU_CMDQ_PROD), smmu_read32(SMMU_CMDQ_CONS),
		1u << s->evtq.log2, smmu_read32(SMMU_EVTQ_PROD), smmu_read32(SMMU_EVTQ_CONS),
		s->info.irq_evtq, s->info.irq_gerror);
}

/* Counted from memory, not from bookkeeping: this is the default-deny check. */
static void print_strtab(void)
{
	const struct smmu_dev *s = &smmu_dev;
	unsigned present, abort;

	strtab_count(&present, &abort);
	if (s->two_level)
		kprintf("smmu: stream table: 2-level, %u SID bits, %llu L1 descriptors, %u L2 "
			"table%s; streams without an L2 table abort (Span 0)\n",
			s->sid_bits, (unsigned long long)(s->strtab_size / 8), s->n_l2,
			plural(s->n_l2));
	else
		kprintf("smmu: stream table: linear, %u SID bits (%llu KiB)\n", s->sid_bits,
			(unsigned long long)(s->strtab_size >> 10));
	kprintf("smmu: STEs: %u present, %u abort, %u translating\n", present, abort,
		present - abort);
}

static void print_domains(void)
{
	const char *tag = smmu_dev.stage2 ? "VMID" : "ASID";
	unsigned n = 0;

	for (unsigned i = 0; i < SMMU_MAX_DOMAINS; i++) {
		const struct smmu_domain *d = &smmu_dev.domains[i];

		if (!d->used)
			continue;
		n++;
		kprintf("smmu: domain %u: owner %s, %s %u, %u-bit IOVA, %u table page%s, %llu KiB "
			"mapped, %u stream%s\n",
			d->id, d->owner.name, tag, d->tag, d->pt.ia_bits, d->tables,
			plural(d->tables), (unsigned long long)(d->mapped >> 10), d->nstreams,
			plural(d->nstreams));
	}
	if (!n)
		kprintf("smmu: domains: none\n");
}

static void print_streams(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SMMU_MAX_STREAMS; i++) {
		const struct smmu_stream *st = &smmu_dev.streams[i];

		if (!st->used)
			continue;
		n++;
		kprintf("smmu: stream 0x%04x -> domain %u (%s)%s%s\n", st->sid, st->d->id,
			st->d->owner.name, st->label[0] ? ", device " : "", st->label);
	}
	kprintf("smmu: %u stream%s attached; every other stream aborts\n", n, plural(n));
}

static void print_counters(const struct smmu_stats *st)
{
	char buf[256];
	size_t pos = 0;

	kprintf("smmu: counters: events %llu, gerrors %llu, evtq overflows %llu, syncs %llu, "
		"sync timeouts %llu\n",
		(unsigned long long)st->events, (unsigned long long)st->gerrors,
		(unsigned long long)st->evtq_overflows, (unsigned long long)st->cmd_syncs,
		(unsigned long long)st->cmd_timeouts);
	buf[0] = '\0';
	for (unsigned t = 0; t < ARRAY_SIZE(st->faults_by_type) && pos < sizeof(buf); t++) {
		int w;

		if (!st->faults_by_type[t])
			continue;
		w = snprintf(buf + pos, sizeof(buf) - pos, "%s%s %llu", pos ? ", " : "",
			     evt_type_name(t), (unsigned long long)st->faults_by_type[t]);
		pos += w > 0 ? (size_t)w : 0;
	}
	kprintf("smmu: faults by type: %s\n", pos ? buf : "none");
}

/* Owners are looked up now: the stream may have changed hands since. */
static void print_faults(const struct smmu_stats *st)
{
	uint64_t freq = timer_freq() ? timer_freq() : 1;

	if (st->nlog)
		kprintf("smmu: last faults (oldest first):\n");
	for (unsigned i = 0; i < st->nlog; i++) {
		const struct smmu_fault *f = &st->log[i];
		struct smmu_evt ev = {.type = f->type,
				      .sid = f->sid,
				      .read = !f->write,
				      .instr = f->instr,
				      .priv = f->priv,
				      .addr = f->iova};
		char owner[40], line[224];

		stream_owner_name(f->sid, owner, sizeof(owner));
		evt_format(&ev, owner, line, sizeof(line));
		char more[40] = "";

		if (f->repeats)
			snprintf(more, sizeof(more), " (+%u more on this page)", f->repeats);
		kprintf("smmu:   [%llu.%06llu] %s%s\n", (unsigned long long)(f->ts / freq),
			(unsigned long long)(f->ts % freq * 1000000 / freq), line, more);
	}
}

/* Stats are copied under the event lock so the ring is not torn. */
static void snapshot_stats(struct smmu_stats *out)
{
	uint64_t flags = spin_lock_irqsave(&smmu_dev.evtq.lock);

	memcpy(out, &smmu_dev.stats, sizeof(*out));
	spin_unlock_irqrestore(&smmu_dev.evtq.lock, flags);
}

void smmu_print_status(void)
{
	struct smmu_stats st;
	uint64_t flags;

	if (!smmu_dev.regs) {
		kprintf("smmu: driver not initialised\n");
		return;
	}
	print_state();
	flags = spin_lock_irqsave(&smmu_dev.lock);
	print_strtab();
	print_domains();
	print_streams();
	spin_unlock_irqrestore(&smmu_dev.lock, flags);
	snapshot_stats(&st);
	print_counters(&st);
	print_faults(&st);
}
