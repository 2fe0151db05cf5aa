/*
 * PCIe host bridge ("pci-host-ecam-generic") discovery and enumeration.
 *
 * UEFI has already enumerated the hierarchy and assigned BARs and bus
 * numbers, so this only reads what is there: it brute-force scans every bus
 * in bus-range through ECAM, sizes type-0 BARs and, should firmware have left
 * a memory BAR unassigned, places it in the DT window above everything
 * already in use.
 */
#include "drivers/drivers.h"
#include "arch/arm64/arch.h"
#include "lib/log.h"
#include <errno.h>
#include <string.h>
#include <libfdt.h>

/* Config space offsets (PCI Local Bus 3.0, 6.1; PCI-PCI Bridge 1.2, 3.2). */
#define CFG_ID		 0x00
#define CFG_CMD		 0x04
#define CFG_CLASS	 0x08
#define CFG_HDR		 0x0c
#define CFG_BAR0	 0x10
#define CFG_CAP_PTR	 0x34
#define CFG_STATUS_CAPS	 BIT(20) /* in the COMMAND/STATUS word */
#define CFG_BUSES	 0x18	 /* type 1: primary, secondary, subordinate bus */
#define CFG_MEM_WIN	 0x20	 /* type 1: memory base/limit */
#define CFG_PREF_WIN	 0x24	 /* type 1: prefetchable base/limit */
#define CFG_PREF_BASE_HI 0x28
#define CFG_PREF_LIM_HI	 0x2c

#define CMD_IO	       BIT(0)
#define CMD_MEM	       BIT(1)
#define CMD_MASTER     BIT(2)
#define CAP_ID_PM      0x01
#define CAP_ID_MSI     0x05
#define CAP_ID_PCIE    0x10
#define CAP_ID_MSIX    0x11
#define PCIE_DEVCAP    0x04 /* from the PCIe capability */
#define PCIE_DEVCTL    0x08
#define DEVCAP_FLR     BIT(28)
#define DEVCTL_FLR     BIT(15)
#define HDR_MULTI_FN   0x80
#define HDR_LAYOUT     0x7f
#define BAR_IO	       BIT(0)
#define BAR_MEM_TYPE   (3u << 1)
#define BAR_MEM_64     (2u << 1)
#define BAR_PREFETCH   BIT(3)
#define ECAM_BUS_SHIFT 20
#define ECAM_DEV_SHIFT 15
#define ECAM_FN_SHIFT  12

/* DT "ranges" space codes: bits 24-25 of a PCI address's phys.hi cell. */
#define SPACE_IO     1
#define SPACE_MMIO32 2
#define SPACE_MMIO64 3

static struct pci_host the_host;
static bool host_valid;
/* Highest bus address (exclusive) in use in each window, so assignments go
 * above firmware's, and the bump pointer for them. */
static uint64_t used32, used64;

static uint64_t read_cells(const fdt32_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 32) | fdt32_ld(p + i);
	return v;
}

static bool node_enabled(const void *fdt, int node)
{
	const char *s = fdt_getprop(fdt, node, "status", NULL);

	return !s || !strcmp(s, "okay") || !strcmp(s, "ok");
}

/* reg is in the parent's address space, so the parent's cells size it. */
static int parse_reg(const void *fdt, int node, struct pci_host *h)
{
	int parent = fdt_parent_offset(fdt, node), len;
	int ac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, parent);
	const fdt32_t *p = fdt_getprop(fdt, node, "reg", &len);

	if (ac < 1 || ac > 2 || sc < 1 || sc > 2 || !p || len < (ac + sc) * 4)
		return -EINVAL;
	h->ecam_base = read_cells(p, ac);
	h->ecam_size = read_cells(p + ac, sc);
	return h->ecam_size ? 0 : -EINVAL;
}

/* The ECAM region starts at bus_start (as Linux reads it) and may cover
 * fewer buses than bus-range claims; scan only what is decoded. */
static int parse_bus_range(const void *fdt, int node, struct pci_host *h)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, "bus-range", &len);
	uint64_t nbuses = h->ecam_size >> ECAM_BUS_SHIFT;

	h->bus_start = 0;
	h->bus_end = 255;
	if (p && len >= 8) {
		h->bus_start = fdt32_ld(p);
		h->bus_end = fdt32_ld(p + 1);
	}
	if (h->bus_start > h->bus_end || h->bus_end > 255 || nbuses == 0)
		return -EINVAL;
	if (h->bus_end - h->bus_start + 1 > nbuses)
		h->bus_end = h->bus_start + (unsigned)nbuses - 1;
	return 0;
}

/* Records one "ranges" window; the first of each kind wins. */
static void add_window(struct pci_host *h, unsigned space, uint64_t pci, uint64_t cpu,
		       uint64_t size)
{
	if (space == SPACE_IO && !h->io_size) {
		h->io_base = cpu, h->io_pci = pci, h->io_size = size;
	} else if (space == SPACE_MMIO32 && !h->mmio32_size) {
		h->mmio32_base = cpu, h->mmio32_pci = pci, h->mmio32_size = size;
	} else if (space == SPACE_MMIO64 && !h->mmio64_size) {
		h->mmio64_base = cpu, h->mmio64_pci = pci, h->mmio64_size = size;
	}
}

/* Each entry: PCI address (3 cells: phys.hi, 64-bit address), CPU address
 * (parent's #address-cells), size (our #size-cells). */
static int parse_ranges(const void *fdt, int node, struct pci_host *h)
{
	int parent = fdt_parent_offset(fdt, node), len;
	int pac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, node);
	const fdt32_t *p = fdt_getprop(fdt, node, "ranges", &len);

	if (fdt_address_cells(fdt, node) != 3 || pac < 1 || pac > 2 || sc < 1 || sc > 2)
		return -EINVAL;
	if (!p || len <= 0)
		return 0; /* no windows: nothing can be assigned, which is fine */
	int entry = 3 + pac + sc;
	for (int i = 0; i + entry <= len / 4; i += entry) {
		unsigned space = (fdt32_ld(p + i) >> 24) & 3;
		add_window(h, space, read_cells(p + i + 1, 2), read_cells(p + i + 3, pac),
			   read_cells(p + i + 3 + pac, sc));
	}
	return 0;
}

static bool in_window(uint64_t addr, uint64_t start, uint64_t size)
{
	return size && addr >= start && addr - start < size;
}

/* BARs hold bus addresses; the CPU reaches them through the "ranges" offset
 * (zero on QEMU virt, but not in general). */
static uint64_t bus_to_cpu(const struct pci_host *h, uint64_t addr, bool is_io)
{
	if (is_io)
		return in_window(addr, h->io_pci, h->io_size) ? addr - h->io_pci + h->io_base
							      : addr;
	if (in_window(addr, h->mmio64_pci, h->mmio64_size))
		return addr - h->mmio64_pci + h->mmio64_base;
	if (in_window(addr, h->mmio32_pci, h->mmio32_size))
		return addr - h->mmio32_pci + h->mmio32_base;
	return addr;
}

/* Raises the in-use mark of whichever window holds [addr, addr + size). */
static void note_used(const struct pci_host *h, uint64_t addr, uint64_t size)
{
	if (!size)
		return;
	if (in_window(addr, h->mmio64_pci, h->mmio64_size))
		used64 = MAX(used64, addr + size);
	else if (in_window(addr, h->mmio32_pci, h->mmio32_size))
		used32 = MAX(used32, addr + size);
}

/* Writes the all-ones probe and puts the original value back. */
static uint32_t probe_reg(uintptr_t reg, uint32_t orig)
{
	mmio_write32(reg, 0xffffffff);
	uint32_t v = mmio_read32(reg);
	mmio_write32(reg, orig);
	return v;
}

/* Sizes BAR i of d (decode must be off). Returns the slots it took: 2 for a
 * 64-bit BAR, whose upper half is the next BAR register. */
static unsigned size_bar(const struct pci_host *h, struct pci_dev *d, unsigned i)
{
	uintptr_t reg = d->cfg + CFG_BAR0 + 4 * i;
	uint32_t lo = mmio_read32(reg), hi = 0, plo = probe_reg(reg, lo), phi = 0;
	struct pci_bar *b = &d->bar[i];

	b->is_io = lo & BAR_IO;
	b->is_64 = !b->is_io && (lo & BAR_MEM_TYPE) == BAR_MEM_64 && i < 5;
	b->prefetch = !b->is_io && (lo & BAR_PREFETCH);
	if (b->is_64) {
		hi = mmio_read32(reg + 4);
		phi = probe_reg(reg + 4, hi);
	}
	b->size = pci_bar_size(plo, phi, b->is_64, b->is_io);
	if (!b->size) {
		memset(b, 0, sizeof(*b));
		return 1;
	}
	uint64_t addr = ((uint64_t)hi << 32) | (lo & (b->is_io ? ~0x3u : ~0xfu));
	b->base = addr ? bus_to_cpu(h, addr, b->is_io) : 0;
	if (!b->is_io)
		note_used(h, addr, b->size);
	return b->is_64 ? 2 : 1;
}

/* COMMAND shares its word with STATUS, whose error bits are write-1-to-clear:
 * writing the low half only (upper zero) leaves them alone. */
static uint32_t decode_off(const struct pci_dev *d)
{
	uint32_t cmd = mmio_read32(d->cfg + CFG_CMD) & 0xffff;

	/* A BAR holding all-ones must not claim anyone's addresses meanwhile. */
	mmio_write32(d->cfg + CFG_CMD, cmd & ~(uint32_t)(CMD_IO | CMD_MEM));
	return cmd;
}

static void size_bars(const struct pci_host *h, struct pci_dev *d)
{
	uint32_t cmd = decode_off(d);

	for (unsigned i = 0; i < 6;)
		i += size_bar(h, d, i);
	mmio_write32(d->cfg + CFG_CMD, cmd);
}

/* A bridge forwards its windows whether or not BARs behind it fill them, so
 * they count as used. Base/limit are 1 MiB granular, limit inclusive. */
static void note_bridge_windows(const struct pci_host *h, const struct pci_dev *d)
{
	uint32_t mem = mmio_read32(d->cfg + CFG_MEM_WIN);
	uint32_t pref = mmio_read32(d->cfg + CFG_PREF_WIN);
	uint64_t base = (uint64_t)(mem & 0xfff0) << 16, lim = (mem & 0xfff00000) | 0xfffff;

	if (lim > base)
		note_used(h, base, lim - base + 1);
	base = (uint64_t)(pref & 0xfff0) << 16;
	lim = (pref & 0xfff00000) | 0xfffff;
	if ((pref & 0xf) == 1) { /* 64-bit prefetchable window */
		base |= (uint64_t)mmio_read32(d->cfg + CFG_PREF_BASE_HI) << 32;
		lim |= (uint64_t)mmio_read32(d->cfg + CFG_PREF_LIM_HI) << 32;
	}
	if (lim > base)
		note_used(h, base, lim - base + 1);
}

/* The capability list, bounded against loops: at most 48 entries fit in
 * the 192 bytes it may use. */
static void scan_caps(struct pci_dev *d)
{
	d->pcie_type = 0xff;
	if (!(mmio_read32(d->cfg + CFG_CMD) & CFG_STATUS_CAPS))
		return;
	unsigned at = mmio_read32(d->cfg + CFG_CAP_PTR) & 0xfc;
	for (unsigned n = 0; at >= 0x40 && n < 48; n++) {
		uint32_t hdr = mmio_read32(d->cfg + at);
		uint8_t id = hdr & 0xff;
		if (id == CAP_ID_PM && !d->cap_pm)
			d->cap_pm = (uint8_t)at;
		else if (id == CAP_ID_MSI && !d->cap_msi)
			d->cap_msi = (uint8_t)at;
		else if (id == CAP_ID_MSIX && !d->cap_msix)
			d->cap_msix = (uint8_t)at;
		else if (id == CAP_ID_PCIE && !d->cap_pcie) {
			d->cap_pcie = (uint8_t)at;
			d->pcie_type = (hdr >> 20) & 0xf;
			d->flr = mmio_read32(d->cfg + at + PCIE_DEVCAP) & DEVCAP_FLR;
		}
		at = (hdr >> 8) & 0xfc;
	}
}

bool pci_quiesce(const struct pci_dev *d)
{
	uint32_t cmd = mmio_read32(d->cfg + CFG_CMD) & 0xffff;
	mmio_write32(d->cfg + CFG_CMD, cmd & ~(uint32_t)(CMD_MASTER | CMD_MEM | CMD_IO));
	if (!d->flr || !d->cap_pcie)
		return false;
	uintptr_t ctl = d->cfg + d->cap_pcie + PCIE_DEVCTL;
	/* DEVCTL's upper half is DEVSTA, whose bits are write-1-to-clear */
	mmio_write32(ctl, (mmio_read32(ctl) & 0xffff) | DEVCTL_FLR);
	timer_udelay(100000);
	for (unsigned i = 0; i < 6; i++)
		mmio_write32(d->cfg + CFG_BAR0 + 4 * i, d->bar_raw[i]);
	return true;
}

static void record_bridge(const struct pci_host *h, struct pci_dev *d)
{
	uint32_t buses = mmio_read32(d->cfg + CFG_BUSES);

	d->sec_bus = (buses >> 8) & 0xff;
	d->sub_bus = (buses >> 16) & 0xff;
	note_bridge_windows(h, d);
}

/* Reads one function. Returns its header type byte, or -1 if absent. */
static int scan_fn(struct pci_host *h, uintptr_t ecam, unsigned bus, unsigned dev, unsigned fn)
{
	uintptr_t cfg = ecam + ((uintptr_t)(bus - h->bus_start) << ECAM_BUS_SHIFT) +
			(dev << ECAM_DEV_SHIFT) + (fn << ECAM_FN_SHIFT);
	uint32_t id = mmio_read32(cfg + CFG_ID);

	if ((id & 0xffff) == 0xffff) /* what a read of an absent function returns */
		return -1;
	int hdr = (mmio_read32(cfg + CFG_HDR) >> 16) & 0xff; /* byte 0x0e */
	if (h->ndevs == PCI_MAX_DEVS) {
		h->dropped++;
		return hdr;
	}
	struct pci_dev *d = &h->devs[h->ndevs++];
	memset(d, 0, sizeof(*d));
	d->bus = bus, d->dev = dev, d->fn = fn, d->cfg = cfg;
	d->vendor = id & 0xffff;
	d->device = id >> 16;
	d->class_code = mmio_read32(cfg + CFG_CLASS) >> 8;
	d->header_type = hdr & HDR_LAYOUT;
	scan_caps(d);
	if (d->header_type == 0)
		size_bars(h, d);
	else if (d->header_type == 1)
		record_bridge(h, d);
	return hdr;
}

static void enumerate(struct pci_host *h, uintptr_t ecam)
{
	for (unsigned bus = h->bus_start; bus <= h->bus_end; bus++) {
		for (unsigned dev = 0; dev < 32; dev++) {
			int hdr = scan_fn(h, ecam, bus, dev, 0);
			/* Functions 1-7 exist only if function 0 says so. */
			for (unsigned fn = 1; hdr >= 0 && (hdr & HDR_MULTI_FN) && fn < 8; fn++)
				scan_fn(h, ecam, bus, dev, fn);
		}
	}
	if (h->dropped)
		kprintf("pci: %u functions beyond the %u recorded ignored\n", h->dropped,
			PCI_MAX_DEVS);
}

/* Bump-allocates a naturally aligned bus address in the window. */
static uint64_t alloc_in(uint64_t *used, uint64_t start, uint64_t wsize, uint64_t size)
{
	uint64_t addr = ALIGN_UP(MAX(*used, start), size);

	if (!wsize || addr < start || addr - start > wsize || size > wsize - (addr - start))
		return 0;
	*used = addr + size;
	return addr;
}

/* 64-bit BARs prefer the 64-bit window but can live below 4 GiB. */
static uint64_t alloc_bus_addr(const struct pci_host *h, const struct pci_bar *b)
{
	uint64_t addr = 0;

	if (b->is_64)
		addr = alloc_in(&used64, h->mmio64_pci, h->mmio64_size, b->size);
	if (!addr)
		addr = alloc_in(&used32, h->mmio32_pci, h->mmio32_size, b->size);
	return addr;
}

static void assign_bar(const struct pci_host *h, struct pci_dev *d, unsigned i)
{
	struct pci_bar *b = &d->bar[i];
	uint64_t addr = alloc_bus_addr(h, b);
	uintptr_t reg = d->cfg + CFG_BAR0 + 4 * i;

	if (!addr) {
		kprintf("pci: %02x:%02x.%x BAR%u: no window space for 0x%llx bytes\n", d->bus,
			d->dev, d->fn, i, (unsigned long long)b->size);
		return;
	}
	uint32_t cmd = decode_off(d); /* never decode a half-written 64-bit BAR */
	mmio_write32(reg, (uint32_t)addr | (mmio_read32(reg) & 0xf));
	if (b->is_64)
		mmio_write32(reg + 4, (uint32_t)(addr >> 32));
	mmio_write32(d->cfg + CFG_CMD, cmd);
	b->base = bus_to_cpu(h, addr, false);
	kprintf("pci: %02x:%02x.%x BAR%u assigned 0x%llx (size 0x%llx)\n", d->bus, d->dev, d->fn, i,
		(unsigned long long)b->base, (unsigned long long)b->size);
}

/* Runs after the whole scan so that every firmware BAR and bridge window is
 * already below the bump pointers. IO BARs are left alone: nothing here
 * needs port IO. A BAR behind a bridge whose window does not cover the new
 * address stays unreachable; with UEFI assigning everything this is a
 * fallback, not the normal path. */
static void assign_unassigned(struct pci_host *h)
{
	if (h->dropped) {
		kprintf("pci: not assigning BARs: unrecorded functions may use the windows\n");
		return;
	}
	for (unsigned n = 0; n < h->ndevs; n++) {
		struct pci_dev *d = &h->devs[n];
		for (unsigned i = 0; d->header_type == 0 && i < 6; i++) {
			if (d->bar[i].size && !d->bar[i].base && !d->bar[i].is_io)
				assign_bar(h, d, i);
		}
	}
}

static int find_host(const void *fdt)
{
	int node = -1;

	do {
		node = fdt_node_offset_by_compatible(fdt, node, "pci-host-ecam-generic");
	} while (node >= 0 && !node_enabled(fdt, node));
	return node;
}

static int parse_host(const void *fdt, int node, struct pci_host *h)
{
	int err = parse_reg(fdt, node, h);

	if (!err)
		err = parse_bus_range(fdt, node, h);
	if (!err)
		err = parse_ranges(fdt, node, h);
	return err;
}

int pci_probe(const void *fdt, struct pci_host *host)
{
	struct pci_host *h = &the_host;
	int node = find_host(fdt), err;

	if (node < 0)
		return -ENODEV;
	host_valid = false;
	memset(h, 0, sizeof(*h));
	err = parse_host(fdt, node, h);
	if (err) {
		kprintf("pci: bad host bridge node in the DT (%d)\n", err);
		return err;
	}
	/* Only the buses scanned need mapping (1 MiB of ECAM each). */
	uint64_t map = (uint64_t)(h->bus_end - h->bus_start + 1) << ECAM_BUS_SHIFT;
	uintptr_t ecam = el2_map_device(h->ecam_base, map);
	if (!ecam)
		return -ENOMEM;
	used32 = h->mmio32_pci;
	used64 = h->mmio64_pci;
	enumerate(h, ecam);
	assign_unassigned(h);
	for (unsigned n = 0; n < h->ndevs; n++)
		for (unsigned i = 0; h->devs[n].header_type == 0 && i < 6; i++)
			h->devs[n].bar_raw[i] = mmio_read32(h->devs[n].cfg + CFG_BAR0 + 4 * i);
	host_valid = true;
	if (host && host != h)
		*host = *h;
	return 0;
}

const struct pci_host *pci_get_host(void)
{
	return host_valid ? &the_host : NULL;
}

/* ---- INTx routing ---- */

static const struct pci_dev *bridge_above(unsigned bus)
{
	for (unsigned i = 0; i < the_host.ndevs; i++)
		if (the_host.devs[i].header_type == 1 && the_host.devs[i].sec_bus == bus)
			return &the_host.devs[i];
	return NULL;
}

static int cells_of(const void *fdt, int node, const char *name, int dflt)
{
	const fdt32_t *c = fdt_getprop(fdt, node, name, NULL);

	return c ? (int)fdt32_ld(c) : dflt;
}

/* One interrupt-map entry: child address (3 cells) and pin, the parent's
 * phandle, unit address and specifier. Returns the entry's length in
 * cells (0: malformed) and the INTID if it matches. */
static int map_entry(const void *fdt, const fdt32_t *e, int left, const uint32_t key[4],
		     const uint32_t mask[4], unsigned *intid)
{
	if (left < 5)
		return 0;
	int parent = fdt_node_offset_by_phandle(fdt, fdt32_ld(e + 4));
	if (parent < 0)
		return 0;
	int pac = cells_of(fdt, parent, "#address-cells", 0);
	int pic = cells_of(fdt, parent, "#interrupt-cells", 1);
	int len = 5 + pac + pic;
	if (pac < 0 || pic < 1 || len > left)
		return 0;
	bool match = true;
	for (int i = 0; i < 4; i++)
		match = match && (fdt32_ld(e + i) & mask[i]) == key[i];
	/* GIC specifier: <type number flags>, type 0 = SPI */
	if (match && pic >= 2 && fdt32_ld(e + 5 + pac) == 0)
		*intid = fdt32_ld(e + 6 + pac) + 32;
	return len;
}

unsigned pci_intx_intid(const void *fdt, const struct pci_dev *d)
{
	unsigned pin = (mmio_read32(d->cfg + 0x3c) >> 8) & 0xff;
	const struct pci_dev *at = d;

	if (pin < 1 || pin > 4 || !host_valid)
		return 0;
	/* each bridge on the way up rotates the pin by the device number */
	for (unsigned depth = 0; at->bus != the_host.bus_start && depth < 16; depth++) {
		const struct pci_dev *up = bridge_above(at->bus);
		if (!up)
			return 0;
		pin = (pin - 1 + at->dev) % 4 + 1;
		at = up;
	}
	int node = find_host(fdt), len;
	const fdt32_t *map = node >= 0 ? fdt_getprop(fdt, node, "interrupt-map", &len) : NULL;
	const fdt32_t *m = node >= 0 ? fdt_getprop(fdt, node, "interrupt-map-mask", NULL) : NULL;
	uint32_t mask[4] = {~0u, ~0u, ~0u, ~0u};
	for (int i = 0; m && i < 4; i++)
		mask[i] = fdt32_ld(m + i);
	uint32_t key[4] = {
	    ((uint32_t)at->bus << 16 | (uint32_t)at->dev << 11 | (uint32_t)at->fn << 8) & mask[0],
	    0, 0, pin & mask[3]};
	unsigned intid = 0;
	for (int i = 0, n = map ? len / 4 : 0, step; i < n && !intid; i += step)
		if (!(step = map_entry(fdt, map + i, n - i, key, mask, &intid)))
			break;
	return intid;
}
