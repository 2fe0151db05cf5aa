/*
 * MSI (the plain capability, not MSI-X) of an assigned PCI function through
 * the partition's virtual ITS (guest.h has the rules). The capability's
 * registers the guest sees are a shadow; the device's hold tessera's
 * doorbell and data 0, so its k-th message is physical event k, which
 * tessera routes to the guest's data | k. Portable: through vpci_ops.
 */
#include "kernel/vm/guest.h"
#include <errno.h>

#define MSI_ENABLE	  0x0001u
#define MSI_MMC_SHIFT	  1 /* Multiple Message Capable, log2 */
#define MSI_MME_SHIFT	  4 /* Multiple Message Enable, log2 */
#define MSI_MM_MASK	  7u
#define MSI_64BIT	  0x0080u
#define MSI_PVM		  0x0100u /* per-vector masking */
#define MSI_GUEST_BITS	  (MSI_ENABLE | MSI_MM_MASK << MSI_MME_SHIFT)
#define MSI_ADDR_LO	  4
#define MSI_MAX_EVENTS_LG 5 /* 32 vectors, as many as the architecture's */

static uint32_t phys_cfg(struct vpci_fn *f, unsigned off)
{
	return f->ops.cfg_read(f->ops.ctx, f->msi.cap + off);
}

static void phys_write(struct vpci_fn *f, unsigned off, uint32_t val)
{
	f->ops.cfg_write(f->ops.ctx, f->msi.cap + off, val);
}

/* Offsets of the registers after the address, which move with 64-bit. */
static unsigned data_off(const struct vpci_msi *m)
{
	return m->is64 ? 12 : 8;
}

static unsigned mask_off(const struct vpci_msi *m)
{
	return data_off(m) + 4;
}

unsigned vpci_msi_probe(struct vpci_fn *f, unsigned off)
{
	struct vpci_msi *m = &f->msi;
	if (!f->ops.msi_guest || m->shown)
		return 0;
	m->cap = (uint8_t)off;
	uint16_t ctrl = (uint16_t)(phys_cfg(f, 0) >> 16);
	m->is64 = ctrl & MSI_64BIT;
	m->pvm = ctrl & MSI_PVM;
	m->mmc = (uint8_t)MIN((ctrl >> MSI_MMC_SHIFT) & MSI_MM_MASK, (unsigned)MSI_MAX_EVENTS_LG);
	m->len = (uint8_t)(data_off(m) + 4 + (m->pvm ? 8 : 0));
	if (off + m->len > 0x100)
		return 0;
	m->ctrl = m->addr_lo = m->addr_hi = m->data = m->mask = 0;
	/* whatever the last owner left enabled stops */
	phys_write(f, 0, phys_cfg(f, 0) & ~((uint32_t)MSI_GUEST_BITS << 16));
	m->shown = true;
	return m->len;
}

static uint64_t guest_addr(const struct vpci_msi *m)
{
	return (uint64_t)m->addr_hi << 32 | m->addr_lo;
}

static void device_off(struct vpci_fn *f)
{
	struct vpci_msi *m = &f->msi;
	if (!m->on)
		return;
	phys_write(f, 0, phys_cfg(f, 0) & ~((uint32_t)MSI_GUEST_BITS << 16));
	f->ops.msi_doorbell(f->ops.ctx, false);
	m->on = false;
}

/* The guest's registers, applied: off unless enabled at the vITS's
 * doorbell with every vector routed; then the device's address and data
 * first, the enable last. */
static void apply(struct vpci_fn *f)
{
	struct vpci_msi *m = &f->msi;
	unsigned mme = MIN((m->ctrl >> MSI_MME_SHIFT) & MSI_MM_MASK, (unsigned)m->mmc);
	unsigned n = 1u << mme;
	bool want = m->ctrl & MSI_ENABLE;
	if (want && guest_addr(m) != f->ops.msi_guest) {
		m->refused++;
		want = false;
	}
	if (m->pvm && phys_cfg(f, mask_off(m)) != m->mask)
		phys_write(f, mask_off(m), m->mask); /* masking is the guest's */
	for (unsigned k = 0; want && k < n; k++)
		if (f->ops.msi_route(f->ops.ctx, k, (m->data & ~(n - 1) & 0xffff) | k)) {
			m->errors++;
			want = false;
		}
	if (!want) {
		device_off(f);
		return;
	}
	if (!m->on) {
		if (f->ops.msi_doorbell(f->ops.ctx, true)) {
			m->errors++;
			return;
		}
		m->on = true;
	}
	uint32_t d0 = phys_cfg(f, 0) & ~((uint32_t)MSI_GUEST_BITS << 16);
	phys_write(f, 0, d0); /* off while the message changes */
	phys_write(f, MSI_ADDR_LO, (uint32_t)f->ops.msi_phys);
	if (m->is64)
		phys_write(f, 8, (uint32_t)(f->ops.msi_phys >> 32));
	phys_write(f, data_off(m), phys_cfg(f, data_off(m)) & 0xffff0000u); /* data 0 */
	phys_write(f, 0, d0 | ((uint32_t)(MSI_ENABLE | mme << MSI_MME_SHIFT) << 16));
}

uint32_t vpci_msi_cfg_read(struct vpci_fn *f, unsigned off)
{
	struct vpci_msi *m = &f->msi;
	uint32_t guest_bits = (uint32_t)MSI_GUEST_BITS << 16;
	if (off == 0)
		return (phys_cfg(f, 0) & ~guest_bits) | (uint32_t)m->ctrl << 16;
	if (off == MSI_ADDR_LO)
		return m->addr_lo;
	if (m->is64 && off == 8)
		return m->addr_hi;
	if (off == data_off(m))
		return m->data;
	if (m->pvm && off == mask_off(m))
		return m->mask;
	return phys_cfg(f, off); /* the pending bits */
}

void vpci_msi_cfg_write(struct vpci_fn *f, unsigned off, uint32_t val, uint32_t mask)
{
	struct vpci_msi *m = &f->msi;
	uint32_t *r = NULL, keep = 0xffffffffu;
	if (off == 0) {
		uint32_t c = (((uint32_t)m->ctrl << 16 & ~mask) | (val & mask)) >> 16;
		m->ctrl = (uint16_t)(c & MSI_GUEST_BITS);
		apply(f);
		return;
	}
	if (off == MSI_ADDR_LO)
		r = &m->addr_lo, keep = ~3u;
	else if (m->is64 && off == 8)
		r = &m->addr_hi;
	else if (off == data_off(m))
		r = &m->data, keep = 0xffff;
	else if (m->pvm && off == mask_off(m))
		r = &m->mask, keep = m->mmc >= 5 ? 0xffffffffu : (1u << (1u << m->mmc)) - 1;
	if (!r)
		return; /* pending bits: read-only */
	*r = ((*r & ~mask) | (val & mask)) & keep;
	if (m->ctrl & MSI_ENABLE)
		apply(f);
}

void vpci_msi_reset(struct vpci_fn *f)
{
	if (!f->msi.shown)
		return;
	device_off(f);
	f->msi.ctrl = 0;
}
