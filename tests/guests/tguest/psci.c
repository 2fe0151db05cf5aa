/* PSCI calls that end the run. */
#include "tguest.h"

void system_off(void)
{
	hvc_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	/* Only reached if SYSTEM_OFF failed: stop here, quietly. */
	tg_printf("TGUEST: SYSTEM_OFF returned\n");
	for (;;)
		wfi();
}

void system_reset(void)
{
	hvc_call(PSCI_SYSTEM_RESET, 0, 0, 0);
	tg_printf("TGUEST: SYSTEM_RESET returned\n");
	for (;;)
		wfi();
}
