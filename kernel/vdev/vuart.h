/*
 * kernel/vdev/ API: virtual devices. Emulated PL011 (Arm PrimeCell UART
 * r1p5), portable C, host-tested, using only lib/.
 *
 * Enough for Linux's amba-pl011 driver, earlycon=pl011 and bare-metal
 * guests. Transmission is instant: bytes written to UARTDR are collected
 * into lines and handed to out() without the newline ('\r' and NUL are
 * dropped); the caller adds the partition prefix. Interrupts follow QEMU's
 * hw/char/pl011.c: TXRIS is set by every UARTDR write and cleared only by
 * UARTICR; RXRIS and RTRIS are set by every received byte and cleared by
 * UARTICR or when the receive FIFO drains. The interrupt line is
 * (RIS & IMSC) != 0 and irq() is called whenever it changes.
 *
 * Simplifications: the receive FIFO is always 32 bytes deep (UARTLCR_H.FEN
 * is stored but does not shrink it to one byte); no baud timing, breaks,
 * parity/framing errors or DMA; modem inputs read as connected (CTS, DSR,
 * DCD set). In loopback mode (UARTCR.LBE) transmitted bytes go to the
 * receive FIFO instead of out(). An access at a byte lane other than the
 * lowest reads that part of the register (with the register's side effects,
 * as on APB); such writes are ignored.
 *
 * Locking is the caller's; out() and irq() are called with it held.
 */
#ifndef KERNEL_VUART_H
#define KERNEL_VUART_H

#include "lib/types.h"

#define VUART_RX_FIFO  32
#define VUART_LINE_MAX 256

struct vuart {
	/* registers (reset values in vuart_reset) */
	uint32_t rsr; /* UARTRSR: error bits (only OE is ever set) */
	uint32_t ilpr, ibrd, fbrd, lcr_h, cr, ifls, imsc, dmacr;
	uint32_t ris; /* UARTRIS raw interrupt status */
	/* receive FIFO */
	uint8_t rx[VUART_RX_FIFO];
	unsigned rx_head, rx_count;
	/* transmit line being assembled */
	char line[VUART_LINE_MAX];
	size_t line_len;
	bool level; /* last level passed to irq() */

	void (*out)(void *ctx, const char *line, size_t n);
	void (*irq)(void *ctx, bool level);
	void *ctx;
	/* When set (the partition has console focus), every transmitted byte
	 * goes straight to raw() instead of being assembled into lines, so
	 * prompts and echoed input appear as they are typed. */
	void (*raw)(void *ctx, char c);
};

/* Sets the callbacks and resets the device (the line starts low; irq() is
 * not called). */
void vuart_init(struct vuart *u, void (*out)(void *ctx, const char *line, size_t n),
		void (*irq)(void *ctx, bool level), void *ctx);
/* A guest access of size bytes at offset off in the 4 KiB register frame;
 * *val is the value written, or receives the value read. Returns 0, or
 * -EINVAL for sizes other than 1, 2, 4 or off >= 0x1000 (the caller then
 * injects an abort). Unimplemented offsets read as 0 and ignore writes. */
int vuart_access(struct vuart *u, uint64_t off, unsigned size, bool write, uint64_t *val);
/* Console input for the guest. Returns false if the byte was dropped: the
 * receive FIFO is full (an overrun is flagged: UARTRSR.OE, OERIS) or the
 * UART is in loopback mode. */
bool vuart_rx(struct vuart *u, char c);
/* Hands a partial output line to out(), if there is one. */
void vuart_flush(struct vuart *u);
/* Switches between line mode (raw == NULL) and byte passthrough; a partial
 * line is flushed first so nothing is lost or reordered. */
void vuart_set_raw(struct vuart *u, void (*raw)(void *ctx, char c));
/* Registers to their reset values, FIFO and partial line discarded, the
 * interrupt line lowered (irq() is called if it was high). */
void vuart_reset(struct vuart *u);

#endif
