/*
 * MSI-X of an assigned PCI function through the partition's virtual ITS
 * (guest.h has the rules). The guest's table is a shadow; what the device's
 * table holds is decided here alone, so no guest write can make the device
 * send anything but tessera's doorbell address and one of its own event
 * numbers. Portable: the device is reached through vpci_ops.
 */
#include "kernel/vm/guest.h"
#include <errno.h>
#include <string.h>

#define MSIX_LEN       12 /* the capability: header/control, table, PBA */
#define MSIX_ENABLE    0x8000u
#define MSIX_FN_MASK   0x4000u
#define MSIX_SIZE_MASK 0x07ffu
#define ENTRY_BYTES    16u
#define ENTRY_ADDR_LO  0
#define ENTRY_ADDR_HI  4
#define ENTRY_DATA     8
#define ENTRY_CTRL     12
#define ENTRY_MASKED   1u
#define CMD_MEM	       0x2u /* COMMAND's memory decode: the BAR reachable */

static uint32_t phys_cfg(struct vpci_fn *f, unsigned off)
{
	return f->ops.cfg_read(f->ops.ctx, f->msix.cap + off);
}

/* Message Control's enable and function mask to the device; the rest of
 * the dword (ID, next, table size) is read-only there and written back as
 * read. */
static void phys_ctrl(struct vpci_fn *f, uint16_t ctrl)
{
	uint32_t bits = (uint32_t)(MSIX_ENABLE | MSIX_FN_MASK) << 16;
	uint32_t d0 = phys_cfg(f, 0);
	f->ops.cfg_write(f->ops.ctx, f->msix.cap, (d0 & ~bits) | ((uint32_t)ctrl << 16 & bits));
}

static uint64_t table_bytes(const struct vpci_msix *m)
{
	return (uint64_t)m->nvec * ENTRY_BYTES;
}

static uint64_t pba_bytes(const struct vpci_msix *m)
{
	return ALIGN_UP(m->nvec, 64) / 8;
}

/* A BAR that is one the guest sees whole: not the upper half of a 64-bit
 * one, not hidden. */
static bool bar_usable(const struct vpci_fn *f, unsigned i)
{
	if (i >= 6 || !f->bar[i].size)
		return false;
	return !(i > 0 && f->bar[i - 1].is_64 && f->bar[i - 1].size);
}

bool vpci_msix_probe(struct vpci_fn *f, unsigned off)
{
	struct vpci_msix *m = &f->msix;
	if (!f->ops.msi_guest || m->shown || off + MSIX_LEN > 0x100)
		return false;
	m->cap = (uint8_t)off;
	uint32_t d0 = phys_cfg(f, 0), t = phys_cfg(f, 4), pb = phys_cfg(f, 8);
	m->nvec = (uint16_t)(((d0 >> 16) & MSIX_SIZE_MASK) + 1);
	m->tbir = (uint8_t)(t & 7);
	m->pbir = (uint8_t)(pb & 7);
	m->toff = t & ~7u;
	m->poff = pb & ~7u;
	if (!bar_usable(f, m->tbir) || !bar_usable(f, m->pbir) ||
	    m->toff + table_bytes(m) > f->bar[m->tbir].size ||
	    m->poff + pba_bytes(m) > f->bar[m->pbir].size)
		return false; /* a table the guest could not be kept away from */
	m->trap[0][0] = ALIGN_DOWN(m->toff, PAGE_SIZE);
	m->trap[0][1] = ALIGN_UP(m->toff + table_bytes(m), PAGE_SIZE);
	m->trap[1][0] = ALIGN_DOWN(m->poff, PAGE_SIZE);
	m->trap[1][1] = ALIGN_UP(m->poff + pba_bytes(m), PAGE_SIZE);
	for (unsigned i = 0; i < VPCI_MSIX_VECS; i++)
		m->vec[i] = (struct vpci_msix_vec){.ctrl = ENTRY_MASKED};
	/* whatever the last owner left enabled stops */
	phys_ctrl(f, 0);
	m->shown = true;
	return true;
}

bool vpci_msix_trapped(const struct vpci_fn *f, unsigned bar, uint64_t off)
{
	const struct vpci_msix *m = &f->msix;
	if (!m->shown)
		return false;
	return (bar == m->tbir && off >= m->trap[0][0] && off < m->trap[0][1]) ||
	       (bar == m->pbir && off >= m->trap[1][0] && off < m->trap[1][1]);
}

static uint64_t guest_addr(const struct vpci_msix_vec *g)
{
	return (uint64_t)g->addr_hi << 32 | g->addr_lo;
}

/* The device's entry n from the guest's: tessera's address and data n,
 * unmasked only if routed. Masked first, so the device never sends a
 * half-written entry. */
static void program(struct vpci_fn *f, unsigned n)
{
	struct vpci_msix *m = &f->msix;
	if (!(f->cmd & CMD_MEM)) { /* the device does not decode its BAR now */
		m->stale = true;
		return;
	}
	uint64_t at = m->toff + (uint64_t)n * ENTRY_BYTES;
	const struct vpci_msix_vec *g = n < VPCI_MSIX_VECS ? &m->vec[n] : NULL;
	bool live = m->on && g && !(g->ctrl & ENTRY_MASKED);
	bool want = live && n < VPCI_MSIX_EVENTS && guest_addr(g) == f->ops.msi_guest;
	if (live && guest_addr(g) != f->ops.msi_guest)
		m->refused++;
	if (want && f->ops.msi_route(f->ops.ctx, n, g->data)) {
		m->errors++;
		want = false;
	}
	f->ops.bar_write(f->ops.ctx, m->tbir, at + ENTRY_CTRL, 4, ENTRY_MASKED);
	if (!want)
		return;
	f->ops.bar_write(f->ops.ctx, m->tbir, at + ENTRY_ADDR_LO, 4, (uint32_t)f->ops.msi_phys);
	f->ops.bar_write(f->ops.ctx, m->tbir, at + ENTRY_ADDR_HI, 4, f->ops.msi_phys >> 32);
	f->ops.bar_write(f->ops.ctx, m->tbir, at + ENTRY_DATA, 4, n);
	f->ops.bar_write(f->ops.ctx, m->tbir, at + ENTRY_CTRL, 4, 0);
}

static void device_off(struct vpci_fn *f)
{
	struct vpci_msix *m = &f->msix;
	if (!m->on)
		return;
	phys_ctrl(f, 0);
	f->ops.msi_doorbell(f->ops.ctx, false);
	m->on = false;
}

/* The guest's Message Control, applied: the doorbell reachable and every
 * vector programmed before the device's enable; the device off before the
 * doorbell goes. */
static void control(struct vpci_fn *f, uint16_t ctrl)
{
	struct vpci_msix *m = &f->msix;
	m->ctrl = ctrl & (MSIX_ENABLE | MSIX_FN_MASK);
	if (!(m->ctrl & MSIX_ENABLE)) {
		device_off(f);
		return;
	}
	if (!m->on) {
		if (!(f->cmd & CMD_MEM))
			return; /* once decoding is on (vpci_msix_decode) */
		if (f->ops.msi_doorbell(f->ops.ctx, true)) {
			m->errors++;
			return;
		}
		m->on = true;
		for (unsigned n = 0; n < m->nvec; n++)
			program(f, n);
	}
	phys_ctrl(f, m->ctrl);
}

uint32_t vpci_msix_cfg_read(struct vpci_fn *f, unsigned off)
{
	uint32_t v = phys_cfg(f, off);
	if (off == 0)
		v = (v & ~((uint32_t)(MSIX_ENABLE | MSIX_FN_MASK) << 16)) | (uint32_t)f->msix.ctrl
										<< 16;
	return v;
}

void vpci_msix_cfg_write(struct vpci_fn *f, unsigned off, uint32_t val, uint32_t mask)
{
	if (off != 0 || !(mask >> 16))
		return; /* the table and PBA locations are read-only */
	uint32_t c = (((uint32_t)f->msix.ctrl << 16 & ~mask) | (val & mask)) >> 16;
	control(f, (uint16_t)c);
}

void vpci_msix_decode(struct vpci_fn *f)
{
	struct vpci_msix *m = &f->msix;
	if (!m->shown || !(f->cmd & CMD_MEM))
		return;
	if ((m->ctrl & MSIX_ENABLE) && !m->on) {
		control(f, m->ctrl);
	} else if (m->on && m->stale) {
		m->stale = false;
		for (unsigned n = 0; n < m->nvec; n++)
			program(f, n);
	}
}

void vpci_msix_reset(struct vpci_fn *f)
{
	if (!f->msix.shown)
		return;
	device_off(f);
	f->msix.ctrl = 0;
}

/* ---- the trapped pages ---- */

static uint32_t *field(struct vpci_msix_vec *g, unsigned off)
{
	switch (off) {
	case ENTRY_ADDR_LO:
		return &g->addr_lo;
	case ENTRY_ADDR_HI:
		return &g->addr_hi;
	case ENTRY_DATA:
		return &g->data;
	default:
		return &g->ctrl;
	}
}

/* A dword of the guest's table (byte lanes in mask). */
static void table_dword(struct vpci_fn *f, uint64_t off, bool write, uint32_t *val, uint32_t mask)
{
	struct vpci_msix *m = &f->msix;
	unsigned n = (unsigned)(off / ENTRY_BYTES), fo = (unsigned)(off % ENTRY_BYTES);
	if (n >= VPCI_MSIX_VECS) { /* not shadowed: reads as masked, stays so */
		if (!write)
			*val = fo == ENTRY_CTRL ? ENTRY_MASKED : 0;
		return;
	}
	uint32_t *r = field(&m->vec[n], fo);
	if (!write) {
		*val = *r;
		return;
	}
	uint32_t v = (*r & ~mask) | (*val & mask);
	if (fo == ENTRY_CTRL)
		v &= ENTRY_MASKED; /* the other bits are reserved or read-only */
	if (v == *r)
		return;
	*r = v;
	if (m->on)
		program(f, n);
}

static void table_access(struct vpci_fn *f, uint64_t off, unsigned size, bool write, uint64_t *val)
{
	uint64_t out = 0;
	for (unsigned b = 0; b < size; b += 4) {
		uint64_t at = off + b;
		unsigned shift = (unsigned)(at & 3) * 8, n = MIN(size - b, 4u);
		uint32_t mask = (uint32_t)(n == 4 ? 0xffffffffu : ((1u << (8 * n)) - 1)) << shift;
		uint32_t d = write ? (uint32_t)(*val >> (8 * b)) << shift : 0;
		table_dword(f, at & ~3ull, write, &d, mask);
		out |= (uint64_t)((d & mask) >> shift) << (8 * b);
	}
	if (!write)
		*val = out;
}

int vpci_bar_access(struct vpci_fn *f, uint64_t gpa, unsigned size, bool write, uint64_t *val)
{
	struct vpci_msix *m = &f->msix;
	unsigned i;
	uint64_t off = 0;
	if (!m->shown)
		return -ENOENT;
	for (i = 0; i < 6; i++) {
		const struct vpci_bar *b = &f->bar[i];
		if (b->mapped && gpa >= b->mapped_gpa && gpa - b->mapped_gpa < b->size) {
			off = gpa - b->mapped_gpa;
			break;
		}
	}
	if (i == 6 || !vpci_msix_trapped(f, i, off))
		return -ENOENT;
	if ((size != 1 && size != 2 && size != 4 && size != 8) || off % size ||
	    off + size > f->bar[i].size)
		return -EINVAL;
	if (i == m->tbir && off >= m->toff && off - m->toff < table_bytes(m)) {
		table_access(f, off - m->toff, size, write, val);
		return 0;
	}
	if (i == m->pbir && off >= m->poff && off - m->poff < pba_bytes(m)) {
		if (!write) /* the device's pending bits; writes are ignored */
			*val = f->ops.bar_read(f->ops.ctx, i, off, size);
		return 0;
	}
	/* a register of the device's that shares a page with them */
	if (write)
		f->ops.bar_write(f->ops.ctx, i, off, size, *val);
	else
		*val = f->ops.bar_read(f->ops.ctx, i, off, size);
	return 0;
}
