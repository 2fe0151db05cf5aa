/* Frame-pointer backtrace (portable; host-tested over a fake stack). */
#ifndef LIB_BACKTRACE_H
#define LIB_BACKTRACE_H

#include "lib/types.h"

/* Follows the AArch64 frame record chain from fp. readable(addr) must say
 * whether 16 bytes at addr may be read. Stops at a NULL, misaligned,
 * unreadable or non-increasing frame, or after max entries. */
unsigned backtrace_walk(uint64_t fp, bool (*readable)(uint64_t addr), uint64_t *pcs, unsigned max);

#endif
