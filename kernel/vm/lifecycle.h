/*
 * The partition lifecycle (lifecycle.c): plain C with no hardware access,
 * so host tests run it against fake operations. See lifecycle.c for the
 * state machine.
 */
#ifndef KERNEL_VM_LIFECYCLE_H
#define KERNEL_VM_LIFECYCLE_H

#include "lib/types.h"

#define LC_MAX_VCPUS 8
#define LC_MAX_PARTS 8
#define LC_MAX_CPUS  64

enum vcpu_power { VCPU_OFF, VCPU_ON };
enum part_state {
	PART_STOPPED,
	PART_STARTING,
	PART_RUNNING,
	PART_STOPPING,
	PART_FAILED,
	PART_PAUSED, /* its vCPUs leave their CPUs, then the paused job runs */
};
enum lc_job { LC_JOB_NONE, LC_JOB_BUILD, LC_JOB_RELEASE, LC_JOB_PAUSED };
/* Who asks for a stop: an operator's request always wins over a guest's. */
enum lc_who { LC_OPERATOR, LC_GUEST };
enum lc_event { LC_STARTED, LC_STOPPED, LC_START_FAILED, LC_RESUMED };

struct lc_vcpu {
	volatile int power;   /* enum vcpu_power */
	volatile bool loaded; /* claimed by its CPU: its state may be on that CPU */
	unsigned cpu;	      /* the CPU it is pinned to */
};

struct lc_part {
	volatile int state;   /* enum part_state */
	bool restart;	      /* build again once released */
	bool stop_asked;      /* a stop arrived while STARTING or PAUSED */
	bool stop_by_op;      /* ... from an operator (a guest's never overrides it) */
	bool restoring;	      /* this build restores a snapshot (lc_start_restore) */
	uint32_t restored_on; /* vCPUs the restore left on (bit i: vCPU i) */
	uint8_t job;	      /* enum lc_job queued on job_cpu */
	unsigned job_cpu;     /* where building and releasing run */
	uint64_t cpu_mask;
	uint64_t cpu_shared; /* of cpu_mask: CPUs other partitions may hold too */
	unsigned nvcpus;
	struct lc_vcpu vcpu[LC_MAX_VCPUS];
};

/*
 * What the lifecycle needs from the machine. build and release are the
 * long work: they run on the partition's job CPU with no lock held and may
 * be interrupted; release must also undo a build that failed half way.
 * place, unplace and reset_vcpu run under the lifecycle lock and must be
 * short. cpus_usable says whether the CPUs in a mask exist and are online.
 */
struct lc_ops {
	int (*build)(struct lc_part *p);
	/* PAUSED, every vCPU unloaded: the long work done on a paused
	 * partition (a snapshot save), like build; the partition runs again
	 * afterwards, whatever it returns. */
	void (*paused)(struct lc_part *p);
	void (*release)(struct lc_part *p);
	void (*place)(struct lc_part *p);
	void (*unplace)(struct lc_part *p);
	void (*reset_vcpu)(struct lc_part *p, unsigned idx, uint64_t entry, uint64_t arg);
	void (*kick)(unsigned cpu);
	bool (*cpus_usable)(uint64_t mask);
	void (*note)(struct lc_part *p, enum lc_event ev, int err);
};

void lc_init(const struct lc_ops *ops);
/* Registers a partition: STOPPED (or FAILED when its config is invalid). */
void lc_part_init(struct lc_part *p, bool valid, uint64_t cpu_mask, unsigned nvcpus);

/* CPUs of its mask it may share with partitions that may share them too
 * (a cyclic or priority schedule); its jobs then go to a CPU of its own
 * if it has one. After lc_part_init. */
void lc_part_share(struct lc_part *p, uint64_t shared);

/* Operator requests (shell, autostart): 0, or -EBUSY, -EAGAIN, -EINVAL, -EPERM. */
int lc_start(struct lc_part *p);
int lc_stop(struct lc_part *p, bool restart, enum lc_who who);
/* Start with restoring set: build restores a snapshot instead of booting,
 * and sets restored_on; the vCPUs it names come up on. Same answers. */
int lc_start_restore(struct lc_part *p);
/* RUNNING -> PAUSED: once no vCPU is loaded, ops->paused runs as the
 * partition's job, then RUNNING again (or a stop asked meanwhile is acted
 * on). 0, -EBUSY (not RUNNING) or -EPERM (FAILED). */
int lc_pause(struct lc_part *p);

/* The CPU loop: claim before loading a vCPU, unclaim after unloading it. */
bool lc_claim(struct lc_part *p, unsigned idx);
void lc_unclaim(struct lc_part *p, unsigned idx);
/* Whether a job waits for this CPU (a hint read without the lock), and
 * running it: the caller lets interrupts in around lc_run_job. */
bool lc_job_pending(unsigned cpu);
void lc_run_job(unsigned cpu);

/* Guest power requests (PSCI). lc_cpu_on answers 0, -EEXIST (already on
 * or still leaving its CPU) or -EBUSY (the partition is stopping). */
int lc_cpu_on(struct lc_part *p, unsigned idx, uint64_t entry, uint64_t arg);
void lc_cpu_off(struct lc_part *p, unsigned idx);
bool lc_vcpu_off(const struct lc_part *p, unsigned idx);

#endif
