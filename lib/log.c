/*
 * Console output. One lock serialises whole lines so CPUs do not interleave;
 * the crash path bypasses it because the crashing CPU may hold it.
 */
#include "lib/lock.h"
#include "lib/log.h"
#include <stdio.h>

static log_sink_fn sink;
static struct spinlock log_lock;

void log_set_sink(log_sink_fn putc)
{
	sink = putc;
}

void console_putc(char c)
{
	if (!sink)
		return;
	if (c == '\n')
		sink('\r');
	sink(c);
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
