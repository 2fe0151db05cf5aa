/* Per-CPU data, halting, and the C side of IRQ entry. */
#include "arch/arm64/arch.h"

struct percpu percpu_data[MAX_CPUS] __attribute__((aligned(64)));
_Static_assert(sizeof(struct percpu) == 64, "entry.S assumes 64-byte percpu");
_Static_assert(__builtin_offsetof(struct percpu, stack_hi) == 24, "entry.S PERCPU_STACK_HI");

static void (*irq_handler)(unsigned intid);

void arch_set_irq_handler(void (*fn)(unsigned intid))
{
	irq_handler = fn;
}

void arch_irq_entry(struct exc_frame *f, unsigned kind);
void arch_irq_entry(struct exc_frame *f, unsigned kind)
{
	for (;;) {
		unsigned intid = gic_ack();
		if (intid >= 1020)
			return;
		this_cpu()->irqs++;
		if (irq_handler)
			irq_handler(intid);
		gic_eoi(intid);
	}
}

void cpu_halt(void)
{
	irq_disable();
	for (;;)
		wfi();
}
