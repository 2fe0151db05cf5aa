/*
 * The host tests' view of the fake machine under kernel/vm: the fake CPU
 * (tests/host/fake_arch.c: registers, GIC, timer, world switch, each call
 * recorded) and the fake machine (tests/host/fake_machine.c: a RAM pool
 * for kernel/machine/mem.c, a kernel file, a config DTB built from specs,
 * kprintf captured). Tests include this after the header they test.
 */
#ifndef TESTS_HOST_FAKE_H
#define TESTS_HOST_FAKE_H

#include "kernel/vm/vm.h"

#define FAKE_NCPUS   4
#define FAKE_LOG_MAX 4096
#define FAKE_NREGS   64

/* Exit kinds guest_enter returns (vector slots). */
#define FAKE_EXIT_SYNC	 8
#define FAKE_EXIT_IRQ	 9
#define FAKE_EXIT_FIQ	 10
#define FAKE_EXIT_SERROR 11

struct fake_cpu {
	struct {
		const char *name;
		uint64_t v;
	} regs[FAKE_NREGS];
	unsigned nregs;
	bool irqs_on;
	uint64_t lr[16];
	uint64_t ich_hcr;
	const struct vcpu_ctx *ctx_on_cpu; /* vcpu_ctx_load'ed, not saved since */
	const struct vcpu_ctx *fp_on_cpu;  /* vcpu_fp_load'ed, not put since */
	unsigned ctx_loads, ctx_saves, exc_saves, exc_loads;
	uint64_t vttbr, vtcr;
	bool hcr_vm;
	bool wfi_trap; /* HCR_EL2.TWI as guest_wfi_trap left it */
	unsigned wfis, barriers;
	unsigned deactivated[32]; /* gic_deactivate(intid), per PPI/SGI */
	unsigned sgis[16];	  /* SGIs received, by number */
};

struct fake_entry {
	unsigned cpu;
	struct vcpu_ctx *ctx;
	uint64_t now;
};

struct fake_arch {
	unsigned cur;  /* the CPU the code under test runs on */
	uint64_t now;  /* CNTPCT; timer_ns_to_ticks: 1 tick = 1 ns */
	uint64_t step; /* added to now by every guest entry */
	struct fake_cpu cpu[FAKE_NCPUS];
	struct {
		unsigned cpu;
		const char *name;
		uint64_t v;
	} writes[FAKE_LOG_MAX];
	unsigned nwrites;
	struct fake_entry entries[FAKE_LOG_MAX]; /* guest_enter calls */
	unsigned nentries;
	unsigned irq_entries, irq_kind; /* arch_irq_entry */
	unsigned dcache_cleans, vmid_flushes;
	bool dcache_irqs_on;	 /* IRQs were unmasked at the last dcache clean */
	unsigned resets;	 /* vcpu_ctx_reset */
	unsigned ppi_lines;	 /* guest_ppi_lines(): GUEST_LINE_* bits */
	uint64_t disk_next_poll; /* kernel/io's disk_next_poll(): UINT64_MAX after reset */
	/* Hooks (NULL: defaults). guest_run is the guest: it may change ctx and
	 * set esr_el2/far_el2/hpfar_el2 (fake_set_reg), and returns the exit
	 * kind (default: an IRQ exit). wfi_hook runs at every WFI. va_to_pa
	 * is guest_va_to_pa (default: fails). */
	unsigned (*guest_run)(struct vcpu_ctx *ctx);
	void (*wfi_hook)(void);
	bool (*va_to_pa)(uint64_t va, uint64_t *pa);
};
extern struct fake_arch fake;

/* Everything back to power-on: CPUs 0..FAKE_NCPUS-1 online, CPU 0 current,
 * registers zero, logs empty, hooks cleared. */
void fake_arch_reset(void);
void fake_set_cpu(unsigned cpu);
/* The current CPU's register name (as written in the code: "esr_el2"). */
void fake_set_reg(const char *name, uint64_t v);
uint64_t fake_reg(unsigned cpu, const char *name);
/* How many times name was written on cpu (any CPU: cpu = -1u) since reset. */
unsigned fake_writes(unsigned cpu, const char *name);
/* What fake idreg_read answers: a pattern naming its arguments. */
#define FAKE_IDREG(crm, op2) (0x1d000000ull | ((uint64_t)(crm) << 4) | (op2))

/* ---- the fake machine (fake_machine.c) ---- */
struct fake_part_spec {
	const char *name;
	uint64_t cpu_mask;
	unsigned vcpus;	     /* 0: one per CPU */
	uint64_t mem_mib;    /* 0: 16 */
	uint64_t mem_base;   /* 0: any */
	const char *restore; /* "restore" property, NULL: none */
};
#define FAKE_POOL_SIZE (96ull << 20)
#define FAKE_KERNEL    "/k.bin"
/* Resets the fake CPU and machine, gives mem.c a RAM pool of
 * FAKE_POOL_SIZE bytes (2 MiB aligned) with a raw kernel file beside it,
 * and runs partitions_init on a config made from specs. */
void fake_world(const struct fake_part_spec *specs, unsigned n);
/* The kernel file (a raw image of FAKE_KERNEL_WORDS words, loaded at
 * FAKE_LOAD_ADDR): tests may rename or resize it after fake_world. */
#define FAKE_KERNEL_WORDS 64
#define FAKE_LOAD_ADDR	  (GUEST_RAM_BASE + 0x80000)
struct boot_module *fake_kernel_module(void);
const uint32_t *fake_kernel_data(void);
/* Where the pool starts (host address = physical address in the tests). */
uint64_t fake_pool_base(void);
/* Free bytes in mem.c's free list. */
uint64_t fake_free_bytes(void);
/* Operator start, then the jobs on the partition's job CPU until it runs
 * (asserts it does). */
void fake_start(struct partition *p);
/* Runs every queued lifecycle job (builds, releases) on every CPU. */
void fake_run_jobs(void);
/* Takes a vCPU onto its CPU as sched.c would (claim + load), without the
 * loop: for exit tests. Makes that CPU current. */
void fake_load(struct vcpu *v);
/* The hypervisor's disk (kernel/io's disk_submit, disk_geometry,
 * disk_scratch) as memory; no disk until attached. fail_in = n: the nth
 * request from now and every one after it fail with -EIO. */
#define FAKE_DISK_BLOCK	  512u
#define FAKE_DISK_SCRATCH (4ull << 20)
struct fake_disk {
	uint8_t *data;
	uint64_t blocks;
	unsigned requests, fail_in;
	bool failed;
};
extern struct fake_disk fake_disk;
void fake_disk_attach(uint64_t mib); /* 0: detach */
/* kprintf output since the last fake_log_clear. */
const char *fake_log(void);
void fake_log_clear(void);
bool fake_log_has(const char *s);

#endif
