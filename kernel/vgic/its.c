/*
 * The ITS frame (its.h) as the guest sees it:
 *   CTLR      Enabled (bit 0), Quiescent (bit 31) when no command waits.
 *   IIDR      VITS_IIDR. TYPER (64-bit or halves): Physical, ITT entry
 *             size 8, 16 EventID and 16 DeviceID bits, PTA 0 (RDbase is
 *             a processor number), HCC 0, CIL with 6 collection ID bits.
 *   CBASER    Valid, caches, shareability, PA, Size; writable while CTLR
 *             Enabled is 0; a write resets CREADR and a stall.
 *   CWRITER   Offset (bits 19:5) and Retry (bit 0, clears a stall);
 *             a write runs the commands up to it.
 *   CREADR    Offset, Stalled (bit 0). Read-only; a read runs the next
 *             batch of a long queue.
 *   BASER0    Device table, BASER1 Collection table: Type and Entry_Size
 *             read-only, Indirect RAZ/WI, the rest as written, except that
 *             a table not wholly inside the partition's RAM reads back with
 *             Valid clear. BASER2-7 RAZ/WI (Type 0: none).
 *   PIDR2     ArchRev 3; CIDR0-3 as the distributor's.
 *   TRANSLATER (0x10040) WI: a CPU write carries no DeviceID.
 * Other offsets RAZ/WI; accesses other than aligned 32- or 64-bit abort.
 */
#include "kernel/vgic/internal.h"
#include <errno.h>

#define GITS_TYPER                                                                                 \
	(1ull | (uint64_t)(VITS_ENTRY_SIZE - 1) << 4 | (uint64_t)(VITS_EVBITS - 1) << 8 |          \
	 (uint64_t)(VITS_DEVBITS - 1) << 13 | 5ull << 32 | BIT(36))
#define CBASER_MASK  0xb8effffffffffcffull /* Valid, InnerCache, OuterCache, PA, Share, Size */
#define CBASER_VALID BIT(63)
#define BASER_MASK   0xb8e0ffffffffffffull /* Valid, Inner, Outer, PA, Share, PageSize, Size */
#define BASER_VALID  BIT(63)
#define OFFSET_MASK  0xfffe0ull

/* A valid GITS_BASER's table: address and size in bytes. */
static uint64_t baser_table(uint64_t v, uint64_t *bytes)
{
	static const uint64_t page[4] = {0x1000, 0x4000, 0x10000, 0x10000};
	uint64_t ps = page[(v >> 8) & 3], pa = v & 0x0000fffffffff000ull & ~(ps - 1);
	if (ps == 0x10000)
		pa |= ((v >> 12) & 0xf) << 48; /* 64 KiB pages: PA[51:48] in bits 15:12 */
	*bytes = ((v & 0xff) + 1) * ps;
	return pa;
}

/* The entries a valid table holds (0 if not valid). */
uint64_t vgic_its_table_entries(const struct vgic_its *its, unsigned n)
{
	uint64_t bytes;
	if (!(its->baser[n] & BASER_VALID))
		return 0;
	baser_table(its->baser[n], &bytes);
	return bytes / VITS_ENTRY_SIZE;
}

static void baser_write(struct vgic_acc *a, unsigned n, uint64_t v)
{
	struct vgic_its *its = a->g->its;
	uint64_t ro = its->baser[n] & (7ull << 56 | 0x1full << 48);
	v = (v & BASER_MASK) | ro;
	uint64_t bytes, pa = baser_table(v, &bytes);
	if ((v & BASER_VALID) && !vgic_its_ram_ok(its, pa, bytes)) {
		vgic_its_report(a->g,
				n ? "ITS collection table outside the partition's RAM"
				  : "ITS device table outside the partition's RAM",
				pa);
		v &= ~BASER_VALID;
	}
	its->baser[n] = v;
}

static uint64_t its_read(struct vgic_acc *a, uint64_t off, unsigned size)
{
	struct vgic_its *its = a->g->its;
	uint64_t reg;
	switch (off & ~7ull) {
	case 0x0000:
		reg = its->ctlr | (uint64_t)VITS_IIDR << 32;
		if (its->creadr == its->cwriter || its->stalled || !(its->ctlr & GITS_CTLR_ENABLED))
			reg |= GITS_CTLR_QUIESC;
		break;
	case 0x0008:
		reg = GITS_TYPER;
		break;
	case 0x0080:
		reg = its->cbaser;
		break;
	case 0x0088:
		reg = its->cwriter;
		break;
	case 0x0090:
		vgic_its_run_queue(a); /* the rest of a long queue */
		reg = its->creadr | (its->stalled ? 1 : 0);
		break;
	case 0x0100:
	case 0x0108:
		reg = its->baser[(off - 0x100) / 8];
		break;
	default:
		if (off >= 0xffd0 && off < 0x10000 && size == 4)
			return vgic_id_reg((unsigned)(off - 0xffd0));
		return 0;
	}
	return vgic_half_read(reg, (unsigned)off, size);
}

static void its_write(struct vgic_acc *a, uint64_t off, unsigned size, uint64_t val)
{
	struct vgic_its *its = a->g->its;
	switch (off & ~7ull) {
	case 0x0000:
		if (off == 0) {
			bool was = its->ctlr & GITS_CTLR_ENABLED;
			its->ctlr = (uint32_t)val & GITS_CTLR_ENABLED;
			if (!was && its->ctlr)
				vgic_its_run_queue(a);
		}
		break;
	case 0x0080:
		if (its->ctlr & GITS_CTLR_ENABLED)
			break;
		its->cbaser = vgic_half_write(its->cbaser, (unsigned)off, size, val) & CBASER_MASK;
		its->creadr = 0;
		its->stalled = false;
		break;
	case 0x0088: {
		uint64_t v = vgic_half_write(its->cwriter, (unsigned)off, size, val);
		its->cwriter = v & OFFSET_MASK;
		if (v & 1)
			its->stalled = false; /* Retry */
		vgic_its_run_queue(a);
		break;
	}
	case 0x0100:
	case 0x0108: {
		unsigned n = (unsigned)(off - 0x100) / 8;
		baser_write(a, n, vgic_half_write(its->baser[n], (unsigned)off, size, val));
		break;
	}
	}
}

int vgic_its_access(struct vgic *g, unsigned vcpu, uint64_t off, unsigned size, bool write,
		    uint64_t *val)
{
	if (!g->its || off >= VITS_FRAME_SIZE || (size != 4 && size != 8) || off % size)
		return -EINVAL;
	struct vgic_acc a = {.g = g, .cpu = NULL, .rd = 0, .self = vcpu, .kick = 0};
	uint64_t mask = size == 8 ? ~0ull : 0xffffffffull;
	vgic_enter(g);
	if (off >= 0x10000) {
		if (!write)
			*val = 0; /* GITS_TRANSLATER and the rest of the frame */
	} else if (write) {
		its_write(&a, off, size, *val & mask);
	} else {
		*val = its_read(&a, off, size) & mask;
	}
	vgic_leave(g, a.kick);
	return 0;
}
