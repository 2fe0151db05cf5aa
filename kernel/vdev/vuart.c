/*
 * Emulated PL011. Register map and reset values from the PrimeCell UART
 * (PL011) TRM (DDI 0183), interrupt behaviour from QEMU's hw/char/pl011.c
 * (see vuart.h for what is simplified).
 */
#include "kernel/vdev/internal.h"
#include <errno.h>
#include <stddef.h>

/* register offsets */
#define UARTDR	  0x000
#define UARTRSR	  0x004 /* UARTECR when written */
#define UARTFR	  0x018
#define UARTILPR  0x020
#define UARTIBRD  0x024
#define UARTFBRD  0x028
#define UARTLCR_H 0x02c
#define UARTCR	  0x030
#define UARTIFLS  0x034
#define UARTIMSC  0x038
#define UARTRIS	  0x03c
#define UARTMIS	  0x040
#define UARTICR	  0x044
#define UARTDMACR 0x048
#define UARTPID0  0xfe0 /* PeriphID0-3, then PCellID0-3, up to 0xffc */
#define FRAME	  0x1000

/* UARTFR */
#define FR_TXFE BIT(7)
#define FR_RXFF BIT(6)
#define FR_RXFE BIT(4)
#define FR_DCD	BIT(2)
#define FR_DSR	BIT(1)
#define FR_CTS	BIT(0)

/* UARTRIS/MIS/IMSC/ICR */
#define INT_OE	BIT(10)
#define INT_RT	BIT(6)
#define INT_TX	BIT(5)
#define INT_RX	BIT(4)
#define INT_ALL VUART_INT_ALL

#define RSR_OE VUART_RSR_OE
#define CR_LBE BIT(7)

#define CR_RESET   0x300 /* TXE | RXE */
#define IFLS_RESET 0x12	 /* both FIFOs at half */

/* PL011 r1p5: part 0x011, designer 0x41 (Arm), revision 1; PrimeCell ID. */
static const uint8_t pl011_id[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

/* Registers that only hold what was written (within their width). */
struct plain_reg {
	uint16_t off;
	uint32_t mask;
	size_t field;
};

static const struct plain_reg plain_regs[] = {
    {UARTILPR, VUART_ILPR_MASK, offsetof(struct vuart, ilpr)},
    {UARTIBRD, VUART_IBRD_MASK, offsetof(struct vuart, ibrd)},
    {UARTFBRD, VUART_FBRD_MASK, offsetof(struct vuart, fbrd)},
    {UARTLCR_H, VUART_LCR_H_MASK, offsetof(struct vuart, lcr_h)},
    {UARTCR, VUART_CR_MASK, offsetof(struct vuart, cr)},
    {UARTIFLS, VUART_IFLS_MASK, offsetof(struct vuart, ifls)},
    {UARTDMACR, VUART_DMACR_MASK, offsetof(struct vuart, dmacr)},
};

static uint32_t *plain_reg(struct vuart *u, unsigned off, uint32_t *mask)
{
	for (size_t i = 0; i < ARRAY_SIZE(plain_regs); i++) {
		if (plain_regs[i].off != off)
			continue;
		*mask = plain_regs[i].mask;
		return (uint32_t *)((char *)u + plain_regs[i].field);
	}
	return NULL;
}

/* ---- interrupt line ---- */

void vuart_update_irq(struct vuart *u)
{
	bool level = u->connected && (u->ris & u->imsc) != 0;

	if (level == u->level)
		return;
	u->level = level;
	if (u->irq)
		u->irq(u->ctx, level);
}

/* ---- receive FIFO and the input queued behind it ---- */

static void (*input_ready)(void);

static unsigned fifo_count(const struct vuart *u)
{
	return MIN(u->rx_count, (unsigned)VUART_RX_FIFO);
}

static void ring_put(struct vuart *u, uint8_t c)
{
	u->rx[(u->rx_head + u->rx_count) % VUART_RX_RING] = c;
	u->rx_count++;
}

/* A byte entered the receive FIFO: as QEMU's PL011, every received byte
 * raises RX and receive timeout (the guest reads until RXFE). */
static void rx_arrived(struct vuart *u)
{
	u->ris |= INT_RX | INT_RT;
}

/* The console was refused and there is room now: tell it (once). */
void vuart_rx_room(struct vuart *u)
{
	if (!u->rx_waiting || u->rx_count == VUART_RX_RING)
		return;
	u->rx_waiting = false;
	if (input_ready)
		input_ready();
}

/* A byte from the transmitter in loopback mode: straight into the FIFO,
 * or an overrun (OE) if it is full. The caller updates the line. */
static void loop_push(struct vuart *u, uint8_t c)
{
	if (u->rx_count >= VUART_RX_FIFO) {
		u->rsr |= RSR_OE;
		u->ris |= INT_OE;
		return;
	}
	ring_put(u, c);
	rx_arrived(u);
}

/* UARTDR read: the oldest FIFO byte; the next queued byte (if any) moves
 * into the FIFO as a newly received one. */
static uint32_t rx_pop(struct vuart *u)
{
	uint8_t c;

	if (u->rx_count == 0)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % VUART_RX_RING;
	u->rx_count--;
	if (u->rx_count >= VUART_RX_FIFO)
		rx_arrived(u);
	if (u->rx_count == 0)
		u->ris &= ~(uint32_t)(INT_RX | INT_RT);
	vuart_update_irq(u);
	vuart_rx_room(u);
	return c;
}

static void rx_discard(struct vuart *u)
{
	u->rx_head = u->rx_count = 0;
	vuart_rx_room(u);
}

/* ---- transmit ---- */

void vuart_emit_line(struct vuart *u)
{
	if (u->out)
		u->out(u->ctx, u->line, u->line_len);
	u->line_len = 0;
}

static void line_put(struct vuart *u, char c)
{
	if (u->raw && c != '\0') {
		u->raw(u->ctx, c);
		return;
	}
	if (c == '\r' || c == '\0')
		return;
	if (c == '\n') {
		vuart_emit_line(u);
		return;
	}
	u->line[u->line_len++] = c;
	if (u->line_len == VUART_LINE_MAX)
		vuart_emit_line(u);
}

static void tx(struct vuart *u, uint8_t c)
{
	if (u->cr & CR_LBE)
		loop_push(u, c);
	else
		line_put(u, (char)c);
	u->ris |= INT_TX; /* the byte left at once: the FIFO is below its level */
	vuart_update_irq(u);
}

/* ---- registers ---- */

static uint32_t flags(const struct vuart *u)
{
	uint32_t fr = FR_TXFE | FR_DCD | FR_DSR | FR_CTS;

	if (u->rx_count == 0)
		fr |= FR_RXFE;
	if (fifo_count(u) == VUART_RX_FIFO)
		fr |= FR_RXFF;
	return fr;
}

static uint32_t reg_read(struct vuart *u, unsigned off)
{
	uint32_t mask;
	const uint32_t *p = plain_reg(u, off, &mask);

	if (p)
		return *p;
	if (off >= UARTPID0)
		return pl011_id[(off - UARTPID0) / 4];
	switch (off) {
	case UARTDR:
		return rx_pop(u);
	case UARTRSR:
		return u->rsr;
	case UARTFR:
		return flags(u);
	case UARTIMSC:
		return u->imsc;
	case UARTRIS:
		return u->ris;
	case UARTMIS:
		return u->ris & u->imsc;
	default:
		return 0;
	}
}

static void reg_write(struct vuart *u, unsigned off, uint32_t v)
{
	uint32_t mask;
	uint32_t *p = plain_reg(u, off, &mask);

	if (p) {
		*p = v & mask;
		return;
	}
	switch (off) {
	case UARTDR:
		tx(u, (uint8_t)v);
		break;
	case UARTRSR: /* UARTECR: any write clears the errors */
		u->rsr = 0;
		break;
	case UARTIMSC:
		u->imsc = v & INT_ALL;
		vuart_update_irq(u);
		break;
	case UARTICR:
		u->ris &= ~v;
		vuart_update_irq(u);
		break;
	default:
		break;
	}
}

static void access_locked(struct vuart *u, unsigned off, unsigned size, bool write, uint64_t *val)
{
	unsigned reg = off & ~3u, shift = (off & 3) * 8;
	uint64_t mask = (1ull << (size * 8)) - 1;

	if (write) {
		if (shift == 0)
			reg_write(u, reg, (uint32_t)(*val & mask));
		return;
	}
	*val = ((uint64_t)reg_read(u, reg) >> shift) & mask;
}

int vuart_access(struct vuart *u, uint64_t off, unsigned size, bool write, uint64_t *val)
{
	if ((size != 1 && size != 2 && size != 4) || off >= FRAME)
		return -EINVAL;
	uint64_t flags = spin_lock_irqsave(&u->lock);
	access_locked(u, (unsigned)off, size, write, val);
	spin_unlock_irqrestore(&u->lock, flags);
	return 0;
}

/* ---- the outside ---- */

void vuart_set_input_ready(void (*ready)(void))
{
	input_ready = ready;
}

bool vuart_rx_wait(struct vuart *u)
{
	bool room;

	uint64_t flags = spin_lock_irqsave(&u->lock);
	room = !u->connected || (u->cr & CR_LBE) || u->rx_count < VUART_RX_RING;
	if (!room)
		u->rx_waiting = true;
	spin_unlock_irqrestore(&u->lock, flags);
	return room;
}

bool vuart_rx(struct vuart *u, char c)
{
	bool ok;

	uint64_t flags = spin_lock_irqsave(&u->lock);
	/* loopback disconnects the receive input */
	ok = u->connected && !(u->cr & CR_LBE) && u->rx_count < VUART_RX_RING;
	if (ok) {
		ring_put(u, (uint8_t)c);
		if (u->rx_count <= VUART_RX_FIFO)
			rx_arrived(u);
		vuart_update_irq(u);
	}
	spin_unlock_irqrestore(&u->lock, flags);
	return ok;
}

unsigned vuart_rx_queued(struct vuart *u)
{
	unsigned n;

	uint64_t flags = spin_lock_irqsave(&u->lock);
	n = u->rx_count;
	spin_unlock_irqrestore(&u->lock, flags);
	return n;
}

void vuart_flush(struct vuart *u)
{
	uint64_t flags = spin_lock_irqsave(&u->lock);
	if (u->line_len)
		vuart_emit_line(u);
	/* The vGIC behind irq() is about to be freed or reinitialised: the
	 * line is forgotten, not lowered through it. */
	u->connected = false;
	u->level = false;
	rx_discard(u);
	spin_unlock_irqrestore(&u->lock, flags);
}

static void reset_locked(struct vuart *u)
{
	u->rsr = u->ilpr = u->ibrd = u->fbrd = u->lcr_h = u->dmacr = 0;
	u->imsc = u->ris = 0;
	u->cr = CR_RESET;
	u->ifls = IFLS_RESET;
	u->line_len = 0;
	rx_discard(u);
	vuart_update_irq(u);
}

void vuart_reset(struct vuart *u)
{
	uint64_t flags = spin_lock_irqsave(&u->lock);
	reset_locked(u);
	spin_unlock_irqrestore(&u->lock, flags);
}

void vuart_init(struct vuart *u, void (*out)(void *ctx, const char *line, size_t n),
		void (*irq)(void *ctx, bool level), void *ctx)
{
	uint64_t flags = spin_lock_irqsave(&u->lock);
	u->out = out;
	u->irq = irq;
	u->ctx = ctx;
	u->raw = NULL;
	u->level = false; /* a new vGIC: the line starts low */
	reset_locked(u);
	u->connected = true;
	spin_unlock_irqrestore(&u->lock, flags);
}

void vuart_set_raw(struct vuart *u, void (*raw)(void *ctx, char c))
{
	uint64_t flags = spin_lock_irqsave(&u->lock);
	if (u->line_len)
		vuart_emit_line(u);
	u->raw = raw;
	spin_unlock_irqrestore(&u->lock, flags);
}
