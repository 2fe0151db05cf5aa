/*
 * EL1 exception handling. IRQs go to irq_dispatch() (main.c). A
 * synchronous exception is either one a test provoked on purpose (a
 * "probe": the handler records ESR/FAR and resumes after the faulting
 * instruction) or a bug, which is reported and ends the run.
 */
#include "tguest.h"

#define EC_SHIFT	  26
#define EC_IABT_CUR	  0x21
#define EC_IABT_LOW	  0x20
#define KIND_CUR_SP0_SYNC 0
#define KIND_CUR_SPX_SYNC 4
#define KIND_CUR_SPX_IRQ  5
#define KIND_LOW_SYNC	  8
#define EC_SSTEP_LOW	  0x32
#define EC_SSTEP_CUR	  0x33
#define SPSR_SS		  (1UL << 21)
#define MDSCR_SS	  1UL

void exc_entry(struct exc_frame *f, unsigned kind);
void irq_dispatch(uint32_t intid);
uint32_t probe_load32(uintptr_t addr);	    /* start.S */
void probe_call(uintptr_t addr);	    /* start.S */
void ss_step(uintptr_t addr, uint64_t arg); /* start.S */
void el0_run(uintptr_t fn, uint64_t arg);
void el0_back(void);
extern uint64_t el0_spsr;
bool probe_has_pan;

static struct {
	volatile bool armed;
	bool exec; /* resume at the caller (LR) whatever the fault */
	struct fault_rec rec;
} probes[MAX_CPUS];

static void arm(bool exec)
{
	unsigned cpu = this_cpu();

	memset(&probes[cpu].rec, 0, sizeof(probes[cpu].rec));
	probes[cpu].exec = exec;
	probes[cpu].armed = true;
	dsb();
}

void probe_arm(void)
{
	arm(false);
}

bool probe_result(struct fault_rec *out)
{
	unsigned cpu = this_cpu();

	probes[cpu].armed = false;
	if (out)
		*out = probes[cpu].rec;
	return probes[cpu].rec.hit;
}

uint32_t probe_read32(uintptr_t addr, struct fault_rec *rec)
{
	uint32_t v;

	probe_arm();
	v = probe_load32(addr);
	probe_result(rec);
	return v;
}

void probe_step(uintptr_t addr, uint64_t arg, struct fault_rec *rec)
{
	arm(true);
	ss_step(addr, arg);
	probe_result(rec);
}

void probe_el0(uintptr_t fn, uint64_t arg, struct fault_rec *rec)
{
	arm(false);
	el0_run(fn, arg);
	probe_result(rec);
}

void probe_exec(uintptr_t addr, struct fault_rec *rec)
{
	/* Whatever the fetch gives (an abort, or garbage that is UNDEFINED)
	 * must come back here rather than run on. */
	arm(true);
	probe_call(addr);
	probe_result(rec);
}

/* Consumes an armed probe: records the fault (and the PSTATE the handler
 * runs with) and picks where to resume. */
static bool probe_take(struct exc_frame *f, unsigned kind)
{
	unsigned cpu = this_cpu();
	uint64_t esr = read_sysreg(esr_el1);
	unsigned ec = (unsigned)(esr >> EC_SHIFT) & 0x3f;
	struct fault_rec *r = &probes[cpu].rec;

	if (cpu >= MAX_CPUS || !probes[cpu].armed)
		return false;
	probes[cpu].armed = false;
	r->hit = true;
	r->esr = esr;
	r->far = read_sysreg(far_el1);
	r->elr = f->elr;
	r->spsr = f->spsr;
	r->kind = kind;
	r->daif = read_sysreg(daif);
	r->pan = probe_has_pan ? read_sysreg(S3_0_C4_C2_3) : 0;
	if (ec == EC_SSTEP_CUR || ec == EC_SSTEP_LOW) {
		/* one step was asked for: stop stepping before going back */
		write_sysreg(mdscr_el1, read_sysreg(mdscr_el1) & ~MDSCR_SS);
		f->spsr &= ~SPSR_SS;
	}
	if (kind == KIND_LOW_SYNC) {
		f->elr = (uintptr_t)el0_back; /* EL0 ends at its first exception */
		f->spsr = el0_spsr;
	} else if (probes[cpu].exec || ec == EC_IABT_CUR || ec == EC_IABT_LOW) {
		f->elr = f->x[30]; /* fault after BLR: back to the caller */
	} else {
		f->elr += 4; /* skip the faulting instruction */
	}
	return true;
}

static const char *const kind_names[16] = {
    "sync (EL1t)",   "irq (EL1t)",   "fiq (EL1t)",   "serror (EL1t)",	"sync",	     "irq",
    "fiq",	     "serror",	     "sync (EL0)",   "irq (EL0)",	"fiq (EL0)", "serror (EL0)",
    "sync (EL0 32)", "irq (EL0 32)", "fiq (EL0 32)", "serror (EL0 32)",
};

static void __attribute__((noreturn)) fatal(struct exc_frame *f, unsigned kind)
{
	tg_printf("\nTGUEST: FATAL unexpected %s exception on vCPU%u: ESR=0x%lx FAR=0x%lx "
		  "ELR=0x%lx SPSR=0x%lx LR=0x%lx\n",
		  kind_names[kind & 15], this_cpu(), read_sysreg(esr_el1), read_sysreg(far_el1),
		  f->elr, f->spsr, f->x[30]);
	/* The run cannot go on: end it the way harnesses wait for. */
	tg_printf("TGUEST-DONE pass=%u fail=%u skip=%u\n", tests_passed, tests_failed + 1,
		  tests_skipped);
	system_off();
}

static void handle_irq(void)
{
	uint32_t intid = gic_ack();

	if (intid >= 1020 && intid < 8192)
		return; /* spurious: nothing to acknowledge (LPIs from 8192 are real) */
	irq_dispatch(intid);
	gic_eoi(intid);
}

void exc_entry(struct exc_frame *f, unsigned kind)
{
	if (kind == KIND_CUR_SPX_IRQ) {
		handle_irq();
		return;
	}
	if ((kind == KIND_CUR_SPX_SYNC || kind == KIND_CUR_SP0_SYNC || kind == KIND_LOW_SYNC) &&
	    probe_take(f, kind))
		return;
	fatal(f, kind);
}
