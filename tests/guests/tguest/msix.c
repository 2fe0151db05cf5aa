/*
 * mode=msixscribble: the MSI-X of the device assigned at 00:00.0 of a
 * partition with `its`. Its BARs are placed in the MMIO window, the
 * MSI-X capability found ("TGUEST-MSIX cap=0x.. vectors=N table=B/0x..
 * pba=B/0x.."), vector 0 programmed and read back from tessera's shadow
 * ("TGUEST-MSIX readback ok"), then MSIX_SCRIBBLES random writes (sizes
 * 1, 2, 4, 8) and reads over the pages holding the table and the PBA, a
 * third of the values the vITS doorbell's address, with Message Control
 * rewritten at random now and then ("TGUEST-MSIX-SCRIBBLE n" as it goes,
 * "TGUEST-MSIX-SCRIBBLE done" at the end); then it powers off.
 */
#include "tguest.h"

#define ECAM	       0x3f000000UL
#define MMIO	       0x10000000UL
#define DOORBELL       0x08090040UL /* the vITS's GITS_TRANSLATER */
#define CAP_MSIX       0x11
#define MSIX_SCRIBBLES 40000

static uintptr_t bar_at[6];

static uint8_t cfg8(unsigned off)
{
	return (uint8_t)(mmio_read32(ECAM + (off & ~3u)) >> (8 * (off & 3)));
}

static void write16(uintptr_t a, uint16_t v)
{
	__asm__ volatile("strh %w0, [%1]" ::"r"((uint32_t)v), "r"(a) : "memory");
}

static void write_sized(uintptr_t a, unsigned size, uint64_t v)
{
	if (size == 1)
		__asm__ volatile("strb %w0, [%1]" ::"r"((uint32_t)v), "r"(a) : "memory");
	else if (size == 2)
		write16(a, (uint16_t)v);
	else if (size == 4)
		mmio_write32(a, (uint32_t)v);
	else
		__asm__ volatile("str %0, [%1]" ::"r"(v), "r"(a) : "memory");
}

/* Each memory BAR the guest sees at the next address aligned to its size. */
static void place_bars(void)
{
	uintptr_t next = MMIO;
	mmio_write32(ECAM + 0x04, 0);
	for (unsigned i = 0; i < 6; i++) {
		uintptr_t reg = ECAM + 0x10 + 4 * i;
		mmio_write32(reg, 0xffffffffU);
		uint32_t lo = mmio_read32(reg);
		if (!lo)
			continue; /* absent or hidden */
		bool is64 = (lo & 6) == 4 && i < 5;
		uint64_t mask = (lo & ~0xfULL) | 0xffffffff00000000ULL;
		if (is64) {
			mmio_write32(reg + 4, 0xffffffffU);
			mask = (lo & ~0xfULL) | (uint64_t)mmio_read32(reg + 4) << 32;
		}
		uint64_t size = ~mask + 1;
		next = (next + size - 1) & ~(size - 1);
		mmio_write32(reg, (uint32_t)next);
		if (is64)
			mmio_write32(reg + 4, (uint32_t)(next >> 32));
		bar_at[i] = next;
		next += size;
		if (is64)
			i++;
	}
	mmio_write32(ECAM + 0x04, 0x6); /* memory decode, bus master */
}

static unsigned find_cap(uint8_t id)
{
	unsigned at = cfg8(0x34) & 0xfc;
	for (unsigned n = 0; at && n < 48; n++) {
		if (cfg8(at) == id)
			return at;
		at = cfg8(at + 1) & 0xfc;
	}
	return 0;
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return *x;
}

void run_msix_scribble(void)
{
	place_bars();
	unsigned cap = find_cap(CAP_MSIX);
	if (!cap) {
		tg_printf("TGUEST-MSIX no MSI-X capability\n");
		system_off();
	}
	unsigned nvec = ((mmio_read32(ECAM + cap) >> 16) & 0x7ff) + 1;
	uint32_t t = mmio_read32(ECAM + cap + 4), p = mmio_read32(ECAM + cap + 8);
	tg_printf("TGUEST-MSIX cap=0x%x vectors=%u table=%u/0x%x pba=%u/0x%x\n", cap, nvec, t & 7,
		  t & ~7u, p & 7, p & ~7u);
	uintptr_t table = bar_at[t & 7] + (t & ~7u), pba = bar_at[p & 7] + (p & ~7u);
	write16(ECAM + cap + 2, 0xc000); /* enable, function mask */
	mmio_write32(table + 12, 1);
	mmio_write32(table, (uint32_t)DOORBELL);
	mmio_write32(table + 4, 0);
	mmio_write32(table + 8, 5);
	mmio_write32(table + 12, 0);
	write16(ECAM + cap + 2, 0x8000);
	bool ok = mmio_read32(table) == (uint32_t)DOORBELL && mmio_read32(table + 8) == 5 &&
		  mmio_read32(table + 12) == 0 && (mmio_read32(ECAM + cap) >> 30) == 2;
	tg_printf("TGUEST-MSIX readback %s pba=0x%x\n", ok ? "ok" : "FAILED", mmio_read32(pba));
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uintptr_t pages[2] = {table & ~0xfffUL, pba & ~0xfffUL};
	for (unsigned n = 0; n < MSIX_SCRIBBLES; n++) {
		uint64_t r = xorshift(&x), v = xorshift(&x);
		unsigned size = 1u << (r % 4);
		uintptr_t a = pages[n % 4 == 3] + (((r >> 8) % 0x1000) & ~(uint64_t)(size - 1));
		if (n % 3 == 0)
			v = n % 2 ? DOORBELL : v % 4;
		if (n % 64 == 0)
			write16(ECAM + cap + 2, (uint16_t)v);
		else if (r & (1u << 20))
			write_sized(a, size, v);
		else
			(void)mmio_read32(a & ~3UL);
		if (n % 10000 == 0)
			tg_printf("TGUEST-MSIX-SCRIBBLE %u\n", n);
	}
	tg_printf("TGUEST-MSIX-SCRIBBLE done\n");
	system_off();
}
