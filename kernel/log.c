/*
 * Console output. One lock serialises whole lines so CPUs do not interleave;
 * the crash path bypasses it because the crashing CPU may hold it.
 */
#include "kernel/kernel.h"
#include "kernel/internal.h"
#include "arch/arm64/arch.h"
#include "drivers/drivers.h"
#include <stdio.h>

static uintptr_t uart;
static struct spinlock log_lock;

void console_init(uintptr_t base)
{
	uart = base;
	pl011_init(base);
}

uintptr_t console_base(void)
{
	return uart;
}

void console_putc(char c)
{
	if (!uart)
		return;
	if (c == '\n')
		pl011_putc(uart, '\r');
	pl011_putc(uart, c);
}

void console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		console_putc(s[i]);
}

static void emit(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	console_write(buf, MIN((size_t)n, sizeof(buf) - 1));
}

void kvprintf(const char *fmt, va_list ap)
{
	uint64_t flags = spin_lock_irqsave(&log_lock);
	emit(fmt, ap);
	spin_unlock_irqrestore(&log_lock, flags);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

void kprintf_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}
