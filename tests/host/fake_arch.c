/*
 * The fake arch/arm64 under kernel/vm in host tests (see fake_arch.h for
 * the primitives, fake.h for what tests read back). Every call is
 * recorded in `fake`; nothing here decides policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tests/host/fake.h"

struct fake_arch fake;
struct percpu percpu_data[MAX_CPUS];
bool pmu_present; /* no PMU for guests: the DT has no PMU node */

static struct gic_info gic_info = {.lrs = 4, .version = 3, .spis = 96};

void fake_arch_reset(void)
{
	memset(&fake, 0, sizeof(fake));
	memset(percpu_data, 0, sizeof(percpu_data));
	fake.disk_next_poll = UINT64_MAX;
	for (unsigned i = 0; i < FAKE_NCPUS; i++) {
		percpu_data[i].id = i;
		percpu_data[i].online = 1;
	}
}

void fake_set_cpu(unsigned cpu)
{
	assert_true(cpu < FAKE_NCPUS);
	fake.cur = cpu;
}

static struct fake_cpu *cur(void)
{
	return &fake.cpu[fake.cur];
}

static uint64_t *reg_slot(unsigned cpu, const char *name)
{
	struct fake_cpu *c = &fake.cpu[cpu];
	for (unsigned i = 0; i < c->nregs; i++)
		if (strcmp(c->regs[i].name, name) == 0)
			return &c->regs[i].v;
	assert_true(c->nregs < FAKE_NREGS);
	c->regs[c->nregs].name = name;
	c->regs[c->nregs].v = 0;
	return &c->regs[c->nregs++].v;
}

uint64_t fake_read_sysreg(const char *name)
{
	if (strcmp(name, "tpidr_el2") == 0)
		return (uint64_t)(uintptr_t)&percpu_data[fake.cur];
	if (strcmp(name, "cntpct_el0") == 0)
		return fake.now;
	return *reg_slot(fake.cur, name);
}

void fake_write_sysreg(const char *name, uint64_t v)
{
	*reg_slot(fake.cur, name) = v;
	if (fake.nwrites < FAKE_LOG_MAX) {
		fake.writes[fake.nwrites].cpu = fake.cur;
		fake.writes[fake.nwrites].name = name;
		fake.writes[fake.nwrites++].v = v;
	}
}

void fake_set_reg(const char *name, uint64_t v)
{
	*reg_slot(fake.cur, name) = v;
}

uint64_t fake_reg(unsigned cpu, const char *name)
{
	return *reg_slot(cpu, name);
}

unsigned fake_writes(unsigned cpu, const char *name)
{
	unsigned n = 0;
	for (unsigned i = 0; i < fake.nwrites; i++)
		if ((cpu == -1u || fake.writes[i].cpu == cpu) &&
		    strcmp(fake.writes[i].name, name) == 0)
			n++;
	return n;
}

void fake_barrier(void)
{
	cur()->barriers++;
}

void fake_wfi(void)
{
	assert_false(cur()->irqs_on); /* sched_idle: WFI with IRQs masked */
	cur()->wfis++;
	if (fake.wfi_hook)
		fake.wfi_hook();
}

void fake_irq_enable(void)
{
	cur()->irqs_on = true;
}

void fake_irq_disable(void)
{
	cur()->irqs_on = false;
}

/* ---- cache, MMU ---- */
void dcache_clean_range(uintptr_t va, size_t size)
{
	fake.dcache_cleans++;
	fake.dcache_irqs_on = cur()->irqs_on; /* a build job: interrupts open? */
}

void dcache_clean_inval_range(uintptr_t va, size_t size)
{
	fake.dcache_cleans++;
	fake.dcache_irqs_on = cur()->irqs_on;
}

unsigned cpu_pa_bits(void)
{
	return 40;
}

/* ---- exceptions ---- */
void arch_irq_entry(struct exc_frame *f, unsigned kind)
{
	fake.irq_entries++;
	fake.irq_kind = kind;
}

/* ---- GIC ---- */
const struct gic_info *gic_get_info(void)
{
	return &gic_info;
}

void gic_send_sgi(unsigned cpu, unsigned sgi)
{
	assert_true(cpu < FAKE_NCPUS && sgi < 16);
	fake.cpu[cpu].sgis[sgi]++;
}

uint64_t ich_lr_read(unsigned i)
{
	assert_true(i < gic_info.lrs);
	return cur()->lr[i];
}

void ich_lr_write(unsigned i, uint64_t v)
{
	assert_true(i < gic_info.lrs);
	cur()->lr[i] = v;
}

/* As the GIC: an LR whose State is 0 holds nothing (the EOI-maintenance
 * case, HW = 0 with EOI = 1, is not modelled). */
uint32_t ich_elrsr_read(void)
{
	uint32_t empty = 0;
	for (unsigned i = 0; i < gic_info.lrs; i++)
		if (!(cur()->lr[i] >> 62))
			empty |= 1u << i;
	return empty;
}

void ich_hcr_write(uint64_t v)
{
	cur()->ich_hcr = v;
}

void gic_deactivate(unsigned intid)
{
	if (intid < 32)
		cur()->deactivated[intid]++;
}

void gic_enable_irq(unsigned intid, bool edge, unsigned target_cpu)
{
}

void gic_disable_irq(unsigned intid)
{
}

/* ---- timer: 1 tick = 1 ns ---- */
uint64_t timer_now(void)
{
	return fake.now;
}

uint64_t timer_freq(void)
{
	return 1000000000ull;
}

uint64_t timer_ns_to_ticks(uint64_t ns)
{
	return ns;
}

/* ---- vCPU context and world switch ---- */
unsigned guest_enter(struct vcpu_ctx *ctx)
{
	assert_true(cur()->hcr_vm);		  /* stage 2 and HCR set up */
	assert_ptr_equal(cur()->ctx_on_cpu, ctx); /* its EL1 state is on this CPU */
	assert_ptr_equal(cur()->fp_on_cpu, ctx);  /* and its FP/SIMD state */
	assert_true(fake.nentries < FAKE_LOG_MAX);
	fake.entries[fake.nentries++] = (struct fake_entry){fake.cur, ctx, fake.now};
	fake.now += fake.step;
	return fake.guest_run ? fake.guest_run(ctx) : FAKE_EXIT_IRQ;
}

void vcpu_ctx_load(const struct vcpu_ctx *c)
{
	assert_null(cur()->ctx_on_cpu); /* the previous one was saved */
	cur()->ctx_on_cpu = c;
	cur()->ctx_loads++;
}

void vcpu_ctx_save(struct vcpu_ctx *c)
{
	assert_ptr_equal(cur()->ctx_on_cpu, c);
	cur()->ctx_on_cpu = NULL;
	cur()->ctx_saves++;
}

void vcpu_ctx_save_exc(struct vcpu_ctx *c)
{
	cur()->exc_saves++;
}

void vcpu_ctx_load_exc(const struct vcpu_ctx *c)
{
	assert_int_equal(cur()->exc_saves, cur()->exc_loads + 1); /* paired */
	cur()->exc_loads++;
}

void vcpu_ctx_reset(struct vcpu_ctx *c, uint64_t pc, uint64_t x0, uint64_t vmpidr)
{
	*c = (struct vcpu_ctx){0};
	c->x[0] = x0;
	c->pc = pc;
	c->pstate = 0x3c5; /* EL1h, DAIF masked */
	c->vmpidr = vmpidr;
	c->oslk = 1;
	fake.resets++;
}

unsigned guest_ppi_lines(void)
{
	return fake.ppi_lines;
}

bool guest_va_to_pa(uint64_t va, uint64_t *pa)
{
	return fake.va_to_pa ? fake.va_to_pa(va, pa) : false;
}

uint64_t idreg_read(unsigned crm, unsigned op2)
{
	return FAKE_IDREG(crm, op2);
}

uint64_t idreg_read_opt(unsigned crm, unsigned op2, unsigned opts)
{
	return FAKE_IDREG(crm, op2);
}

/* ---- SVE: the fake CPUs have none (sve-max-vl is ignored with a note) ---- */
unsigned sve_max_vl(void)
{
	return 0;
}

unsigned sve_effective_vl(unsigned vl)
{
	return 0;
}

void vcpu_sve_init(struct vcpu_ctx *c, void *area, unsigned vl)
{
	fail_msg("vcpu_sve_init without SVE on the CPUs");
}

/* Around a stay on the CPU, like vcpu_ctx_load/save: a guest runs only
 * with its own FP/SIMD state in the registers (guest_enter checks). */
void vcpu_fp_load(struct vcpu_ctx *c)
{
	assert_ptr_equal(cur()->ctx_on_cpu, c);
	assert_null(cur()->fp_on_cpu); /* the previous one was put */
	assert_null(c->sve);	       /* never set up here */
	cur()->fp_on_cpu = c;
}

void vcpu_fp_put(struct vcpu_ctx *c)
{
	assert_ptr_equal(cur()->fp_on_cpu, c);
	cur()->fp_on_cpu = NULL;
}

bool vcpu_sve_trap(struct vcpu_ctx *c)
{
	return c->sve != NULL;
}

void stage2_load(uint64_t vttbr)
{
	cur()->vttbr = vttbr;
}

void stage2_flush_vmid(uint64_t vttbr)
{
	fake.vmid_flushes++;
}

uint64_t stage2_vtcr(const struct pt *pt)
{
	return 0x80000000ull | pt->ia_bits;
}

void vtcr_set(uint64_t vtcr)
{
	cur()->vtcr = vtcr;
}

void guest_hcr_set(bool vm)
{
	cur()->hcr_vm = vm;
}

void guest_wfi_trap(bool trap)
{
	cur()->wfi_trap = trap;
}

/* ---- what kernel/machine's other files provide (mem.c is linked) ---- */
uintptr_t el2_map_device(uint64_t pa, uint64_t size)
{
	return 0;
}
bool el2_is_mapped(uintptr_t va)
{
	return false;
}
int el2_map_ram(uint64_t pa, uint64_t size)
{
	return 0;
}

void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fail_msg("panic: %s", buf);
	__builtin_unreachable();
}
