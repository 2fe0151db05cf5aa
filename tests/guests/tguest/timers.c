/*
 * The generic timers as the GIC sees them, the checks kvm-unit-tests'
 * arm/timer.c makes: a timer's PPI is pending in GICR_ISPENDR0 exactly
 * while the timer asserts its output (enabled, not masked, CVAL reached),
 * whether or not the PPI is enabled; it stops being pending when the timer
 * is disabled or masked, without being delivered; it is active in
 * GICR_ISACTIVER0 from the guest's acknowledge to its EOI; and the next
 * expiry fires again. For the virtual timer (PPI 27) and the EL1 physical
 * timer (PPI 30).
 */
#include "tguest.h"

#define GICR_SGI	 0x10000
#define GICR_ISENABLER0	 0x0100
#define GICR_ICENABLER0	 0x0180
#define GICR_ISPENDR0	 0x0200
#define GICR_ISACTIVER0	 0x0300
#define CTL_ENABLE	 1U
#define CTL_IMASK	 2U
#define CTL_ISTATUS	 4U
#define ST_PENDING	 1U
#define ST_ACTIVE	 2U
#define PTIMER_PPI	 30
#define STATE_WAIT_MS	 100 /* a GIC may take a moment to sample a line */
#define STATE_STABLE_MS	 10
#define IRQ_WAIT_MS	 1000
#define NO_IRQ_WINDOW_MS 20

struct gtimer {
	const char *name;
	unsigned ppi;
	uint64_t (*count)(void);
	uint64_t (*ctl)(void);
	void (*set_ctl)(uint64_t v);
	void (*set_cval)(uint64_t v);
};

static uint64_t v_count(void)
{
	isb();
	return read_sysreg(cntvct_el0);
}
static uint64_t v_ctl(void)
{
	return read_sysreg(cntv_ctl_el0);
}
static void v_set_ctl(uint64_t v)
{
	write_sysreg(cntv_ctl_el0, v);
	isb();
}
static void v_set_cval(uint64_t v)
{
	write_sysreg(cntv_cval_el0, v);
	isb();
}
static uint64_t p_count(void)
{
	isb();
	return read_sysreg(cntpct_el0);
}
static uint64_t p_ctl(void)
{
	return read_sysreg(cntp_ctl_el0);
}
static void p_set_ctl(uint64_t v)
{
	write_sysreg(cntp_ctl_el0, v);
	isb();
}
static void p_set_cval(uint64_t v)
{
	write_sysreg(cntp_cval_el0, v);
	isb();
}

static const struct gtimer timers[2] = {
    {"vtimer", TIMER_PPI, v_count, v_ctl, v_set_ctl, v_set_cval},
    {"ptimer", PTIMER_PPI, p_count, p_ctl, p_set_ctl, p_set_cval},
};

/* What the interrupt handler saw of the timer under test. */
static struct {
	const struct gtimer *t; /* armed: its PPI is handled here */
	uintptr_t sgi;
	volatile uint32_t hits;
	volatile unsigned in_handler, masked; /* ST_* on entry, after IMASK */
} seen;

static uint64_t ms_ticks(unsigned ms)
{
	return timer_freq() * ms / 1000;
}

static unsigned gic_state(unsigned ppi)
{
	unsigned st = 0;

	if (mmio_read32(seen.sgi + GICR_ISPENDR0) & (1U << ppi))
		st |= ST_PENDING;
	if (mmio_read32(seen.sgi + GICR_ISACTIVER0) & (1U << ppi))
		st |= ST_ACTIVE;
	return st;
}

static const char *state_name(unsigned st)
{
	static const char *const names[4] = {"inactive", "pending", "active", "active+pending"};
	return names[st & 3];
}

/* The PPI reaches state want within STATE_WAIT_MS and keeps it for
 * STATE_STABLE_MS; otherwise the last state seen is in *got. */
static bool state_is(unsigned ppi, unsigned want, unsigned *got)
{
	uint64_t start = now(), stable = 0;

	for (;;) {
		*got = gic_state(ppi);
		if (*got != want)
			stable = 0;
		else if (!stable)
			stable = now();
		else if (now() - stable > ms_ticks(STATE_STABLE_MS))
			return true;
		if (!stable && now() - start > ms_ticks(STATE_WAIT_MS))
			return false;
		__asm__ volatile("yield");
	}
}

bool timers_irq(uint32_t intid)
{
	const struct gtimer *t = seen.t;

	if (!t || intid != t->ppi)
		return false;
	seen.in_handler = gic_state(t->ppi);
	t->set_ctl(CTL_ENABLE | CTL_IMASK); /* the line drops; the guest still holds it */
	seen.masked = gic_state(t->ppi);
	seen.hits++;
	return true;
}

/* Busy-waits (no WFI, so no exit is needed for the interrupt to arrive)
 * until the handler has run n times. */
static bool wait_hits(uint32_t n, unsigned ms)
{
	uint64_t start = now();

	while (seen.hits < n)
		if (now() - start > ms_ticks(ms))
			return false;
	return true;
}

#define FAILW(...)                                                                                 \
	do {                                                                                       \
		tg_snprintf(why, why_size, __VA_ARGS__);                                           \
		return 1;                                                                          \
	} while (0)

/* Steps 1-3: the output signal with the PPI disabled at the GIC. */
static int signal_steps(const struct gtimer *t, char *why, size_t why_size)
{
	uint32_t bit = 1U << t->ppi;
	unsigned st;

	mmio_write32(seen.sgi + GICR_ICENABLER0, bit);
	t->set_cval(t->count() + ms_ticks(10000));
	t->set_ctl(CTL_ENABLE);
	if (!state_is(t->ppi, 0, &st))
		FAILW("%s: CVAL 10 s ahead: PPI %u %s, want inactive", t->name, t->ppi,
		      state_name(st));
	t->set_cval(t->count() - 1);
	if (!(t->ctl() & CTL_ISTATUS))
		FAILW("%s: CVAL passed, ISTATUS clear (CTL 0x%lx)", t->name, t->ctl());
	if (!state_is(t->ppi, ST_PENDING, &st))
		FAILW("%s: CVAL passed, PPI disabled: PPI %u %s, want pending", t->name, t->ppi,
		      state_name(st));
	t->set_ctl(0);
	mmio_write32(seen.sgi + GICR_ISENABLER0, bit);
	wait_hits(1, NO_IRQ_WINDOW_MS);
	if (seen.hits)
		FAILW("%s: interrupt taken after the timer was disabled", t->name);
	if (!state_is(t->ppi, 0, &st))
		FAILW("%s: timer disabled: PPI %u %s, want inactive", t->name, t->ppi,
		      state_name(st));
	t->set_ctl(CTL_ENABLE | CTL_IMASK);
	if (!(t->ctl() & CTL_ISTATUS))
		FAILW("%s: masked, CVAL passed: ISTATUS clear (CTL 0x%lx)", t->name, t->ctl());
	if (!state_is(t->ppi, 0, &st) || seen.hits)
		FAILW("%s: timer masked: PPI %u %s, %u interrupts, want inactive, none", t->name,
		      t->ppi, state_name(st), seen.hits);
	return 0;
}

/* Steps 4-5: delivery, the active state around the handler, and a second
 * expiry (the physical interrupt behind the first was not left active). */
static int delivery_steps(const struct gtimer *t, char *why, size_t why_size)
{
	unsigned st;

	t->set_ctl(CTL_ENABLE); /* unmasked, CVAL long passed: fires now */
	if (!wait_hits(1, IRQ_WAIT_MS))
		FAILW("%s: unmasked with CVAL passed: no PPI %u within 1 s", t->name, t->ppi);
	if (seen.in_handler != (ST_ACTIVE | ST_PENDING) || seen.masked != ST_ACTIVE)
		FAILW("%s: in the handler PPI %u was %s, then %s once masked; want "
		      "active+pending, then active",
		      t->name, t->ppi, state_name(seen.in_handler), state_name(seen.masked));
	if (!state_is(t->ppi, 0, &st))
		FAILW("%s: after EOI: PPI %u %s, want inactive", t->name, t->ppi, state_name(st));
	t->set_ctl(0);
	t->set_cval(t->count() + ms_ticks(2));
	t->set_ctl(CTL_ENABLE);
	if (!wait_hits(2, IRQ_WAIT_MS))
		FAILW("%s: second expiry (2 ms): no PPI %u within 1 s", t->name, t->ppi);
	return 0;
}

int timers_gic_check(unsigned which, char *why, size_t why_size)
{
	const struct gtimer *t = &timers[which & 1];
	int r;

	seen.sgi = gic_redist() + GICR_SGI;
	if (seen.sgi == GICR_SGI)
		FAILW("no redistributor for this vCPU");
	t->set_ctl(0);
	seen.hits = 0;
	seen.t = t;
	dsb();
	r = signal_steps(t, why, why_size);
	if (!r)
		r = delivery_steps(t, why, why_size);
	t->set_ctl(0);
	seen.t = NULL;
	/* tguest keeps the virtual timer's PPI enabled (gic.c), not the other */
	if (t->ppi != TIMER_PPI)
		mmio_write32(seen.sgi + GICR_ICENABLER0, 1U << t->ppi);
	else
		mmio_write32(seen.sgi + GICR_ISENABLER0, 1U << t->ppi);
	return r;
}
