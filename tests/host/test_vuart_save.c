/*
 * PL011 snapshots (kernel/vdev/vuart_save.c): a device with registers
 * programmed, input queued (FIFO and behind it, across the ring's end) and
 * half a line written is saved and restored into a freshly connected
 * device. The guest must then read the same registers and bytes from both,
 * the restored device must finish the line the original started, and its
 * interrupt line must be recomputed. Then every refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "kernel/vdev/vuart.h"
#include "snapshot/snapshot.h"

#define DR    0x000
#define RSR   0x004
#define FR    0x018
#define ILPR  0x020
#define IBRD  0x024
#define FBRD  0x028
#define LCR_H 0x02c
#define CR    0x030
#define IFLS  0x034
#define IMSC  0x038
#define RIS   0x03c
#define MIS   0x040
#define ICR   0x044
#define DMACR 0x048

#define INT_OE 0x400
#define INT_RT 0x40
#define INT_TX 0x20
#define INT_RX 0x10
#define CR_LBE 0x80

/* What one device's callbacks saw. */
struct sink {
	char lines[8][VUART_LINE_MAX + 1];
	unsigned nlines;
	bool level;
	unsigned irq_calls;
	char raw[64];
	unsigned nraw;
};

static void out(void *ctx, const char *line, size_t n)
{
	struct sink *s = ctx;
	assert_true(s->nlines < 8);
	assert_true(n <= VUART_LINE_MAX);
	memcpy(s->lines[s->nlines], line, n);
	s->lines[s->nlines++][n] = '\0';
}

static void irq(void *ctx, bool level)
{
	struct sink *s = ctx;
	assert_true(level != s->level); /* called on changes only */
	s->level = level;
	s->irq_calls++;
}

static void raw(void *ctx, char c)
{
	struct sink *s = ctx;
	assert_true(s->nraw < sizeof(s->raw));
	s->raw[s->nraw++] = c;
}

static struct vuart a, b;
static struct sink sa, sb;

static unsigned ready_calls; /* the console's input-ready hook */
static void input_ready(void)
{
	ready_calls++;
}

static int setup(void **state)
{
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	vuart_set_input_ready(input_ready);
	vuart_init(&a, out, irq, &sa);
	vuart_init(&b, out, irq, &sb);
	ready_calls = 0;
	return 0;
}

static uint32_t rd(struct vuart *u, uint64_t off)
{
	uint64_t v = 0xdeadbeef;
	assert_int_equal(vuart_access(u, off, 4, false, &v), 0);
	return (uint32_t)v;
}

static void wr(struct vuart *u, uint64_t off, uint32_t val)
{
	uint64_t v = val;
	assert_int_equal(vuart_access(u, off, 4, true, &v), 0);
}

static void puts_dr(struct vuart *u, const char *s)
{
	while (*s)
		wr(u, DR, (uint8_t)*s++);
}

/* A record with room for anything the device can hold. */
struct rec {
	struct snap_pl011 h;
	uint8_t rx[SNAP_PL011_RX_MAX];
	uint8_t tx[SNAP_PL011_TX_MAX];
};
static struct rec r, r2;

static void save(struct vuart *u, struct rec *x)
{
	memset(x, 0xa5, sizeof(*x));
	vuart_save(u, &x->h, x->rx, sizeof(x->rx), x->tx, sizeof(x->tx));
}

static int restore(struct vuart *u, const struct rec *x, char *why, size_t n)
{
	return vuart_restore(u, &x->h, x->rx, x->tx, why, n);
}

/* The registers a guest reads without side effects. */
static void same_registers(void)
{
	static const uint16_t regs[] = {RSR, FR,   ILPR, IBRD, FBRD, LCR_H,
					CR,  IFLS, IMSC, RIS,  MIS,  DMACR};
	for (size_t i = 0; i < ARRAY_SIZE(regs); i++)
		assert_int_equal(rd(&a, regs[i]), rd(&b, regs[i]));
}

/* Programmed registers, an overrun seen in loopback, 100 bytes queued
 * with the ring's start wrapped past its end, half a line written. */
static void build(void)
{
	wr(&a, IBRD, 0x1a);
	wr(&a, FBRD, 0x3);
	wr(&a, ILPR, 0x7);
	wr(&a, LCR_H, 0x70);
	wr(&a, IFLS, 0x24);
	wr(&a, DMACR, 0x1);
	wr(&a, CR, 0x301 | CR_LBE);
	for (unsigned i = 0; i < VUART_RX_FIFO + 1; i++) /* the last one overruns */
		wr(&a, DR, 'L');
	wr(&a, CR, 0x301);
	for (unsigned i = 0; i < VUART_RX_FIFO; i++)
		rd(&a, DR);
	/* the ring's start near its end, then input across the wrap */
	for (unsigned i = 0; i < VUART_RX_RING - 40 - VUART_RX_FIFO; i++) {
		assert_true(vuart_rx(&a, 'x'));
		rd(&a, DR);
	}
	for (unsigned i = 0; i < 100; i++)
		assert_true(vuart_rx(&a, (char)('!' + i % 90)));
	wr(&a, ICR, INT_TX);
	wr(&a, IMSC, INT_RX | INT_RT | INT_OE);
	puts_dr(&a, "half a li");
	assert_true(sa.level);
}

static void save_encodes_the_device(void **state)
{
	build();
	save(&a, &r);
	assert_int_equal(r.h.ibrd, 0x1a);
	assert_int_equal(r.h.fbrd, 0x3);
	assert_int_equal(r.h.ilpr, 0x7);
	assert_int_equal(r.h.lcr_h, 0x70);
	assert_int_equal(r.h.ifls, 0x24);
	assert_int_equal(r.h.dmacr, 0x1);
	assert_int_equal(r.h.cr, 0x301);
	assert_int_equal(r.h.rsr, 0x8); /* OE */
	assert_int_equal(r.h.imsc, INT_RX | INT_RT | INT_OE);
	assert_int_equal(r.h.ris, INT_RX | INT_RT | INT_OE | INT_TX);
	assert_int_equal(r.h.flags, SNAP_PL011_LEVEL);
	assert_int_equal(r.h.reserved, 0);
	assert_int_equal(r.h.rx_count, 100);
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(r.rx[i], '!' + i % 90);
	assert_int_equal(r.h.tx_len, 9);
	assert_memory_equal(r.tx, "half a li", 9);
	/* smaller buffers take what fits */
	static struct snap_pl011 h;
	uint8_t rx[10], tx[4];
	vuart_save(&a, &h, rx, sizeof(rx), tx, sizeof(tx));
	assert_int_equal(h.rx_count, 10);
	assert_int_equal(h.tx_len, 4);
	assert_memory_equal(tx, "half", 4);
	assert_int_equal(rx[9], '!' + 9);
}

/* The guest reads the same from both, byte by byte, with the same flags
 * and interrupt state after each; then finishes its line on the restored
 * device, which prints it whole. */
static void round_trip(void **state)
{
	char why[96] = "";
	build();
	save(&a, &r);
	assert_int_equal(restore(&b, &r, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(sb.irq_calls, 1); /* raised once: RX & IMSC */
	assert_true(sb.level);
	save(&b, &r2);
	assert_memory_equal(&r.h, &r2.h, sizeof(r.h));
	assert_memory_equal(r.rx, r2.rx, r.h.rx_count);
	assert_memory_equal(r.tx, r2.tx, r.h.tx_len);
	same_registers();
	assert_int_equal(vuart_rx_queued(&b), 100);
	for (unsigned i = 0; i < 100; i++) {
		assert_int_equal(rd(&a, DR), rd(&b, DR));
		if (i % 7 == 0) {
			wr(&a, ICR, INT_RX | INT_RT);
			wr(&b, ICR, INT_RX | INT_RT);
		}
		same_registers();
		assert_int_equal(sa.level, sb.level);
	}
	assert_int_equal(rd(&b, FR) & 0x10, 0x10); /* RXFE */
	wr(&b, ICR, INT_OE);
	assert_false(sb.level);
	/* the ring works on from where the restore put it */
	for (unsigned i = 0; i < VUART_RX_RING; i++)
		assert_true(vuart_rx(&b, (char)i));
	assert_false(vuart_rx_wait(&b));
	for (unsigned i = 0; i < VUART_RX_RING; i++)
		assert_int_equal(rd(&b, DR), (uint8_t)i);

	assert_int_equal(sb.nlines, 0);
	puts_dr(&b, "ne\r\n");
	assert_int_equal(sb.nlines, 1);
	assert_string_equal(sb.lines[0], "half a line");
}

/* The line is recomputed from RIS & IMSC, whatever the record's flag. */
static void line_recomputed(void **state)
{
	assert_true(vuart_rx(&a, 'q'));
	save(&a, &r); /* IMSC 0: the line low */
	assert_int_equal(r.h.flags, 0);
	r.h.flags = SNAP_PL011_LEVEL;
	assert_int_equal(restore(&b, &r, NULL, 0), 0);
	assert_int_equal(sb.irq_calls, 0);
	assert_false(sb.level);
	wr(&b, IMSC, INT_RX);
	assert_true(sb.level);
	assert_int_equal(sb.irq_calls, 1);

	/* and raised when the record says low but RIS & IMSC is not 0 */
	setup(NULL);
	wr(&a, IMSC, INT_TX);
	puts_dr(&a, "x");
	save(&a, &r);
	r.h.flags = 0;
	assert_int_equal(restore(&b, &r, NULL, 0), 0);
	assert_int_equal(sb.irq_calls, 1);
	assert_true(sb.level);
}

/* An empty device round-trips to an empty one; nothing is printed. */
static void empty_round_trip(void **state)
{
	save(&a, &r);
	assert_int_equal(r.h.rx_count, 0);
	assert_int_equal(r.h.tx_len, 0);
	assert_int_equal(r.h.cr, 0x300);
	assert_int_equal(r.h.ifls, 0x12);
	assert_int_equal(vuart_restore(&b, &r.h, NULL, NULL, NULL, 0), 0);
	same_registers();
	assert_int_equal(sb.irq_calls, 0);
	assert_int_equal(sb.nlines, 0);
}

/* In raw mode the device assembles no line: the partial one is printed
 * at once, ahead of what the guest writes next. */
static void raw_mode_prints_the_partial_line(void **state)
{
	puts_dr(&a, "prompt> ");
	save(&a, &r);
	vuart_set_raw(&b, raw);
	assert_int_equal(restore(&b, &r, NULL, 0), 0);
	assert_int_equal(sb.nlines, 1);
	assert_string_equal(sb.lines[0], "prompt> ");
	puts_dr(&b, "ls");
	assert_int_equal(sb.nraw, 2);
	assert_memory_equal(sb.raw, "ls", 2);
}

/* Input queued before the restore is replaced by the saved input; a
 * console refused because that filled the ring hears there is room. */
static void restore_replaces_input(void **state)
{
	assert_true(vuart_rx(&a, 's'));
	save(&a, &r);
	for (unsigned i = 0; i < VUART_RX_RING; i++)
		assert_true(vuart_rx(&b, 'o'));
	assert_false(vuart_rx_wait(&b));
	assert_int_equal(ready_calls, 0);
	assert_int_equal(restore(&b, &r, NULL, 0), 0);
	assert_int_equal(ready_calls, 1);
	assert_true(vuart_rx_wait(&b));
	assert_int_equal(vuart_rx_queued(&b), 1);
	assert_int_equal(rd(&b, DR), 's');

	/* restored full: the console is refused and told once it drains */
	setup(NULL);
	for (unsigned i = 0; i < VUART_RX_RING; i++)
		assert_true(vuart_rx(&a, (char)i));
	save(&a, &r);
	assert_int_equal(restore(&b, &r, NULL, 0), 0);
	assert_int_equal(ready_calls, 0);
	assert_false(vuart_rx_wait(&b));
	assert_int_equal(rd(&b, DR), 0);
	assert_int_equal(ready_calls, 1);
}

/* ---- refusals ---- */

struct bad {
	const char *what;
	void (*spoil)(struct rec *x);
};

static void bad_rx_count(struct rec *x)
{
	x->h.rx_count = VUART_RX_RING + 1;
}
static void bad_tx_len(struct rec *x)
{
	x->h.tx_len = VUART_LINE_MAX + 1;
}
static void bad_tx_full(struct rec *x)
{
	x->h.tx_len = VUART_LINE_MAX; /* the device prints such a line at once */
}
static void bad_rsr(struct rec *x)
{
	x->h.rsr = 0x1; /* FE: never raised */
}
static void bad_ilpr(struct rec *x)
{
	x->h.ilpr = 0x100;
}
static void bad_ibrd(struct rec *x)
{
	x->h.ibrd = 0x10000;
}
static void bad_fbrd(struct rec *x)
{
	x->h.fbrd = 0x40;
}
static void bad_lcr_h(struct rec *x)
{
	x->h.lcr_h = 0x100;
}
static void bad_cr(struct rec *x)
{
	x->h.cr |= 0x8;
}
static void bad_ifls(struct rec *x)
{
	x->h.ifls = 0x40;
}
static void bad_imsc(struct rec *x)
{
	x->h.imsc = 0x800;
}
static void bad_dmacr(struct rec *x)
{
	x->h.dmacr = 0x8;
}
static void bad_ris(struct rec *x)
{
	x->h.ris = 0x1000;
}
static void bad_flags(struct rec *x)
{
	x->h.flags = 2;
}
static void bad_reserved(struct rec *x)
{
	x->h.reserved = 1;
}

static void every_refusal(void **state)
{
	static const struct bad bad[] = {
	    {"4097 bytes of input", bad_rx_count},
	    {"line of 257 bytes", bad_tx_len},
	    {"line of 256 bytes", bad_tx_full},
	    {"UARTRSR 0x1", bad_rsr},
	    {"UARTILPR", bad_ilpr},
	    {"UARTIBRD", bad_ibrd},
	    {"UARTFBRD", bad_fbrd},
	    {"UARTLCR_H", bad_lcr_h},
	    {"UARTCR 0x309", bad_cr},
	    {"UARTIFLS", bad_ifls},
	    {"UARTIMSC", bad_imsc},
	    {"UARTDMACR", bad_dmacr},
	    {"UARTRIS", bad_ris},
	    {"flags 0x2", bad_flags},
	    {"reserved", bad_reserved},
	};
	static struct rec good, x;
	static struct vuart before;
	wr(&a, IMSC, INT_RX);
	wr(&a, CR, 0x301);
	for (unsigned i = 0; i < 50; i++)
		vuart_rx(&a, 'g');
	puts_dr(&a, "part");
	save(&a, &good);
	/* b holds something of its own, so "untouched" means something */
	wr(&b, IBRD, 0x55);
	vuart_rx(&b, 'b');
	for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
		char why[128] = "";
		memcpy(&x, &good, sizeof(x));
		bad[k].spoil(&x);
		memcpy(&before, &b, sizeof(before));
		unsigned calls = sb.irq_calls, lines = sb.nlines;
		int e = vuart_restore(&b, &x.h, x.rx, x.tx, why, sizeof(why));
		if (e != -EINVAL)
			fail_msg("case %zu (%s): %d", k, bad[k].what, e);
		if (!strstr(why, bad[k].what))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", k, why, bad[k].what);
		/* the lock is a ticket pair: taken and released, it moved on */
		before.lock = b.lock;
		assert_memory_equal(&before, &b, sizeof(b));
		assert_int_equal(sb.irq_calls, calls);
		assert_int_equal(sb.nlines, lines);
		assert_int_equal(vuart_restore(&b, &x.h, x.rx, x.tx, NULL, 0), -EINVAL);
	}
	/* the good one goes in */
	assert_int_equal(restore(&b, &good, NULL, 0), 0);
	assert_int_equal(rd(&b, IBRD), 0);
	assert_int_equal(vuart_rx_queued(&b), 50);

	/* a disconnected device takes nothing */
	char why[96] = "";
	vuart_flush(&b);
	assert_int_equal(restore(&b, &good, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not connected"));
	assert_int_equal(vuart_rx_queued(&b), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
	    T(save_encodes_the_device),
	    T(round_trip),
	    T(line_recomputed),
	    T(empty_round_trip),
	    T(raw_mode_prints_the_partial_line),
	    T(restore_replaces_input),
	    T(every_refusal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
