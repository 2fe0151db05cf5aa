/*
 * Streams: which stream IDs translate through which domain. A stream has
 * at most one owner; attaching writes its STE to translate, detaching puts
 * the abort STE back. Everything here runs under dev.lock, which also
 * keeps the owner names stable for the event log.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "smmu/smmu_int.h"
#include "lib/log.h"

static struct smmu_stream *find(uint32_t sid)
{
	for (unsigned i = 0; i < SMMU_MAX_STREAMS; i++)
		if (smmu_dev.streams[i].used && smmu_dev.streams[i].sid == sid)
			return &smmu_dev.streams[i];
	return NULL;
}

static struct smmu_stream *free_slot(void)
{
	for (unsigned i = 0; i < SMMU_MAX_STREAMS; i++)
		if (!smmu_dev.streams[i].used)
			return &smmu_dev.streams[i];
	return NULL;
}

/* Best effort after a failed update: whatever happened, end in abort. */
static int write_abort(uint32_t sid)
{
	uint64_t ste[STE_DWORDS];

	ste_abort(ste);
	return ste_write(sid, ste);
}

static int attach_locked(struct smmu_domain *d, uint32_t sid)
{
	struct smmu_stream *st;
	uint64_t ste[STE_DWORDS];
	int e;

	if (find(sid))
		return -EBUSY;
	st = free_slot();
	if (!st)
		return -ENOSPC;
	e = strtab_prepare(sid);
	if (e)
		return e;
	domain_ste(d, ste);
	e = ste_write(sid, ste);
	if (e) {
		write_abort(sid);
		return e;
	}
	*st = (struct smmu_stream){.used = true, .sid = sid, .d = d};
	d->nstreams++;
	return 0;
}

int smmu_attach(struct smmu_domain *d, uint32_t sid)
{
	uint64_t flags;
	int e;

	if (!smmu_dev.ready || !domain_ok(d))
		return -EINVAL;
	flags = spin_lock_irqsave(&smmu_dev.lock);
	e = attach_locked(d, sid);
	spin_unlock_irqrestore(&smmu_dev.lock, flags);
	if (e)
		kprintf("smmu: cannot attach stream 0x%04x to %s (%d)\n", sid, d->owner.name, e);
	else
		kprintf("smmu: stream 0x%04x attached to domain %u (%s)\n", sid, d->id,
			d->owner.name);
	return e;
}

/* The stream is released even if the sync timed out: its STE in memory
 * is abort either way, and the error is returned. */
int smmu_detach(uint32_t sid)
{
	uint64_t flags;
	struct smmu_stream *st;
	int e = -ENOENT;

	if (!smmu_dev.ready)
		return -EINVAL;
	flags = spin_lock_irqsave(&smmu_dev.lock);
	st = find(sid);
	if (st) {
		e = write_abort(sid);
		st->d->nstreams--;
		memset(st, 0, sizeof(*st));
	}
	spin_unlock_irqrestore(&smmu_dev.lock, flags);
	return e;
}

void stream_owner_name(uint32_t sid, char *buf, size_t len)
{
	uint64_t flags = spin_lock_irqsave(&smmu_dev.lock);
	const struct smmu_stream *st = find(sid);

	if (st && st->label[0])
		snprintf(buf, len, "%s, device %s", st->d->owner.name, st->label);
	else
		snprintf(buf, len, "%s", st ? st->d->owner.name : "nobody");
	spin_unlock_irqrestore(&smmu_dev.lock, flags);
}

int smmu_stream_label(uint32_t sid, const char *label)
{
	uint64_t flags = spin_lock_irqsave(&smmu_dev.lock);
	struct smmu_stream *st = find(sid);

	if (st)
		snprintf(st->label, sizeof(st->label), "%s", label);
	spin_unlock_irqrestore(&smmu_dev.lock, flags);
	return st ? 0 : -ENOENT;
}

bool smmu_stream_owner(uint32_t sid, char *buf, size_t len)
{
	uint64_t flags = spin_lock_irqsave(&smmu_dev.lock);
	const struct smmu_stream *st = find(sid);

	if (st)
		snprintf(buf, len, "%s", st->d->owner.name);
	spin_unlock_irqrestore(&smmu_dev.lock, flags);
	return st != NULL;
}

/* Benchmarks only (test-only `disk bench`): lets an attached stream bypass
 * translation for a measurement, then puts its domain back. */
int smmu_set_bypass(uint32_t sid, bool bypass)
{
	uint64_t flags, ste[STE_DWORDS];
	struct smmu_stream *st;
	int e = -ENOENT;

	if (!smmu_dev.ready)
		return -EINVAL;
	flags = spin_lock_irqsave(&smmu_dev.lock);
	st = find(sid);
	if (st) {
		if (bypass)
			ste_bypass(ste);
		else
			domain_ste(st->d, ste);
		e = ste_write(sid, ste);
	}
	spin_unlock_irqrestore(&smmu_dev.lock, flags);
	return e;
}
