/*
 * Register-table dispatch for the distributor and redistributor frames:
 * finds the register an access hits, enforces the sizes the GICv3
 * architecture allows for it, and calls its handler. Handlers see the
 * offset from the start of their register array, so one handler serves an
 * array wherever it lives (distributor or SGI_base frame).
 */
#include "kernel/vgic/internal.h"
#include <errno.h>

/* Offsets no table names (reserved, or features we do not have: LPIs,
 * MBIs, extended SPI/PPI ranges): RAZ/WI for 32- and 64-bit accesses. */
static const struct vgic_reg reserved = {0, 0, 4 | 8, 0, NULL, NULL, false};

static const struct vgic_reg *find(const struct vgic_reg *tab, size_t n, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		if (off >= tab[i].off && off - tab[i].off < tab[i].len)
			return &tab[i];
	return &reserved;
}

int vgic_mmio(struct vgic_acc *a, const struct vgic_reg *tab, size_t n, uint64_t off, unsigned size,
	      bool write, uint64_t *val)
{
	if ((size != 1 && size != 2 && size != 4 && size != 8) || off % size)
		return -EINVAL;
	const struct vgic_reg *r = find(tab, n, off);
	if (!(r->sizes & size))
		return -EINVAL;
	unsigned rel = (unsigned)(off - r->off);
	if (r->len && rel + size > r->len)
		return -EINVAL; /* straddles the end of the array */
	uint64_t mask = size == 8 ? ~0ull : BIT(size * 8) - 1;
	bool lock = write ? r->write != NULL : r->read && !r->fixed;
	if (lock)
		vgic_enter(a->g);
	if (write && r->write)
		r->write(a, r, rel, size, *val & mask);
	else if (!write)
		*val = r->read ? r->read(a, r, rel, size) & mask : 0;
	if (lock)
		vgic_leave(a->g, a->kick);
	return 0;
}

/* 64-bit registers (IROUTER, GICR_TYPER) may be accessed as 32-bit halves;
 * off is from the start of the register array, so bit 2 picks the half. */
uint64_t vgic_half_read(uint64_t reg, unsigned off, unsigned size)
{
	if (size == 8)
		return reg;
	return (off & 4) ? reg >> 32 : reg & 0xffffffffull;
}

uint64_t vgic_half_write(uint64_t reg, unsigned off, unsigned size, uint64_t val)
{
	if (size == 8)
		return val;
	if (off & 4)
		return (reg & 0xffffffffull) | (val << 32);
	return (reg & ~0xffffffffull) | (val & 0xffffffffull);
}
