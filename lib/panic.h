/*
 * panic(): a hypervisor bug, never a guest's doing. The crash report itself
 * (registers, backtrace, stopping the other CPUs) is the architecture's
 * (arch/arm64/crash.c), registered at boot with panic_set_handler.
 */
#ifndef LIB_PANIC_H
#define LIB_PANIC_H

#include "lib/types.h"

/* Where panic() was called: enough for a backtrace. */
struct panic_site {
	uint64_t fp, sp, pc, lr;
};
/* Must not return. */
typedef void (*panic_handler_fn)(const char *reason, const struct panic_site *at);
void panic_set_handler(panic_handler_fn fn);

void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
