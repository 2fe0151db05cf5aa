/* Console input: the UART's RX interrupt fills a ring the shell drains. */
#include "kernel/internal.h"
#include "drivers/drivers.h"

#define RX_SIZE 256
static volatile char rx_ring[RX_SIZE];
static volatile unsigned rx_head, rx_tail;

void console_rx_irq(void)
{
	int c;
	while ((c = pl011_getc(console_base())) >= 0) {
		unsigned next = (rx_head + 1) % RX_SIZE;
		if (next == rx_tail)
			continue; /* full: drop, the shell is not reading */
		rx_ring[rx_head] = (char)c;
		rx_head = next;
	}
}

/* Checking the ring and sleeping happen with IRQs masked: WFI still wakes
 * on a pending interrupt, so no input is missed between the two. */
char console_getc(void)
{
	for (;;) {
		irq_disable();
		if (rx_tail != rx_head) {
			char c = rx_ring[rx_tail];
			rx_tail = (rx_tail + 1) % RX_SIZE;
			irq_enable();
			return c;
		}
		if (hw.uart_intid)
			wfi();
		irq_enable();
		if (!hw.uart_intid)
			console_rx_irq(); /* no interrupt in the DT: poll */
	}
}
