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
 * Input: console bytes queue in a ring of VUART_RX_RING bytes whose first
 * VUART_RX_FIFO bytes are what the guest sees as its receive FIFO; each
 * UARTDR read moves the next queued byte into the FIFO, which then counts
 * as a received byte (RXRIS and RTRIS set again), so a paste much larger
 * than the FIFO arrives whole as the guest drains it. The console is the
 * wire's flow control: it offers a byte only while vuart_rx_wait() says
 * there is room, and learns through the input-ready hook when there is
 * again; console input therefore never overruns.
 *
 * Simplifications: the receive FIFO is always 32 bytes deep (UARTLCR_H.FEN
 * is stored but does not shrink it to one byte); no baud timing, breaks,
 * parity/framing errors or DMA; modem inputs read as connected (CTS, DSR,
 * DCD set). In loopback mode (UARTCR.LBE) transmitted bytes go to the
 * receive FIFO instead of out(). An access at a byte lane other than the
 * lowest reads that part of the register (with the register's side effects,
 * as on APB); such writes are ignored.
 *
 * Locking: each device has its own lock, taken by every function below
 * with interrupts masked (the lifecycle initialises and flushes devices
 * with interrupts enabled, and the console's interrupt uses them too);
 * out(), raw(), irq() and the input-ready hook are called with it held
 * (lock order: the partition's lock, then this one, then the vGIC's).
 *
 * Lifetime: a device starts disconnected (zero-initialised) and is
 * connected by vuart_init, once the interrupt controller behind irq() is
 * initialised; vuart_flush (the partition stopped) disconnects it again.
 * A disconnected device takes no input and never calls irq(), so the
 * console can offer input at any time without racing a (re)start.
 */
#ifndef KERNEL_VUART_H
#define KERNEL_VUART_H

#include "lib/lock.h"
#include "lib/types.h"

#define VUART_RX_FIFO  32
#define VUART_RX_RING  4096 /* FIFO included; a power of two */
#define VUART_LINE_MAX 256

struct vuart {
	struct spinlock lock;
	bool connected;	 /* between vuart_init and vuart_flush */
	bool rx_waiting; /* the console was told "full": call the hook on room */
	/* registers (reset values in vuart_reset) */
	uint32_t rsr; /* UARTRSR: error bits (only OE is ever set) */
	uint32_t ilpr, ibrd, fbrd, lcr_h, cr, ifls, imsc, dmacr;
	uint32_t ris; /* UARTRIS raw interrupt status */
	/* console input: the first MIN(rx_count, VUART_RX_FIFO) bytes from
	 * rx_head are the receive FIFO, the rest wait behind it */
	uint8_t rx[VUART_RX_RING];
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

/* Sets the callbacks, resets the device and connects it (the line starts
 * low; irq() is not called). Call it after the vGIC behind irq() is
 * initialised. */
void vuart_init(struct vuart *u, void (*out)(void *ctx, const char *line, size_t n),
		void (*irq)(void *ctx, bool level), void *ctx);
/* The console's hook, one for all devices: called (with the device's lock
 * held, on whichever CPU made the room) when a device that answered
 * vuart_rx_wait() with false has room again, or was reset or
 * disconnected. */
void vuart_set_input_ready(void (*ready)(void));
/* A guest access of size bytes at offset off in the 4 KiB register frame;
 * *val is the value written, or receives the value read. Returns 0, or
 * -EINVAL for sizes other than 1, 2, 4 or off >= 0x1000 (the caller then
 * injects an abort). Unimplemented offsets read as 0 and ignore writes. */
int vuart_access(struct vuart *u, uint64_t off, unsigned size, bool write, uint64_t *val);
/* Whether the device can take a console byte now. False only when its
 * input ring is full; the input-ready hook is then called once there is
 * room (or the input was discarded). A disconnected or loopback device
 * says true: vuart_rx drops what it is given. */
bool vuart_rx_wait(struct vuart *u);
/* Console input for the guest. Returns false if the byte was dropped: the
 * device is disconnected or in loopback mode (UARTCR.LBE disconnects the
 * receive input), or the ring is full (only if the caller did not ask
 * vuart_rx_wait first; nothing is flagged to the guest then). */
bool vuart_rx(struct vuart *u, char c);
/* Bytes of console input queued (FIFO included). */
unsigned vuart_rx_queued(struct vuart *u);
/* The partition stopped: hands a partial output line to out(), discards
 * queued input and disconnects the device until the next vuart_init. The
 * lifecycle calls it once no vCPU of the partition runs, before the vGIC
 * or this device is initialised again. */
void vuart_flush(struct vuart *u);
/* Switches between line mode (raw == NULL) and byte passthrough; a partial
 * line is flushed first so nothing is lost or reordered. */
void vuart_set_raw(struct vuart *u, void (*raw)(void *ctx, char c));
/* Registers to their reset values, queued input and partial line
 * discarded, the interrupt line lowered (irq() is called if it was high
 * and the device is connected). */
void vuart_reset(struct vuart *u);

/* Snapshots (vuart_save.c; struct snap_pl011 is snapshot/snapshot.h's). */
struct snap_pl011;
/* The device's state: registers, queued input (rx, rxmax bytes) and the
 * unfinished output line (tx, txmax bytes); u->rx_count and line_len fit
 * SNAP_PL011_RX_MAX/TX_MAX. Fills out->rx_count/tx_len (at most rxmax /
 * txmax: what does not fit is left out). Input is saved receive FIFO
 * first, oldest byte first; flags say whether the line was high
 * (informational: a restore recomputes it). */
void vuart_save(struct vuart *u, struct snap_pl011 *out, uint8_t *rx, size_t rxmax, uint8_t *tx,
		size_t txmax);
/* Into a connected device (after vuart_init): 0, or -EINVAL with why
 * (rx_count over VUART_RX_RING, tx_len over VUART_LINE_MAX, bad bits). The
 * interrupt line is recomputed and irq() called if it is high.
 * Refused besides: a disconnected device, tx_len equal to VUART_LINE_MAX
 * (the device hands such a line out at once, so it never has one), bits a
 * register does not have, RSR errors other than overrun, unknown flags, a
 * non-zero reserved field. On error the device is untouched. Input the
 * device had queued is replaced (a console refused for a full ring is
 * told when there is room, through the input-ready hook). The callbacks
 * and raw mode stay as they are; in raw mode the partial line goes to
 * out() at once (as vuart_set_raw does), ahead of anything typed later.
 * Restore the vGIC behind irq() first: irq() feeds it the line. */
int vuart_restore(struct vuart *u, const struct snap_pl011 *in, const uint8_t *rx,
		  const uint8_t *tx, char *why, size_t whylen);

#endif
