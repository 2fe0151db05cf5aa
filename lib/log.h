/*
 * Formatted console output for every layer. Where the bytes go is set once
 * at boot (log_set_sink); until then output is dropped. Lines from different
 * CPUs do not interleave.
 */
#ifndef LIB_LOG_H
#define LIB_LOG_H

#include "lib/types.h"
#include <stdarg.h>

/* Writes one byte to the console device ('\n' is passed as is). */
typedef void (*log_sink_fn)(char c);
void log_set_sink(log_sink_fn putc);

void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);
/* Raw console output, CR added before each LF. */
void console_putc(char c);
void console_write(const char *s, size_t n);
/* Lock-free output for the crash path (another CPU may hold the lock). */
void kprintf_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
