/*
 * mode=rx: console input checked byte for byte. Repeatedly prints
 * "TGUEST-RX-READY", reads a header "<count> <delay_ms>" ended by CR or LF,
 * waits delay_ms without reading (so the input backs up in the
 * hypervisor), then reads count bytes and prints
 * "TGUEST-RX n=<bytes read> crc=<CRC-32 of them> irqs=<UART interrupts>"
 * (interrupts counted from the header on).
 * Reading is interrupt driven: between bursts the vCPU sleeps in WFI until
 * the PL011's RX or receive-timeout interrupt, so input that arrives
 * without raising it is never read (after RX_IDLE_MS without a byte the
 * guest reports what it has). A count of 0 ends the run (SYSTEM_OFF).
 */
#include "tguest.h"

#define UART_FR	   0x18
#define FR_RXFE	   (1U << 4)
#define UART_IMSC  0x38
#define INT_RX_RT  ((1U << 4) | (1U << 6))
#define RX_IDLE_MS 5000

static volatile uint32_t uart_irqs;

/* The line stays high while the FIFO holds data: mask it until the
 * reader has drained the FIFO and waits again. */
void rx_irq(void)
{
	uart_irqs++;
	mmio_write32(PL011_BASE + UART_IMSC, 0);
}

static bool rx_empty(void)
{
	return mmio_read32(PL011_BASE + UART_FR) & FR_RXFE;
}

static uint64_t ms_ticks(unsigned ms)
{
	return timer_freq() * ms / 1000;
}

/* WFI until an interrupt or the virtual timer reaches deadline; IRQs are
 * masked from the check to the WFI so a wake-up is not lost. */
static void wait_irq(uint64_t deadline, bool uart)
{
	irq_disable();
	if (uart)
		mmio_write32(PL011_BASE + UART_IMSC, INT_RX_RT);
	/* No timer for ever; and never an enabled timer with a CVAL near
	 * 2^64: QEMU 7.2 then spins in its timer callback (CVAL + offset
	 * overflows), its main loop stops and the console input with it. */
	write_sysreg(cntv_ctl_el0, 0);
	if (deadline != UINT64_MAX) {
		write_sysreg(cntv_cval_el0, deadline);
		write_sysreg(cntv_ctl_el0, 1);
	}
	isb();
	if (!uart || rx_empty())
		wfi();
	irq_enable();
}

/* The next byte, or -1 after idle_ms without one (0: wait for ever). */
static int rx_getc(unsigned idle_ms)
{
	uint64_t deadline = idle_ms ? now() + ms_ticks(idle_ms) : UINT64_MAX;
	int c;

	while ((c = uart_getc()) < 0) {
		if (now() >= deadline)
			return -1;
		wait_irq(deadline, true);
	}
	return c;
}

static void sleep_ms(unsigned ms)
{
	uint64_t deadline = now() + ms_ticks(ms);

	while (now() < deadline)
		wait_irq(deadline, false);
}

static uint32_t crc32_byte(uint32_t crc, uint8_t b)
{
	crc ^= b;
	for (unsigned i = 0; i < 8; i++)
		crc = (crc >> 1) ^ (0xedb88320U & -(crc & 1));
	return crc;
}

/* A decimal number ended by the given terminator(s); -1 on anything else.
 * Waits for ever: the harness sends a header only after READY. */
static long read_number(const char *ends)
{
	long v = 0;
	int c;

	while ((c = rx_getc(0)) >= '0' && c <= '9')
		v = v * 10 + (c - '0');
	for (; *ends; ends++)
		if (c == *ends)
			return v;
	return -1;
}

void run_rx(void)
{
	gic_enable_spi(UART_SPI, read_sysreg(mpidr_el1));
	for (;;) {
		tg_printf("TGUEST-RX-READY\n");
		uint32_t irqs0 = uart_irqs;
		long count = read_number(" "), delay = read_number("\r\n");
		if (count < 0 || delay < 0) {
			tg_printf("TGUEST-RX bad header\n");
			continue;
		}
		if (count == 0)
			break;
		sleep_ms((unsigned)delay);
		uint32_t crc = 0xffffffffU;
		long n = 0;
		int c;
		while (n < count && (c = rx_getc(RX_IDLE_MS)) >= 0) {
			crc = crc32_byte(crc, (uint8_t)c);
			n++;
		}
		tg_printf("TGUEST-RX n=%ld crc=%08x irqs=%u\n", n, ~crc, uart_irqs - irqs0);
	}
	tg_printf("TGUEST-RX-END\n");
	system_off();
}
