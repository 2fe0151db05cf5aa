/* Per-CPU data, halting, and the C side of IRQ entry. */
#include "arch/arm64/arch.h"

struct percpu percpu_data[MAX_CPUS];
_Static_assert(sizeof(struct percpu) == 128, "entry.S assumes 128-byte percpu");
_Static_assert(__builtin_offsetof(struct percpu, stack_hi) == 24, "entry.S PERCPU_STACK_HI");
_Static_assert(__builtin_offsetof(struct percpu, host_sp) == 56, "guest.S PERCPU_HOST_SP");
_Static_assert(__builtin_offsetof(struct percpu, guest_ctx) == 64, "guest.S PERCPU_GUEST_CTX");
_Static_assert(__builtin_offsetof(struct vcpu_ctx, pc) == VCPU_CTX_PC, "guest.S");
_Static_assert(__builtin_offsetof(struct percpu, emerg_sp) == 104, "entry.S PERCPU_EMERG_SP");
_Static_assert(STACK_SIZE == 1 << 14, "entry.S tests bit 14 of SP for stack overflows");

static bool (*irq_handler)(unsigned intid);
static void (*secondary_main)(unsigned cpu);

void arch_set_secondary_main(void (*fn)(unsigned cpu))
{
	secondary_main = fn;
}

void arch_secondary_main(unsigned cpu)
{
	if (!secondary_main)
		cpu_halt();
	secondary_main(cpu);
	cpu_halt();
}

void arch_set_irq_handler(bool (*fn)(unsigned intid))
{
	irq_handler = fn;
}

/* The interrupt to handle next: one the fast exit path already
 * acknowledged, else the GIC's. */
static unsigned next_irq(void)
{
	struct percpu *c = this_cpu();
	unsigned intid = c->acked_irq;
	if (intid == GIC_NO_IRQ)
		return gic_ack();
	c->acked_irq = GIC_NO_IRQ;
	return intid;
}

void arch_irq_entry(struct exc_frame *f, unsigned kind)
{
	for (;;) {
		unsigned intid = next_irq();
		if (intid >= 1020 && intid < GITS_LPI_MIN)
			return; /* special INTIDs; LPIs (gits.c) are real */
		this_cpu()->irqs++;
		/* a handler returning true forwarded the interrupt to a guest,
		 * whose EOI deactivates it */
		if (irq_handler && irq_handler(intid))
			gic_priority_drop(intid);
		else
			gic_eoi(intid);
	}
}

void cpu_halt(void)
{
	irq_disable();
	for (;;)
		wfi();
}
