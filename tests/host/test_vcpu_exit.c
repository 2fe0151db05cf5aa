/*
 * Guest exits (kernel/vm/vcpu_exit.c) and MMIO dispatch (mmio_emul.c) on
 * the real partition code, vGIC, vUART and injection, over the fake arch:
 * the ESR class dispatch (HVC/SMC to PSCI, WFI/WFE/WFIT, data aborts with
 * and without a syndrome, system register traps, instruction aborts), the
 * exits that stop the partition (SError, AArch32, an SError pending at
 * exit), and which device an IPA reaches.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "tests/host/fake.h"

#define EC(x)	     ((uint64_t)(x) << 26)
#define IL	     BIT(25)
#define EC_WFX	     0x01
#define EC_HVC64     0x16
#define EC_SMC64     0x17
#define EC_SYS64     0x18
#define EC_IABT_LOW  0x20
#define EC_DABT_LOW  0x24
#define ISV	     BIT(24)
#define SAS(n)	     ((uint64_t)(n) << 22) /* 0..3: 1, 2, 4, 8 bytes */
#define SSE	     BIT(21)
#define SRT(r)	     ((uint64_t)(r) << 16)
#define SF	     BIT(15)
#define WNR	     BIT(6)
#define FNV	     BIT(10)
#define PSCI_VERSION 0x84000000u

#define VBAR	 0x40010000ull
#define GUEST_PC 0x40080100ull
#define VEC_SYNC (VBAR + 0x200) /* current EL with SPx: the vCPU runs at EL1h */

/* ESR of an MSR/MRS trap: Op0, Op1, CRn, CRm, Op2, Rt, read (MRS) */
static uint64_t sys_esr(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2,
			unsigned rt, bool read)
{
	return EC(EC_SYS64) | IL | (uint64_t)op0 << 20 | (uint64_t)op2 << 17 | (uint64_t)op1 << 14 |
	       (uint64_t)crn << 10 | (uint64_t)rt << 5 | (uint64_t)crm << 1 | (read ? 1 : 0);
}

static struct partition *A, *B, *C;
static struct vcpu *V; /* a's vCPU 0, loaded on CPU 0 */

/* a: 2 vCPUs on CPUs 0, 1; b: CPU 2; c: 2 vCPUs sharing CPU 3. */
static int setup(void **state)
{
	static const struct fake_part_spec specs[] = {
	    {.name = "a", .cpu_mask = 0x3},
	    {.name = "b", .cpu_mask = 0x4},
	    {.name = "c", .cpu_mask = 0x8, .vcpus = 2},
	};
	fake_world(specs, 3);
	A = &partitions[0];
	B = &partitions[1];
	C = &partitions[2];
	fake_start(A);
	fake_start(B);
	fake_start(C);
	V = &A->vcpus[0];
	fake_load(V);
	V->ctx.pc = GUEST_PC;
	V->ctx.vbar = VBAR;
	fake_log_clear();
	return 0;
}

/* A synchronous exit with this ESR, FAR and IPA (HPFAR) on the vCPU's CPU. */
static void sync_exit(struct vcpu *v, uint64_t esr, uint64_t far, uint64_t ipa)
{
	fake_set_cpu(v->pcpu);
	fake_set_reg("esr_el2", esr);
	fake_set_reg("far_el2", far);
	fake_set_reg("hpfar_el2", (ipa >> 12) << 4);
	vcpu_handle_exit(v, FAKE_EXIT_SYNC);
}

/* A data abort on IPA ipa with a syndrome: size 1 << sas, register rt. */
static void mmio(struct vcpu *v, uint64_t ipa, unsigned sas, unsigned rt, bool write)
{
	sync_exit(v,
		  EC(EC_DABT_LOW) | IL | ISV | SAS(sas) | SRT(rt) | (sas == 3 ? SF : 0) |
		      (write ? WNR : 0),
		  0xffff000000001000ull | (ipa & 0xfff), ipa);
}

/* The vCPU took a synchronous exception with this EC at its vector. */
static void assert_injected(struct vcpu *v, unsigned ec, uint64_t pc, uint64_t injected)
{
	assert_int_equal(v->injected, injected);
	assert_int_equal(v->ctx.pc, VEC_SYNC);
	assert_int_equal(v->ctx.elr_el1, pc);
	assert_int_equal(v->ctx.esr >> 26, ec);
	assert_int_equal(fake.cpu[v->pcpu].exc_saves, fake.cpu[v->pcpu].exc_loads);
}

static void assert_stopping_only(struct partition *p)
{
	assert_int_equal(partition_state(p), PART_STOPPING);
	for (unsigned i = 0; i < npartitions; i++)
		if (&partitions[i] != p)
			assert_int_equal(partition_state(&partitions[i]), PART_RUNNING);
}

/* ---- HVC, SMC ---- */

static void hvc_goes_to_psci(void **state)
{
	V->ctx.x[0] = PSCI_VERSION;
	sync_exit(V, EC(EC_HVC64) | IL, 0, 0);
	assert_int_equal(V->ctx.x[0], 0x10001);
	assert_int_equal(V->ctx.pc, GUEST_PC); /* ELR is already past the HVC */
	assert_int_equal(V->hvcs, 1);
}

static void smc_goes_to_psci_and_advances(void **state)
{
	V->ctx.x[0] = PSCI_VERSION;
	sync_exit(V, EC(EC_SMC64) | IL, 0, 0);
	assert_int_equal(V->ctx.x[0], 0x10001);
	assert_int_equal(V->ctx.pc, GUEST_PC + 4); /* ELR pointed at the SMC */
	assert_int_equal(V->hvcs, 1);
}

static void hvc_cpu_on_through_exit(void **state)
{
	V->ctx.x[0] = 0xc4000003u; /* CPU_ON64 */
	V->ctx.x[1] = 1;
	V->ctx.x[2] = GUEST_RAM_BASE + 0x100;
	V->ctx.x[3] = 7;
	sync_exit(V, EC(EC_HVC64) | IL, 0, 0);
	assert_int_equal(V->ctx.x[0], 0);
	assert_int_equal(vcpu_power(&A->vcpus[1]), VCPU_ON);
	assert_int_equal(A->vcpus[1].ctx.pc, GUEST_RAM_BASE + 0x100);
}

/* ---- WFI, WFE, WFIT ---- */

/* The guest's vGIC with SGI 2 enabled for vCPU idx of p (as a guest would). */
static void enable_sgi(struct partition *p, unsigned idx, unsigned sgi)
{
	uint64_t v = 2; /* GICD_CTLR.EnableGrp1 */
	assert_int_equal(vgic_dist_access(&p->vgic, idx, 0, 4, true, &v), 0);
	v = BIT(sgi); /* GICR_ISENABLER0 */
	assert_int_equal(
	    vgic_redist_access(&p->vgic, idx, idx * GUEST_GICR_STRIDE + 0x10100, 4, true, &v), 0);
}

static void wfe_returns_at_once(void **state)
{
	sync_exit(V, EC(EC_WFX) | IL | 1, 0, 0);
	assert_int_equal(V->ctx.pc, GUEST_PC + 4);
	assert_int_equal(fake.cpu[0].wfis, 0);
	assert_false(V->waiting);
}

static void wfi_with_interrupt_pending_returns(void **state)
{
	enable_sgi(A, 0, 2);
	vgic_inject(&A->vgic, 0, 2);
	sync_exit(V, EC(EC_WFX) | IL, 0, 0);
	assert_int_equal(V->ctx.pc, GUEST_PC + 4);
	assert_int_equal(fake.cpu[0].wfis, 0);
	assert_false(V->waiting);
	assert_int_equal(V->wfis, 1);
}

static void wfi_alone_sleeps_on_its_cpu(void **state)
{
	unsigned timer_writes = fake_writes(0, "cnthp_ctl_el2");
	sync_exit(V, EC(EC_WFX) | IL, 0, 0);
	assert_int_equal(V->ctx.pc, GUEST_PC + 4);
	assert_int_equal(fake.cpu[0].wfis, 1);
	assert_false(fake.cpu[0].irqs_on); /* back masked */
	assert_false(V->waiting);
	assert_int_equal(fake_writes(0, "cnthp_ctl_el2"), timer_writes); /* no deadline */
}

/* c's two vCPUs share CPU 3: a WFI gives the CPU away */
static void wfi_shared_gives_way(void **state)
{
	struct vcpu *c0 = &C->vcpus[0];
	C->vcpus[1].ctx.x[0] = 0;
	assert_int_equal(lc_cpu_on(&C->lc, 1, GUEST_RAM_BASE, 0), 0);
	fake_set_cpu(3);
	assert_true(lc_claim(&C->lc, 0));
	vcpu_ctx_load(&c0->ctx);
	guest_hcr_set(true);
	percpu_data[3].loaded = c0;
	sync_exit(c0, EC(EC_WFX) | IL, 0, 0);
	assert_true(c0->waiting);
	assert_int_equal(c0->wake_at, UINT64_MAX);
	assert_int_equal(fake.cpu[3].wfis, 0);
}

static void wfi_shared_with_nobody_eligible_sleeps(void **state)
{
	struct vcpu *c0 = &C->vcpus[0]; /* c's vCPU 1 is off */
	fake_set_cpu(3);
	assert_true(lc_claim(&C->lc, 0));
	vcpu_ctx_load(&c0->ctx);
	guest_hcr_set(true);
	percpu_data[3].loaded = c0;
	sync_exit(c0, EC(EC_WFX) | IL, 0, 0);
	assert_false(c0->waiting);
	assert_int_equal(fake.cpu[3].wfis, 1);
}

/* WFIT with ISS.RV: the deadline is in the register ISS.Rn names, as a
 * virtual count; the EL2 timer is armed for it in physical time and put
 * back afterwards. */
static void wfit_alone_arms_el2_timer(void **state)
{
	uint64_t wakeups[4];
	unsigned n = 0;
	fake.now = A->cntvoff + 5000;
	fake_set_reg("cnthp_ctl_el2", 3); /* disabled before (masked) */
	fake_set_reg("cnthp_cval_el2", 77);
	V->ctx.x[3] = 9000; /* virtual */
	unsigned first = fake.nwrites;
	sync_exit(V, EC(EC_WFX) | IL | BIT(2) | (3 << 5) | 2, 0, 0);
	for (unsigned i = first; i < fake.nwrites; i++)
		if (strcmp(fake.writes[i].name, "cnthp_cval_el2") == 0 && n < 4)
			wakeups[n++] = fake.writes[i].v;
	assert_int_equal(n, 2);
	assert_int_equal(wakeups[0], A->cntvoff + 9000);
	assert_int_equal(wakeups[1], 77); /* restored */
	assert_int_equal(fake_reg(0, "cnthp_ctl_el2"), 3);
	assert_int_equal(fake.cpu[0].wfis, 1);
	assert_int_equal(V->ctx.pc, GUEST_PC + 4);
}

static void wfit_past_deadline_returns(void **state)
{
	fake.now = A->cntvoff + 5000;
	V->ctx.x[3] = 4999;
	sync_exit(V, EC(EC_WFX) | IL | BIT(2) | (3 << 5) | 2, 0, 0);
	assert_int_equal(fake.cpu[0].wfis, 0);
	assert_int_equal(V->ctx.pc, GUEST_PC + 4);
}

static void wfit_earlier_el2_timer_kept(void **state)
{
	fake.now = A->cntvoff + 5000;
	fake_set_reg("cnthp_ctl_el2", 1); /* armed (a slice end) earlier */
	fake_set_reg("cnthp_cval_el2", A->cntvoff + 6000);
	V->ctx.x[3] = 9000;
	unsigned w = fake_writes(0, "cnthp_cval_el2");
	sync_exit(V, EC(EC_WFX) | IL | BIT(2) | (3 << 5) | 2, 0, 0);
	assert_int_equal(fake_writes(0, "cnthp_cval_el2"), w);
	assert_int_equal(fake.cpu[0].wfis, 1);
}

static unsigned c_wfit(uint64_t esr, uint64_t regval, unsigned reg)
{
	struct vcpu *c0 = &C->vcpus[0];
	assert_int_equal(lc_cpu_on(&C->lc, 1, GUEST_RAM_BASE, 0), 0);
	fake_set_cpu(3);
	assert_true(lc_claim(&C->lc, 0));
	vcpu_ctx_load(&c0->ctx);
	guest_hcr_set(true);
	percpu_data[3].loaded = c0;
	c0->ctx.x[reg] = regval;
	c0->ctx.pc = GUEST_RAM_BASE + 0x1000;
	sync_exit(c0, esr, 0, 0);
	return fake.cpu[3].wfis;
}

static void wfit_shared_records_deadline(void **state)
{
	fake.now = C->cntvoff + 100;
	assert_int_equal(c_wfit(EC(EC_WFX) | IL | BIT(2) | (7 << 5) | 2, 12345, 7), 0);
	assert_true(C->vcpus[0].waiting);
	assert_int_equal(C->vcpus[0].wake_at, C->cntvoff + 12345);
}

/* A deadline past the end of time is none (no wrap to an early wake-up). */
static void wfit_deadline_saturates(void **state)
{
	C->cntvoff = 1000000; /* the virtual count lags the physical one */
	fake.now = C->cntvoff + 100;
	assert_int_equal(c_wfit(EC(EC_WFX) | IL | BIT(2) | (7 << 5) | 2, UINT64_MAX - 1, 7), 0);
	assert_true(C->vcpus[0].waiting);
	assert_int_equal(C->vcpus[0].wake_at, UINT64_MAX);
}

/* ISS.RV clear (QEMU 10): the register comes from the instruction, read
 * from the partition's RAM through the guest's translation. */
static struct partition *xlate_part;
static uint64_t xlate_off; /* added to the RAM offset of the VA */
static bool xlate(uint64_t va, uint64_t *pa)
{
	*pa = xlate_part->ram_pa + (va - GUEST_RAM_BASE) + xlate_off;
	return true;
}

static void wfit_without_rv_decodes_instruction(void **state)
{
	xlate_part = C;
	xlate_off = 0;
	fake.va_to_pa = xlate;
	*(uint32_t *)(C->ram_pa + 0x1000) = 0xd5031020u | 5; /* WFIT X5 */
	fake.now = C->cntvoff + 100;
	assert_int_equal(c_wfit(EC(EC_WFX) | IL | (1 << 5) | 2, 4242, 5), 0);
	assert_true(C->vcpus[0].waiting);
	assert_int_equal(C->vcpus[0].wake_at, C->cntvoff + 4242);
}

/* Whether [pa, pa+size) is free memory (nobody's). */
static bool is_free(uint64_t pa, uint64_t size)
{
	const struct memmap *m = mem_free_map();
	for (unsigned i = 0; i < m->n; i++)
		if (pa >= m->r[i].base && pa + size <= m->r[i].base + m->r[i].size)
			return true;
	return false;
}

static void wfit_without_rv_outside_ram_is_wfi(void **state)
{
	uint64_t past = C->ram_pa + (16ull << 20); /* the first byte after c's RAM */
	assert_true(is_free(past, 4));
	*(uint32_t *)past = 0xd5031020u | 5; /* a WFIT X5 there is not c's */
	xlate_part = C;
	xlate_off = (16ull << 20) - 0x1000;
	fake.va_to_pa = xlate;
	fake.now = C->cntvoff + 100;
	assert_int_equal(c_wfit(EC(EC_WFX) | IL | (1 << 5) | 2, 4242, 5), 0);
	assert_true(C->vcpus[0].waiting);
	assert_int_equal(C->vcpus[0].wake_at, UINT64_MAX);
}

static void wfit_without_rv_not_a_wfit_is_wfi(void **state)
{
	xlate_part = C;
	xlate_off = 0;
	fake.va_to_pa = xlate;
	*(uint32_t *)(C->ram_pa + 0x1000) = 0xd503207fu; /* WFI */
	fake.now = C->cntvoff + 100;
	assert_int_equal(c_wfit(EC(EC_WFX) | IL | (1 << 5) | 2, 4242, 5), 0);
	assert_int_equal(C->vcpus[0].wake_at, UINT64_MAX);
}

/* ---- data aborts and MMIO dispatch ---- */

static void mmio_uart_store_and_load(void **state)
{
	V->ctx.x[4] = 0xffffffff00000050ull;
	mmio(V, GUEST_UART_BASE + 0x38, 2, 4, true); /* UARTIMSC */
	assert_int_equal(A->uart.imsc, 0x50);
	assert_int_equal(V->ctx.pc, GUEST_PC + 4);
	V->ctx.x[9] = 0xdeadbeefdeadbeefull;
	mmio(V, GUEST_UART_BASE + 0x38, 2, 9, false);
	assert_int_equal(V->ctx.x[9], 0x50); /* zero-extended */
	assert_int_equal(V->ctx.pc, GUEST_PC + 8);
	assert_int_equal(V->mmios, 2);
	assert_int_equal(V->injected, 0);
	assert_int_equal(B->uart.imsc, 0); /* only its own partition's UART */
}

/* Loads are extended as the instruction says (LDRSB, LDRSH, LDRB into
 * Xt/Wt); stores take only the access size from the register. */
static void mmio_sign_and_zero_extension(void **state)
{
	uint64_t prio = GUEST_GICD_BASE + 0x400 + 40; /* GICD_IPRIORITYR, SPI 40 */
	V->ctx.x[1] = 0xffffffffffffff80ull;	      /* STRB: only 0x80 */
	mmio(V, prio, 0, 1, true);
	assert_int_equal(A->vgic.spi[8].prio, 0x80);
	/* LDRSB Xt */
	sync_exit(V, EC(EC_DABT_LOW) | IL | ISV | SAS(0) | SSE | SF | SRT(2), prio & 0xfff, prio);
	assert_int_equal(V->ctx.x[2], 0xffffffffffffff80ull);
	/* LDRSB Wt: sign-extended to 32 bits, upper half zero */
	sync_exit(V, EC(EC_DABT_LOW) | IL | ISV | SAS(0) | SSE | SRT(3), prio & 0xfff, prio);
	assert_int_equal(V->ctx.x[3], 0xffffff80ull);
	/* LDRB */
	V->ctx.x[4] = 0x1234567812345678ull;
	mmio(V, prio, 0, 4, false);
	assert_int_equal(V->ctx.x[4], 0x80);
	/* LDRSW of IPRIORITYR[40..43] with SPI 43 at 0x80 too */
	V->ctx.x[1] = 0x80;
	mmio(V, prio + 3, 0, 1, true);
	sync_exit(V, EC(EC_DABT_LOW) | IL | ISV | SAS(2) | SSE | SF | SRT(5), prio & 0xfff, prio);
	assert_int_equal(V->ctx.x[5], 0xffffffff80000080ull);
	assert_int_equal(V->mmios, 6);
	assert_int_equal(V->injected, 0);
}

static void mmio_gicd(void **state)
{
	V->ctx.x[1] = 2; /* EnableGrp1 */
	mmio(V, GUEST_GICD_BASE + 0x0, 2, 1, true);
	assert_int_equal(A->vgic.ctlr & 3, 2);
	assert_int_equal(B->vgic.ctlr & 3, 0);
	mmio(V, GUEST_GICD_BASE + 0x0, 2, 2, false);
	assert_int_equal(V->ctx.x[2] & 3, 2);
	/* the last byte of the distributor frame is still the distributor */
	V->ctx.x[3] = 0x1234;
	mmio(V, GUEST_GICD_BASE + GUEST_GICD_SIZE - 4, 2, 3, false);
	assert_int_equal(V->injected, 0);
	assert_int_equal(V->mmios, 3);
}

/* Each vCPU's frames at GICR_BASE + n * stride: GICR_TYPER's affinity */
static void mmio_gicr_per_vcpu(void **state)
{
	for (unsigned n = 0; n < 2; n++) {
		V->ctx.x[5] = 0xdead;
		mmio(V, GUEST_GICR_BASE + n * GUEST_GICR_STRIDE + 0x8, 3, 5, false);
		assert_int_equal(V->ctx.x[5] >> 32, n);
	}
	assert_int_equal(V->injected, 0);
	/* vCPU 1's SGI frame: ISENABLER0 written through vCPU 0 */
	V->ctx.x[6] = BIT(4);
	mmio(V, GUEST_GICR_BASE + GUEST_GICR_STRIDE + 0x10100, 2, 6, true);
	assert_true(A->vgic.cpu[1].priv[4].enabled);
	assert_false(A->vgic.cpu[0].priv[4].enabled);
}

/* IPAs no device answers: an abort is injected, registers untouched */
static void mmio_no_device(void **state)
{
	static const uint64_t ipas[] = {
	    GUEST_GICD_BASE - 4,
	    GUEST_GICD_BASE + GUEST_GICD_SIZE,
	    GUEST_GICR_BASE + 2 * GUEST_GICR_STRIDE, /* a has 2 vCPUs */
	    GUEST_UART_BASE - 4,
	    GUEST_UART_BASE + GUEST_UART_SIZE,
	    0x0a000000ull,
	    0x10000000ull,
	};
	for (unsigned i = 0; i < ARRAY_SIZE(ipas); i++) {
		uint64_t esr = EC(EC_DABT_LOW) | IL | ISV | SAS(2) | SRT(7);
		V->ctx.x[7] = 0x77;
		V->ctx.pc = GUEST_PC;
		V->ctx.pstate = 0x3c5;
		assert_false(mmio_emulate(V, ipas[i], esr));
		assert_int_equal(V->ctx.x[7], 0x77);
		sync_exit(V, esr, 0x1000 | (ipas[i] & 0xfff), ipas[i]);
		assert_injected(V, 0x25, GUEST_PC, i + 1);
		assert_int_equal(V->ctx.x[7], 0x77);
		assert_int_equal(V->ctx.far, 0x1000 | (ipas[i] & 0xfff)); /* the VA */
	}
	assert_int_equal(V->mmios, 0);
	assert_true(
	    fake_log_has("a: vCPU 0: access to unmapped or unemulated IPA at IPA 0xa000000"));
}

/* Without a syndrome (ISV = 0, e.g. a load pair) the access cannot be
 * emulated, even on a device page: the guest gets an abort, tessera goes on */
static void dabt_without_isv_injects(void **state)
{
	V->ctx.x[1] = 0x11;
	sync_exit(V, EC(EC_DABT_LOW) | IL | SRT(1) | WNR, 0xffff800000123000ull, GUEST_UART_BASE);
	assert_injected(V, 0x25, GUEST_PC, 1);
	assert_int_equal(V->ctx.far, 0xffff800000123000ull);
	assert_true(V->ctx.esr & WNR);
	assert_int_equal(A->uart.imsc, 0);
	assert_int_equal(V->mmios, 0);
	assert_int_equal(partition_state(A), PART_RUNNING);
}

static void dabt_fnv_is_passed_on(void **state)
{
	sync_exit(V, EC(EC_DABT_LOW) | IL | FNV, 0x5555, 0x30000000ull);
	assert_injected(V, 0x25, GUEST_PC, 1);
	assert_true(V->ctx.esr & FNV);
	assert_false(V->ctx.esr & WNR);
}

static void iabt_injects(void **state)
{
	sync_exit(V, EC(EC_IABT_LOW) | IL, 0xffff000012345678ull, 0x30000000ull);
	assert_injected(V, 0x21, GUEST_PC, 1);
	assert_int_equal(V->ctx.far, 0xffff000012345678ull);
	assert_true(fake_log_has("instruction fetch from unmapped IPA at IPA 0x30000678"));
}

/* A guest looping on faults: 32 lines, one note, then silence */
static void fault_log_is_bounded(void **state)
{
	for (unsigned i = 0; i < 40; i++) {
		V->ctx.pc = GUEST_PC;
		V->ctx.pstate = 0x3c5;
		sync_exit(V, EC(EC_DABT_LOW) | IL, 0, 0x30000000ull);
	}
	assert_int_equal(V->injected, 40);
	unsigned lines = 0;
	for (const char *s = fake_log(); (s = strstr(s, "injected a synchronous")); s++)
		lines++;
	assert_int_equal(lines, 32);
	assert_true(fake_log_has("more than 32 faults injected"));
}

/* ---- system register traps ---- */

static void sgi1r_sends_sgi(void **state)
{
	enable_sgi(A, 1, 3);
	unsigned kicks = fake.cpu[1].sgis[SGI_VIRQ];
	V->ctx.x[2] = (3ull << 24) | BIT(1); /* SGI 3 to Aff0 1 */
	sync_exit(V, sys_esr(3, 0, 12, 11, 5, 2, false), 0, 0);
	assert_int_equal(V->ctx.pc, GUEST_PC + 4);
	assert_true(vgic_pending(&A->vgic, 1));
	assert_false(vgic_pending(&A->vgic, 0));
	assert_int_equal(fake.cpu[1].sgis[SGI_VIRQ], kicks + 1); /* vCPU 1's CPU told */
	assert_false(vgic_pending(&B->vgic, 0));
}

static void idreg_reads_sanitised_value(void **state)
{
	sync_exit(V, sys_esr(3, 0, 0, 4, 1, 7, true), 0, 0); /* ID_AA64PFR1_EL1 */
	assert_int_equal(V->ctx.x[7], FAKE_IDREG(4, 1));
	sync_exit(V, sys_esr(3, 0, 0, 7, 0, 8, true), 0, 0); /* ID_AA64MMFR0_EL1 */
	assert_int_equal(V->ctx.x[8], FAKE_IDREG(7, 0));
	assert_int_equal(V->ctx.pc, GUEST_PC + 8);
	/* into XZR: nothing written (x[31] would be the PC) */
	sync_exit(V, sys_esr(3, 0, 0, 4, 0, 31, true), 0, 0);
	assert_int_equal(V->ctx.pc, GUEST_PC + 12);
	assert_int_equal(V->injected, 0);
}

static void actlr_reads_zero(void **state)
{
	V->ctx.x[3] = 0xffff;
	sync_exit(V, sys_esr(3, 0, 1, 0, 1, 3, true), 0, 0);
	assert_int_equal(V->ctx.x[3], 0);
	sync_exit(V, sys_esr(3, 0, 1, 0, 1, 3, false), 0, 0); /* write ignored */
	assert_int_equal(V->ctx.pc, GUEST_PC + 8);
	assert_int_equal(V->injected, 0);
}

static void pmu_reads_zero_and_dc_sw_done(void **state)
{
	V->ctx.x[4] = 0xffff;
	sync_exit(V, sys_esr(3, 3, 9, 12, 0, 4, true), 0, 0); /* PMCR_EL0 */
	assert_int_equal(V->ctx.x[4], 0);
	sync_exit(V, sys_esr(1, 0, 7, 6, 2, 4, false), 0, 0); /* DC ISW */
	assert_int_equal(V->ctx.pc, GUEST_PC + 8);
	assert_int_equal(V->injected, 0);
}

static void unknown_sysreg_injects_undef(void **state)
{
	V->ctx.x[5] = 0x55;
	sync_exit(V, sys_esr(3, 0, 10, 4, 3, 5, true), 0, 0); /* LORC_EL1 */
	assert_injected(V, 0x00, GUEST_PC, 1);
	assert_int_equal(V->ctx.x[5], 0x55);
	/* a write to an ID register is not a read */
	V->ctx.pc = GUEST_PC;
	V->ctx.pstate = 0x3c5;
	sync_exit(V, sys_esr(3, 0, 0, 4, 0, 5, false), 0, 0);
	assert_injected(V, 0x00, GUEST_PC, 2);
	assert_true(fake_log_has("trapped system register access"));
}

static void unknown_ec_injects_undef(void **state)
{
	sync_exit(V, EC(0x3c) | IL, 0, 0); /* BRK */
	assert_injected(V, 0x00, GUEST_PC, 1);
	assert_int_equal(partition_state(A), PART_RUNNING);
}

/* SVE access traps (EC 0x19): an UNDEF where the partition has no SVE;
 * where it has, SVE is enabled (vcpu_sve_trap) and the instruction runs
 * again: nothing injected, the PC stays. */
static void sve_without_sve_injects_undef(void **state)
{
	sync_exit(V, EC(0x19) | IL, 0, 0);
	assert_injected(V, 0x00, GUEST_PC, 1);
	assert_true(fake_log_has("SVE in a partition without SVE"));
	assert_int_equal(partition_state(A), PART_RUNNING);
}

static void sve_trap_retries_where_enabled(void **state)
{
	static uint8_t area[64];
	V->ctx.sve = area;
	sync_exit(V, EC(0x19) | IL, 0, 0);
	V->ctx.sve = NULL;
	assert_int_equal(V->injected, 0);
	assert_int_equal(V->ctx.pc, GUEST_PC);
	assert_false(fake_log_has("SVE in a partition without SVE"));
}

/* ---- exits that stop the partition ---- */

static void irq_exit(void **state)
{
	vcpu_handle_exit(V, FAKE_EXIT_IRQ);
	assert_int_equal(fake.irq_entries, 1);
	assert_int_equal(V->ctx.pc, GUEST_PC);
	assert_int_equal(partition_state(A), PART_RUNNING);
}

static void serror_stops_partition(void **state)
{
	fake_set_reg("esr_el2", 0xbe000000ull);
	vcpu_handle_exit(V, FAKE_EXIT_SERROR);
	assert_stopping_only(A);
	assert_true(fake_log_has("a: vCPU 0: SError"));
}

static void aarch32_stops_partition(void **state)
{
	for (unsigned kind = 12; kind < 16; kind++) {
		setup(state);
		vcpu_handle_exit(V, kind);
		assert_stopping_only(A);
		assert_true(fake_log_has("AArch32"));
	}
}

/* An SError pending at exit stops the partition; a synchronous exit's
 * cause is then not handled, an IRQ still is. */
static void serror_pending_at_exit(void **state)
{
	V->ctx.x[0] = PSCI_VERSION;
	fake_set_reg("esr_el2", EC(EC_HVC64) | IL);
	vcpu_handle_exit(V, FAKE_EXIT_SYNC | GUEST_EXIT_SERROR);
	assert_stopping_only(A);
	assert_int_equal(V->ctx.x[0], PSCI_VERSION);
	assert_int_equal(V->hvcs, 0);
	assert_true(fake_log_has("SError pending at a guest exit"));

	setup(state);
	vcpu_handle_exit(V, FAKE_EXIT_IRQ | GUEST_EXIT_SERROR);
	assert_stopping_only(A);
	assert_int_equal(fake.irq_entries, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(hvc_goes_to_psci, setup),
	    cmocka_unit_test_setup(smc_goes_to_psci_and_advances, setup),
	    cmocka_unit_test_setup(hvc_cpu_on_through_exit, setup),
	    cmocka_unit_test_setup(wfe_returns_at_once, setup),
	    cmocka_unit_test_setup(wfi_with_interrupt_pending_returns, setup),
	    cmocka_unit_test_setup(wfi_alone_sleeps_on_its_cpu, setup),
	    cmocka_unit_test_setup(wfi_shared_gives_way, setup),
	    cmocka_unit_test_setup(wfi_shared_with_nobody_eligible_sleeps, setup),
	    cmocka_unit_test_setup(wfit_alone_arms_el2_timer, setup),
	    cmocka_unit_test_setup(wfit_past_deadline_returns, setup),
	    cmocka_unit_test_setup(wfit_earlier_el2_timer_kept, setup),
	    cmocka_unit_test_setup(wfit_shared_records_deadline, setup),
	    cmocka_unit_test_setup(wfit_deadline_saturates, setup),
	    cmocka_unit_test_setup(wfit_without_rv_decodes_instruction, setup),
	    cmocka_unit_test_setup(wfit_without_rv_outside_ram_is_wfi, setup),
	    cmocka_unit_test_setup(wfit_without_rv_not_a_wfit_is_wfi, setup),
	    cmocka_unit_test_setup(mmio_uart_store_and_load, setup),
	    cmocka_unit_test_setup(mmio_sign_and_zero_extension, setup),
	    cmocka_unit_test_setup(mmio_gicd, setup),
	    cmocka_unit_test_setup(mmio_gicr_per_vcpu, setup),
	    cmocka_unit_test_setup(mmio_no_device, setup),
	    cmocka_unit_test_setup(dabt_without_isv_injects, setup),
	    cmocka_unit_test_setup(dabt_fnv_is_passed_on, setup),
	    cmocka_unit_test_setup(iabt_injects, setup),
	    cmocka_unit_test_setup(fault_log_is_bounded, setup),
	    cmocka_unit_test_setup(sgi1r_sends_sgi, setup),
	    cmocka_unit_test_setup(idreg_reads_sanitised_value, setup),
	    cmocka_unit_test_setup(actlr_reads_zero, setup),
	    cmocka_unit_test_setup(pmu_reads_zero_and_dc_sw_done, setup),
	    cmocka_unit_test_setup(unknown_sysreg_injects_undef, setup),
	    cmocka_unit_test_setup(unknown_ec_injects_undef, setup),
	    cmocka_unit_test_setup(sve_without_sve_injects_undef, setup),
	    cmocka_unit_test_setup(sve_trap_retries_where_enabled, setup),
	    cmocka_unit_test_setup(irq_exit, setup),
	    cmocka_unit_test_setup(serror_stops_partition, setup),
	    cmocka_unit_test_setup(aarch32_stops_partition, setup),
	    cmocka_unit_test_setup(serror_pending_at_exit, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
