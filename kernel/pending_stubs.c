/*
 * TEMPORARY: weak placeholders for device models that are being written in
 * parallel (vgic, vuart, partition config, image loader, guest DT), so the
 * tree keeps building meanwhile. The real definitions override these; this
 * file is deleted once they have all landed.
 */
#include "kernel/partition.h"
#include <errno.h>

#define WEAK __attribute__((weak))

WEAK void vgic_init(struct vgic *g, unsigned nvcpus, const struct vgic_ops *ops)
{
}
WEAK int vgic_dist_access(struct vgic *g, unsigned vcpu, uint64_t off, unsigned size, bool write,
			  uint64_t *val)
{
	return -EINVAL;
}
WEAK int vgic_redist_access(struct vgic *g, unsigned vcpu, uint64_t off, unsigned size,
			    bool write, uint64_t *val)
{
	return -EINVAL;
}
WEAK void vgic_set_level(struct vgic *g, unsigned vcpu, unsigned intid, bool level)
{
}
WEAK void vgic_inject_hw(struct vgic *g, unsigned vcpu, unsigned intid, unsigned pintid)
{
}
WEAK void vgic_sgi(struct vgic *g, unsigned vcpu, uint64_t sgi1r)
{
}
WEAK void vgic_flush(struct vgic *g, unsigned vcpu)
{
}
WEAK void vgic_sync(struct vgic *g, unsigned vcpu)
{
}
WEAK bool vgic_pending(struct vgic *g, unsigned vcpu)
{
	return false;
}
WEAK bool vgic_wants_underflow(struct vgic *g, unsigned vcpu)
{
	return false;
}
WEAK void vuart_init(struct vuart *u, void (*out)(void *, const char *, size_t),
		     void (*irq)(void *, bool), void *ctx)
{
}
WEAK int vuart_access(struct vuart *u, uint64_t off, unsigned size, bool write, uint64_t *val)
{
	return -EINVAL;
}
WEAK bool vuart_rx(struct vuart *u, char c)
{
	return false;
}
WEAK void vuart_flush(struct vuart *u)
{
}
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
WEAK int esr_decode_mmio(uint64_t esr, struct mmio_access *a)
{
	return -EINVAL;
}
WEAK uint64_t mmio_load_value(const struct mmio_access *a, uint64_t raw)
{
	return raw;
}
WEAK uint64_t mmio_store_value(const struct mmio_access *a, uint64_t v)
{
	return v;
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
