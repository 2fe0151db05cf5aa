/*
 * The emulated PL011 to and from a snapshot record (snapshot/snapshot.h
 * struct snap_pl011): registers, the input queue linearised (FIFO first)
 * and the unfinished output line.
 */
#include "kernel/vdev/internal.h"
#include "snapshot/snapshot.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vuart_save(struct vuart *u, struct snap_pl011 *out, uint8_t *rx, size_t rxmax, uint8_t *tx,
		size_t txmax)
{
	uint64_t flags = spin_lock_irqsave(&u->lock);
	memset(out, 0, sizeof(*out));
	out->rsr = u->rsr;
	out->ilpr = u->ilpr;
	out->ibrd = u->ibrd;
	out->fbrd = u->fbrd;
	out->lcr_h = u->lcr_h;
	out->cr = u->cr;
	out->ifls = u->ifls;
	out->imsc = u->imsc;
	out->dmacr = u->dmacr;
	out->ris = u->ris;
	out->flags = u->level ? SNAP_PL011_LEVEL : 0;
	unsigned n = (unsigned)MIN((size_t)u->rx_count, rxmax);
	for (unsigned i = 0; i < n; i++)
		rx[i] = u->rx[(u->rx_head + i) % VUART_RX_RING];
	out->rx_count = n;
	size_t t = MIN(u->line_len, txmax);
	if (t)
		memcpy(tx, u->line, t);
	out->tx_len = (uint32_t)t;
	spin_unlock_irqrestore(&u->lock, flags);
}

static int __attribute__((format(printf, 3, 4))) refuse(char *why, size_t n, const char *fmt, ...)
{
	if (why && n) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A register and the bits it has. */
struct reg_bits {
	const char *name;
	size_t field; /* in struct snap_pl011 */
	uint32_t mask;
};

static const struct reg_bits reg_bits[] = {
    {"UARTRSR", offsetof(struct snap_pl011, rsr), VUART_RSR_OE},
    {"UARTILPR", offsetof(struct snap_pl011, ilpr), VUART_ILPR_MASK},
    {"UARTIBRD", offsetof(struct snap_pl011, ibrd), VUART_IBRD_MASK},
    {"UARTFBRD", offsetof(struct snap_pl011, fbrd), VUART_FBRD_MASK},
    {"UARTLCR_H", offsetof(struct snap_pl011, lcr_h), VUART_LCR_H_MASK},
    {"UARTCR", offsetof(struct snap_pl011, cr), VUART_CR_MASK},
    {"UARTIFLS", offsetof(struct snap_pl011, ifls), VUART_IFLS_MASK},
    {"UARTIMSC", offsetof(struct snap_pl011, imsc), VUART_INT_ALL},
    {"UARTDMACR", offsetof(struct snap_pl011, dmacr), VUART_DMACR_MASK},
    {"UARTRIS", offsetof(struct snap_pl011, ris), VUART_INT_ALL},
    {"flags", offsetof(struct snap_pl011, flags), SNAP_PL011_LEVEL},
    {"reserved", offsetof(struct snap_pl011, reserved), 0},
};

static int check(const struct vuart *u, const struct snap_pl011 *in, char *why, size_t n)
{
	if (!u->connected)
		return refuse(why, n, "the device is not connected");
	if (in->rx_count > VUART_RX_RING)
		return refuse(why, n, "%u bytes of input queued, the device holds %u", in->rx_count,
			      VUART_RX_RING);
	if (in->tx_len >= VUART_LINE_MAX)
		return refuse(why, n, "an output line of %u bytes, the device keeps fewer than %u",
			      in->tx_len, VUART_LINE_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(reg_bits); i++) {
		uint32_t v;
		memcpy(&v, (const char *)in + reg_bits[i].field, sizeof(v));
		if (v & ~reg_bits[i].mask)
			return refuse(why, n, "%s 0x%x has bits outside 0x%x", reg_bits[i].name, v,
				      reg_bits[i].mask);
	}
	return 0;
}

int vuart_restore(struct vuart *u, const struct snap_pl011 *in, const uint8_t *rx,
		  const uint8_t *tx, char *why, size_t whylen)
{
	uint64_t flags = spin_lock_irqsave(&u->lock);
	int e = check(u, in, why, whylen);
	if (!e) {
		u->rsr = in->rsr;
		u->ilpr = in->ilpr;
		u->ibrd = in->ibrd;
		u->fbrd = in->fbrd;
		u->lcr_h = in->lcr_h;
		u->cr = in->cr;
		u->ifls = in->ifls;
		u->imsc = in->imsc;
		u->dmacr = in->dmacr;
		u->ris = in->ris;
		if (in->rx_count)
			memcpy(u->rx, rx, in->rx_count);
		u->rx_head = 0;
		u->rx_count = in->rx_count;
		if (in->tx_len)
			memcpy(u->line, tx, in->tx_len);
		u->line_len = in->tx_len;
		if (u->raw && u->line_len) /* raw mode assembles no lines */
			vuart_emit_line(u);
		vuart_update_irq(u);
		vuart_rx_room(u); /* the input it was refused for is gone */
	}
	spin_unlock_irqrestore(&u->lock, flags);
	return e;
}
