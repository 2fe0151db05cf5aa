/*
 * Physical memory. The boot pool (LoaderData from the stub) serves the
 * hypervisor's own early needs: page tables, stacks, heap. Everything the
 * firmware left free goes into a range list that later hands out partition
 * memory. Boot-services memory only becomes usable after the switch to
 * tessera's page tables: the firmware's tables live there.
 */
#include "kernel/machine/machine.h"
#include <errno.h>

#define HEAP_SIZE (32ull << 20) /* snapshots: a zstd coder and 1 MiB buffer per CPU */

struct mem_stats mem_stats;
static struct memmap free_map;
static struct spinlock mem_lock;
static uint64_t pool_next, pool_end, pool_start;
static uint64_t heap_base, heap_end, heap_brk;

void mem_init(const struct boot_info *bi)
{
	pool_start = pool_next = bi->pool_base;
	pool_end = bi->pool_base + bi->pool_size;
	for (uint32_t i = 0; i < bi->n_mem; i++) {
		const struct boot_mem_range *r = &bi->mem[i];
		if (r->kind == BOOT_MEM_MMIO)
			continue;
		mem_stats.seen += r->size;
		if (r->kind == BOOT_MEM_FIRMWARE)
			mem_stats.firmware += r->size;
		else if (r->kind == BOOT_MEM_HYP)
			mem_stats.hyp += r->size;
		else if (mr_add(&free_map, r->base, r->size) == 0)
			mem_stats.free_boot += r->size;
	}
	/* Page zero stays out: 0 means "no memory" to mr_alloc's callers. */
	mr_remove(&free_map, 0, PAGE_SIZE);
}

void *pool_alloc(uint64_t size)
{
	uint64_t base = ALIGN_UP(pool_next, PAGE_SIZE);
	if (base + size > pool_end || base + size < base)
		panic("boot pool exhausted (%llu bytes asked, %llu left)", (unsigned long long)size,
		      (unsigned long long)(pool_end - base));
	pool_next = base + ALIGN_UP(size, PAGE_SIZE);
	return (void *)base;
}

uint64_t pool_used(void)
{
	return pool_next - pool_start;
}

uint64_t mem_alloc(uint64_t size, uint64_t align)
{
	uint64_t flags = spin_lock_irqsave(&mem_lock);
	uint64_t b = mr_alloc(&free_map, ALIGN_UP(size, PAGE_SIZE), MAX(align, PAGE_SIZE));
	spin_unlock_irqrestore(&mem_lock, flags);
	return b;
}

static bool contained(const struct memmap *m, uint64_t base, uint64_t size)
{
	for (unsigned i = 0; i < m->n; i++)
		if (base >= m->r[i].base && base + size <= m->r[i].base + m->r[i].size)
			return true;
	return false;
}

int mem_take(uint64_t base, uint64_t size)
{
	uint64_t flags = spin_lock_irqsave(&mem_lock);
	int e = contained(&free_map, base, size) ? mr_remove(&free_map, base, size) : -EBUSY;
	spin_unlock_irqrestore(&mem_lock, flags);
	return e;
}

void mem_free(uint64_t base, uint64_t size)
{
	uint64_t flags = spin_lock_irqsave(&mem_lock);
	int e = mr_add(&free_map, base, ALIGN_UP(size, PAGE_SIZE));
	spin_unlock_irqrestore(&mem_lock, flags);
	if (e)
		panic("mem_free(0x%llx, 0x%llx): %d", (unsigned long long)base,
		      (unsigned long long)size, e);
}

const struct memmap *mem_free_map(void)
{
	return &free_map;
}

int mem_map_ram(const struct boot_info *bi)
{
	for (uint32_t i = 0; i < bi->n_mem; i++) {
		const struct boot_mem_range *r = &bi->mem[i];
		int e = r->kind == BOOT_MEM_MMIO ? 0 : el2_map_ram(r->base, r->size);
		if (e)
			return e;
	}
	return 0;
}

void heap_init(void)
{
	heap_base = heap_brk = (uint64_t)pool_alloc(HEAP_SIZE);
	heap_end = heap_base + HEAP_SIZE;
}

/* newlib's malloc grows its arena through this. */
void *_sbrk(ptrdiff_t incr);
void *_sbrk(ptrdiff_t incr)
{
	if (incr < 0 || heap_brk + (uint64_t)incr > heap_end) {
		errno = ENOMEM;
		return (void *)-1;
	}
	uint64_t old = heap_brk;
	heap_brk += incr;
	return (void *)old;
}
