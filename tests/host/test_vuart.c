/*
 * Emulated PL011: ID registers, flags, output line assembly, receive FIFO
 * and the input queued behind it (refill, flow control towards the
 * console), interrupt status and line, access checks, reset, the
 * connected/disconnected lifetime. Offsets and bits from
 * the PL011 TRM; interrupt behaviour as QEMU's hw/char/pl011.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "kernel/vdev/vuart.h"

#define DR    0x000
#define RSR   0x004
#define FR    0x018
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

#define FR_TXFE 0x80
#define FR_RXFF 0x40
#define FR_TXFF 0x20
#define FR_RXFE 0x10
#define FR_BUSY 0x08
#define FR_CTS	0x01

#define INT_OE 0x400
#define INT_RT 0x40
#define INT_TX 0x20
#define INT_RX 0x10

/* What the callbacks saw. */
struct sink {
	char lines[8][VUART_LINE_MAX + 1];
	size_t lens[8];
	unsigned nlines;
	bool level;
	unsigned irq_calls;
};

static void out(void *ctx, const char *line, size_t n)
{
	struct sink *s = ctx;

	assert_true(s->nlines < 8);
	assert_true(n <= VUART_LINE_MAX);
	memcpy(s->lines[s->nlines], line, n);
	s->lines[s->nlines][n] = '\0';
	s->lens[s->nlines++] = n;
}

static void irq(void *ctx, bool level)
{
	struct sink *s = ctx;

	assert_true(level != s->level); /* called on changes only */
	s->level = level;
	s->irq_calls++;
}

static struct vuart u;
static struct sink sink;
static unsigned ready_calls; /* the console's input-ready hook */

static void input_ready(void)
{
	/* called with the device's lock held: it must be taken */
	assert_int_not_equal(u.lock.next, u.lock.owner);
	ready_calls++;
}

static int setup(void **state)
{
	memset(&sink, 0, sizeof(sink));
	ready_calls = 0;
	vuart_set_input_ready(input_ready);
	vuart_init(&u, out, irq, &sink);
	return 0;
}

static uint32_t rd(uint64_t off)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(vuart_access(&u, off, 4, false, &v), 0);
	return (uint32_t)v;
}

static void wr(uint64_t off, uint32_t val)
{
	uint64_t v = val;

	assert_int_equal(vuart_access(&u, off, 4, true, &v), 0);
}

static void puts_dr(const char *s)
{
	while (*s) {
		uint64_t v = (uint8_t)*s++;
		assert_int_equal(vuart_access(&u, DR, 1, true, &v), 0); /* earlycon: STRB */
	}
}

static void test_ids(void **state)
{
	static const uint32_t want[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(rd(0xfe0 + 4 * i), want[i]);
	wr(0xfe0, 0x55); /* read-only */
	assert_int_equal(rd(0xfe0), 0x11);
}

static void test_reset_values(void **state)
{
	assert_int_equal(rd(CR), 0x300);
	assert_int_equal(rd(IFLS), 0x12);
	assert_int_equal(rd(LCR_H), 0);
	assert_int_equal(rd(IMSC), 0);
	assert_int_equal(rd(RIS), 0);
	assert_int_equal(rd(MIS), 0);
	assert_int_equal(rd(RSR), 0);
	assert_int_equal(rd(0x100), 0); /* a reserved offset */
	wr(0x100, 0xffffffff);
	assert_int_equal(rd(0x100), 0);
}

static void test_flags(void **state)
{
	uint32_t fr = rd(FR);

	assert_int_equal(fr & (FR_TXFE | FR_RXFE | FR_CTS), FR_TXFE | FR_RXFE | FR_CTS);
	assert_int_equal(fr & (FR_TXFF | FR_RXFF | FR_BUSY), 0);
	puts_dr("x"); /* transmitting leaves TXFE set, BUSY clear */
	assert_int_equal(rd(FR) & (FR_TXFE | FR_BUSY), FR_TXFE);
	assert_true(vuart_rx(&u, 'a'));
	assert_int_equal(rd(FR) & (FR_RXFE | FR_RXFF), 0);
}

static void test_plain_registers(void **state)
{
	wr(IBRD, 0x12345);
	assert_int_equal(rd(IBRD), 0x2345); /* 16 bits */
	wr(FBRD, 0xff);
	assert_int_equal(rd(FBRD), 0x3f); /* 6 bits */
	wr(LCR_H, 0x70);
	assert_int_equal(rd(LCR_H), 0x70);
	wr(DMACR, 0xff);
	assert_int_equal(rd(DMACR), 0x7);
	uint64_t v = 0x301; /* 16-bit access, as Linux's readw/writew */
	assert_int_equal(vuart_access(&u, CR, 2, true, &v), 0);
	v = 0;
	assert_int_equal(vuart_access(&u, CR, 2, false, &v), 0);
	assert_int_equal(v, 0x301);
	assert_int_equal(vuart_access(&u, CR + 1, 1, false, &v), 0); /* high byte */
	assert_int_equal(v, 0x03);
}

static void test_tx_lines(void **state)
{
	puts_dr("hello\r\nworld");
	assert_int_equal(sink.nlines, 1);
	assert_string_equal(sink.lines[0], "hello");
	assert_int_equal(sink.lens[0], 5);
	puts_dr("!\n\n");
	assert_int_equal(sink.nlines, 3);
	assert_string_equal(sink.lines[1], "world!");
	assert_int_equal(sink.lens[2], 0); /* an empty line is still a line */
	vuart_flush(&u);		   /* nothing pending: no call */
	assert_int_equal(sink.nlines, 3);
	puts_dr("tail");
	vuart_flush(&u);
	assert_int_equal(sink.nlines, 4);
	assert_string_equal(sink.lines[3], "tail");
}

static void test_tx_long_line(void **state)
{
	for (unsigned i = 0; i < VUART_LINE_MAX + 3; i++)
		puts_dr("a");
	assert_int_equal(sink.nlines, 1);
	assert_int_equal(sink.lens[0], VUART_LINE_MAX);
	puts_dr("\n");
	assert_int_equal(sink.nlines, 2);
	assert_string_equal(sink.lines[1], "aaa");
}

static void test_rx_fifo(void **state)
{
	for (unsigned i = 0; i < VUART_RX_FIFO; i++)
		assert_true(vuart_rx(&u, (char)('A' + i)));
	assert_int_equal(rd(FR) & (FR_RXFF | FR_RXFE), FR_RXFF);
	assert_true(vuart_rx(&u, '!')); /* queued behind the FIFO, not an overrun */
	assert_int_equal(rd(RSR), 0);
	assert_int_equal(rd(RIS) & INT_OE, 0);
	for (unsigned i = 0; i < VUART_RX_FIFO; i++)
		assert_int_equal(rd(DR), 'A' + i);
	assert_int_equal(rd(DR), '!');
	assert_int_equal(rd(FR) & FR_RXFE, FR_RXFE);
	assert_int_equal(rd(DR), 0);	/* empty: reads 0 */
	assert_true(vuart_rx(&u, 'z')); /* wraps around */
	assert_int_equal(rd(DR), 'z');
}

/* A paste larger than the FIFO: the FIFO stays full while input waits
 * behind it, and every byte comes out in order. */
static void test_rx_refill(void **state)
{
	const unsigned n = 100;

	for (unsigned i = 0; i < n; i++)
		assert_true(vuart_rx(&u, (char)i));
	assert_int_equal(vuart_rx_queued(&u), n);
	for (unsigned i = 0; i < n; i++) {
		unsigned left = n - i;
		assert_int_equal(rd(FR) & FR_RXFF, left >= VUART_RX_FIFO ? FR_RXFF : 0);
		assert_int_equal(rd(FR) & FR_RXFE, 0);
		assert_int_equal(rd(DR), i);
	}
	assert_int_equal(rd(FR) & FR_RXFE, FR_RXFE);
	assert_int_equal(vuart_rx_queued(&u), 0);
	assert_int_equal(ready_calls, 0); /* nobody was refused */
}

/* A byte moving from the queue into the FIFO is a received byte: RX and
 * RT are raised again even after the guest cleared them (Linux's handler
 * reads until RXFE, and must get another interrupt for a refill). */
static void test_rx_refill_interrupt(void **state)
{
	wr(IMSC, INT_RX | INT_RT);
	for (unsigned i = 0; i < VUART_RX_FIFO + 2; i++)
		vuart_rx(&u, 'q');
	assert_true(sink.level);
	wr(ICR, INT_RX | INT_RT);
	assert_false(sink.level);
	rd(DR); /* byte 33 enters the FIFO */
	assert_true(sink.level);
	assert_int_equal(rd(RIS) & (INT_RX | INT_RT), INT_RX | INT_RT);
	wr(ICR, INT_RX | INT_RT);
	rd(DR); /* byte 34 enters */
	assert_true(sink.level);
	wr(ICR, INT_RX | INT_RT);
	rd(DR); /* nothing left to enter: no new arrival */
	assert_false(sink.level);
	for (unsigned i = 0; i < VUART_RX_FIFO - 1; i++)
		rd(DR);
	assert_int_equal(rd(FR) & FR_RXFE, FR_RXFE);
	assert_false(sink.level);
}

/* Flow control: the ring takes VUART_RX_RING bytes; then the console is
 * told to wait, and the hook calls it back once, after the first read. */
static void test_rx_ring_full(void **state)
{
	unsigned n = 0;

	while (n <= VUART_RX_RING && vuart_rx_wait(&u))
		assert_true(vuart_rx(&u, (char)(n++ & 0x7f)));
	assert_int_equal(n, VUART_RX_RING);
	assert_int_equal(vuart_rx_queued(&u), VUART_RX_RING);
	assert_false(vuart_rx(&u, 'x')); /* refused, not flagged to the guest */
	assert_int_equal(rd(RSR), 0);
	assert_int_equal(rd(RIS) & INT_OE, 0);
	assert_int_equal(ready_calls, 0);
	assert_int_equal(rd(DR), 0);
	assert_int_equal(ready_calls, 1);
	assert_int_equal(rd(DR), 1);
	assert_int_equal(ready_calls, 1); /* once per refusal */
	assert_true(vuart_rx_wait(&u));
	assert_true(vuart_rx(&u, 'y'));
	assert_true(vuart_rx(&u, 'z'));
	assert_false(vuart_rx_wait(&u)); /* full again */
	vuart_reset(&u);		 /* discards: room, so the console is called */
	assert_int_equal(ready_calls, 2);
	assert_int_equal(vuart_rx_queued(&u), 0);
	assert_int_equal(rd(FR) & FR_RXFE, FR_RXFE);
}

/* Random interleavings of console input (as much as the ring takes) and
 * guest reads against a model: no byte lost, duplicated or reordered,
 * across many wraps of the ring. */
static void test_rx_random_order(void **state)
{
	uint32_t seed = 12345, next_in = 0, next_out = 0;

	for (unsigned round = 0; round < 2000; round++) {
		seed = seed * 1103515245u + 12345u;
		unsigned burst = (seed >> 16) % (VUART_RX_RING + 100);
		for (unsigned i = 0; i < burst && vuart_rx_wait(&u); i++)
			assert_true(vuart_rx(&u, (char)(next_in++ * 7 % 251)));
		assert_int_equal(vuart_rx_queued(&u), next_in - next_out);
		seed = seed * 1103515245u + 12345u;
		unsigned reads = (seed >> 16) % (VUART_RX_RING + 100);
		for (unsigned i = 0; i < reads && next_out < next_in; i++)
			assert_int_equal(rd(DR), (uint8_t)(next_out++ * 7 % 251));
	}
	while (next_out < next_in)
		assert_int_equal(rd(DR), (uint8_t)(next_out++ * 7 % 251));
	assert_int_equal(rd(FR) & FR_RXFE, FR_RXFE);
	assert_true(next_in > 100 * VUART_RX_RING);
}

static void test_rx_interrupt(void **state)
{
	wr(IMSC, INT_RX | INT_RT);
	assert_int_equal(sink.irq_calls, 0);
	vuart_rx(&u, 'a');
	vuart_rx(&u, 'b');
	assert_int_equal(rd(RIS) & (INT_RX | INT_RT), INT_RX | INT_RT);
	assert_int_equal(rd(MIS), INT_RX | INT_RT);
	assert_true(sink.level);
	assert_int_equal(sink.irq_calls, 1);
	assert_int_equal(rd(DR), 'a');
	assert_true(sink.level); /* still data */
	assert_int_equal(rd(DR), 'b');
	assert_false(sink.level); /* drained */
	assert_int_equal(rd(RIS) & (INT_RX | INT_RT), 0);
	assert_int_equal(sink.irq_calls, 2);
	/* ICR clears; the next byte sets them again */
	vuart_rx(&u, 'c');
	wr(ICR, INT_RX | INT_RT);
	assert_false(sink.level);
	assert_int_equal(rd(FR) & FR_RXFE, 0);
	vuart_rx(&u, 'd');
	assert_true(sink.level);
}

static void test_tx_interrupt(void **state)
{
	puts_dr("a");
	assert_int_equal(rd(RIS) & INT_TX, INT_TX); /* set by every DR write */
	assert_int_equal(rd(MIS), 0);		    /* masked */
	assert_false(sink.level);
	wr(IMSC, INT_TX);
	assert_true(sink.level);
	assert_int_equal(rd(MIS), INT_TX);
	wr(ICR, INT_TX);
	assert_false(sink.level);
	assert_int_equal(rd(RIS) & INT_TX, 0);
	puts_dr("b");
	assert_true(sink.level);
	wr(IMSC, 0); /* masking lowers the line, RIS stays */
	assert_false(sink.level);
	assert_int_equal(rd(RIS) & INT_TX, INT_TX);
	assert_int_equal(sink.irq_calls, 4);
}

static void test_icr_write_one_to_clear(void **state)
{
	wr(IMSC, 0x7ff);
	puts_dr("a");
	vuart_rx(&u, 'x');
	assert_int_equal(rd(RIS), INT_TX | INT_RX | INT_RT);
	wr(ICR, INT_TX); /* only the bits written as 1 */
	assert_int_equal(rd(RIS), INT_RX | INT_RT);
	assert_true(sink.level);
	wr(ICR, 0);
	assert_int_equal(rd(RIS), INT_RX | INT_RT);
	wr(ICR, 0x7ff);
	assert_int_equal(rd(RIS), 0);
	assert_false(sink.level);
	assert_int_equal(rd(IMSC), 0x7ff);
	wr(IMSC, 0xffffffff);
	assert_int_equal(rd(IMSC), 0x7ff);
}

static void test_loopback(void **state)
{
	wr(CR, 0x381); /* UARTEN | TXE | RXE | LBE */
	puts_dr("q\n");
	assert_int_equal(sink.nlines, 0); /* not on the console */
	assert_int_equal(rd(DR), 'q');
	assert_int_equal(rd(DR), '\n');
	assert_true(vuart_rx_wait(&u));	 /* never holds the console up */
	assert_false(vuart_rx(&u, 'x')); /* input disconnected */
	assert_int_equal(rd(FR) & FR_RXFE, FR_RXFE);
	for (unsigned i = 0; i <= VUART_RX_FIFO; i++)
		puts_dr("L"); /* one more than the FIFO holds: an overrun */
	assert_int_equal(rd(RSR) & 0x8, 0x8);
	assert_int_equal(rd(RIS) & INT_OE, INT_OE);
	assert_int_equal(vuart_rx_queued(&u), VUART_RX_FIFO);
	wr(RSR, 0); /* UARTECR */
	assert_int_equal(rd(RSR), 0);
}

static void test_invalid_access(void **state)
{
	uint64_t v = 0;

	assert_int_equal(vuart_access(&u, FR, 8, false, &v), -EINVAL);
	assert_int_equal(vuart_access(&u, FR, 3, false, &v), -EINVAL);
	assert_int_equal(vuart_access(&u, FR, 0, true, &v), -EINVAL);
	assert_int_equal(vuart_access(&u, 0x1000, 4, false, &v), -EINVAL);
	assert_int_equal(vuart_access(&u, UINT64_MAX, 1, false, &v), -EINVAL);
	v = 'x';
	assert_int_equal(vuart_access(&u, DR, 8, true, &v), -EINVAL);
	vuart_flush(&u);
	assert_int_equal(sink.nlines, 0); /* nothing was transmitted */
	assert_int_equal(vuart_access(&u, 0xffc, 4, false, &v), 0);
	assert_int_equal(v, 0xb1);
}

static void test_reset(void **state)
{
	wr(IMSC, INT_TX);
	wr(IBRD, 13);
	wr(LCR_H, 0x70);
	puts_dr("partial");
	vuart_rx(&u, 'k');
	assert_true(sink.level);
	vuart_reset(&u);
	assert_false(sink.level); /* lowered, via irq() */
	assert_int_equal(rd(IMSC), 0);
	assert_int_equal(rd(RIS), 0);
	assert_int_equal(rd(IBRD), 0);
	assert_int_equal(rd(LCR_H), 0);
	assert_int_equal(rd(CR), 0x300);
	assert_int_equal(rd(FR) & FR_RXFE, FR_RXFE);
	vuart_flush(&u); /* the partial line was discarded */
	assert_int_equal(sink.nlines, 0);
	puts_dr("new\n");
	assert_string_equal(sink.lines[0], "new");
}

static char raw_seen[64];
static size_t raw_len;

static void raw(void *ctx, char c)
{
	assert_ptr_equal(ctx, &sink);
	assert_true(raw_len + 1 < sizeof(raw_seen));
	raw_seen[raw_len++] = c;
	raw_seen[raw_len] = 0;
}

/* Console focus: a partial line is flushed as a line when passthrough
 * starts, then bytes (prompts, echo, CR) go out one by one, unassembled. */
static void test_raw_passthrough(void **state)
{
	raw_len = 0;
	puts_dr("boot");
	vuart_set_raw(&u, raw);
	assert_int_equal(sink.nlines, 1);
	assert_string_equal(sink.lines[0], "boot");
	puts_dr("/ # ls\r\n");
	assert_string_equal(raw_seen, "/ # ls\r\n");
	assert_int_equal(sink.nlines, 1); /* nothing went through out() */
	vuart_set_raw(&u, NULL);
	puts_dr("back\n");
	assert_int_equal(sink.nlines, 2);
	assert_string_equal(sink.lines[1], "back");
	assert_int_equal(raw_len, 8);
}

/* The partition stopped: the partial line goes out, queued input is
 * dropped, a waiting console is released, and until the next vuart_init
 * input is refused and irq() (the old vGIC) is never called. */
static void test_flush_disconnects(void **state)
{
	wr(IMSC, INT_RX | INT_TX);
	puts_dr("last words");
	for (unsigned i = 0; i < VUART_RX_RING; i++)
		assert_true(vuart_rx(&u, 'k'));
	assert_false(vuart_rx_wait(&u)); /* full: the console waits */
	assert_true(sink.level);
	unsigned calls = sink.irq_calls;
	vuart_flush(&u);
	assert_int_equal(sink.nlines, 1);
	assert_string_equal(sink.lines[0], "last words");
	assert_int_equal(ready_calls, 1);
	assert_int_equal(vuart_rx_queued(&u), 0);
	assert_true(vuart_rx_wait(&u)); /* never makes the console wait */
	assert_false(vuart_rx(&u, 'a'));
	puts_dr("x"); /* a late guest write raises nothing */
	assert_int_equal(sink.irq_calls, calls);
	vuart_flush(&u); /* twice is harmless */
	assert_int_equal(sink.irq_calls, calls);

	sink.level = false; /* the next start brings a fresh vGIC */
	vuart_init(&u, out, irq, &sink);
	assert_int_equal(sink.irq_calls, calls); /* starts low, silently */
	assert_true(vuart_rx(&u, 'b'));
	wr(IMSC, INT_RX);
	assert_true(sink.level);
	assert_int_equal(rd(DR), 'b');
}

/* Zero-initialised (a partition never started): disconnected. */
static void test_starts_disconnected(void **state)
{
	static struct vuart fresh;

	assert_true(vuart_rx_wait(&fresh));
	assert_false(vuart_rx(&fresh, 'a'));
	assert_int_equal(vuart_rx_queued(&fresh), 0);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_ids),
	    T(test_reset_values),
	    T(test_flags),
	    T(test_plain_registers),
	    T(test_tx_lines),
	    T(test_tx_long_line),
	    T(test_rx_fifo),
	    T(test_rx_interrupt),
	    T(test_tx_interrupt),
	    T(test_icr_write_one_to_clear),
	    T(test_loopback),
	    T(test_invalid_access),
	    T(test_reset),
	    T(test_raw_passthrough),
	    T(test_rx_refill),
	    T(test_rx_refill_interrupt),
	    T(test_rx_ring_full),
	    T(test_rx_random_order),
	    T(test_flush_disconnects),
	    T(test_starts_disconnected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
