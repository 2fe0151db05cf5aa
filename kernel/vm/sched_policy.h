/*
 * Per-CPU scheduling policies (issue 12): the portable engine
 * (sched_policy.c) that decides which vCPU of a CPU runs and until when,
 * and the /scheduler configuration (sched_config.c, docs/config.md). No
 * arch calls: time comes in as counter ticks, so host tests drive it
 * with a simulated clock.
 */
#ifndef KERNEL_VM_SCHED_POLICY_H
#define KERNEL_VM_SCHED_POLICY_H

#include "kernel/vm/guest.h"

enum sched_policy {
	SCHED_DEFAULT,	/* unlisted CPU: one partition, round robin in 10 ms slices */
	SCHED_PINNED,	/* one vCPU, nothing to decide */
	SCHED_CYCLIC,	/* ARINC 653 style major frame split into windows */
	SCHED_PRIORITY, /* fixed priorities, budget per period, round robin at equal */
};

#define SP_MAX_VCPUS   16 /* vCPUs sharing one CPU */
#define SP_MAX_WINDOWS 16 /* windows in one major frame */
#define SP_HIST	       6  /* latency buckets: <10us <100us <1ms <10ms <100ms >=100ms */
#define SP_NONE	       (-1)

/* ---- configuration: /scheduler (sched_config.c) ---- */

struct sched_window_cfg {
	uint32_t offset_us, length_us; /* from the start of the major frame */
	char owner[PART_NAME_MAX];
	int part; /* index of owner in the partition table, after validation */
};

struct sched_cpu_cfg {
	enum sched_policy policy;
	uint32_t frame_us; /* cyclic: major frame */
	uint32_t slice_us; /* round robin among equals (same window, same priority) */
	unsigned nwin;
	struct sched_window_cfg win[SP_MAX_WINDOWS];
	bool valid;
	char error[PART_ERR_MAX];
};

struct sched_cfg {
	uint64_t listed; /* CPUs with a /scheduler/cpu@N node */
	struct sched_cpu_cfg cpu[64];
};

#define SCHED_SLICE_US_DEFAULT 10000

/* Parses /scheduler into out (every CPU SCHED_DEFAULT unless listed).
 * -1 with err filled if the tree itself is unusable; otherwise 0, a bad
 * CPU node having valid=false and error naming node and property. */
int sched_config_parse(const void *cfg, struct sched_cfg *out, char *err, size_t errlen);
/* Against the partitions (already parsed) and the machine: CPUs exist,
 * window owners exist and have that CPU, a cyclic CPU's partitions each
 * own a window there, a pinned CPU gets one vCPU. A partition on an invalid
 * CPU node is refused. Sets each partition's cpu_shared, the CPUs
 * part_config_validate then lets it share: call it before that. */
void sched_config_validate(struct sched_cfg *s, struct part_cfg *p, unsigned n, unsigned ncpus);
/* The CPUs whose policy lets partitions share them (cyclic, priority). */
uint64_t sched_shared_cpus(const struct sched_cfg *s);

/* ---- the engine (sched_policy.c) ---- */

struct sp_stats {
	uint64_t runtime;  /* ticks run */
	uint64_t wakeups;  /* became ready (an interrupt or timer after a wait, power on) */
	uint64_t overruns; /* periods in which the budget ran out while it still wanted to run */
	uint64_t lat_max;  /* ticks from a wake-up to running, worst */
	uint64_t hist[SP_HIST];
};

struct sp_vcpu {
	int part; /* partition index: the window owner it matches */
	unsigned prio;
	uint64_t budget, period; /* ticks; budget 0: unlimited */
	bool ready;
	bool fresh;	   /* woken and not run since: its latency is still open */
	bool throttled;	   /* out of budget until repl_at */
	int64_t left;	   /* budget left this period (negative: a late preemption's debt) */
	uint64_t repl_at;  /* next replenishment */
	uint64_t ready_at; /* when it woke */
	struct sp_stats st;
};

struct sp_window {
	uint64_t start, end; /* ticks from the frame start */
	int part;
};

struct sp_cpu {
	enum sched_policy policy;
	uint64_t frame, slice, ticks_per_us;
	uint64_t epoch; /* a major frame starts here */
	unsigned nwin, n;
	struct sp_window win[SP_MAX_WINDOWS];
	struct sp_vcpu v[SP_MAX_VCPUS];
	int cur;	    /* running, or SP_NONE */
	int last;	    /* ran last: round robin goes on after it */
	uint64_t since;	    /* cur runs since */
	uint64_t slice_end; /* cur's slice */
};

struct sp_pick {
	int vcpu;	/* index into v[], SP_NONE: idle */
	uint64_t until; /* next scheduling event (UINT64_MAX: none) */
};

/* A CPU under policy; frames (cyclic) start at now. slice and frame in
 * ticks. */
void sp_init(struct sp_cpu *c, enum sched_policy policy, uint64_t frame, uint64_t slice,
	     uint64_t ticks_per_us, uint64_t now);
/* Windows in increasing order, inside the frame, not overlapping (the
 * config checked it): -EINVAL otherwise, or when full. */
int sp_add_window(struct sp_cpu *c, uint64_t start, uint64_t len, int part);
/* A vCPU, not ready; its first period starts at now. Its index, or -1. */
int sp_add_vcpu(struct sp_cpu *c, int part, unsigned prio, uint64_t budget, uint64_t period,
		uint64_t now);
/* It can run (woken) / it cannot (waiting, off, stopped). Idempotent. */
void sp_wake(struct sp_cpu *c, int i, uint64_t now);
void sp_block(struct sp_cpu *c, int i, uint64_t now);
/* Accounts the running vCPU up to now and decides: the vCPU that runs
 * from now (it becomes cur), and when to decide again at the latest. */
struct sp_pick sp_decide(struct sp_cpu *c, uint64_t now);
const char *sp_policy_name(enum sched_policy p);

#endif
