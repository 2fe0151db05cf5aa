/*
 * TEMPORARY: weak placeholders for device models that are being written in
 * parallel (vgic, vuart, partition config, image loader, guest DT), so the
 * tree keeps building meanwhile. The real definitions override these; this
 * file is deleted once they have all landed.
 */
#include "kernel/partition.h"
#include <errno.h>

#define WEAK __attribute__((weak))

WEAK int part_config_parse(const void *cfg, struct part_cfg *out, unsigned max, char *err,
			   size_t errlen)
{
	return 0;
}
WEAK void part_config_validate(struct part_cfg *p, unsigned n, const struct machine_desc *m)
{
}
WEAK int image_layout(const void *data, uint64_t size, enum kernel_format fmt, uint64_t load_addr,
		      uint64_t ram_size, struct image_layout *out, char *err, size_t errlen)
{
	return -EINVAL;
}
WEAK int guest_dt_build(void *buf, size_t size, const struct guest_dt_params *p)
{
	return -1;
}

/* The SMMU driver (smmu/) is being written too. */
#include "smmu/smmu.h"
WEAK bool smmu_ready(void)
{
	return false;
}
WEAK struct smmu_domain *smmu_domain_create(const struct smmu_owner *owner, unsigned ia_bits)
{
	return NULL;
}
WEAK void smmu_domain_destroy(struct smmu_domain *d)
{
}
WEAK int smmu_map(struct smmu_domain *d, uint64_t iova, uint64_t pa, uint64_t size,
		  unsigned prot)
{
	return -ENODEV;
}
WEAK int smmu_unmap(struct smmu_domain *d, uint64_t iova, uint64_t size)
{
	return -ENODEV;
}
WEAK int smmu_attach(struct smmu_domain *d, uint32_t sid)
{
	return -ENODEV;
}
WEAK int smmu_detach(uint32_t sid)
{
	return -ENODEV;
}
WEAK void smmu_poll_events(void)
{
}
WEAK const struct smmu_stats *smmu_get_stats(void)
{
	static struct smmu_stats none;
	return &none;
}
WEAK uint32_t smmu_rid_to_sid(const void *fdt, uint32_t rid)
{
	return rid;
}
