/*
 * Assigned PCI functions ("pci-devices", docs/config.md): which functions
 * the machine has and how the SMMU sees them, a DMA domain per partition
 * that mirrors its RAM (IOVA = IPA), the virtual ECAM its functions sit
 * in (the filter itself is vpci.c), and quiescing them before their
 * partition's memory changes hands.
 */
#include "kernel/vm/vm.h"
#include "kernel/io/io.h"
#include "drivers/drivers.h"
#include "smmu/smmu.h"
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#define PCIE_TYPE_PCI_BRIDGE 0x7 /* PCIe to PCI/PCI-X bridge */
#define PCIE_NONE	     0xff

static uint16_t rid_of(const struct pci_dev *d)
{
	return (uint16_t)(d->bus << 8 | d->dev << 3 | d->fn);
}

static const struct pci_dev *bridge_to(const struct pci_host *h, unsigned bus)
{
	for (unsigned i = 0; i < h->ndevs; i++)
		if (h->devs[i].header_type == 1 && h->devs[i].sec_bus == bus)
			return &h->devs[i];
	return NULL;
}

/* The requester ID a function's DMA arrives with, as Linux's
 * pci_for_each_dma_alias works it out: conventional PCI on the way up
 * takes the bridge's ID (a PCIe-to-PCI bridge's: its secondary bus, 00.0). */
static uint16_t dma_rid(const struct pci_host *h, const struct pci_dev *d)
{
	uint16_t rid = rid_of(d);
	const struct pci_dev *up;
	for (unsigned depth = 0; depth < 16 && d->bus != h->bus_start; depth++, d = up) {
		if (!(up = bridge_to(h, d->bus)))
			break;
		if (up->pcie_type == PCIE_TYPE_PCI_BRIDGE)
			rid = (uint16_t)(up->sec_bus << 8);
		else if (up->pcie_type == PCIE_NONE)
			rid = rid_of(up);
	}
	return rid;
}

static bool stream_of(const struct pci_dev *d, uint32_t *sid)
{
	const struct pci_host *h = pci_get_host();
	return smmu_ready() && !smmu_rid_lookup(hw.fdt, dma_rid(h, d), sid);
}

unsigned pdev_machine(struct machine_pci *out, unsigned max)
{
	const struct pci_host *h = pci_get_host();
	unsigned n = 0;
	for (unsigned i = 0; h && i < h->ndevs && n < max; i++) {
		const struct pci_dev *d = &h->devs[i];
		struct machine_pci *m = &out[n++];
		*m = (struct machine_pci){
		    .rid = rid_of(d), .bridge = d->header_type == 1, .hyp = d == disk_pci()};
		m->smmu = stream_of(d, &m->sid);
	}
	return n;
}

static const struct pci_dev *find_dev(uint16_t rid)
{
	const struct pci_host *h = pci_get_host();
	for (unsigned i = 0; h && i < h->ndevs; i++)
		if (rid_of(&h->devs[i]) == rid)
			return &h->devs[i];
	return NULL;
}

/* ---- the config-space filter's view of the device ---- */

static uint32_t cfg_read(void *ctx, unsigned off)
{
	const struct pdev *pd = ctx;
	return mmio_read32(pd->pci->cfg + off);
}

static void cfg_write(void *ctx, unsigned off, uint32_t val)
{
	const struct pdev *pd = ctx;
	mmio_write32(pd->pci->cfg + off, val);
}

static int bar_map(void *ctx, uint64_t gpa, uint64_t hpa, uint64_t size)
{
	struct pdev *pd = ctx;
	int e = pt_map(&pd->part->s2, gpa, hpa, size, PT_R | PT_W | PT_DEVICE);
	if (e && !pd->vf.map_errors) /* the first only: the guest may retry forever */
		kprintf("%s: device %s: cannot map a BAR at 0x%llx (%d)\n", pd->part->cfg.name,
			pd->bdf, (unsigned long long)gpa, e);
	return e;
}

static void bar_unmap(void *ctx, uint64_t gpa, uint64_t size)
{
	struct pdev *pd = ctx;
	pt_unmap(&pd->part->s2, gpa, size);
}

/* ---- MSI-X (the model is vpci_msix.c) ---- */

/* The CPUs' stage-2 input size: a domain shaped like the tables that
 * work for the partition's CPUs (a 31-bit stage-2 domain, just covering
 * the RAM, faulted every access on QEMU 10's stage-2 SMMU). */
static unsigned ia_bits(const struct partition *p)
{
	return p->s2.ia_bits;
}

#define GITS_DOORBELL_PAGE 0x10000 /* the 64 KiB frame of GITS_TRANSLATER, */
#define GITS_TRANSLATER	   0x40	   /* at this offset in it */

/* The physical ITS doorbell page, as the IOVA a device's MSI writes use
 * (its PA: below the partition's RAM on QEMU virt); 0 if none can be. */
static uint64_t doorbell_iova(const struct partition *p)
{
	const struct gic_info *gi = gic_get_info();
	if (!gi->has_its || !gi->its_base)
		return 0;
	uint64_t a = gi->its_base + GITS_DOORBELL_PAGE;
	if (a < GUEST_RAM_BASE + p->cfg.mem_size && a + PAGE_SIZE > GUEST_RAM_BASE)
		return 0; /* would shadow its RAM in the domain */
	if (a + PAGE_SIZE > 1ull << ia_bits(p))
		return 0;
	return a;
}

/* The DeviceID the physical ITS sees for requester ID rid: the host
 * bridge's msi-map (<rid-base msi-controller msi-base length>, after
 * msi-map-mask), or rid itself without one (ACPI's IORT on QEMU virt is
 * the identity too). */
static uint32_t msi_devid(uint32_t rid)
{
	int node = fdt_node_offset_by_compatible(hw.fdt, -1, "pci-host-ecam-generic"), len = 0;
	const fdt32_t *map = node >= 0 ? fdt_getprop(hw.fdt, node, "msi-map", &len) : NULL;
	const fdt32_t *mask = node >= 0 ? fdt_getprop(hw.fdt, node, "msi-map-mask", NULL) : NULL;
	uint32_t r = mask ? rid & fdt32_ld(mask) : rid;
	for (int i = 0; map && i + 4 <= len / 4; i += 4)
		if (r >= fdt32_ld(map + i) && r - fdt32_ld(map + i) < fdt32_ld(map + i + 3))
			return fdt32_ld(map + i + 2) + (r - fdt32_ld(map + i));
	return rid;
}

static uint64_t bar_read(void *ctx, unsigned bar, uint64_t off, unsigned size)
{
	const struct pdev *pd = ctx;
	uintptr_t a = (uintptr_t)(pd->vf.bar[bar].hpa + off);
	switch (size) {
	case 1:
		return mmio_read8(a);
	case 2:
		return mmio_read16(a);
	case 4:
		return mmio_read32(a);
	default:
		return mmio_read64(a);
	}
}

static void bar_write(void *ctx, unsigned bar, uint64_t off, unsigned size, uint64_t val)
{
	const struct pdev *pd = ctx;
	uintptr_t a = (uintptr_t)(pd->vf.bar[bar].hpa + off);
	switch (size) {
	case 1:
		mmio_write8(a, (uint8_t)val);
		break;
	case 2:
		mmio_write16(a, (uint16_t)val);
		break;
	case 4:
		mmio_write32(a, (uint32_t)val);
		break;
	default:
		mmio_write64(a, val);
	}
}

/* The guest's DeviceID for it is its requester ID there, 00:n.0. */
static int msi_route(void *ctx, unsigned vector, uint32_t data)
{
	struct pdev *pd = ctx;
	struct partition *p = pd->part;
	uint32_t vdevid = (uint32_t)(pd - p->pdevs) << 3;
	int e = vm_msi_route(p, pd->msi_devid, vector, vdevid, data);
	return e < 0 ? e : 0;
}

/* The doorbell is in the domain while any of the partition's functions
 * has MSI-X on (pci_lock held). */
static int msi_doorbell(void *ctx, bool on)
{
	struct pdev *pd = ctx;
	struct partition *p = pd->part;
	uint64_t db = doorbell_iova(p);
	if (on) {
		int e = p->msix_fns ? 0 : smmu_map(p->dom, db, db, PAGE_SIZE, SMMU_WRITE);
		if (!e)
			p->msix_fns++;
		return e;
	}
	if (p->msix_fns && !--p->msix_fns)
		smmu_unmap(p->dom, db, PAGE_SIZE);
	return 0;
}

/* What the guest did to its MSI-X, once per run each (pci_lock held). */
static void msix_note(struct pdev *pd)
{
	const struct vpci_msix *m = &pd->vf.msix;
	const char *name = pd->part->cfg.name;
	const struct vpci_msi *mi = &pd->vf.msi;
	if (m->on && !pd->msix_said) {
		pd->msix_said = true;
		kprintf("%s: device %s: MSI-X on, %u vectors through its ITS (DeviceID 0x%x)\n",
			name, pd->bdf, m->nvec, pd->msi_devid);
	}
	if (mi->on && !pd->msi_said) {
		pd->msi_said = true;
		kprintf("%s: device %s: MSI on, %u vectors through its ITS (DeviceID 0x%x)\n", name,
			pd->bdf, 1u << ((mi->ctrl >> 4) & 7), pd->msi_devid);
	}
	if ((m->refused || mi->refused) && !pd->refused_said) {
		pd->refused_said = true;
		kprintf("%s: device %s: an MSI-X vector or MSI not aimed at its ITS stays masked\n",
			name, pd->bdf);
	}
	if ((m->errors || mi->errors) && !pd->errors_said) {
		pd->errors_said = true;
		kprintf(
		    "%s: device %s: an MSI-X vector or MSI could not be routed (stays masked)\n",
		    name, pd->bdf);
	}
}

/* The trapped pages reached by EL2 (identity, device memory). */
static bool msix_reach(struct pdev *pd)
{
	const struct vpci_msix *m = &pd->vf.msix;
	for (unsigned k = 0; k < 2; k++) {
		uint64_t pa = pd->vf.bar[k ? m->pbir : m->tbir].hpa + m->trap[k][0];
		uint64_t len = m->trap[k][1] - m->trap[k][0];
		if (!el2_is_mapped((uintptr_t)pa) && el2_map_device(pa, len) != pa)
			return false;
	}
	return true;
}

static void vf_init(struct pdev *pd)
{
	struct partition *p = pd->part;
	struct vpci_ops ops = {.cfg_read = cfg_read,
			       .cfg_write = cfg_write,
			       .map = bar_map,
			       .unmap = bar_unmap,
			       .ctx = pd};
	if (p->cfg.its && (ops.msi_phys = doorbell_iova(p))) {
		ops.msi_guest = GUEST_ITS_MSI;
		ops.msi_phys += GITS_TRANSLATER;
		ops.bar_read = bar_read;
		ops.bar_write = bar_write;
		ops.msi_route = msi_route;
		ops.msi_doorbell = msi_doorbell;
	}
	pd->msi_devid = msi_devid(dma_rid(pci_get_host(), pd->pci));
	pd->msix_said = pd->msi_said = pd->refused_said = pd->errors_said = false;
	struct vpci_bar bars[6] = {0};
	for (unsigned i = 0; i < 6; i++) {
		const struct pci_bar *b = &pd->pci->bar[i];
		if (b->is_io || !b->base)
			continue; /* no port I/O for partitions; unassigned BARs cannot be reached
				   */
		bars[i] = (struct vpci_bar){
		    .hpa = b->base, .size = b->size, .is_64 = b->is_64, .prefetch = b->prefetch};
	}
	vpci_fn_init(&pd->vf, &ops, bars);
	if (pd->vf.msix.shown && !msix_reach(pd)) {
		kprintf("%s: device %s: its MSI-X table cannot be reached: MSI-X hidden\n",
			p->cfg.name, pd->bdf);
		ops.msi_guest = 0;
		vpci_fn_init(&pd->vf, &ops, bars);
	}
}

/* ---- INTx ---- */

#define STATUS_INTX  BIT(19) /* Interrupt Status, in the COMMAND/STATUS dword */
#define INTX_POLL_NS 10000   /* resampling an asserted line: the next look */

/* A guest handling the interrupt neither traps (the device's registers
 * are mapped, EOI goes to the GIC's CPU interface) nor exits soon, so while
 * a line is asserted the EL2 timer makes an exit to resample it. The timer
 * is the scheduler's too: an earlier expiry armed there is kept, and one
 * of its own later may replace this one (then its exit resamples). */
static void resample_soon(void)
{
	uint64_t when = timer_now() + timer_ns_to_ticks(INTX_POLL_NS);
	uint64_t ctl = read_sysreg(cnthp_ctl_el2), cval = read_sysreg(cnthp_cval_el2);
	if ((ctl & 3) == 1 && cval <= when)
		return;
	write_sysreg(cnthp_cval_el2, when);
	write_sysreg(cnthp_ctl_el2, 1);
	isb();
}

/* Partitions run on CPUs of their own, so an SPI routed to vCPU 0's CPU
 * is handled (pdev_irq) and resampled (pdev_resample) on that CPU only,
 * with interrupts masked: no lock. A line two partitions' devices share
 * is forwarded to the first only. */
static bool intid_taken(const struct partition *self, unsigned intid)
{
	for (unsigned i = 0; i < npartitions; i++)
		for (unsigned k = 0; &partitions[i] != self && k < partitions[i].npdevs; k++)
			if (partitions[i].pdevs[k].phys_intid == intid)
				return true;
	return false;
}

static void intx_setup(struct partition *p, struct pdev *pd, unsigned slot)
{
	unsigned pin = (mmio_read32(pd->pci->cfg + 0x3c) >> 8) & 0xff;
	unsigned intid = pci_intx_intid(hw.fdt, pd->pci);
	pd->phys_intid = 0;
	pd->asserted = false;
	if (pin < 1 || pin > 4)
		return;
	if (!intid || intid_taken(p, intid)) {
		kprintf("%s: device %s: INTx not forwarded (%s)\n", p->cfg.name, pd->bdf,
			intid ? "its line is another partition's" : "no route in the DT");
		return;
	}
	pd->virt_intid = 32 + VPCI_INTX_SPI + (slot + pin - 1) % 4;
	pd->phys_intid = intid;
	gic_enable_irq(intid, false, (unsigned)__builtin_ctzll(p->cfg.cpu_mask));
	kprintf("%s: device %s: INTx (INTID %u) is its INTID %u\n", p->cfg.name, pd->bdf, intid,
		pd->virt_intid);
}

static void intx_release(struct pdev *pd)
{
	if (!pd->phys_intid)
		return;
	gic_disable_irq(pd->phys_intid);
	if (pd->asserted)
		gic_deactivate(pd->phys_intid);
	pd->asserted = false;
	pd->phys_intid = 0;
}

bool pdev_irq(unsigned intid)
{
	bool ours = false;
	for (unsigned i = 0; i < npartitions; i++) {
		struct partition *p = &partitions[i];
		for (unsigned k = 0; intid >= 32 && k < p->npdevs; k++) {
			struct pdev *pd = &p->pdevs[k];
			if (pd->phys_intid != intid)
				continue;
			ours = true;
			pd->asserted = true;
			vgic_set_level(&p->vgic, 0, pd->virt_intid, true);
		}
	}
	if (ours)
		resample_soon();
	return ours;
}

void pdev_resample(struct vcpu *v)
{
	struct partition *p = v->part;
	bool pending = false;
	for (unsigned k = 0; k < p->npdevs; k++) {
		struct pdev *pd = &p->pdevs[k];
		if (!pd->asserted)
			continue;
		if (mmio_read32(pd->pci->cfg + 4) & STATUS_INTX) {
			pending = true;
			continue;
		}
		pd->asserted = false;
		vgic_set_level(&p->vgic, 0, pd->virt_intid, false);
		bool still = false;
		for (unsigned j = 0; j < p->npdevs; j++)
			still |= p->pdevs[j].asserted && p->pdevs[j].phys_intid == pd->phys_intid;
		if (!still)
			gic_deactivate(pd->phys_intid);
	}
	if (pending)
		resample_soon();
}

/* ---- the partition's lifecycle ---- */

void pdev_bind(struct partition *p)
{
	p->npdevs = 0;
	for (unsigned i = 0; p->cfg.valid && i < p->cfg.npci; i++) {
		struct pdev *pd = &p->pdevs[p->npdevs];
		const struct pci_dev *d = find_dev(p->cfg.pci[i]);
		if (!d || !stream_of(d, &pd->sid))
			continue; /* validation refused it already */
		pd->pci = d;
		pd->part = p;
		pci_bdf_str(p->cfg.pci[i], pd->bdf, sizeof(pd->bdf));
		p->npdevs++;
	}
}

int pdev_build(struct partition *p)
{
	if (!p->npdevs)
		return 0;
	struct smmu_owner owner = {.kind = SMMU_OWNER_PARTITION};
	/* a name longer than the owner's field is cut: the fault log names the
	 * device as well */
	size_t n = MIN(strlen(p->cfg.name), sizeof(owner.name) - 1);
	memcpy(owner.name, p->cfg.name, n);
	owner.name[n] = '\0';
	p->dom = smmu_domain_create(&owner, ia_bits(p));
	if (!p->dom) {
		kprintf("%s: no SMMU domain for its devices\n", p->cfg.name);
		return -ENOMEM;
	}
	int e =
	    smmu_map(p->dom, GUEST_RAM_BASE, p->ram_pa, p->cfg.mem_size, SMMU_READ | SMMU_WRITE);
	if (e) {
		kprintf("%s: cannot map its RAM for DMA (%d)\n", p->cfg.name, e);
		return e;
	}
	p->msix_fns = 0;
	for (unsigned i = 0; i < p->npdevs; i++) {
		struct pdev *pd = &p->pdevs[i];
		/* whatever the last owner (or firmware) left running stops here */
		pci_quiesce(pd->pci);
		if ((e = smmu_attach(p->dom, pd->sid)))
			return e;
		smmu_stream_label(pd->sid, pd->bdf);
		vf_init(pd);
		intx_setup(p, pd, i);
		kprintf("%s: device %s (%04x:%04x) is its 00:%02x.0, stream 0x%x\n", p->cfg.name,
			pd->bdf, pd->pci->vendor, pd->pci->device, i, pd->sid);
	}
	return 0;
}

/* Bus mastering off and a reset before the stream goes back to abort, so
 * that no DMA in flight lands in memory about to change owner. */
void pdev_release(struct partition *p)
{
	for (unsigned i = 0; i < p->npdevs; i++) {
		struct pdev *pd = &p->pdevs[i];
		char owner[32];
		if (!smmu_stream_owner(pd->sid, owner, sizeof(owner)) || !p->dom)
			continue;
		bool reset = pci_quiesce(pd->pci);
		intx_release(pd);
		spin_lock(&p->pci_lock);
		vpci_fn_reset(&pd->vf);
		spin_unlock(&p->pci_lock);
		smmu_detach(pd->sid);
		kprintf("%s: device %s quiesced (bus mastering off%s), stream 0x%x detached\n",
			p->cfg.name, pd->bdf, reset ? ", function reset" : "", pd->sid);
	}
	vm_msi_unroute(p); /* no device can send them now */
	if (p->dom) {
		smmu_domain_destroy(p->dom);
		p->dom = NULL;
	}
}

/* ---- the virtual ECAM: bus 0 only, device n is pdevs[n], function 0 ---- */

int pdev_ecam_access(struct vcpu *v, uint64_t off, unsigned size, bool write, uint64_t *val)
{
	struct partition *p = v->part;
	unsigned bus = (unsigned)(off >> 20), dev = (off >> 15) & 0x1f, fn = (off >> 12) & 7;
	unsigned reg = off & 0xfff;
	if (size > 4)
		return -EINVAL;
	if (bus || fn || dev >= p->npdevs) {
		if (!write)
			*val = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
		return 0;
	}
	struct pdev *pd = &p->pdevs[dev];
	spin_lock(&p->pci_lock);
	if (write) {
		vpci_cfg_write(&pd->vf, reg, size, (uint32_t)*val);
		msix_note(pd);
	} else {
		*val = vpci_cfg_read(&pd->vf, reg, size);
	}
	spin_unlock(&p->pci_lock);
	return 0;
}

int pdev_bar_access(struct vcpu *v, uint64_t ipa, unsigned size, bool write, uint64_t *val)
{
	struct partition *p = v->part;
	int e = -ENOENT;
	spin_lock(&p->pci_lock);
	for (unsigned i = 0; i < p->npdevs && e == -ENOENT; i++) {
		e = vpci_bar_access(&p->pdevs[i].vf, ipa, size, write, val);
		if (!e && write)
			msix_note(&p->pdevs[i]);
	}
	spin_unlock(&p->pci_lock);
	return e;
}

void pdev_names(const struct partition *p, char *buf, size_t size)
{
	size_t at = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < p->npdevs && at + 9 < size; i++)
		at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? " " : "", p->pdevs[i].bdf);
}

/* ---- `dev` ---- */

static struct partition *owner_of(uint16_t rid)
{
	/* a partition refused at boot owns nothing */
	for (unsigned i = 0; i < npartitions; i++)
		for (unsigned k = 0; partitions[i].cfg.valid && k < partitions[i].cfg.npci; k++)
			if (partitions[i].cfg.pci[k] == rid)
				return &partitions[i];
	return NULL;
}

static void dev_list(void)
{
	const struct pci_host *h = pci_get_host();
	if (!h) {
		kprintf("dev: no PCI host bridge\n");
		return;
	}
	kprintf("  BDF      IDs        class                       stream  owner         domain\n");
	for (unsigned i = 0; i < h->ndevs; i++) {
		const struct pci_dev *d = &h->devs[i];
		const struct partition *p = owner_of(rid_of(d));
		char bdf[8], sidbuf[12] = "none", dom[32] = "-";
		uint32_t sid;
		pci_bdf_str(rid_of(d), bdf, sizeof(bdf));
		if (stream_of(d, &sid)) {
			snprintf(sidbuf, sizeof(sidbuf), "0x%x", sid);
			if (!smmu_stream_owner(sid, dom, sizeof(dom)))
				snprintf(dom, sizeof(dom), "abort");
		}
		const char *owner = d == disk_pci() ? "tessera" : p ? p->cfg.name : "-";
		kprintf("  %-7s  %04x:%04x  %-26.26s  %-6s  %-12s  %s\n", bdf, d->vendor, d->device,
			pci_class_name(d->class_code), sidbuf, owner, dom);
	}
}

static bool parse_rid(const char *s, uint16_t *rid)
{
	unsigned b, dv, f;
	char tail;
	if (sscanf(s, "%x:%x.%x%c", &b, &dv, &f, &tail) != 3 || b > 0xff || dv > 0x1f || f > 7) {
		kprintf("dev: \"%s\" is not a PCI address (bus:device.function, e.g. 00:03.0)\n",
			s);
		return false;
	}
	*rid = (uint16_t)(b << 8 | dv << 3 | f);
	return true;
}

static bool stopped(const struct partition *p)
{
	int st = partition_state(p);
	if (st == PART_STOPPED)
		return true;
	kprintf("dev: partition \"%s\" is %s: stop it first\n", p->cfg.name,
		partition_state_name(st));
	return false;
}

static int dev_attach(const char *bdf, const char *name)
{
	static struct part_cfg t; /* large: not on the shell's stack */
	static struct machine_pci fns[PCI_MAX_DEVS];
	uint16_t rid;
	struct partition *p = partition_find(name), *o;
	if (!parse_rid(bdf, &rid))
		return 1;
	if (!p) {
		kprintf("dev: no partition named '%s' (see 'list')\n", name);
		return 1;
	}
	if ((o = owner_of(rid)) && o != p) {
		kprintf("dev: device %s is already assigned to partition \"%s\"\n", bdf,
			o->cfg.name);
		return 1;
	}
	if (!stopped(p))
		return 1;
	struct machine_desc m = {.pci = fns, .npci = pdev_machine(fns, ARRAY_SIZE(fns))};
	t = p->cfg;
	if (!part_pci_check(&t, rid, &m)) {
		kprintf("dev: %s\n", t.error);
		return 1;
	}
	memcpy(p->cfg.pci, t.pci, sizeof(t.pci));
	p->cfg.npci = t.npci;
	pdev_bind(p);
	kprintf("dev: %s assigned to %s (attached when it starts)\n", bdf, p->cfg.name);
	return 0;
}

static int dev_detach(const char *bdf)
{
	uint16_t rid;
	if (!parse_rid(bdf, &rid))
		return 1;
	struct partition *p = owner_of(rid);
	if (!p) {
		kprintf("dev: device %s is not assigned\n", bdf);
		return 1;
	}
	if (!stopped(p))
		return 1;
	unsigned k = 0;
	for (unsigned i = 0; i < p->cfg.npci; i++)
		if (p->cfg.pci[i] != rid)
			p->cfg.pci[k++] = p->cfg.pci[i];
	p->cfg.npci = k;
	pdev_bind(p);
	kprintf("dev: %s taken from %s\n", bdf, p->cfg.name);
	return 0;
}

static int dev_translate(const char *bdf, const char *iova_s)
{
	uint16_t rid;
	unsigned long long iova, pa;
	char tail;
	if (!parse_rid(bdf, &rid))
		return 1;
	if (sscanf(iova_s, "%llx%c", &iova, &tail) != 1) {
		kprintf("dev: \"%s\" is not an address (hex)\n", iova_s);
		return 1;
	}
	const struct pci_dev *d = find_dev(rid);
	if (d && d == disk_pci()) {
		kprintf("dev: %s is tessera's disk (see 'smmu')\n", bdf);
		return 1;
	}
	struct partition *p = owner_of(rid);
	/* the domain lives while the partition runs; a stop racing with this
	 * command is not excluded (diagnostics only) */
	if (!d || !p || !p->dom || partition_state(p) != PART_RUNNING) {
		kprintf("%s: no domain (%s): every DMA from it aborts\n", bdf,
			!d   ? "no such device"
			: !p ? "not assigned"
			     : "its partition is not running");
		return 0;
	}
	uint64_t out;
	if (smmu_translate(p->dom, iova, &out)) {
		kprintf("%s: iova 0x%llx: not mapped in %s's domain: the SMMU aborts it\n", bdf,
			iova, p->cfg.name);
		return 0;
	}
	pa = out;
	kprintf("%s: iova 0x%llx -> pa 0x%llx (%s's RAM + 0x%llx)\n", bdf, iova, pa, p->cfg.name,
		(unsigned long long)(iova - GUEST_RAM_BASE));
	return 0;
}

int cmd_dev(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "list")) {
		dev_list();
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "attach"))
		return dev_attach(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "detach"))
		return dev_detach(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "translate"))
		return dev_translate(argv[2], argv[3]);
	kprintf("usage: dev list | dev attach BDF PARTITION | dev detach BDF | "
		"dev translate BDF IOVA\n");
	return 1;
}
