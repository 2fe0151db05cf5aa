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
enum part_state { PART_STOPPED, PART_STARTING, PART_RUNNING, PART_STOPPING, PART_FAILED };
enum lc_job { LC_JOB_NONE, LC_JOB_BUILD, LC_JOB_RELEASE };
/* Who asks for a stop: an operator's request always wins over a guest's. */
enum lc_who { LC_OPERATOR, LC_GUEST };
enum lc_event { LC_STARTED, LC_STOPPED, LC_START_FAILED };

struct lc_vcpu {
	volatile int power;   /* enum vcpu_power */
	volatile bool loaded; /* claimed by its CPU: its state may be on that CPU */
	unsigned cpu;	      /* the CPU it is pinned to */
};

struct lc_part {
	volatile int state; /* enum part_state */
	bool restart;	    /* build again once released */
	bool stop_asked;    /* an operator stop arrived while STARTING */
	uint8_t job;	    /* enum lc_job queued on job_cpu */
	unsigned job_cpu;   /* where building and releasing run */
	uint64_t cpu_mask;
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

/* Operator requests (shell, autostart): 0, or -EBUSY, -EAGAIN, -EINVAL, -EPERM. */
int lc_start(struct lc_part *p);
int lc_stop(struct lc_part *p, bool restart, enum lc_who who);

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
