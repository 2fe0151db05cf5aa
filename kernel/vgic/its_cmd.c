/*
 * The ITS command queue (its.h): 32-byte commands read from guest RAM at
 * GITS_CBASER, from CREADR up to CWRITER, each checked in full before it
 * changes anything. A command that names what does not exist or does not
 * fit (an unmapped device or event, an ID past the tables, an ITT outside
 * the partition's RAM, no free ITE) is ignored and reported, and the
 * queue goes on, as a GICv3 ITS without SEIS may do. The queue itself
 * outside RAM, or CWRITER past its end, stalls it (GITS_CREADR.Stalled).
 * At most VITS_BATCH commands run per GITS_CWRITER write or GITS_CREADR
 * read; a guest waits for CREADR to reach CWRITER anyway.
 */
#include "kernel/vgic/internal.h"
#include <errno.h>

enum {
	CMD_MOVI = 0x01,
	CMD_INT = 0x03,
	CMD_CLEAR = 0x04,
	CMD_SYNC = 0x05,
	CMD_MAPD = 0x08,
	CMD_MAPC = 0x09,
	CMD_MAPTI = 0x0a,
	CMD_MAPI = 0x0b,
	CMD_INV = 0x0c,
	CMD_INVALL = 0x0d,
	CMD_MOVALL = 0x0e,
	CMD_DISCARD = 0x0f,
};

#define CMD_SIZE 32u
#define V_BIT	 BIT(63)

struct cmd {
	struct vgic_acc *a;
	struct vgic_its *its;
	uint64_t dw[4];
};

static uint32_t devid_of(const struct cmd *c)
{
	return (uint32_t)(c->dw[0] >> 32);
}
static uint32_t eventid_of(const struct cmd *c)
{
	return (uint32_t)c->dw[1];
}
static unsigned icid_of(const struct cmd *c)
{
	return (unsigned)(c->dw[2] & 0xffff);
}
/* RDbase with GITS_TYPER.PTA = 0: a processor number in bits [50:16] */
static uint64_t rdbase_of(uint64_t dw)
{
	return (dw >> 16) & 0x7ffffffffull;
}

static struct vits_dev *find_dev(struct vgic_its *its, uint32_t devid)
{
	for (unsigned i = 0; i < VITS_MAX_DEVICES; i++)
		if (its->dev[i].valid && its->dev[i].devid == devid)
			return &its->dev[i];
	return NULL;
}

static struct vits_ite *find_ite(struct vgic_its *its, uint32_t devid, uint32_t eventid)
{
	for (unsigned i = 0; i < its->ite_hi; i++) {
		struct vits_ite *ite = &its->ite[i];
		if (ite->mapped && ite->devid == devid && ite->eventid == eventid)
			return ite;
	}
	return NULL;
}

static int bad(struct cmd *c, const char *what, uint64_t v)
{
	vgic_its_report(c->a->g, what, v);
	return -EINVAL;
}

/* ICIDs the collection table has room for */
static bool icid_ok(const struct cmd *c, unsigned icid)
{
	return icid < VITS_MAX_COLLS && icid < vgic_its_table_entries(c->its, 1);
}

static void unmap_ite(struct cmd *c, struct vits_ite *ite)
{
	vgic_ite_note(c->a->g, ite, c->a->self, &c->a->kick);
	vgic_ite_set_pending(c->a->g, ite, false);
	ite->mapped = false;
	if (ite->in_lr)
		ite->cleared = true;
}

static int do_mapd(struct cmd *c)
{
	uint32_t devid = devid_of(c);
	unsigned evbits = (unsigned)(c->dw[1] & 0x1f) + 1;
	uint64_t itt = c->dw[2] & 0x000fffffffffff00ull;
	if (devid >= vgic_its_table_entries(c->its, 0))
		return bad(c, "ITS MAPD: DeviceID past the device table", devid);
	struct vits_dev *d = find_dev(c->its, devid);
	if (d || !(c->dw[2] & V_BIT)) { /* remapped or unmapped: its events go */
		for (unsigned i = 0; i < c->its->ite_hi; i++)
			if (c->its->ite[i].mapped && c->its->ite[i].devid == devid)
				unmap_ite(c, &c->its->ite[i]);
		if (d)
			d->valid = false;
	}
	if (!(c->dw[2] & V_BIT))
		return 0;
	if (evbits > VITS_EVBITS)
		return bad(c, "ITS MAPD: more EventID bits than GITS_TYPER has", evbits);
	if (!vgic_its_ram_ok(c->its, itt, (uint64_t)VITS_ENTRY_SIZE << evbits))
		return bad(c, "ITS MAPD: ITT outside the partition's RAM", itt);
	for (unsigned i = 0; i < VITS_MAX_DEVICES; i++)
		if (!c->its->dev[i].valid) {
			c->its->dev[i] = (struct vits_dev){devid, (uint8_t)evbits, true, itt};
			return 0;
		}
	return bad(c, "ITS MAPD: too many devices", devid);
}

static int do_mapc(struct cmd *c)
{
	unsigned icid = icid_of(c);
	uint64_t rd = rdbase_of(c->dw[2]);
	struct vgic *g = c->a->g;
	if (!icid_ok(c, icid))
		return bad(c, "ITS MAPC: ICID past the collection table", icid);
	if (!(c->dw[2] & V_BIT)) {
		for (unsigned i = 0; i < c->its->ite_hi; i++)
			if (c->its->ite[i].mapped && c->its->ite[i].icid == icid)
				vgic_ite_note(g, &c->its->ite[i], c->a->self, &c->a->kick);
		c->its->coll[icid] = VITS_NO_VCPU;
		return 0;
	}
	if (rd >= g->nvcpus)
		return bad(c, "ITS MAPC: no such redistributor", rd);
	for (unsigned i = 0; i < c->its->ite_hi; i++) { /* the old target's LRs let go */
		struct vits_ite *ite = &c->its->ite[i];
		if (ite->mapped && ite->icid == icid)
			vgic_ite_note(g, ite, c->a->self, &c->a->kick);
	}
	c->its->coll[icid] = (uint8_t)rd;
	for (unsigned i = 0; i < c->its->ite_hi; i++) {
		struct vits_ite *ite = &c->its->ite[i];
		if (ite->mapped && ite->icid == icid) {
			vgic_ite_load_config(g, ite);
			vgic_ite_note(g, ite, c->a->self, &c->a->kick);
		}
	}
	return 0;
}

static int do_mapti(struct cmd *c, bool mapi)
{
	uint32_t devid = devid_of(c), eventid = eventid_of(c);
	uint32_t intid = mapi ? eventid : (uint32_t)(c->dw[1] >> 32);
	unsigned icid = icid_of(c);
	const struct vits_dev *d = find_dev(c->its, devid);
	if (!d)
		return bad(c, "ITS MAPTI: device not mapped", devid);
	if (eventid >> d->evbits)
		return bad(c, "ITS MAPTI: EventID past the device's ITT", eventid);
	if (intid < VGIC_LPI_BASE || intid >= (1u << VGIC_LPI_IDBITS))
		return bad(c, "ITS MAPTI: not an LPI INTID", intid);
	if (!icid_ok(c, icid))
		return bad(c, "ITS MAPTI: ICID past the collection table", icid);
	struct vits_ite *ite = find_ite(c->its, devid, eventid);
	if (ite) /* remapping a mapped event: the old mapping goes */
		unmap_ite(c, ite);
	ite = NULL;
	unsigned i = 0;
	for (; i < VITS_MAX_ITES && !ite; i++)
		if (!c->its->ite[i].mapped && !c->its->ite[i].in_lr)
			ite = &c->its->ite[i];
	if (!ite)
		return bad(c, "ITS MAPTI: no free translation entry", VITS_MAX_ITES);
	if (i > c->its->ite_hi)
		c->its->ite_hi = i; /* loops over ITEs stop there */
	*ite = (struct vits_ite){.devid = devid,
				 .eventid = eventid,
				 .intid = (uint16_t)intid,
				 .icid = (uint16_t)icid,
				 .mapped = true};
	vgic_ite_load_config(c->a->g, ite);
	return 0;
}

/* The commands that name a mapped event. */
static int do_event(struct cmd *c, unsigned op)
{
	struct vgic *g = c->a->g;
	struct vits_ite *ite = find_ite(c->its, devid_of(c), eventid_of(c));
	if (!ite)
		return bad(c, "ITS command: event not mapped", devid_of(c));
	switch (op) {
	case CMD_INT:
		vgic_ite_set_pending(g, ite, true);
		break;
	case CMD_CLEAR:
		vgic_ite_set_pending(g, ite, false);
		if (ite->in_lr)
			ite->cleared = true;
		break;
	case CMD_DISCARD:
		unmap_ite(c, ite);
		return 0;
	case CMD_INV:
		vgic_ite_load_config(g, ite);
		break;
	case CMD_MOVI:
		if (!icid_ok(c, icid_of(c)))
			return bad(c, "ITS MOVI: ICID past the collection table", icid_of(c));
		vgic_ite_note(g, ite, c->a->self, &c->a->kick); /* the old target */
		ite->icid = (uint16_t)icid_of(c);
		vgic_ite_load_config(g, ite);
		break;
	}
	vgic_ite_note(g, ite, c->a->self, &c->a->kick);
	return 0;
}

static int do_invall(struct cmd *c)
{
	unsigned icid = icid_of(c);
	if (!icid_ok(c, icid))
		return bad(c, "ITS INVALL: ICID past the collection table", icid);
	for (unsigned i = 0; i < c->its->ite_hi; i++) {
		struct vits_ite *ite = &c->its->ite[i];
		if (ite->mapped && ite->icid == icid) {
			vgic_ite_load_config(c->a->g, ite);
			vgic_ite_note(c->a->g, ite, c->a->self, &c->a->kick);
		}
	}
	return 0;
}

static int run_one(struct cmd *c)
{
	unsigned op = (unsigned)(c->dw[0] & 0xff);
	c->its->commands++;
	switch (op) {
	case CMD_MAPD:
		return do_mapd(c);
	case CMD_MAPC:
		return do_mapc(c);
	case CMD_MAPTI:
	case CMD_MAPI:
		return do_mapti(c, op == CMD_MAPI);
	case CMD_INT:
	case CMD_CLEAR:
	case CMD_DISCARD:
	case CMD_INV:
	case CMD_MOVI:
		return do_event(c, op);
	case CMD_INVALL:
		return do_invall(c);
	case CMD_SYNC: /* everything before it is done already */
		if (rdbase_of(c->dw[2]) >= c->a->g->nvcpus)
			return bad(c, "ITS SYNC: no such redistributor", rdbase_of(c->dw[2]));
		return 0;
	case CMD_MOVALL: /* pending state lives with the events, not the redistributor */
		if (rdbase_of(c->dw[2]) >= c->a->g->nvcpus ||
		    rdbase_of(c->dw[3]) >= c->a->g->nvcpus)
			return bad(c, "ITS MOVALL: no such redistributor", rdbase_of(c->dw[2]));
		return 0;
	}
	return bad(c, "ITS: unknown command", op);
}

static void stall(struct vgic_acc *a, const char *why, uint64_t v)
{
	a->g->its->stalled = true;
	vgic_its_report(a->g, why, v);
}

void vgic_its_run_queue(struct vgic_acc *a)
{
	struct vgic_its *its = a->g->its;
	if (!(its->ctlr & GITS_CTLR_ENABLED) || !(its->cbaser & V_BIT) || its->stalled)
		return;
	uint64_t base = its->cbaser & 0x000ffffffffff000ull;
	uint64_t size = ((its->cbaser & 0xff) + 1) * 0x1000;
	if (!vgic_its_ram_ok(its, base, size)) {
		stall(a, "ITS command queue outside the partition's RAM", base);
		return;
	}
	if (its->cwriter >= size) {
		stall(a, "ITS GITS_CWRITER past the end of the command queue", its->cwriter);
		return;
	}
	/* a bounded batch per access, so one trap never holds the lock (and
	 * its CPU) for a whole queue: the guest polls CREADR, whose reads go
	 * on with the rest */
	for (unsigned n = 0; its->creadr != its->cwriter && n < VITS_BATCH; n++) {
		struct cmd c = {.a = a, .its = its};
		if (its->ops.read(its->ops.ctx, base + its->creadr, c.dw, sizeof(c.dw))) {
			stall(a, "ITS command queue read failed", base + its->creadr);
			return;
		}
		(void)run_one(&c);
		its->creadr = (its->creadr + CMD_SIZE) % size;
	}
}

/* ---- device assignment (its.h) ---- */

int vgic_its_translate(struct vgic *g, uint32_t devid, uint32_t eventid)
{
	if (!g->its)
		return -ENOENT;
	vgic_enter(g);
	const struct vits_ite *ite = find_ite(g->its, devid, eventid);
	int r = ite ? ite->intid : -ENOENT;
	vgic_leave(g, 0);
	return r;
}

int vgic_its_inject(struct vgic *g, uint32_t devid, uint32_t eventid)
{
	uint32_t kick = 0;
	if (!g->its)
		return -ENOENT;
	vgic_enter(g);
	struct vits_ite *ite = find_ite(g->its, devid, eventid);
	if (ite) {
		vgic_ite_set_pending(g, ite, true);
		vgic_ite_note(g, ite, VITS_NO_VCPU, &kick);
	}
	vgic_leave(g, kick);
	return ite ? 0 : -ENOENT;
}
