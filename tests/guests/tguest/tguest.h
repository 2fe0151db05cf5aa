/*
 * tguest: a small bare-metal test guest for tessera partitions (and bare
 * QEMU virt). Runs at EL1 with the MMU off: every data access is then
 * Device-nGnRnE, so all code is built with -mstrict-align and nothing
 * relies on exclusives or caches. Only vCPU0 prints; secondaries report
 * through shared flags.
 */
#ifndef TGUEST_H
#define TGUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_CPUS 8

/* Guest machine model (QEMU virt layout, see ../shared/DESIGN.md). */
#define RAM_BASE    0x40000000UL
#define GICD_BASE   0x08000000UL
#define GICR_BASE   0x080a0000UL
#define GICR_STRIDE 0x20000UL
#define PL011_BASE  0x09000000UL
#define TIMER_PPI   27
#define UART_SPI    33 /* PL011 */
#define SGI_PING    3  /* vCPU0 -> secondary */
#define SGI_PONG    4  /* secondary -> vCPU0 */
#define SGI_KICK    5  /* wake a secondary from WFI, no reply */
#define SGI_FLAG    6  /* mode=ipi: vCPU0 -> secondary, counted, no reply */
#define SGI_BURST   7  /* mode=ipi: secondary -> vCPU0, counted */

#define read_sysreg(r)                                                                             \
	({                                                                                         \
		uint64_t __v;                                                                      \
		__asm__ volatile("mrs %0, " #r : "=r"(__v));                                       \
		__v;                                                                               \
	})
#define write_sysreg(r, v) __asm__ volatile("msr " #r ", %0" ::"r"((uint64_t)(v)))
#define isb()		   __asm__ volatile("isb" ::: "memory")
#define dsb()		   __asm__ volatile("dsb sy" ::: "memory")
#define dmb()		   __asm__ volatile("dmb sy" ::: "memory")
#define sev()		   __asm__ volatile("sev" ::: "memory")
#define wfe()		   __asm__ volatile("wfe" ::: "memory")
#define wfi()		   __asm__ volatile("wfi" ::: "memory")
#define irq_enable()	   __asm__ volatile("msr daifclr, #2" ::: "memory")
#define irq_disable()	   __asm__ volatile("msr daifset, #2" ::: "memory")

/*
 * MMIO accessors are single LDR/STR with a plain base register: a trapped
 * access is then reported with a valid syndrome (ESR ISV=1), which a
 * hypervisor needs to emulate it. (Compiler-chosen forms such as
 * post-indexed loads give ISV=0.)
 */
static inline uint32_t mmio_read32(uintptr_t a)
{
	uint32_t v;

	__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static inline void mmio_write32(uintptr_t a, uint32_t v)
{
	__asm__ volatile("str %w0, [%1]" ::"rZ"(v), "r"(a) : "memory");
}

static inline uint64_t mmio_read64(uintptr_t a)
{
	uint64_t v;

	__asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static inline uint64_t now(void)
{
	isb(); /* keep the counter read from being hoisted before earlier work */
	return read_sysreg(cntvct_el0);
}

static inline uint64_t timer_freq(void)
{
	return read_sysreg(cntfrq_el0);
}

/* Logical vCPU index (position in the DT /cpus list), kept in TPIDR_EL1. */
static inline unsigned this_cpu(void)
{
	/* low 16 bits: mode=snap keeps a pattern in the rest */
	return (unsigned)read_sysreg(tpidr_el1) & 0xffff;
}

/* Affinity fields of an MPIDR (Aff3 moved down next to Aff2..0). */
static inline uint64_t mpidr_aff(uint64_t mpidr)
{
	return (mpidr & 0xffffffUL) | ((mpidr >> 8) & 0xff000000UL);
}

/* edu.c */
void run_edu(void) __attribute__((noreturn));
void run_victim(void) __attribute__((noreturn));
void run_scribble(void) __attribute__((noreturn));
void run_msix_scribble(void) __attribute__((noreturn));
void run_edu_msi(void) __attribute__((noreturn));
bool its_msi_setup(unsigned dev);
uint32_t its_lpi_hits(unsigned c, unsigned lpi);

/* uart.c */
void uart_putc(char c);
int uart_getc(void); /* -1 if the RX FIFO is empty */
void tg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tg_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void tg_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fdt.c: what tguest needs from the device tree. */
struct dt_info {
	const char *bootargs; /* NULL if none */
	unsigned ncpus;
	uint64_t mpidr[MAX_CPUS];
	uint64_t mem_base, mem_size; /* first /memory reg entry; size 0 if none */
};
void dt_parse(const void *blob, struct dt_info *info);
bool dt_is_valid(const void *blob);
/* Value of "key=" in a bootargs string, copied to out; false if absent. */
bool bootarg(const char *args, const char *key, char *out, size_t outsz);
unsigned arg_uint(const char *key, unsigned dflt); /* from dt.bootargs */

/* psci.c (HVC conduit, SMCCC 1.1) */
#define PSCI_VERSION	     0x84000000U
#define PSCI_CPU_OFF	     0x84000002U
#define PSCI_CPU_ON	     0xc4000003U
#define PSCI_AFFINITY_INFO   0xc4000004U
#define PSCI_AFFINITY_INFO32 0x84000004U
#define PSCI_SYSTEM_OFF	     0x84000008U
#define PSCI_SYSTEM_RESET    0x84000009U
#define PSCI_FEATURES	     0x8400000aU
#define PSCI_SUCCESS	     0
#define PSCI_NOT_SUPPORTED   (-1)
#define PSCI_ALREADY_ON	     (-4)
#define PSCI_INVALID_ADDRESS (-9)
#define AFF_ON		     0
#define AFF_OFF		     1
int64_t hvc_call(uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3); /* start.S */
void __attribute__((noreturn)) system_off(void);
void __attribute__((noreturn)) system_reset(void);

/* gic.c */
void gic_dist_init(void);
bool gic_cpu_init(void); /* this CPU's redistributor + CPU interface */
void gic_send_sgi(unsigned intid, uint64_t target_mpidr);
void gic_enable_spi(unsigned intid, uint64_t mpidr);
void gic_enable_private(uint32_t mask); /* SGIs/PPIs in mask, this CPU's redistributor */
void gic_set_priority_of(unsigned intid, uint64_t mpidr, uint8_t prio); /* SGI/PPI */
uint32_t gic_ack(void);
void gic_eoi(uint32_t intid);
uintptr_t gic_redist(void); /* this vCPU's RD_base, 0 if none */

/* exc.c */
struct exc_frame {
	uint64_t x[31];
	uint64_t elr, spsr, pad;
};
/* A probe: run a single access that is expected to fault; the handler
 * records the fault and resumes after it instead of stopping. */
struct fault_rec {
	bool hit;
	uint64_t esr, far, elr;
	uint64_t spsr;	    /* SPSR_EL1 at the exception */
	uint64_t daif, pan; /* PSTATE.DAIF and .PAN the handler ran with */
	unsigned kind;	    /* vector: 0 EL1t, 4 EL1h, 8 EL0 (synchronous) */
};
extern bool probe_has_pan; /* set by a test: the handler reads PSTATE.PAN */
void probe_arm(void);
bool probe_result(struct fault_rec *out); /* disarms; true if a fault hit */
uint32_t probe_read32(uintptr_t addr, struct fault_rec *rec);
void probe_exec(uintptr_t addr, struct fault_rec *rec);
/* Runs one instruction at addr (x1 = arg) under software step (EL1h). */
void probe_step(uintptr_t addr, uint64_t arg, struct fault_rec *rec);
/* Runs fn(arg) at EL0 until its first exception. */
void probe_el0(uintptr_t fn, uint64_t arg, struct fault_rec *rec);

/* percpu state shared between vCPU0 and the secondaries (main.c) */
struct cpu_state {
	volatile uint32_t boots;     /* incremented each time it reports in */
	volatile uint32_t gic_ok;    /* its redistributor was found */
	volatile uint32_t pings;     /* SGI_PING received */
	volatile uint32_t off_req;   /* vCPU0 asks it to CPU_OFF */
	volatile int32_t off_err;    /* CPU_OFF returned (an error) */
	volatile uint64_t timer_hit; /* CNTVCT when PPI 27 was taken, 0 if not */
	volatile uint32_t flags;     /* SGI_FLAG received (mode=ipi) */
	volatile uint32_t spin;	     /* mode=ipi: 1 poll with YIELD, 2 also send */
	volatile uint32_t bursts_sent, burst_goal;
	volatile uint32_t storm; /* mode=storm: run storm_secondary() once up */
	/* debug_switch (vmstate.c): vCPU0 raises dbg_req, the secondary scans
	 * its debug registers and answers in dbg_bad/dbg_val, then dbg_done */
	volatile uint32_t dbg_req, dbg_done, dbg_bad;
	volatile uint64_t dbg_val;
	/* sve_state (sve.c): vCPU0 raises sve_req; the secondary fills its SVE
	 * registers (sve_ack), waits for sve_go, exits, checks (sve_done) */
	volatile uint32_t sve_req, sve_ack, sve_go, sve_done;
	volatile uint32_t sve_bad;	 /* 0, or 1 + offset of the first wrong byte */
	volatile uint32_t sve_vl;	 /* RDVL after its exits */
	volatile uint32_t sve_fresh_bad; /* like sve_bad, for its first use (must be 0s) */
	/* fpsimd_state (fpsimd.c): the same handshake for V0-V31, FPSR, FPCR */
	volatile uint32_t fp_req, fp_ack, fp_go, fp_done;
	volatile uint32_t fp_bad;   /* 0, or which byte or register was wrong */
	volatile uint32_t fp_timer; /* its timer interrupt arrived */
};
extern struct cpu_state cpus[MAX_CPUS];
extern volatile uint32_t pongs; /* SGI_PONG received by vCPU0 */
extern struct dt_info dt;
extern unsigned boot_cpu;

bool wait_until(volatile uint32_t *p, uint32_t want_at_least, uint64_t timeout_ticks);
void timer_irq(void);
uint64_t timer_sleep(uint64_t cval, void (*on_wake)(void)); /* returns how late */
void secondary_entry(void);				    /* start.S */

/* A test's result; FAIL and SKIP come with a reason written into why
 * (WHY_SIZE bytes). */
enum result { PASS, FAIL, SKIP };
#define WHY_SIZE 320
#define FAILF(...)                                                                                 \
	do {                                                                                       \
		tg_snprintf(why, WHY_SIZE, __VA_ARGS__);                                           \
		return FAIL;                                                                       \
	} while (0)

/* vmstate.c: the machine state a guest sees (mode=all tests; the
 * secondaries' side of debug_switch; the reset mode's debug check) */
enum result t_abort_state(char *why);
enum result t_abort_va(char *why);
enum result t_debug_self(char *why);
enum result t_debug_switch(char *why);
enum result t_lor_amu(char *why);
enum result t_wfit(char *why);
void dbg_serve(struct cpu_state *c); /* a secondary answers dbg_req */
unsigned dbg_scan(uint64_t *val);    /* 0, or which register is not at reset */
const char *dbg_reg_name(unsigned which, char *buf, size_t n);
void dbg_fill(unsigned seed); /* writes a pattern (nothing enabled) */

/* fpsimd.c: FP/SIMD state kept across exits and vCPU switches */
enum result t_fpsimd_state(char *why);
void fpsimd_serve(struct cpu_state *c); /* a secondary answers fp_req */

/* sve.c: SVE as the partition is configured (tguest.sve=<bytes>) */
enum result t_sve_id(char *why);
enum result t_sve_vl(char *why);
enum result t_sve_state(char *why);
void sve_serve(struct cpu_state *c); /* a secondary answers sve_req */
void run_sve(void);		     /* mode=sve: just these checks */
void sve_touch(void);		     /* mode=bench: use SVE first if configured */
void sve_reset_check(void);	     /* mode=reset: SVE state fresh at each boot */

/* tests.c, modes.c */
extern unsigned tests_passed, tests_failed, tests_skipped;
uint32_t tests_online(void); /* secondaries the cpu_on test started (bit mask) */
void run_all(void);
void __attribute__((noreturn)) run_reset(void);
void __attribute__((noreturn)) run_idle(const char *name, unsigned period_ms);
/* rt.c: mode=rt, mode=hog, mode=share (scheduler tests) */
void __attribute__((noreturn)) run_rt(unsigned period_ms);
void __attribute__((noreturn)) run_hog(void);
void __attribute__((noreturn)) run_share(void);
void __attribute__((noreturn)) run_rtstat(void); /* rtbench.c */
void __attribute__((noreturn)) run_gap(void);
void __attribute__((noreturn)) run_flood(void);
bool flood_irq(uint32_t intid);
void __attribute__((noreturn)) run_bench(void);
void run_ipi(void);	  /* ipi.c */
void run_exitbench(void); /* exitbench.c */
void ipi_secondary_burst(struct cpu_state *c);
/* storm.c: mode=storm (an interrupt flood beside a periodic timer), mode=probe */
void run_storm(void);
void __attribute__((noreturn)) run_probe(void);
/* PMU counter 0: INST_RETIRED at EL1/EL0 (see storm.c) */
void insns_start(void);
uint32_t insns(void);
void __attribute__((noreturn)) run_livew(void); /* livew.c */
void __attribute__((noreturn)) storm_secondary(void);
bool storm_irq(uint32_t intid);
/* its.c: mode=its (the ITS checks), mode=itsscribble (containment) */
void run_its(void);
void __attribute__((noreturn)) run_its_scribble(void);
void run_its_bench(void);
void __attribute__((noreturn)) run_its_wait(void);
bool its_irq(uint32_t intid); /* counts LPIs (INTID >= 8192) */
extern volatile uint32_t ipi_bursts;
void __attribute__((noreturn)) run_rx(void);
void rx_irq(void);
/* snap.c: mode=snap, state kept across snapshot save and restore */
void __attribute__((noreturn)) run_snap(void);
void __attribute__((noreturn)) run_dirty(void); /* dirty.c */
bool snap_irq(uint32_t intid);
/* fpsimd.c: this vCPU's V0-V31/FPSR/FPCR filled with a pattern, checked */
void fp_fill(unsigned seed);
bool fp_intact(char *buf, size_t n);

/* timers.c, pmu.c: checks run_all() lists. They return tests.c's enum
 * result values (0 pass, 1 fail with the reason in why, 2 skip). Their
 * interrupt hooks return true for an interrupt they handled. */
int timers_gic_check(unsigned which, char *why, size_t why_size); /* 0 vtimer, 1 ptimer */
bool timers_irq(uint32_t intid);
/* strict: under -icount, where cycles are instruction times */
int pmu_check(bool strict, char *why, size_t why_size);
void pmu_report(void); /* TGUEST-PMU line: what the last check measured */
bool pmu_irq(uint32_t intid);
void pmu_secondary_poll(unsigned me); /* secondaries' loop: PMU requests */
void __attribute__((noreturn)) run_pmu(void);

/* lib.c: what GCC may call even in freestanding code */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t tg_strlen(const char *s);
int tg_strncmp(const char *a, const char *b, size_t n);

#endif
