/*
 * The machine from ACPI: RSDP -> XSDT -> FADT (PSCI), MADT (CPUs, GIC),
 * GTDT (timer interrupts), SPCR (console), MCFG (ECAM) and IORT (SMMUv3s
 * and the root complex's stream IDs). Only static tables: nothing here
 * runs AML, so what lives only in the DSDT (PCIe windows) is not known.
 *
 * Each table used is checked before a field of it is read: signature,
 * length against the smallest layout its revision allows, checksum,
 * revision; every sub-structure is bounds-checked against its table. A
 * failed check names the table, the structure and the field. Layouts are
 * from the ACPI 6.5 specification and Arm's IORT (DEN0049, E.e). Portable,
 * host-tested on QEMU's tables (tests/host/test_hw_acpi.c).
 */
#include "boot/hw_int.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define HDR_LEN	    36 /* the common table header */
#define MAX_TABLE   (1u << 20)
#define RSDP_V1_LEN 20
#define RSDP_LEN    36

struct table {
	const char *sig, *name;
	uint8_t min_rev;  /* the oldest revision with every field read here */
	uint32_t min_len; /* the shortest such table */
	int required;
	const uint8_t *p;
	uint32_t len;
};

enum { FADT, MADT, GTDT, SPCR, MCFG, IORT, NTABLES };

struct acpi {
	const struct acpi_mem *mem;
	struct hw_desc *hw;
	char *err;
	size_t errlen;
	struct table t[NTABLES];
};

static int fail(struct acpi *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct acpi *a, const char *fmt, ...)
{
	char msg[192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hw_fail(a->err, a->errlen, "ACPI %s", msg);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* The spec's checksum: all bytes of the structure add up to 0 (mod 256). */
static uint8_t byte_sum(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;
	for (uint32_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static const uint8_t *map(struct acpi *a, uint64_t pa, uint64_t len)
{
	return pa ? a->mem->map(a->mem->ctx, pa, len) : NULL;
}

/* ---- RSDP, XSDT and the table headers ---- */

static int read_rsdp(struct acpi *a, uint64_t pa, uint64_t *xsdt)
{
	const uint8_t *r = map(a, pa, RSDP_LEN);
	if (!r)
		return fail(a, "RSDP: nothing readable at 0x%llx", (unsigned long long)pa);
	if (memcmp(r, "RSD PTR ", 8))
		return fail(a, "RSDP at 0x%llx: Signature is not \"RSD PTR \"",
			    (unsigned long long)pa);
	if (byte_sum(r, RSDP_V1_LEN))
		return fail(a, "RSDP: Checksum of the first 20 bytes is wrong");
	if (r[15] < 2)
		return fail(
		    a, "RSDP: Revision %u (ACPI 1.0) has no XSDT; tessera needs ACPI 5.1 or later",
		    r[15]);
	uint32_t len = rd32(r + 20);
	if (len < RSDP_LEN || len > 4096)
		return fail(a, "RSDP: Length %u, expected at least %u", len, RSDP_LEN);
	if (!(r = map(a, pa, len)) || byte_sum(r, len))
		return fail(a, "RSDP: Extended Checksum is wrong");
	*xsdt = rd64(r + 24);
	if (!*xsdt)
		return fail(a, "RSDP: XSDT Address is 0");
	return 0;
}

/* Maps a whole table whose header is at pa after checking its length and
 * checksum; name is for messages. */
static const uint8_t *map_table(struct acpi *a, uint64_t pa, const char *name, uint32_t *len)
{
	const uint8_t *h = map(a, pa, HDR_LEN);
	if (!h) {
		fail(a, "%s: nothing readable at 0x%llx", name, (unsigned long long)pa);
		return NULL;
	}
	*len = rd32(h + 4);
	if (*len < HDR_LEN || *len > MAX_TABLE) {
		fail(a, "%s at 0x%llx: Length %u is not a table's (%u to %u bytes)", name,
		     (unsigned long long)pa, *len, HDR_LEN, MAX_TABLE);
		return NULL;
	}
	const uint8_t *t = map(a, pa, *len);
	if (!t) {
		fail(a, "%s at 0x%llx: Length %u runs past readable memory", name,
		     (unsigned long long)pa, *len);
		return NULL;
	}
	if (byte_sum(t, *len)) {
		fail(a, "%s at 0x%llx: Checksum is wrong (the bytes add up to 0x%02x, not 0)", name,
		     (unsigned long long)pa, byte_sum(t, *len));
		return NULL;
	}
	return t;
}

static int use_table(struct acpi *a, struct table *t, const uint8_t *p, uint32_t len)
{
	if (t->p)
		return 0; /* the first of a kind counts, as for Linux */
	if (p[8] < t->min_rev)
		return fail(a, "%s: Revision %u is older than tessera reads (%u or later)", t->name,
			    p[8], t->min_rev);
	if (len < t->min_len)
		return fail(a, "%s: Length %u, its layout needs at least %u", t->name, len,
			    t->min_len);
	t->p = p;
	t->len = len;
	return 0;
}

static int read_xsdt(struct acpi *a, uint64_t pa)
{
	uint32_t len;
	const uint8_t *x = map_table(a, pa, "XSDT", &len);
	if (!x)
		return -1;
	if (memcmp(x, "XSDT", 4))
		return fail(a, "XSDT at 0x%llx: Signature is \"%.4s\"", (unsigned long long)pa, x);
	if ((len - HDR_LEN) % 8)
		return fail(a, "XSDT: Length %u leaves a partial entry", len);
	for (uint32_t off = HDR_LEN, n = 0; off < len; off += 8, n++) {
		uint64_t tpa = rd64(x + off);
		const uint8_t *h = map(a, tpa, HDR_LEN);
		if (!h)
			return fail(a, "XSDT: entry %u points at 0x%llx, where nothing is readable",
				    n, (unsigned long long)tpa);
		for (int i = 0; i < NTABLES; i++) {
			struct table *t = &a->t[i];
			uint32_t tlen;
			const uint8_t *p;
			if (memcmp(h, t->sig, 4))
				continue;
			if (!(p = map_table(a, tpa, t->name, &tlen)) || use_table(a, t, p, tlen))
				return -1;
		}
	}
	for (int i = 0; i < NTABLES; i++)
		if (a->t[i].required && !a->t[i].p)
			return fail(a, "XSDT: no %s (signature %s)", a->t[i].name, a->t[i].sig);
	return 0;
}

/* ---- FADT: the ARM boot architecture flags ---- */

#define FADT_ARM_BOOT	129
#define FADT_MINOR	131
#define ARM_BOOT_PSCI	(1u << 0)
#define ARM_BOOT_HVC	(1u << 1)
#define FADT_HW_REDUCED (1u << 20)

static int parse_fadt(struct acpi *a)
{
	const struct table *t = &a->t[FADT];
	if (t->p[8] == 5 && t->p[FADT_MINOR] < 1)
		return fail(a, "FADT: version 5.%u (ACPI 5.0) has no ARM Boot Architecture Flags",
			    t->p[FADT_MINOR]);
	uint16_t flags = rd16(t->p + FADT_ARM_BOOT);
	a->hw->psci = !(flags & ARM_BOOT_PSCI) ? HW_PSCI_NONE
		      : flags & ARM_BOOT_HVC   ? HW_PSCI_HVC
					       : HW_PSCI_SMC;
	return 0;
}

/* ---- MADT: CPUs and the GIC ---- */

#define MADT_GICC     0x0b
#define MADT_GICD     0x0c
#define MADT_GICR     0x0e
#define MADT_ITS      0x0f
#define GICC_LEN      76 /* ACPI 5.1's; later ones are longer */
#define GICC_ENABLED  (1u << 0)
#define GICR_FRAME_V3 0x20000 /* RD_base + SGI_base */
#define GICR_FRAME_V4 0x40000 /* and the two VLPI frames */

struct madt_walk {
	unsigned gicds, gicrs, its;
	uint64_t gicc_rd_lo, gicc_rd_hi; /* per-CPU GICR bases, when no GICR structure */
	unsigned gicc_rd;
};

static const char *madt_name(uint8_t type)
{
	return type == MADT_GICC   ? "GICC"
	       : type == MADT_GICD ? "GICD"
	       : type == MADT_GICR ? "GICR"
				   : "ITS";
}

static int madt_gicc(struct acpi *a, struct madt_walk *w, const uint8_t *s, uint32_t off)
{
	struct hw_desc *hw = a->hw;
	if (!(rd32(s + 12) & GICC_ENABLED))
		return 0;
	uint64_t mpidr = rd64(s + 68), rd = rd64(s + 60);
	if (mpidr & ~0xff00ffffffull)
		return fail(a,
			    "MADT: GICC at offset 0x%x: MPIDR 0x%llx has bits set outside the "
			    "affinity fields",
			    off, (unsigned long long)mpidr);
	if (hw_has_cpu(hw, mpidr))
		return fail(a, "MADT: GICC at offset 0x%x: MPIDR 0x%llx is there twice", off,
			    (unsigned long long)mpidr);
	hw_add_cpu(hw, mpidr);
	if (!hw->gic.maint_intid)
		hw->gic.maint_intid = rd32(s + 56);
	if (!hw->pmu_intid)
		hw->pmu_intid = rd32(s + 20);
	if (rd) {
		w->gicc_rd_lo = w->gicc_rd ? (rd < w->gicc_rd_lo ? rd : w->gicc_rd_lo) : rd;
		w->gicc_rd_hi = rd > w->gicc_rd_hi ? rd : w->gicc_rd_hi;
		w->gicc_rd++;
	}
	return 0;
}

static int madt_entry(struct acpi *a, struct madt_walk *w, const uint8_t *s, uint32_t off)
{
	struct hw_desc *hw = a->hw;
	static const uint8_t min_len[] = {
	    [MADT_GICC] = GICC_LEN, [MADT_GICD] = 24, [MADT_GICR] = 16, [MADT_ITS] = 20};
	uint8_t type = s[0];
	if (type < MADT_GICC || type > MADT_ITS || !min_len[type])
		return 0;
	if (s[1] < min_len[type])
		return fail(a, "MADT: %s at offset 0x%x: Length %u, expected at least %u",
			    madt_name(type), off, s[1], min_len[type]);
	switch (type) {
	case MADT_GICC:
		return madt_gicc(a, w, s, off);
	case MADT_GICD:
		if (w->gicds++)
			return fail(a, "MADT: GICD at offset 0x%x: a second distributor", off);
		hw->gic.gicd_base = rd64(s + 8);
		hw->gic.gicd_size = 0x10000;
		hw->gic.version = s[20];
		return 0;
	case MADT_GICR:
		if (w->gicrs++)
			return fail(a,
				    "MADT: GICR at offset 0x%x: a second redistributor region; "
				    "tessera supports one",
				    off);
		hw->gic.gicr_base = rd64(s + 4);
		hw->gic.gicr_size = rd32(s + 12);
		return 0;
	default:
		if (!w->its++)
			hw->gic.its_base = rd64(s + 8);
		return 0;
	}
}

/* Without a GICR structure each GICC says where its redistributor is;
 * tessera takes them if they form one region. */
static int madt_gicc_redists(struct acpi *a, const struct madt_walk *w)
{
	struct hw_desc *hw = a->hw;
	uint64_t frame = hw->gic.version == 4 ? GICR_FRAME_V4 : GICR_FRAME_V3;
	if (w->gicrs)
		return 0;
	if (!w->gicc_rd || w->gicc_rd != hw->cpus_described)
		return fail(a,
			    "MADT: no GICR structure, and not every enabled GICC has a GICR Base "
			    "Address");
	if (w->gicc_rd_hi - w->gicc_rd_lo != (w->gicc_rd - 1) * frame)
		return fail(a,
			    "MADT: GICC GICR Base Addresses 0x%llx-0x%llx are not one region of "
			    "%u redistributors",
			    (unsigned long long)w->gicc_rd_lo, (unsigned long long)w->gicc_rd_hi,
			    w->gicc_rd);
	hw->gic.gicr_base = w->gicc_rd_lo;
	hw->gic.gicr_size = w->gicc_rd * frame;
	return 0;
}

static int parse_madt(struct acpi *a)
{
	const struct table *t = &a->t[MADT];
	struct madt_walk w = {0};
	for (uint32_t off = 44; off < t->len; off += t->p[off + 1]) {
		if (off + 2 > t->len || t->p[off + 1] < 2 || off + t->p[off + 1] > t->len)
			return fail(a,
				    "MADT: structure at offset 0x%x: Length %u runs past the "
				    "table's end (0x%x) or is too short",
				    off, off + 1 < t->len ? t->p[off + 1] : 0, t->len);
		if (madt_entry(a, &w, t->p + off, off))
			return -1;
	}
	if (!w.gicds)
		return fail(a, "MADT: no GICD (distributor) structure");
	if (!a->hw->ncpus)
		return fail(a, "MADT: no enabled GICC (CPU) structure");
	return madt_gicc_redists(a, &w);
}

/* ---- GTDT, SPCR, MCFG ---- */

static int parse_gtdt(struct acpi *a)
{
	const uint8_t *p = a->t[GTDT].p;
	a->hw->timer.el1_secure = rd32(p + 48);
	a->hw->timer.el1_phys = rd32(p + 56);
	a->hw->timer.virt = rd32(p + 64);
	a->hw->timer.el2_phys = rd32(p + 72);
	return 0;
}

#define SPCR_PL011    0x03
#define SPCR_GIC_IRQ  (1u << 3)
#define GAS_SYSMEMORY 0

static int parse_spcr(struct acpi *a)
{
	const uint8_t *p = a->t[SPCR].p;
	if (p[36] != SPCR_PL011)
		return fail(a,
			    "SPCR: Interface Type 0x%02x is not an ARM PL011 (0x03), the only "
			    "UART tessera drives",
			    p[36]);
	if (p[40] != GAS_SYSMEMORY)
		return fail(a, "SPCR: Base Address is in address space %u, not system memory",
			    p[40]);
	a->hw->uart.base = rd64(p + 44);
	if (!a->hw->uart.base)
		return fail(a, "SPCR: Base Address is 0");
	a->hw->uart.intid = p[52] & SPCR_GIC_IRQ ? rd32(p + 54) : 0;
	return 0;
}

/* The first allocation is the host bridge tessera drives. */
static int parse_mcfg(struct acpi *a)
{
	const struct table *t = &a->t[MCFG];
	struct hw_pci *pci = &a->hw->pci;
	if (!t->p)
		return 0;
	if ((t->len - 44) % 16)
		return fail(a, "MCFG: Length %u leaves a partial allocation structure", t->len);
	if (t->len == 44)
		return 0;
	const uint8_t *e = t->p + 44;
	uint64_t base = rd64(e);
	uint8_t start = e[10], end = e[11];
	if (!base)
		return fail(a, "MCFG: allocation 0: Base Address is 0");
	if (start > end)
		return fail(a, "MCFG: allocation 0: Start Bus %u is above End Bus %u", start, end);
	/* The base is bus 0's, even where the range starts higher. */
	pci->ecam_base = base + ((uint64_t)start << 20);
	pci->ecam_size = (uint64_t)(end - start + 1) << 20;
	pci->segment = rd16(e + 8);
	pci->bus_start = start;
	pci->bus_end = end;
	pci->present = 1;
	return 0;
}

/* ---- IORT: SMMUv3s and the root complex's ID mappings ---- */

#define IORT_ITS_GROUP 0
#define IORT_RC	       2
#define IORT_SMMUV3    4
#define IORT_NODE_HDR  16
#define IORT_MAP_LEN   20
#define IORT_SINGLE    (1u << 0)
#define SMMUV3_LEN     60 /* through the Sync GSIV */
#define RC_LEN	       32 /* through the PCI Segment number */
#define SMMU_COHACC    (1u << 0)
#define SMMUV3_SIZE    0x20000 /* two 64 KiB register pages */

struct iort_node {
	uint32_t off, len;
	uint8_t type;
	int smmu; /* index in hw->smmu, or -1 */
};

struct iort {
	unsigned n;
	struct iort_node node[128];
};

static const char *iort_name(uint8_t type)
{
	switch (type) {
	case IORT_ITS_GROUP:
		return "ITS group";
	case IORT_RC:
		return "root complex";
	case IORT_SMMUV3:
		return "SMMUv3";
	default:
		return "node";
	}
}

static int iort_smmu(struct acpi *a, struct iort_node *nd, const uint8_t *s, unsigned n)
{
	struct hw_desc *hw = a->hw;
	if (nd->len < SMMUV3_LEN)
		return fail(a, "IORT: node %u (SMMUv3): Length %u, expected at least %u", n,
			    nd->len, SMMUV3_LEN);
	if (hw->nsmmus == HW_MAX_SMMUS)
		return 0;
	struct hw_smmu *m = &hw->smmu[hw->nsmmus];
	m->base = rd64(s + 16);
	if (!m->base)
		return fail(a, "IORT: node %u (SMMUv3): Base Address is 0", n);
	m->size = SMMUV3_SIZE;
	m->coherent = (rd32(s + 24) & SMMU_COHACC) != 0;
	m->irq_evtq = rd32(s + 44);
	m->irq_priq = rd32(s + 48);
	m->irq_gerror = rd32(s + 52);
	m->irq_cmdq_sync = rd32(s + 56);
	nd->smmu = (int)hw->nsmmus++;
	return 0;
}

static int iort_nodes(struct acpi *a, struct iort *io)
{
	const struct table *t = &a->t[IORT];
	uint32_t count = rd32(t->p + 36), off = rd32(t->p + 40);
	if (count > sizeof(io->node) / sizeof(io->node[0]))
		return fail(a, "IORT: Number of IORT Nodes %u, tessera reads up to %zu", count,
			    sizeof(io->node) / sizeof(io->node[0]));
	for (unsigned n = 0; n < count; n++) {
		if (off < 48 || off > t->len || t->len - off < IORT_NODE_HDR)
			return fail(
			    a, "IORT: node %u at offset 0x%x lies outside the table (Length %u)", n,
			    off, t->len);
		const uint8_t *s = t->p + off;
		struct iort_node *nd = &io->node[io->n++];
		*nd = (struct iort_node){off, rd16(s + 1), s[0], -1};
		if (nd->len < IORT_NODE_HDR || nd->len > t->len - off)
			return fail(a,
				    "IORT: node %u (%s) at offset 0x%x: Length %u runs past the "
				    "table's end or is too short",
				    n, iort_name(nd->type), off, nd->len);
		uint32_t maps = rd32(s + 8), moff = rd32(s + 12);
		if (maps && (moff < IORT_NODE_HDR || moff > nd->len ||
			     (nd->len - moff) / IORT_MAP_LEN < maps))
			return fail(a,
				    "IORT: node %u (%s): %u ID mappings at offset 0x%x run past "
				    "the node (Length %u)",
				    n, iort_name(nd->type), maps, moff, nd->len);
		if (nd->type == IORT_SMMUV3 && iort_smmu(a, nd, s, n))
			return -1;
		if (nd->type == IORT_RC && nd->len < RC_LEN)
			return fail(a,
				    "IORT: node %u (root complex): Length %u, expected at least %u",
				    n, nd->len, RC_LEN);
		off += nd->len;
	}
	return 0;
}

static const struct iort_node *iort_find(const struct iort *io, uint32_t off)
{
	for (unsigned i = 0; i < io->n; i++)
		if (io->node[i].off == off)
			return &io->node[i];
	return NULL;
}

/* One ID mapping of the root complex: RIDs to an SMMU's stream IDs, or
 * straight to the ITS (no SMMU: recorded as such). The spec's Number of
 * IDs is the count minus one. */
static int iort_rc_map(struct acpi *a, const struct iort *io, const uint8_t *m, unsigned n,
		       unsigned i)
{
	struct hw_desc *hw = a->hw;
	const struct iort_node *to = iort_find(io, rd32(m + 12));
	if (!to)
		return fail(a,
			    "IORT: node %u (root complex) ID mapping %u: Output Reference 0x%x is "
			    "not a node",
			    n, i, rd32(m + 12));
	if (rd32(m + 16) & IORT_SINGLE)
		return 0; /* not a RID range */
	if (to->type != IORT_SMMUV3 && to->type != IORT_ITS_GROUP)
		return 0;
	if (to->type == IORT_SMMUV3 && to->smmu < 0)
		return 0; /* an SMMU beyond HW_MAX_SMMUS */
	if (hw->nridmaps == HW_MAX_RIDMAPS)
		return fail(a, "IORT: node %u (root complex): more than %d ID mappings", n,
			    HW_MAX_RIDMAPS);
	uint32_t ids = rd32(m + 4);
	hw->ridmap[hw->nridmaps++] =
	    (struct hw_ridmap){rd32(m), ids == 0xffffffffu ? ids : ids + 1, rd32(m + 8),
			       to->type == IORT_SMMUV3 ? (uint32_t)to->smmu : HW_NO_SMMU};
	return 0;
}

static int parse_iort(struct acpi *a)
{
	const struct table *t = &a->t[IORT];
	struct iort io = {0};
	a->hw->rid_mask = 0xffffffffu;
	if (!t->p)
		return 0;
	if (iort_nodes(a, &io))
		return -1;
	for (unsigned n = 0; n < io.n; n++) {
		const struct iort_node *nd = &io.node[n];
		const uint8_t *s = t->p + nd->off;
		if (nd->type != IORT_RC || rd32(s + 28) != a->hw->pci.segment)
			continue;
		for (unsigned i = 0; i < rd32(s + 8); i++)
			if (iort_rc_map(a, &io, s + rd32(s + 12) + i * IORT_MAP_LEN, n, i))
				return -1;
	}
	return 0;
}

int hw_from_acpi(uint64_t rsdp_pa, const struct acpi_mem *mem, struct hw_desc *hw, char *err,
		 size_t errlen)
{
	struct acpi a = {
	    .mem = mem,
	    .hw = hw,
	    .err = err,
	    .errlen = errlen,
	    .t = {[FADT] = {"FACP", "FADT", 5, FADT_MINOR + 1, 1, NULL, 0},
		  [MADT] = {"APIC", "MADT", 3, 44, 1, NULL, 0},
		  [GTDT] = {"GTDT", "GTDT", 2, 96, 1, NULL, 0},
		  [SPCR] = {"SPCR", "SPCR", 1, 80, 1, NULL, 0},
		  [MCFG] = {"MCFG", "MCFG", 1, 44, 0, NULL, 0},
		  /* every IORT revision has the fields read here */
		  [IORT] = {"IORT", "IORT", 0, 48, 0, NULL, 0}},
	};
	uint64_t xsdt;
	memset(hw, 0, sizeof(*hw));
	hw->source = HW_FROM_ACPI;
	if (read_rsdp(&a, rsdp_pa, &xsdt) || read_xsdt(&a, xsdt) || parse_fadt(&a) ||
	    parse_madt(&a) || parse_gtdt(&a) || parse_spcr(&a) || parse_mcfg(&a) || parse_iort(&a))
		return -1;
	return 0;
}
