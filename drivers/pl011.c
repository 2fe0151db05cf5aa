/* PL011 UART: tessera's console. Baud rate and framing stay as firmware set them. */
#include "drivers/drivers.h"
#include "arch/arm64/arch.h"

#define UARTDR	 0x00
#define UARTFR	 0x18
#define UARTCR	 0x30
#define UARTIMSC 0x38
#define UARTICR	 0x44
#define FR_TXFF	 BIT(5)
#define FR_RXFE	 BIT(4)
#define CR_EN	 (BIT(0) | BIT(8) | BIT(9)) /* UARTEN, TXE, RXE */
#define INT_RX	 (BIT(4) | BIT(6))	    /* RX and RX timeout */

void pl011_init(uintptr_t base)
{
	mmio_write32(base + UARTCR, mmio_read32(base + UARTCR) | CR_EN);
}

void pl011_putc(uintptr_t base, char c)
{
	while (mmio_read32(base + UARTFR) & FR_TXFF)
		cpu_relax();
	mmio_write32(base + UARTDR, (uint8_t)c);
}

int pl011_getc(uintptr_t base)
{
	if (mmio_read32(base + UARTFR) & FR_RXFE)
		return -1;
	return mmio_read32(base + UARTDR) & 0xff;
}

void pl011_enable_rx_irq(uintptr_t base)
{
	mmio_write32(base + UARTICR, 0x7ff);
	mmio_write32(base + UARTIMSC, INT_RX);
}

void pl011_rx_irq_mask(uintptr_t base, bool masked)
{
	mmio_write32(base + UARTIMSC, masked ? 0 : INT_RX);
}
