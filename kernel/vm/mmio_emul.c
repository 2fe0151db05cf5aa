/* Emulated MMIO: a stage-2 fault on a virtual device's page. */
#include "kernel/vm/vm.h"
#include <errno.h>

static bool in(uint64_t a, uint64_t base, uint64_t size)
{
	return a >= base && a - base < size;
}

/* Runs the device access; returns -EINVAL if no device or the device
 * refused it. Device locks are leaves (see partition.h). */
static int device_access(struct vcpu *v, uint64_t ipa, const struct mmio_access *a, uint64_t *val)
{
	struct partition *p = v->part;
	if (in(ipa, GUEST_GICD_BASE, GUEST_GICD_SIZE))
		return vgic_dist_access(&p->vgic, v->idx, ipa - GUEST_GICD_BASE, a->size, a->write,
					val);
	if (in(ipa, GUEST_GICR_BASE, (uint64_t)p->nvcpus * GUEST_GICR_STRIDE))
		return vgic_redist_access(&p->vgic, v->idx, ipa - GUEST_GICR_BASE, a->size,
					  a->write, val);
	if (p->vgic.its && in(ipa, GUEST_ITS_BASE, GUEST_ITS_SIZE))
		return vgic_its_access(&p->vgic, v->idx, ipa - GUEST_ITS_BASE, a->size, a->write,
				       val);
	if (in(ipa, GUEST_UART_BASE, GUEST_UART_SIZE))
		return vuart_access(&p->uart, ipa - GUEST_UART_BASE, a->size, a->write, val);
	if (p->npdevs && in(ipa, VPCI_ECAM_BASE, VPCI_ECAM_SIZE))
		return pdev_ecam_access(v, ipa - VPCI_ECAM_BASE, a->size, a->write, val);
	if (p->npdevs && in(ipa, VPCI_MMIO_BASE, VPCI_MMIO_SIZE))
		return pdev_bar_access(v, ipa, a->size, a->write, val);
	return -EINVAL;
}

bool mmio_emulate(struct vcpu *v, uint64_t ipa, uint64_t esr)
{
	struct mmio_access a;
	if (esr_decode_mmio(esr, &a))
		return false; /* no syndrome (ISV=0): cannot emulate */
	uint64_t val = 0;
	if (a.write)
		val = mmio_store_value(&a, a.reg == 31 ? 0 : v->ctx.x[a.reg]);
	if (device_access(v, ipa, &a, &val))
		return false;
	if (!a.write && a.reg != 31)
		v->ctx.x[a.reg] = mmio_load_value(&a, val);
	return true;
}

bool mmio_fast_read(struct vcpu *v, uint64_t ipa, unsigned size, uint64_t *val)
{
	struct partition *p = v->part;
	uint64_t off;
	bool redist;
	if (in(ipa, GUEST_GICD_BASE, GUEST_GICD_SIZE))
		off = ipa - GUEST_GICD_BASE, redist = false;
	else if (in(ipa, GUEST_GICR_BASE, (uint64_t)p->nvcpus * GUEST_GICR_STRIDE))
		off = ipa - GUEST_GICR_BASE, redist = true;
	else
		return false;
	if (vgic_read_needs_sync(redist, off))
		return false;
	*val = 0;
	/* on an error the full path reads again (no side effects) and aborts */
	return !(redist ? vgic_redist_access : vgic_dist_access)(&p->vgic, v->idx, off, size, false,
								 val);
}
