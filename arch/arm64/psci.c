/* PSCI client: firmware calls through the conduit the DT names. */
#include "arch/arm64/arch.h"

#define PSCI_VERSION	  0x84000000u
#define PSCI_CPU_ON	  0xc4000003u
#define PSCI_SYSTEM_OFF	  0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u

static enum psci_conduit conduit = PSCI_SMC;

void psci_set_conduit(enum psci_conduit c)
{
	conduit = c;
}

static int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;
	if (conduit == PSCI_HVC)
		__asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	else
		__asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	return (int64_t)x0;
}

int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry_pa, uint64_t ctx)
{
	return psci_call(PSCI_CPU_ON, mpidr, entry_pa, ctx);
}

uint32_t psci_version(void)
{
	return (uint32_t)psci_call(PSCI_VERSION, 0, 0, 0);
}

void psci_system_off(void)
{
	psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	cpu_halt();
}

void psci_system_reset(void)
{
	psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
	cpu_halt();
}

const char *psci_strerror(int64_t err)
{
	static const char *const names[] = {
	    "success",	  "not supported",    "invalid parameters", "denied",	"already on",
	    "on pending", "internal failure", "not present",	    "disabled", "invalid address",
	};
	uint64_t i = (uint64_t)-err;
	return err <= 0 && i < ARRAY_SIZE(names) ? names[i] : "unknown error";
}
