/*
 * Global errors (SMMU_GERROR, 6.3.17): a bit is active while it differs
 * from the same bit in GERRORN; software acknowledges by toggling GERRORN.
 * Serviced from the GERROR interrupt and from every command-queue wait, so
 * a stopped command queue is restarted even when the interrupt is routed
 * to a CPU that is waiting for the queue lock.
 */
#include <stdio.h>

#include "smmu/smmu_int.h"
#include "lib/log.h"

static void log_active(uint32_t active, uint32_t gerror)
{
	char names[160];
	size_t pos = 0;

	names[0] = '\0';
	for (unsigned bit = 0; bit < 32 && pos < sizeof(names); bit++) {
		const char *n = gerror_bit_name(bit);
		int w;

		if (!(active & BIT(bit)))
			continue;
		w = snprintf(names + pos, sizeof(names) - pos, "%s%s", pos ? ", " : "",
			     n ? n : "reserved");
		pos += w > 0 ? (size_t)w : 0;
	}
	kprintf("smmu: global error (GERROR 0x%x): %s\n", gerror, names);
}

void gerror_service_locked(void)
{
	uint32_t gerror = smmu_read32(SMMU_GERROR), gerrorn = smmu_read32(SMMU_GERRORN);
	uint32_t active = (gerror ^ gerrorn) & GERROR_ERR_MASK;

	if (!active)
		return;
	smmu_dev.stats.gerrors += (unsigned)__builtin_popcount(active);
	log_active(active, gerror);
	if (active & GERROR_CMDQ_ERR)
		cmdq_skip_error_locked();
	if (active & GERROR_EVTQ_ABT_ERR)
		kprintf("smmu: error: event queue write aborted: events were lost\n");
	if (active & GERROR_SFM_ERR)
		kprintf("smmu: error: service failure mode: the SMMU terminates every "
			"transaction until it is reset\n");
	/* Toggling exactly the bits we saw acknowledges them (and restarts
	 * command processing after CMDQ_ERR) without losing newer ones. */
	smmu_write32(SMMU_GERRORN, gerrorn ^ active);
}

void gerror_service(void)
{
	uint64_t flags = spin_lock_irqsave(&smmu_dev.cmdq.lock);

	gerror_service_locked();
	spin_unlock_irqrestore(&smmu_dev.cmdq.lock, flags);
}
