/*
 * PL011 console (polled) and a small printf: %s %c %d %i %u %x %X %p %%,
 * with l/ll/z length, '0'/'-' flags and a width. Enough for test output,
 * no floating point.
 */
#include "tguest.h"

#define UART_DR 0x00
#define UART_FR 0x18
#define FR_RXFE (1U << 4)
#define FR_TXFF (1U << 5)

void uart_putc(char c)
{
	while (mmio_read32(PL011_BASE + UART_FR) & FR_TXFF)
		;
	mmio_write32(PL011_BASE + UART_DR, (uint8_t)c);
}

int uart_getc(void)
{
	if (mmio_read32(PL011_BASE + UART_FR) & FR_RXFE)
		return -1;
	return (int)(mmio_read32(PL011_BASE + UART_DR) & 0xff);
}

/* Output sink: a buffer (snprintf) or the UART (buf == NULL). */
struct sink {
	char *buf;
	size_t size, pos;
};

static void emit(struct sink *s, char c)
{
	if (!s->buf) {
		/* Serial consoles want CR LF; harnesses strip the CR. */
		if (c == '\n')
			uart_putc('\r');
		uart_putc(c);
		return;
	}
	if (s->pos + 1 < s->size)
		s->buf[s->pos] = c;
	s->pos++;
}

static void emit_padded(struct sink *s, const char *str, size_t len, unsigned width, bool left,
			char pad)
{
	size_t i;

	for (i = len; !left && i < width; i++)
		emit(s, pad);
	for (i = 0; i < len; i++)
		emit(s, str[i]);
	for (i = len; left && i < width; i++)
		emit(s, ' ');
}

/* Digits of v in base (10 or 16) into the end of tmp; returns the start. */
static char *utoa(uint64_t v, unsigned base, bool upper, char *end)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;

	do {
		*--p = digits[v % base];
		v /= base;
	} while (v);
	return p;
}

static void emit_number(struct sink *s, uint64_t v, bool neg, unsigned base, bool upper,
			unsigned width, bool left, bool zero)
{
	char tmp[24];
	char *end = tmp + sizeof(tmp);
	char *p = utoa(v, base, upper, end);

	if (neg) {
		/* the sign goes before zero padding, after space padding */
		if (zero) {
			emit(s, '-');
			if (width)
				width--;
		} else {
			*--p = '-';
		}
	}
	emit_padded(s, p, (size_t)(end - p), width, left, zero && !left ? '0' : ' ');
}

/* Reads a d/i/u/x argument of the given length (0: int, 1: long, 2: long long). */
static uint64_t arg_unsigned(va_list *ap, int len)
{
	if (len >= 2)
		return va_arg(*ap, unsigned long long);
	if (len == 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned int);
}

static int64_t arg_signed(va_list *ap, int len)
{
	if (len >= 2)
		return va_arg(*ap, long long);
	if (len == 1)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	va_list args;

	va_copy(args, ap);
	for (; *fmt; fmt++) {
		bool left = false, zero = false;
		unsigned width = 0;
		int len = 0;

		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			len += *fmt == 'z' ? 2 : 1;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = arg_signed(&args, len);

			emit_number(s, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0, 10, false, width,
				    left, zero);
			break;
		}
		case 'u':
			emit_number(s, arg_unsigned(&args, len), false, 10, false, width, left,
				    zero);
			break;
		case 'x':
		case 'X':
			emit_number(s, arg_unsigned(&args, len), false, 16, *fmt == 'X', width,
				    left, zero);
			break;
		case 'p':
			emit(s, '0');
			emit(s, 'x');
			emit_number(s, (uintptr_t)va_arg(args, void *), false, 16, false, width,
				    left, zero);
			break;
		case 's': {
			const char *str = va_arg(args, const char *);

			if (!str)
				str = "(null)";
			emit_padded(s, str, tg_strlen(str), width, left, ' ');
			break;
		}
		case 'c':
			emit(s, (char)va_arg(args, int));
			break;
		case '%':
			emit(s, '%');
			break;
		case '\0':
			fmt--; /* a lone '%' at the end: stop at the NUL */
			break;
		default:
			/* unknown conversion: show it rather than guess its argument */
			emit(s, '%');
			emit(s, *fmt);
			break;
		}
	}
	va_end(args);
}

void tg_printf(const char *fmt, ...)
{
	struct sink s = {0};
	va_list ap;

	va_start(ap, fmt);
	format(&s, fmt, ap);
	va_end(ap);
}

void tg_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = {.buf = buf, .size = size};

	if (!size)
		return;
	format(&s, fmt, ap);
	buf[s.pos < size ? s.pos : size - 1] = '\0';
}

void tg_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tg_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}
