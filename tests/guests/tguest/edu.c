/*
 * mode=edu and mode=victim: DMA attacks through an assigned QEMU "edu"
 * device (1234:11e8), checked from the victim's side.
 *
 * mode=victim fills VICTIM_MIB of its RAM from 8 MiB up with a pattern and
 * prints "TGUEST-VICTIM n sum=<checksum>" every second, recomputed each
 * time, so a DMA landing in it changes the sum.
 *
 * mode=edu finds the edu device at 00:00.0 of its virtual ECAM, places
 * BAR0 in the MMIO window, enables decoding and bus mastering, then:
 * copies a buffer of its own RAM through the device into another and
 * compares ("TGUEST-EDU own-ram ok"); prints "TGUEST-EDU-READY" and reads
 * a line of hex addresses from the console; aims a device-to-memory DMA
 * of the device's buffer at each ("TGUEST-EDU attack 0x<addr> done"), and
 * ends with "TGUEST-EDU-DONE" (the copy inside its RAM is made again
 * after the attacks: "TGUEST-EDU own-ram ok" a second time).
 *
 * mode=scribble makes SCRIBBLES random writes (sizes 1, 2, 4) over its
 * whole virtual ECAM, one in four into the edu device's config space (its
 * BARs and COMMAND included), printing "TGUEST-SCRIBBLE n" as it goes;
 * then it programs the device properly again and checks it still answers
 * and still copies inside its RAM ("TGUEST-SCRIBBLE done id=0x...").
 *
 * mode=edumsi (a partition with `its`, 2 vCPUs): the ITS mapped (DeviceID
 * 0, the device's requester ID, event 0 -> LPI 8196), the device's MSI
 * capability pointed at the vITS doorbell with data 0 and enabled, then
 * EDU_MSIS interrupts raised through the device's raise register, each
 * waited for and acknowledged: "TGUEST-EDU-MSI delivered=N/EDU_MSIS
 * msi_ps=P" (P: picoseconds per MSI, raise to handler, on average). The
 * same runs on bare QEMU virt (highmem=off, its=on) for bench.py.
 */
#include "tguest.h"

#define ECAM_BASE  0x3f000000UL
#define MMIO_BASE  0x10000000UL
#define EDU_ID	   0x11e81234U
#define EDU_SRC	   0x80
#define EDU_DST	   0x88
#define EDU_CNT	   0x90
#define EDU_CMD	   0x98
#define EDU_BUF	   0x40000UL /* the device's own 4 KiB buffer, as a DMA address */
#define CMD_RUN	   1U
#define CMD_TO_RAM 2U
#define DMA_LEN	   256
#define VICTIM_MIB 8

static uintptr_t bar0 = MMIO_BASE; /* where BAR0 is programmed */

static void edu_dma(uint64_t src, uint64_t dst, uint64_t len, uint32_t dir)
{
	__asm__ volatile("str %0, [%1]" ::"r"(src), "r"(bar0 + EDU_SRC) : "memory");
	__asm__ volatile("str %0, [%1]" ::"r"(dst), "r"(bar0 + EDU_DST) : "memory");
	__asm__ volatile("str %0, [%1]" ::"r"(len), "r"(bar0 + EDU_CNT) : "memory");
	mmio_write32(bar0 + EDU_CMD, CMD_RUN | dir);
	/* the device runs a DMA 100 ms after it is started */
	uint64_t end = now() + timer_freq() * 5;
	while ((mmio_read32(bar0 + EDU_CMD) & CMD_RUN) && now() < end)
		;
	if (mmio_read32(bar0 + EDU_CMD) & CMD_RUN)
		tg_printf("TGUEST-EDU dma timed out\n");
}

static void own_ram_copy(void)
{
	volatile uint8_t *a = (volatile uint8_t *)(RAM_BASE + (4UL << 20));
	volatile uint8_t *b = a + 0x1000;
	for (unsigned i = 0; i < DMA_LEN; i++) {
		a[i] = (uint8_t)(i * 7 + 3);
		b[i] = 0;
	}
	edu_dma((uint64_t)a, EDU_BUF, DMA_LEN, 0);
	edu_dma(EDU_BUF, (uint64_t)b, DMA_LEN, CMD_TO_RAM);
	for (unsigned i = 0; i < DMA_LEN; i++)
		if (b[i] != a[i]) {
			tg_printf("TGUEST-EDU own-ram FAILED at %u\n", i);
			return;
		}
	tg_printf("TGUEST-EDU own-ram ok\n");
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Attacks each address of one console line as it is read (empty lines,
 * such as the Enter after the console's focus key, are skipped). */
static void attack_line(void)
{
	uint64_t addr = 0;
	bool any = false;
	unsigned done = 0;
	for (;;) {
		int c = uart_getc();
		if (c < 0)
			continue;
		int v = hexval(c);
		if (v >= 0) {
			addr = addr << 4 | (uint64_t)v;
			any = true;
			continue;
		}
		if (any) {
			edu_dma(EDU_BUF, addr, DMA_LEN, CMD_TO_RAM);
			tg_printf("TGUEST-EDU attack 0x%lx done\n", addr);
			done++;
		}
		addr = 0;
		any = false;
		if ((c == '\r' || c == '\n') && done)
			return;
	}
}

#define SCRIBBLES 20000

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return *x;
}

/* BAR0 at addr (the device registers used from then on are there). */
static void setup_bar0(uintptr_t addr)
{
	mmio_write32(ECAM_BASE + 0x04, 0);
	mmio_write32(ECAM_BASE + 0x10, (uint32_t)addr);
	mmio_write32(ECAM_BASE + 0x04, 0x6);
	bar0 = addr;
}

void run_edu(void)
{
	uint32_t id = mmio_read32(ECAM_BASE);
	if (id != EDU_ID) {
		tg_printf("TGUEST-EDU no edu device (id 0x%x)\n", id);
		system_off();
	}
	mmio_write32(ECAM_BASE + 0x10, 0xffffffffU);
	tg_printf("TGUEST-EDU BAR0 size mask 0x%x\n", mmio_read32(ECAM_BASE + 0x10));
	setup_bar0(MMIO_BASE); /* memory decode, bus master */
	tg_printf("TGUEST-EDU device id 0x%x\n", mmio_read32(MMIO_BASE));
	own_ram_copy();
	tg_printf("TGUEST-EDU-READY\n");
	attack_line();
	own_ram_copy();
	tg_printf("TGUEST-EDU-DONE\n");
	system_off();
}

void run_scribble(void)
{
	uint64_t x = 0x2545f4914f6cdd1dull;
	for (unsigned n = 0; n < SCRIBBLES; n++) {
		uint64_t r = xorshift(&x), v = xorshift(&x);
		unsigned size = 1u << (r % 3);
		uint64_t off = (r >> 8) % (n % 4 ? 0x1000000 : 0x1000);
		uintptr_t a = ECAM_BASE + (off & ~(uint64_t)(size - 1));
		if (n % 16 == 0) /* BAR values inside the window, to map often */
			v = MMIO_BASE + v % 0x2eff0000;
		if (size == 1)
			__asm__ volatile("strb %w0, [%1]" ::"r"((uint32_t)v), "r"(a) : "memory");
		else if (size == 2)
			__asm__ volatile("strh %w0, [%1]" ::"r"((uint32_t)v), "r"(a) : "memory");
		else
			mmio_write32(a, (uint32_t)v);
		if (n % 5000 == 0)
			tg_printf("TGUEST-SCRIBBLE %u\n", n);
	}
	/* not where the device's physical BAR is: a BAR write reaching the
	 * device would leave the mapping pointing at nothing */
	setup_bar0(MMIO_BASE + 0x1000000);
	tg_printf("TGUEST-SCRIBBLE done id=0x%x\n", mmio_read32(bar0));
	own_ram_copy();
	system_off();
}

static uint64_t victim_sum(void)
{
	volatile uint64_t *w = (volatile uint64_t *)(RAM_BASE + (8UL << 20));
	uint64_t sum = 0;
	for (uint64_t i = 0; i < (VICTIM_MIB << 20) / 8; i++)
		sum = sum * 31 + w[i];
	return sum;
}

void run_victim(void)
{
	volatile uint64_t *w = (volatile uint64_t *)(RAM_BASE + (8UL << 20));
	for (uint64_t i = 0; i < (VICTIM_MIB << 20) / 8; i++)
		w[i] = 0x5555aaaa00000000ull | i;
	for (unsigned n = 0;; n++) {
		tg_printf("TGUEST-VICTIM %u sum=0x%lx\n", n, victim_sum());
		uint64_t end = now() + timer_freq();
		while (now() < end)
			;
	}
}

#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK   0x64
#define EDU_MSIS      100
#define EDU_LPI	      8196
#define VITS_DOORBELL 0x08090040U

/* The edu device on bus 0 (00:00.0 in a partition, 00:03.0 on bare QEMU
 * virt with highmem=off): its config space, and its slot in *slot. */
static uintptr_t find_edu(unsigned *slot)
{
	for (unsigned d = 0; d < 32; d++)
		if (mmio_read32(ECAM_BASE + ((uintptr_t)d << 15)) == EDU_ID) {
			*slot = d;
			return ECAM_BASE + ((uintptr_t)d << 15);
		}
	return 0;
}

void run_edu_msi(void)
{
	unsigned slot = 0;
	uintptr_t cfg = find_edu(&slot);
	/* the DeviceID is the requester ID: the slot's, function 0 */
	if (!cfg || !its_msi_setup(slot << 3)) {
		tg_printf("TGUEST-EDU-MSI setup failed\n");
		system_off();
	}
	mmio_write32(cfg + 0x04, 0);
	mmio_write32(cfg + 0x10, MMIO_BASE);
	mmio_write32(cfg + 0x04, 0x6);
	bar0 = MMIO_BASE;
	unsigned cap = mmio_read32(cfg + 0x34) & 0xfc;
	for (unsigned n = 0; cap && n < 48 && (mmio_read32(cfg + cap) & 0xff) != 0x05; n++)
		cap = (mmio_read32(cfg + cap) >> 8) & 0xfc;
	if (!cap) {
		tg_printf("TGUEST-EDU-MSI no MSI capability\n");
		system_off();
	}
	bool is64 = (mmio_read32(cfg + cap) >> 16) & 0x80;
	mmio_write32(cfg + cap + 4, VITS_DOORBELL);
	if (is64)
		mmio_write32(cfg + cap + 8, 0);
	mmio_write32(cfg + cap + (is64 ? 12 : 8), 0);
	mmio_write32(cfg + cap, mmio_read32(cfg + cap) | 1u << 16);
	tg_printf("TGUEST-EDU-MSI cap=0x%x ctrl=0x%x\n", cap, mmio_read32(cfg + cap) >> 16);
	unsigned got = 0;
	uint64_t ticks = 0, f = timer_freq();
	for (unsigned n = 0; n < EDU_MSIS; n++) {
		uint32_t before = its_lpi_hits(0, EDU_LPI);
		uint64_t t0 = now(), end = t0 + f / 10;
		mmio_write32(bar0 + EDU_IRQ_RAISE, 1);
		while (its_lpi_hits(0, EDU_LPI) == before && now() < end)
			__asm__ volatile("yield" ::: "memory");
		if (its_lpi_hits(0, EDU_LPI) != before) {
			got++;
			ticks += now() - t0;
		}
		mmio_write32(bar0 + EDU_IRQ_ACK, 1);
	}
	/* picoseconds per MSI, raise to handler (under -icount shift=0:
	 * instructions times 1000) */
	tg_printf("TGUEST-EDU-MSI delivered=%u/%u msi_ps=%lu\n", got, EDU_MSIS,
		  got ? ticks * 1000000 / got * 1000000 / f : 0);
	system_off();
}
