/* Starting the secondary CPUs through PSCI CPU_ON. */
#include "kernel/machine/machine.h"

#define CPU_ON_TIMEOUT_US 2000000

unsigned boot_cpu;
int64_t cpu_start_err[MAX_CPUS];

/* Each CPU's stack is the upper half of a 2 * STACK_SIZE aligned block, so
 * the exception vector can tell from one bit of SP that it overflowed; the
 * page below it is an unmapped guard, and the bottom of the block holds a
 * small emergency stack for reporting the overflow. */
void cpu_setup_stack(unsigned cpu)
{
	uint64_t raw = (uint64_t)pool_alloc(4 * STACK_SIZE);
	uint64_t block = ALIGN_UP(raw, 2 * STACK_SIZE);
	percpu_data[cpu].stack_lo = block + STACK_SIZE;
	percpu_data[cpu].stack_hi = block + 2 * STACK_SIZE;
	percpu_data[cpu].emerg_sp = block + STACK_SIZE / 2;
	if (el2_unmap(block + STACK_SIZE - PAGE_SIZE, PAGE_SIZE))
		panic("cannot unmap the stack guard page of CPU %u", cpu);
}

unsigned cpus_online(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < hw.ncpus; i++)
		n += percpu_data[i].online;
	return n;
}

static bool wait_online(unsigned cpu)
{
	uint64_t end = timer_now() + timer_ns_to_ticks(CPU_ON_TIMEOUT_US * 1000ull);
	while (!__atomic_load_n(&percpu_data[cpu].online, __ATOMIC_ACQUIRE)) {
		if (timer_now() > end)
			return false;
		wfe();
	}
	return true;
}

static void start_cpu(unsigned cpu)
{
	extern char _text[], _edata[];
	cpu_setup_stack(cpu);
	/* secondary_entry reads the image and its percpu with the MMU off */
	dcache_clean_range((uintptr_t)_text, (uintptr_t)_edata - (uintptr_t)_text);
	int64_t e = psci_cpu_on(percpu_data[cpu].mpidr, (uint64_t)secondary_entry, cpu);
	cpu_start_err[cpu] = e;
	if (e) {
		kprintf("cpu%u: PSCI CPU_ON failed: %s (%lld)\n", cpu, psci_strerror(e),
			(long long)e);
		return;
	}
	if (!wait_online(cpu)) {
		cpu_start_err[cpu] = 1;
		kprintf("cpu%u: did not come online within %u ms\n", cpu, CPU_ON_TIMEOUT_US / 1000);
	}
}

void smp_boot(void)
{
	for (unsigned cpu = 0; cpu < hw.ncpus; cpu++)
		if (cpu != boot_cpu)
			start_cpu(cpu);
}
