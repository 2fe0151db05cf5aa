/*
 * arch/arm64 API: CPU registers and barriers, MMIO accessors, the EL2 MMU,
 * exceptions, GICv3, the generic timer, PSCI, and the portable pieces
 * (page tables, ESR decoding) that also build for host unit tests.
 * Uses only lib/; upward needs (the secondary CPUs' C entry, the crash
 * report's sinks) are hooks set at boot.
 */
#ifndef ARCH_ARM64_ARCH_H
#define ARCH_ARM64_ARCH_H

#include "lib/lib.h"
#include "arch/arm64/pt.h"
#include "arch/arm64/esr.h"

#define MAX_CPUS   16
#define STACK_SIZE (16 * 1024)
#define SGI_STOP   15 /* "stop now": sent by a crashing CPU to the others */
#define SGI_KICK   1  /* "look at your requests": scheduler messages */
/* "a virtual interrupt is pending for a vCPU of yours" (vgic kicks only):
 * apart from SGI_KICK so the fast exit path can answer it alone */
#define SGI_VIRQ   2
#define PPI_MAINT  25 /* GIC virtual interface maintenance */
#define PPI_VTIMER 27
#define PPI_PTIMER 30
#define PPI_PMU	   23 /* PMU overflow: QEMU virt's, and the INTID SBSA recommends */

/* Registers saved on every exception taken to EL2; layout fixed by entry.S. */
struct exc_frame {
	uint64_t x[31]; /* x0..x30 */
	uint64_t sp;	/* SP at the time of the exception */
	uint64_t elr;
	uint64_t spsr;
	uint64_t esr;
	uint64_t far;
};

/* ---- vCPU context (portable: host tests build the code that edits it) ---- */
#define DBG_MAX_BPS	 16 /* breakpoint and watchpoint register pairs, architectural maximum */
#define PMU_MAX_COUNTERS 31 /* PMUv3 event counters, architectural maximum */
/* Everything a guest owns on a CPU; the layout of the first fields is fixed
 * by guest.S and fp_regs.S. x, pc and pstate are saved on every exit; the
 * rest, FP/SIMD and SVE included, lives in the CPU while the vCPU is loaded
 * (vcpu_ctx_load/save, vcpu_fp_load/put) and is only valid here after the
 * vCPU was unloaded. */
struct vcpu_ctx {
	uint64_t x[31];
	uint64_t pc;	   /* ELR_EL2 */
	uint64_t pstate;   /* SPSR_EL2 */
	uint64_t fp_v[64]; /* q0..q31 */
	uint64_t fpsr, fpcr;
	/* SVE (sve.c), beside FP/SIMD for fp_regs.S (offsets checked in fpsimd.c) */
	uint8_t *sve;	  /* Z0-Z31, P0-P15, FFR save area; NULL: no SVE */
	uint64_t zcr_el2; /* ZCR_EL2 while this vCPU runs (its partition's length) */
	uint64_t zcr_el1;
	uint8_t sve_used; /* used since the vCPU's reset: sve holds its state */
	/* EL1 system registers */
	uint64_t sp_el0, sp_el1, elr_el1, spsr_el1;
	uint64_t sctlr, ttbr0, ttbr1, tcr, mair, amair, vbar, contextidr, cpacr;
	uint64_t tpidr_el0, tpidrro_el0, tpidr_el1, csselr, esr, far, afsr0, afsr1, par;
	uint64_t mdscr, cntkctl;
	/* timers */
	uint64_t cntv_ctl, cntv_cval, cntp_ctl, cntp_cval;
	/* GIC virtual CPU interface */
	uint64_t ich_vmcr, ich_ap0r0, ich_ap1r0;
	/* identity */
	uint64_t vmpidr;
	/* pointer authentication keys (APIA, APIB, APDA, APDB, APGA; lo/hi) */
	uint64_t pac_keys[10];
	/* self-hosted debug: breakpoints, watchpoints, OS lock, double lock,
	 * DCC interrupt enables */
	uint64_t dbg_bvr[DBG_MAX_BPS], dbg_bcr[DBG_MAX_BPS];
	uint64_t dbg_wvr[DBG_MAX_BPS], dbg_wcr[DBG_MAX_BPS];
	uint64_t oslk, osdlr, mdccint;
	/* PMU (pmu.c): control, enables and overflow flags as bit masks */
	uint64_t pmcr, pmselr, pmcnten, pminten, pmovs, pmuserenr, pmccntr, pmccfiltr;
	uint64_t pmevcntr[PMU_MAX_COUNTERS], pmevtyper[PMU_MAX_COUNTERS];
};
#define VCPU_CTX_PC 248

/* Exception injection (vcpu_inject.c): makes the vCPU take an exception to
 * EL1 as the hardware would. Works on a saved context: the caller brings
 * the EL1 registers it touches (ELR, SPSR, ESR, FAR, SCTLR, VBAR) into c
 * and puts them back (vcpu_ctx_save_exc/load_exc). */
void vcpu_inject_sync(struct vcpu_ctx *c, uint64_t esr, uint64_t far, bool set_far);
void vcpu_inject_undef(struct vcpu_ctx *c);
/* A synchronous external abort on a data access or instruction fetch at
 * virtual address va (FAR_EL1); !va_valid sets ESR_EL1.FnV instead. */
void vcpu_inject_dabt(struct vcpu_ctx *c, uint64_t va, bool va_valid, bool write);
void vcpu_inject_iabt(struct vcpu_ctx *c, uint64_t va, bool va_valid);

/* ---- ID registers for guests (idregs.c) ---- */
uint64_t idreg_sanitize(unsigned crm, unsigned op2, uint64_t v); /* portable */
uint64_t idreg_read(unsigned crm, unsigned op2);		 /* Op0 3, Op1 0, CRn 0 */
/* The same for a partition with optional features (IDREG_*): */
#define IDREG_SVE BIT(0) /* SVE enabled: ID_AA64PFR0_EL1.SVE and ID_AA64ZFR0_EL1 shown */
uint64_t idreg_sanitize_opt(unsigned crm, unsigned op2, uint64_t v, unsigned opts);
uint64_t idreg_read_opt(unsigned crm, unsigned op2, unsigned opts);

/* ---- SVE (sve.c; portable part: the state's size) ---- */
#define SVE_VL_MAX 256 /* bytes: the architectural maximum vector length */
/* Bytes of Z0-Z31, P0-P15 and FFR at vector length vl (bytes). */
static inline size_t sve_state_size(unsigned vl)
{
	return 32u * vl + 17u * (vl / 8);
}

#if defined(__aarch64__) && !defined(TESSERA_HOST)

#define read_sysreg(r)                                                                             \
	({                                                                                         \
		uint64_t __v;                                                                      \
		__asm__ volatile("mrs %0, " #r : "=r"(__v));                                       \
		__v;                                                                               \
	})
#define write_sysreg(r, v)                                                                         \
	do {                                                                                       \
		uint64_t __v = (uint64_t)(v);                                                      \
		__asm__ volatile("msr " #r ", %0" : : "r"(__v) : "memory");                        \
	} while (0)

#define isb()	    __asm__ volatile("isb" ::: "memory")
#define dsb(opt)    __asm__ volatile("dsb " #opt ::: "memory")
#define dmb(opt)    __asm__ volatile("dmb " #opt ::: "memory")
#define wfi()	    __asm__ volatile("wfi" ::: "memory")
#define wfe()	    __asm__ volatile("wfe" ::: "memory")
#define sev()	    __asm__ volatile("sev" ::: "memory")
#define cpu_relax() __asm__ volatile("yield" ::: "memory")

/* The list-register accessors the fast exit path inlines (vcpu_ctx.c has
 * the out-of-line ones the vGIC model reaches through vgic_ops). */
#define ICH_LR_CASE(n, crm, op2)                                                                   \
	case n:                                                                                    \
		write_sysreg(S3_4_C12_##crm##_##op2, v);                                           \
		break
static inline void ich_lr_put(unsigned i, uint64_t v)
{
	/* the first LRs by compare and branch: a jump table costs more */
	if (i == 0) {
		write_sysreg(S3_4_C12_C12_0, v);
		return;
	}
	if (i == 1) {
		write_sysreg(S3_4_C12_C12_1, v);
		return;
	}
	switch (i) {
		ICH_LR_CASE(0, C12, 0);
		ICH_LR_CASE(1, C12, 1);
		ICH_LR_CASE(2, C12, 2);
		ICH_LR_CASE(3, C12, 3);
		ICH_LR_CASE(4, C12, 4);
		ICH_LR_CASE(5, C12, 5);
		ICH_LR_CASE(6, C12, 6);
		ICH_LR_CASE(7, C12, 7);
		ICH_LR_CASE(8, C13, 0);
		ICH_LR_CASE(9, C13, 1);
		ICH_LR_CASE(10, C13, 2);
		ICH_LR_CASE(11, C13, 3);
		ICH_LR_CASE(12, C13, 4);
		ICH_LR_CASE(13, C13, 5);
		ICH_LR_CASE(14, C13, 6);
		ICH_LR_CASE(15, C13, 7);
	}
}
#undef ICH_LR_CASE
static inline uint32_t ich_elrsr_get(void)
{
	return (uint32_t)read_sysreg(S3_4_C12_C11_5);
}
/* ICC_IAR1_EL1 / ICC_EOIR1_EL1 (gic_ack, gic_priority_drop), inline for
 * the same path. */
static inline unsigned icc_ack(void)
{
	unsigned v = read_sysreg(S3_0_C12_C12_0) & 0xffffff;
	dsb(sy);
	return v;
}
static inline void icc_drop(unsigned intid)
{
	write_sysreg(S3_0_C12_C12_1, intid);
	isb();
}
/* The same right before an ERET, which synchronizes the write itself. */
static inline void icc_drop_eret(unsigned intid)
{
	write_sysreg(S3_0_C12_C12_1, intid);
}

static inline void icc_deactivate(unsigned intid)
{
	write_sysreg(S3_0_C12_C11_1, intid); /* ICC_DIR_EL1 */
	isb();
}

static inline void irq_enable(void)
{
	__asm__ volatile("msr daifclr, #2" ::: "memory");
}
static inline void irq_disable(void)
{
	__asm__ volatile("msr daifset, #2" ::: "memory");
}

static inline uint32_t mmio_read32(uintptr_t a)
{
	uint32_t v;
	__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline void mmio_write32(uintptr_t a, uint32_t v)
{
	__asm__ volatile("str %w0, [%1]" : : "r"(v), "r"(a) : "memory");
}
static inline uint64_t mmio_read64(uintptr_t a)
{
	uint64_t v;
	__asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline void mmio_write64(uintptr_t a, uint64_t v)
{
	__asm__ volatile("str %0, [%1]" : : "r"(v), "r"(a) : "memory");
}
static inline uint16_t mmio_read16(uintptr_t a)
{
	uint16_t v;
	__asm__ volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline uint8_t mmio_read8(uintptr_t a)
{
	uint8_t v;
	__asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline void mmio_write16(uintptr_t a, uint16_t v)
{
	__asm__ volatile("strh %w0, [%1]" : : "r"(v), "r"(a) : "memory");
}
static inline void mmio_write8(uintptr_t a, uint8_t v)
{
	__asm__ volatile("strb %w0, [%1]" : : "r"(v), "r"(a) : "memory");
}

#endif /* __aarch64__: the hardware primitives */
#if defined(TESSERA_HOST)
/* Host tests: the same primitives over a fake CPU (tests/host/fake_arch.c
 * records what the code under test does to it). */
#include "tests/host/fake_arch.h"
#endif
#if defined(__aarch64__) || defined(TESSERA_HOST)

/* ---- per-CPU data (TPIDR_EL2 points at it) ---- */
struct __attribute__((aligned(128))) percpu {
	unsigned id;	   /* logical CPU number: index into the DT's cpu list */
	uint64_t mpidr;	   /* affinity from the DT */
	uint64_t stack_lo; /* [stack_lo, stack_hi) is this CPU's EL2 stack */
	uint64_t stack_hi;
	uintptr_t gicr; /* this CPU's redistributor (RD_base) */
	volatile int online;
	uint64_t irqs;	   /* interrupts handled, for `cpus` */
	uint64_t host_sp;  /* guest.S: EL2 stack while a guest runs */
	void *guest_ctx;   /* guest.S: struct vcpu_ctx of the running vCPU */
	void *vcpu;	   /* kernel: the vCPU pinned to this CPU, or NULL */
	uint32_t msgs;	   /* kernel: pending requests (bit mask), see sched.c */
	uint64_t exits;	   /* guest exits handled here */
	void *loaded;	   /* kernel: the vCPU whose state is on this CPU */
	uint64_t emerg_sp; /* entry.S: stack for reporting a stack overflow */
	/* An interrupt the fast exit path acknowledged but left to the full
	 * path (arch_irq_entry handles it first), or GIC_NO_IRQ. */
	uint32_t acked_irq;
};
static inline struct percpu *this_cpu(void)
{
	return (struct percpu *)read_sysreg(tpidr_el2);
}
extern struct percpu percpu_data[MAX_CPUS];

/* ---- cache maintenance ---- */
void dcache_clean_range(uintptr_t va, size_t size);
void dcache_clean_inval_range(uintptr_t va, size_t size);

/* ---- EL2 MMU (mmu.c) ---- */
unsigned cpu_pa_bits(void); /* ID_AA64MMFR0_EL1.PARange in bits */
/* Boot CPU only, in this order: el2_mmu_init builds an empty table holding
 * the device regions registered so far; the kernel adds RAM with
 * el2_map_ram; el2_mmu_switch maps the image by section (text RX, rodata R,
 * data RW) over it and switches to the new tables. alloc_page returns a
 * page-aligned page the tables may use forever. */
int el2_mmu_init(void *(*alloc_page)(void));
int el2_mmu_switch(uint64_t image_base, uint64_t image_size);
int el2_unmap(uint64_t pa, uint64_t size);
/* Identity-maps a device region (Device-nGnRE, never executable); usable
 * before and after el2_mmu_init. Returns the VA or 0 on failure. */
uintptr_t el2_map_device(uint64_t pa, uint64_t size);
/* Identity-maps normal RAM read-write, never executable. */
int el2_map_ram(uint64_t pa, uint64_t size);
/* Turns this (secondary) CPU's MMU on with the boot CPU's tables. */
void el2_mmu_enable_secondary(void);
/* Looks up an EL2 VA in tessera's tables (diagnostics, backtraces). */
bool el2_is_mapped(uintptr_t va);

/* ---- exceptions (entry.S) and crash reports (crash.c) ---- */
void vectors_install(void);
/* Makes the crash report panic()'s handler (lib/panic.h). */
void crash_init(void);
/* The IRQ handler calls it for SGI_STOP: halts this CPU if another is
 * reporting a crash. */
void crash_stop_handler(void);
/* Called by entry.S for an exception taken from EL2: a hypervisor bug. */
void el2_sync_unexpected(struct exc_frame *f) __attribute__((noreturn));
/* Called by entry.S, on the emergency stack, when an EL2 synchronous
 * exception found SP outside a stack's 16 KiB-aligned upper half (see
 * cpu_setup_stack): f->sp is the SP at the fault. */
void el2_stack_overflow(struct exc_frame *f) __attribute__((noreturn));
/* Set by the kernel: called for every physical IRQ with its INTID; returns
 * true if it forwarded the interrupt to a guest (then only its priority is
 * dropped here; the guest's EOI deactivates it). */
void arch_set_irq_handler(bool (*fn)(unsigned intid));
/* Handles every pending physical IRQ (IRQs masked), as the vector does. */
void arch_irq_entry(struct exc_frame *f, unsigned kind);

/* ---- GICv3 (gic.c) ---- */
struct gic_info {
	uint64_t gicd_base, gicd_size;
	uint64_t gicr_base, gicr_size;
	unsigned version; /* 3 or 4, from GICD_PIDR2 */
	unsigned spis;	  /* number of SPIs + 32 (GICD_TYPER.ITLinesNumber) */
	bool has_its;
	uint64_t its_base;
	unsigned lrs; /* ICH_VTR_EL2.ListRegs + 1 */
};
int gic_init_dist(const struct gic_info *gi);
int gic_init_cpu(void); /* redistributor + CPU interface of this CPU */
const struct gic_info *gic_get_info(void);
void gic_enable_irq(unsigned intid, bool edge, unsigned target_cpu);
void gic_disable_irq(unsigned intid); /* SPIs only */
void gic_send_sgi_others(unsigned sgi);
void gic_send_sgi(unsigned cpu, unsigned sgi);
unsigned gic_ack(void);
void gic_eoi(unsigned intid);

/* ---- the physical GICv3 ITS (gits.c), for assigned devices' MSIs ---- */
/* memory gits_init needs: LPI configuration, a pending table per CPU,
 * device and collection tables, command queue, ITTs (64 KiB each) */
#define GITS_MEM_SIZE ((1 + MAX_CPUS + 4) * 0x10000ull)
#define GITS_LPI_MIN  8192u
/* Sets up the ITS at its_pa (once; later calls return 0): LPIs on in
 * every online CPU's redistributor, collection n = CPU n. mem: GITS_MEM_SIZE
 * bytes of RAM, 64 KiB aligned, the ITS's for good. 0 or -errno. */
int gits_init(uint64_t its_pa, uintptr_t mem, size_t size);
bool gits_ready(void);
/* (DeviceID devid, EventID eventid below 32) -> a free LPI, taken by CPU
 * cpu: the LPI's INTID (>= GITS_LPI_MIN), or -errno. */
int gits_map(uint32_t devid, uint32_t eventid, unsigned cpu);
int gits_unmap(uint32_t devid, uint32_t eventid, unsigned lpi);
/* Raises a mapped event as its device would (INT): tests. */
int gits_int(uint32_t devid, uint32_t eventid);

/* ---- generic timer (timer.c) ---- */
#define PPI_HYP_TIMER 26
void timer_init_cpu(void);
uint64_t timer_now(void); /* CNTPCT_EL0 */
uint64_t timer_freq(void);
uint64_t timer_ns_to_ticks(uint64_t ns);
void timer_udelay(uint64_t us);
void timer_hyp_irq(void);
/* The interrupt outputs of the loaded guest's EL1 virtual and physical
 * timers and PMU on this CPU: GUEST_LINE_* bits. */
#define GUEST_LINE_VTIMER 1u
#define GUEST_LINE_PTIMER 2u
#define GUEST_LINE_PMU	  4u
unsigned guest_ppi_lines(void);

/* ---- PSCI client (psci.c) ---- */
enum psci_conduit { PSCI_NONE, PSCI_SMC, PSCI_HVC };
void psci_set_conduit(enum psci_conduit c);
int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry_pa, uint64_t ctx);
uint32_t psci_version(void);
void psci_system_off(void) __attribute__((noreturn));
void psci_system_reset(void) __attribute__((noreturn));
const char *psci_strerror(int64_t err);

/* ---- SMP (cpu.c, entry.S) ---- */
/* Entry point (physical address) handed to PSCI CPU_ON; context = cpu id. */
void secondary_entry(void);
/* Where secondaries go in C, with the MMU on and the stack set: set by the
 * kernel before the first CPU_ON. */
void arch_set_secondary_main(void (*fn)(unsigned cpu));		  /* fn must not return */
void arch_secondary_main(unsigned cpu) __attribute__((noreturn)); /* entry.S */

/* ---- PMU for guests (pmu.c) ---- */
bool pmu_guest_available(void); /* PMUv3, not IMPLEMENTATION DEFINED */
unsigned pmu_counters(void);	/* PMCR_EL0.N, 0 without a PMU */
uint64_t pmu_mdcr_el2(void);	/* MDCR_EL2's PMU fields for running guests */
void pmu_ctx_save(struct vcpu_ctx *c);
void pmu_ctx_load(const struct vcpu_ctx *c);
extern bool pmu_present; /* pmu_guest_available(), once el2_cpu_init ran */

/* ---- vCPU context and world switch (guest.S, vcpu_ctx.c) ---- */
/* Enters the guest described by ctx on this CPU; returns the exception
 * vector slot that ended the run (8 = sync, 9 = IRQ, 10 = FIQ, 11 = SError
 * from AArch64; 12..15 from AArch32). Only the general registers, PC and
 * PSTATE move: FP/SIMD and SVE state stays in the registers from
 * vcpu_fp_load to vcpu_fp_put. */
unsigned guest_enter(struct vcpu_ctx *ctx);
/* Or'd into guest_enter's result: an SError was pending when the guest
 * exited (found by the ESB or an unmasked window in the exit path), so it
 * is that guest's, whatever the exit was for. */
#define GUEST_EXIT_SERROR 0x10
#define GUEST_EXIT_KIND	  0x0f
void vcpu_ctx_load(const struct vcpu_ctx *c); /* sysregs, timers, vGIC iface */
void vcpu_ctx_save(struct vcpu_ctx *c);
void vcpu_ctx_reset(struct vcpu_ctx *c, uint64_t pc, uint64_t x0, uint64_t vmpidr);
/* Translates a VA of the loaded vCPU through its stage 1 and stage 2 for a
 * read (AT S12E1R; the guest's PAR_EL1 is kept); false if either faults. */
bool guest_va_to_pa(uint64_t va, uint64_t *pa);
/* Just the EL1 registers an injection reads and writes, for a loaded vCPU. */
void vcpu_ctx_save_exc(struct vcpu_ctx *c);
void vcpu_ctx_load_exc(const struct vcpu_ctx *c);
/* Stage-2 and EL2 controls for a partition. */
void stage2_load(uint64_t vttbr);
void stage2_flush_vmid(uint64_t vttbr); /* TLBI VMALLS12E1IS for that VMID */
uint64_t stage2_vtcr(const struct pt *pt);
void vtcr_set(uint64_t vtcr);
void guest_hcr_set(bool vm);
/* While a guest is loaded: whether its WFI traps (HCR_EL2.TWI). */
void guest_wfi_trap(bool trap);
/* GIC list registers and the virtual interface control. */
uint64_t ich_lr_read(unsigned i);
void ich_lr_write(unsigned i, uint64_t v);
void ich_hcr_write(uint64_t v);
uint64_t ich_misr_read(void);
void gic_deactivate(unsigned intid);
void gic_priority_drop(unsigned intid);
uint32_t ich_elrsr_read(void); /* ICH_ELRSR_EL2: bit i set = LR i holds nothing */

/* The fast exit path (entry.S light_vector): called from the exception
 * vector with the guest's x0-x18, x29 and x30 saved in ctx and everything
 * else (x19-x28, FP/SIMD, SVE) still live in the registers (ctx's copies
 * of x19-x28 are stale: an exit that reads or writes them must go the full
 * way), so it must not use vector registers or call library code. Returns
 * 0 if it handled the exit (the vector returns straight to the guest, with
 * ctx's x0-x18/x29/x30 and the current ELR/SPSR), else the exit kind for
 * guest_exit and the full path. Implemented above arch
 * (kernel/vm/fast_exit.c). */
unsigned vcpu_fast_exit(struct vcpu_ctx *ctx, unsigned kind);
extern uint8_t guest_serror_ras; /* el2.c: FEAT_RAS, so the ESB defers SErrors */
#define GIC_NO_IRQ 1023u

/* ---- per-CPU EL2 controls (el2.c) ---- */
void el2_cpu_init(void);

/* ---- guest FP/SIMD and SVE state (fpsimd.c, sve.c, fp_regs.S) ----
 * Switched only around a vCPU's stay on a CPU (sched.c load/unload): from
 * vcpu_fp_load to vcpu_fp_put the guest's V (or Z/P/FFR) registers, FPSR
 * and FPCR are live in the CPU, and no EL2 code touches them
 * (tools/check-nofp.py); only after vcpu_fp_put is the context's copy
 * (fp_v, fpsr, fpcr, the SVE area) the guest's state. */
void vcpu_fp_load(struct vcpu_ctx *c);
void vcpu_fp_put(struct vcpu_ctx *c);
/* fp_regs.S, the only code that touches those registers: q0-q31, FPSR and
 * FPCR to or from c; Z0-Z31, P0-P15 and FFR (at the current vector length)
 * to or from c->sve, FPSR and FPCR to or from c. */
void fpsimd_save(struct vcpu_ctx *c);
void fpsimd_load(const struct vcpu_ctx *c);
void sve_regs_save(struct vcpu_ctx *c);
void sve_regs_load(const struct vcpu_ctx *c);
/* A partition with SVE gets a vector length (ZCR_EL2) and a save area per
 * vCPU. SVE stays trapped (CPTR_EL2.TZ) until a vCPU first uses it after
 * its reset; from then on that vCPU runs with SVE enabled and its loads and
 * unloads switch Z/P/FFR (the Z registers include q0-q31) instead of the V
 * registers. vCPUs that never use SVE keep the plain FP/SIMD switch. */
/* Probes this CPU (boot and each secondary, from el2_cpu_init). */
void sve_cpu_init(void);
/* The largest vector length (bytes) every CPU probed so far supports; 0
 * without SVE. */
unsigned sve_max_vl(void);
/* The vector length a request of vl bytes gets on this CPU (ZCR_EL2.LEN
 * written, RDVL read back): the largest supported length <= vl. */
unsigned sve_effective_vl(unsigned vl);
/* Gives a vCPU SVE at vector length vl (a supported length, bytes) with a
 * save area of sve_state_size(vl) bytes; survives vcpu_ctx_reset. */
void vcpu_sve_init(struct vcpu_ctx *c, void *area, unsigned vl);
/* The loaded vCPU took an SVE access trap (EC 0x19): enables SVE for it,
 * its live V registers becoming the low bits of its Z registers, and
 * returns true (the instruction is retried), or false if it has no SVE. */
bool vcpu_sve_trap(struct vcpu_ctx *c);
/* For vcpu_fp_load/put: if the vCPU runs with SVE, enables it and loads
 * (or saves its state and traps SVE again) and returns true; false means
 * its state is plain FP/SIMD. */
bool vcpu_sve_load(struct vcpu_ctx *c);
bool vcpu_sve_put(struct vcpu_ctx *c);

/* ---- misc ---- */
/* Switches to a new stack and calls fn(arg); never returns. */
void call_on_stack(uint64_t sp, void (*fn)(void *), void *arg) __attribute__((noreturn));
void cpu_halt(void) __attribute__((noreturn)); /* IRQs off, WFI forever */

#endif /* __aarch64__ || TESSERA_HOST */
#endif
