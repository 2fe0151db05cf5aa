/*
 * Replacements for libgcc routines whose libgcc versions use vector
 * registers (lib/libgcc.c), and the portable code behind them.
 */
#ifndef LIB_LIBGCC_H
#define LIB_LIBGCC_H

#include <stdint.h>

/* Set bits in x, with general registers only. */
unsigned popcount64(uint64_t x);

#endif
