/*
 * The config-space filter of an assigned PCI function (guest.h has the
 * rules). Portable: the device is reached only through vpci_ops, so host
 * tests drive it with a fake config space.
 */
#include "kernel/vm/guest.h"
#include <string.h>

/* Config space offsets (PCI Local Bus 3.0, 6.1). */
#define CFG_CMD	      0x04
#define CFG_STATUS    0x06
#define CFG_HDR	      0x0e
#define CFG_BAR0      0x10
#define CFG_BAR5_END  0x28
#define CFG_CAP_PTR   0x34
#define CFG_INT_LINE  0x3c
#define CFG_STD_END   0x40
#define CFG_SPACE_END 0x1000

#define CMD_MEM	      BIT(1)
#define CMD_MASTER    BIT(2)
#define CMD_INTX_DIS  BIT(10)
#define CMD_ALLOWED   (CMD_MEM | CMD_MASTER | CMD_INTX_DIS)
#define STATUS_CAPS   BIT(4)
#define HDR_MULTI_FN  0x80
#define BAR_MEM_64    (2u << 1)
#define BAR_PREFETCH  BIT(3)
#define CAP_ID_PM     0x01
#define CAP_ID_MSI    0x05
#define CAP_ID_VENDOR 0x09
#define CAP_ID_PCIE   0x10
#define CAP_ID_MSIX   0x11
#define CAP_LEN_MSIX  12
#define CAP_LEN_PM    8
#define CAP_LEN_PCIE  0x3c /* capability version 2, endpoint registers included */
#define CAP_MAX_WALK  48   /* what fits in 0x40-0xff: a longer chain loops */

static uint8_t phys_byte(struct vpci_fn *f, unsigned off)
{
	return (uint8_t)(f->ops.cfg_read(f->ops.ctx, off & ~3u) >> (8 * (off & 3)));
}

/* How many bytes of a capability are shown; 0 hides it. */
static unsigned cap_len(struct vpci_fn *f, unsigned off, uint8_t id)
{
	if (id == CAP_ID_PM)
		return CAP_LEN_PM;
	if (id == CAP_ID_PCIE)
		return CAP_LEN_PCIE;
	if (id == CAP_ID_VENDOR)
		return MAX(phys_byte(f, off + 2), 3u); /* its own length byte */
	if (id == CAP_ID_MSIX && vpci_msix_probe(f, off))
		return CAP_LEN_MSIX;
	if (id == CAP_ID_MSI)
		return vpci_msi_probe(f, off);
	return 0;
}

static void scan_caps(struct vpci_fn *f)
{
	f->ncaps = 0;
	if (!(f->ops.cfg_read(f->ops.ctx, CFG_CMD) & ((uint32_t)STATUS_CAPS << 16)))
		return;
	unsigned at = phys_byte(f, CFG_CAP_PTR) & 0xfc;
	for (unsigned n = 0; at >= CFG_STD_END && n < CAP_MAX_WALK; n++) {
		uint8_t id = phys_byte(f, at), next = phys_byte(f, at + 1) & 0xfc;
		unsigned len = cap_len(f, at, id);
		if (len && f->ncaps < VPCI_MAX_CAPS) {
			f->cap[f->ncaps].off = (uint8_t)at;
			f->cap[f->ncaps].len = (uint8_t)MIN(len, 0x100u - at);
			f->ncaps++;
		}
		at = next;
	}
}

void vpci_fn_init(struct vpci_fn *f, const struct vpci_ops *ops, const struct vpci_bar bars[6])
{
	memset(f, 0, sizeof(*f));
	f->ops = *ops;
	for (unsigned i = 0; i < 6; i++) {
		f->bar[i] = bars[i];
		f->bar[i].mapped = false;
		/* a BAR is a power of two; anything else, or sub-page, is hidden */
		uint64_t s = bars[i].size;
		if (s < PAGE_SIZE || (s & (s - 1)) || (bars[i].hpa & (s - 1)))
			f->bar[i].size = 0;
		if (i < 5 && bars[i].is_64)
			i++; /* its upper half */
	}
	scan_caps(f);
}

/* ---- BARs ---- */

static uint64_t bar_gpa(const struct vpci_fn *f, unsigned i)
{
	uint64_t lo = f->vbar[i] & ~0xfull;
	return f->bar[i].is_64 ? lo | (uint64_t)f->vbar[i + 1] << 32 : lo;
}

static bool in_window(uint64_t gpa, uint64_t size)
{
	return gpa >= VPCI_MMIO_BASE && size <= VPCI_MMIO_SIZE &&
	       gpa - VPCI_MMIO_BASE <= VPCI_MMIO_SIZE - size;
}

/* Where BAR i should be mapped now, or false if nowhere. Earlier BARs win
 * an overlap (the guest's bug: its later BAR reads back but stays dark). */
static bool bar_wanted(const struct vpci_fn *f, unsigned i, uint64_t *gpa)
{
	const struct vpci_bar *b = &f->bar[i];
	if (!b->size || !(f->cmd & CMD_MEM))
		return false;
	*gpa = bar_gpa(f, i);
	if (!in_window(*gpa, b->size))
		return false;
	for (unsigned j = 0; j < i; j++) {
		uint64_t o;
		if (bar_wanted(f, j, &o) && o < *gpa + b->size && *gpa < o + f->bar[j].size)
			return false;
	}
	return true;
}

/* The parts of BAR i that MSI-X traps (vpci_msix.c), in order, merged:
 * how many. */
static unsigned bar_holes(const struct vpci_fn *f, unsigned i, uint64_t h[2][2])
{
	const struct vpci_msix *m = &f->msix;
	unsigned n = 0;
	for (unsigned k = 0; m->shown && k < 2; k++)
		if ((k ? m->pbir : m->tbir) == i) {
			h[n][0] = m->trap[k][0];
			h[n][1] = m->trap[k][1];
			n++;
		}
	if (n == 2 && h[1][0] < h[0][0]) {
		uint64_t a = h[0][0], b = h[0][1];
		h[0][0] = h[1][0], h[0][1] = h[1][1], h[1][0] = a, h[1][1] = b;
	}
	if (n == 2 && h[1][0] <= h[0][1]) {
		h[0][1] = MAX(h[0][1], h[1][1]);
		n = 1;
	}
	return n;
}

/* Maps (or unmaps) BAR i at gpa but for its holes; a failed map undoes
 * the pieces before it. */
static int bar_pieces(struct vpci_fn *f, unsigned i, uint64_t gpa, bool map)
{
	const struct vpci_bar *b = &f->bar[i];
	uint64_t h[2][2], piece[3][2], at = 0;
	unsigned n = bar_holes(f, i, h), np = 0;
	for (unsigned k = 0; k <= n; k++) {
		uint64_t end = k < n ? h[k][0] : b->size;
		if (end > at) {
			piece[np][0] = at;
			piece[np++][1] = end - at;
		}
		if (k < n)
			at = h[k][1];
	}
	for (unsigned k = 0; k < np; k++) {
		if (!map) {
			f->ops.unmap(f->ops.ctx, gpa + piece[k][0], piece[k][1]);
			continue;
		}
		int e =
		    f->ops.map(f->ops.ctx, gpa + piece[k][0], b->hpa + piece[k][0], piece[k][1]);
		if (e) {
			while (k--)
				f->ops.unmap(f->ops.ctx, gpa + piece[k][0], piece[k][1]);
			return e;
		}
	}
	return 0;
}

static void unmap_bar(struct vpci_fn *f, unsigned i)
{
	struct vpci_bar *b = &f->bar[i];
	if (!b->mapped)
		return;
	bar_pieces(f, i, b->mapped_gpa, false);
	b->mapped = false;
}

/* Unmaps first, so that a BAR moving onto another's old place never has
 * two mappings meet. */
static void update_maps(struct vpci_fn *f)
{
	uint64_t want[6];
	bool on[6];
	for (unsigned i = 0; i < 6; i++) {
		on[i] = bar_wanted(f, i, &want[i]);
		if (f->bar[i].mapped && (!on[i] || want[i] != f->bar[i].mapped_gpa))
			unmap_bar(f, i);
	}
	for (unsigned i = 0; i < 6; i++) {
		struct vpci_bar *b = &f->bar[i];
		if (!on[i] || b->mapped)
			continue;
		if (bar_pieces(f, i, want[i], true)) {
			f->map_errors++;
			continue;
		}
		b->mapped = true;
		b->mapped_gpa = want[i];
	}
}

void vpci_fn_reset(struct vpci_fn *f)
{
	vpci_msix_reset(f);
	vpci_msi_reset(f);
	for (unsigned i = 0; i < 6; i++)
		unmap_bar(f, i);
	f->cmd = 0;
}

/* The register a BAR slot reads as: address bits the size leaves
 * writable, and the type bits. The upper half of a 64-bit BAR has no
 * type bits. */
static uint32_t bar_read(const struct vpci_fn *f, unsigned i)
{
	if (i >= 6)
		return 0;
	if (i > 0 && f->bar[i - 1].is_64 && f->bar[i - 1].size)
		return f->vbar[i];
	const struct vpci_bar *b = &f->bar[i];
	if (!b->size)
		return 0;
	return (f->vbar[i] & ~0xfu) | (b->is_64 ? BAR_MEM_64 : 0) |
	       (b->prefetch ? BAR_PREFETCH : 0);
}

static void bar_write(struct vpci_fn *f, unsigned i, uint32_t val)
{
	if (i >= 6)
		return;
	if (i > 0 && f->bar[i - 1].is_64 && f->bar[i - 1].size) {
		f->vbar[i] = val & (uint32_t)(~(f->bar[i - 1].size - 1) >> 32);
		return;
	}
	if (f->bar[i].size)
		f->vbar[i] = val & (uint32_t) ~(f->bar[i].size - 1) & ~0xfu;
}

/* ---- the dword view ---- */

static int cap_index(const struct vpci_fn *f, unsigned off)
{
	for (unsigned i = 0; i < f->ncaps; i++)
		if (off >= f->cap[i].off && off - f->cap[i].off < f->cap[i].len)
			return (int)i;
	return -1;
}

/* One byte of a shown capability: the device's, with the chain relinked. */
static uint8_t cap_byte(struct vpci_fn *f, unsigned off)
{
	int i = cap_index(f, off);
	if (i < 0)
		return 0;
	if (off == f->cap[i].off + 1u)
		return (unsigned)i + 1 < f->ncaps ? f->cap[i + 1].off : 0;
	if (f->msix.shown && f->cap[i].off == f->msix.cap) {
		unsigned rel = off - f->msix.cap;
		return (uint8_t)(vpci_msix_cfg_read(f, rel & ~3u) >> (8 * (rel & 3)));
	}
	if (f->msi.shown && f->cap[i].off == f->msi.cap) {
		unsigned rel = off - f->msi.cap;
		return (uint8_t)(vpci_msi_cfg_read(f, rel & ~3u) >> (8 * (rel & 3)));
	}
	return phys_byte(f, off);
}

static uint32_t dword_read(struct vpci_fn *f, unsigned off)
{
	if (off >= CFG_BAR0 && off < CFG_BAR5_END)
		return bar_read(f, (off - CFG_BAR0) / 4);
	switch (off) {
	case 0x00: /* IDs */
	case 0x08: /* class, revision */
	case 0x2c: /* subsystem IDs */
		return f->ops.cfg_read(f->ops.ctx, off);
	case CFG_CMD: {
		uint32_t st = f->ops.cfg_read(f->ops.ctx, CFG_CMD) >> 16 & ~(uint32_t)STATUS_CAPS;
		return f->cmd | (st | (f->ncaps ? STATUS_CAPS : 0)) << 16;
	}
	case 0x0c: /* BIST, header type, latency timer, cache line size */
		return f->ops.cfg_read(f->ops.ctx, off) & ~((uint32_t)HDR_MULTI_FN << 16);
	case CFG_CAP_PTR:
		return f->ncaps ? f->cap[0].off : 0;
	case CFG_INT_LINE: /* pin from the device, line the guest's scratch */
		return (f->ops.cfg_read(f->ops.ctx, off) & 0xff00) | f->irq_line;
	}
	if (off < CFG_STD_END || off >= 0x100)
		return 0; /* expansion ROM, cardbus, reserved; extended space */
	uint32_t v = 0;
	for (unsigned b = 0; b < 4; b++)
		v |= (uint32_t)cap_byte(f, off + b) << (8 * b);
	return v;
}

static void dword_write(struct vpci_fn *f, unsigned off, uint32_t val, uint32_t mask)
{
	if (off >= CFG_BAR0 && off < CFG_BAR5_END) {
		unsigned i = (off - CFG_BAR0) / 4;
		bar_write(f, i, (bar_read(f, i) & ~mask) | (val & mask));
		update_maps(f);
	} else if (off == CFG_CMD && (mask & 0xffff)) {
		/* STATUS (the upper half) is write-1-to-clear on the device:
		 * left alone */
		f->cmd = (uint16_t)(((f->cmd & ~mask) | (val & mask)) & CMD_ALLOWED);
		uint32_t phys =
		    f->ops.cfg_read(f->ops.ctx, CFG_CMD) & 0xffff & ~(uint32_t)CMD_ALLOWED;
		/* I/O decode stays off: no I/O BAR is shown */
		f->ops.cfg_write(f->ops.ctx, CFG_CMD, (phys & ~(uint32_t)BIT(0)) | f->cmd);
		update_maps(f);
		vpci_msix_decode(f);
	} else if (off == CFG_INT_LINE && (mask & 0xff)) {
		f->irq_line = (uint8_t)val;
	} else if (f->msix.shown && off >= f->msix.cap && off - f->msix.cap < CAP_LEN_MSIX) {
		vpci_msix_cfg_write(f, off - f->msix.cap, val, mask);
	} else if (f->msi.shown && off >= f->msi.cap && off - f->msi.cap < f->msi.len) {
		vpci_msi_cfg_write(f, off - f->msi.cap, val, mask);
	}
}

static bool access_ok(unsigned off, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && off < CFG_SPACE_END && !(off & (size - 1));
}

uint32_t vpci_cfg_read(struct vpci_fn *f, unsigned off, unsigned size)
{
	if (!access_ok(off, size))
		return 0xffffffffu;
	uint32_t v = dword_read(f, off & ~3u) >> (8 * (off & 3));
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

void vpci_cfg_write(struct vpci_fn *f, unsigned off, unsigned size, uint32_t val)
{
	if (!access_ok(off, size))
		return;
	unsigned shift = 8 * (off & 3);
	uint32_t mask = size == 4 ? 0xffffffffu : ((1u << (8 * size)) - 1) << shift;
	dword_write(f, off & ~3u, val << shift, mask);
}
