/*
 * MSIs of assigned devices (kernel/vgic/its.h, "For device assignment"):
 * a physical event (DeviceID, EventID on the physical ITS, gits.c) is
 * routed to a partition's (guest DeviceID, EventID); its physical LPI,
 * taken at EL2, becomes the vLPI the guest mapped at that moment
 * (vgic_its_inject), or is dropped and counted if it mapped none.
 * The physical ITS is set up on the first route.
 */
#include "kernel/vm/vm.h"
#include "kernel/machine/machine.h"
#include "lib/lock.h"
#include <errno.h>

#define MSI_ROUTES 64

struct msi_route {
	struct partition *p;
	uint32_t pdevid, pevent, vdevid, vevent;
	unsigned lpi; /* 0: free */
};

static struct msi_route routes[MSI_ROUTES];
static struct spinlock routes_lock;
static uint64_t msi_dropped;

static int its_up(void)
{
	if (gits_ready())
		return 0;
	const struct gic_info *gi = gic_get_info();
	if (!gi->has_its)
		return -ENODEV;
	static uint64_t mem;
	if (!mem)
		mem = mem_alloc(GITS_MEM_SIZE, 0x10000);
	if (!mem)
		return -ENOMEM;
	return gits_init(gi->its_base, (uintptr_t)mem, GITS_MEM_SIZE);
}

int vm_msi_route(struct partition *p, uint32_t pdevid, uint32_t pevent, uint32_t vdevid,
		 uint32_t vevent)
{
	int e = its_up();
	if (e)
		return e;
	uint64_t f = spin_lock_irqsave(&routes_lock);
	struct msi_route *r = NULL;
	for (unsigned i = 0; i < MSI_ROUTES; i++) {
		if (routes[i].lpi && routes[i].pdevid == pdevid && routes[i].pevent == pevent) {
			e = -EBUSY;		/* one owner */
			if (routes[i].p == p) { /* the guest's side may have changed */
				routes[i].vdevid = vdevid;
				routes[i].vevent = vevent;
				e = (int)routes[i].lpi;
			}
			goto out;
		}
		if (!routes[i].lpi && !r)
			r = &routes[i];
	}
	if (!r) {
		e = -ENOSPC;
		goto out;
	}
	/* taken by the CPU of the partition's vCPU 0: the injection kicks the
	 * vCPU the guest's collection names from there */
	e = gits_map(pdevid, pevent, p->vcpus[0].pcpu);
	if (e > 0)
		*r = (struct msi_route){p, pdevid, pevent, vdevid, vevent, (unsigned)e};
out:
	spin_unlock_irqrestore(&routes_lock, f);
	return e;
}

void vm_msi_unroute(struct partition *p)
{
	uint64_t f = spin_lock_irqsave(&routes_lock);
	for (unsigned i = 0; i < MSI_ROUTES; i++)
		if (routes[i].lpi && routes[i].p == p) {
			gits_unmap(routes[i].pdevid, routes[i].pevent, routes[i].lpi);
			routes[i].lpi = 0;
		}
	spin_unlock_irqrestore(&routes_lock, f);
}

bool vm_msi_irq(unsigned intid)
{
	struct msi_route r = {0};
	uint64_t f = spin_lock_irqsave(&routes_lock);
	for (unsigned i = 0; i < MSI_ROUTES; i++)
		if (routes[i].lpi == intid)
			r = routes[i];
	spin_unlock_irqrestore(&routes_lock, f);
	if (!r.lpi)
		return false;
	if (vgic_its_inject(&r.p->vgic, r.vdevid, r.vevent))
		__atomic_fetch_add(&msi_dropped, 1, __ATOMIC_RELAXED);
	return true;
}

uint64_t vm_msi_dropped(void)
{
	return __atomic_load_n(&msi_dropped, __ATOMIC_RELAXED);
}

int vm_msi_raise(struct partition *p, uint32_t pdevid, uint32_t pevent)
{
	return gits_ready() ? gits_int(pdevid, pevent) : -ENODEV;
}
