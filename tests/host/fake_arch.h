/*
 * A fake arch/arm64 for host tests, included by arch/arm64/arch.h under
 * TESSERA_HOST in place of the hardware primitives (the rest of arch.h's
 * API is declared there as on the target). The primitives become calls into
 * tests/host/fake_arch.c: a system-register file per fake CPU (TPIDR_EL2
 * reads give &percpu_data[current CPU]), a log of register writes, counted
 * barriers and WFIs, and an IRQ mask per CPU. fake_arch.c also implements
 * the functions arch.h declares that kernel/vm calls (world switch, GIC,
 * timer, stage-2), recording each call, and kernel/machine's globals.
 *
 * Only host test programs that link tests/host/fake_arch.c may use these;
 * the others include arch.h and never reach them.
 */
#ifndef TESTS_HOST_FAKE_ARCH_H
#define TESTS_HOST_FAKE_ARCH_H

#include "lib/types.h"

uint64_t fake_read_sysreg(const char *name);
void fake_write_sysreg(const char *name, uint64_t v);
void fake_barrier(void);
void fake_wfi(void);
void fake_irq_enable(void);
void fake_irq_disable(void);

#define read_sysreg(r)	   fake_read_sysreg(#r)
#define write_sysreg(r, v) fake_write_sysreg(#r, (uint64_t)(v))
#define isb()		   fake_barrier()
#define dsb(opt)	   fake_barrier()
#define dmb(opt)	   fake_barrier()
#define wfi()		   fake_wfi()
#define wfe()		   ((void)0)
#define sev()		   ((void)0)
#define cpu_relax()	   ((void)0)

static inline void irq_enable(void)
{
	fake_irq_enable();
}
static inline void irq_disable(void)
{
	fake_irq_disable();
}

/* Device memory is host memory in the tests. */
static inline uint32_t mmio_read32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}
static inline void mmio_write32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}
static inline uint64_t mmio_read64(uintptr_t a)
{
	return *(volatile uint64_t *)a;
}
static inline void mmio_write64(uintptr_t a, uint64_t v)
{
	*(volatile uint64_t *)a = v;
}
static inline uint16_t mmio_read16(uintptr_t a)
{
	return *(volatile uint16_t *)a;
}
static inline uint8_t mmio_read8(uintptr_t a)
{
	return *(volatile uint8_t *)a;
}
static inline void mmio_write16(uintptr_t a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}
static inline void mmio_write8(uintptr_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}

#endif
