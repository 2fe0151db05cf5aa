/*
 * panic(): formats the reason and hands it, with the caller's frame, to the
 * crash handler the architecture registered. Before that (very early boot)
 * it prints the reason and stops this CPU.
 */
#include "lib/log.h"
#include "lib/panic.h"
#include <stdio.h>

static panic_handler_fn handler;

void panic_set_handler(panic_handler_fn fn)
{
	handler = fn;
}

void panic(const char *fmt, ...)
{
	struct panic_site at = {0};
	char reason[256]; /* on the stack: two CPUs may panic at once */
	va_list ap;

#if defined(__aarch64__) && !defined(TESSERA_HOST)
	/* x29 is panic's own frame record, so the backtrace starts with the
	 * return address into the caller */
	__asm__ volatile("msr daifset, #2\n\tmov %0, x29\n\tmov %1, sp\n\tadr %2, ."
			 : "=r"(at.fp), "=r"(at.sp), "=r"(at.pc)::"memory");
#endif
	at.lr = (uint64_t)(uintptr_t)__builtin_return_address(0);
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (handler)
		handler(reason, &at);
	kprintf_panic("\npanic before the crash handler was set: %s\n", reason);
	for (;;)
#if defined(__aarch64__) && !defined(TESSERA_HOST)
		__asm__ volatile("wfi");
#else
		;
#endif
}
