/*
 * Private to kernel/vm: a paused partition's state as snapshot records and
 * back (snap_state.c, portable: host tests run it), and the snapshot jobs
 * (snap_engine.c, snap_cmds.c).
 */
#ifndef KERNEL_VM_SNAP_STATE_H
#define KERNEL_VM_SNAP_STATE_H

#include "kernel/vm/vm.h"
#include "snapshot/snapshot.h"

/* vCPU v of a paused partition (unloaded: its context is the truth). */
void snap_vcpu_from(const struct vcpu *v, struct snap_vcpu *out);
/* Into a vCPU freshly reset by the build: 0, or -EINVAL with why (the
 * record names another vCPU, an impossible power state or PSTATE that
 * would run at EL2). Sets nothing of v's on error. */
int snap_vcpu_into(struct vcpu *v, const struct snap_vcpu *in, char *why, size_t whylen);

/* The timers of a paused partition at host count now (freeze policy). */
void snap_timer_from(const struct partition *p, uint64_t now, uint64_t freq, struct snap_timer *t,
		     struct snap_timer_cpu *cpus);
/* Sets p->cntvoff so the guest's virtual count carries on from the saved
 * one at host count now (freeze: no gap), then the vCPUs' timer
 * registers. -EINVAL with why: another counter frequency or vCPU count. */
int snap_timer_into(struct partition *p, const struct snap_timer *t,
		    const struct snap_timer_cpu *cpus, uint64_t now, uint64_t freq, char *why,
		    size_t whylen);

/* Guest memory map of p as the snapshot's ranges: the MMIO windows it had
 * (for tools), then its RAM. */
unsigned snap_mmio_ranges(const struct partition *p, uint64_t ipa[3], uint64_t bytes[3]);

/* snap_engine.c: the store (one job at a time: take it first) and the jobs */
void store_take(void);
void store_give(void);
struct snap_store *store_get(bool may_format, char *why, size_t whylen);
void store_drop(void);
uint64_t snap_us(uint64_t ticks);
int snap_save_partition(struct partition *p, const char *name, const char *parent, uint64_t now,
			struct snap_save_stats *st, char *why, size_t whylen);
int snap_restore_partition(struct partition *p, const char *name, uint64_t *read_bytes, char *why,
			   size_t whylen);
/* The vCPU, vGIC, timer and device records of paused p (no memory). */
int snap_save_state(struct snap_save *w, struct partition *p, uint64_t now, char *why,
		    size_t whylen);
/* snap_live.c: a live save's pause (the paused job, the store taken):
 * state saved, RAM write-protected, the writer queued on a CPU no
 * partition uses; 0 and p may resume. */
int snap_live_begin(struct partition *p, const char *name, uint64_t t_ask, uint64_t now, char *why,
		    size_t whylen);
/* snap_cmds.c: j queued on a CPU no partition uses: that CPU, or -EBUSY. */
int snap_job_place(struct sched_job *j, const struct partition *p);

/* The store's device, written directly (snap_par.c: chunks it placed). */
int snap_bdev_write(uint64_t sector, uint64_t count, const void *buf);

/* Pages in chunk k of a RAM range of bytes (the last one may be short). */
static inline uint32_t snap_range_chunk_pages(uint64_t bytes, uint32_t k)
{
	uint64_t left = (bytes - (uint64_t)k * SNAP_CHUNK_BYTES) / SNAP_PAGE;
	return left < SNAP_CHUNK_PAGES ? (uint32_t)left : SNAP_CHUNK_PAGES;
}

/* An incremental save: the pages written since the parent (a bit per
 * page, dirty.c) and the parent's chunks of p's RAM range. */
struct snap_incr {
	const uint64_t *dirty;
	const struct snap_chunk *parent;
};
/* snap_par.c: guest RAM saved (declared and written; with incr, the
 * chunks with no page written shared with the parent) or loaded on all of
 * p's CPUs. 0, or an error with why. */
int snap_par_save(struct snap_save *w, const struct partition *p, const struct snap_incr *incr,
		  char *why, size_t whylen);
int snap_par_load(struct snap_image *m, unsigned range, const struct partition *p, char *why,
		  size_t whylen);

/* snap_cmds.c: what the lifecycle's jobs run for a snapshot (partition.c) */
void snap_paused_job(struct partition *p);
int snap_restore_job(struct partition *p);

#endif
