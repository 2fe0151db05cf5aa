/*
 * lib/: what every layer may use, and it uses nothing above it: types and
 * address types, formatted logging, panic, spinlocks, frame-pointer
 * backtraces, symbol lookup, physical range lists, newlib's host glue and
 * the libgcc routines that must not use vector registers.
 * Each concern has its own header; this one includes them all.
 */
#ifndef LIB_LIB_H
#define LIB_LIB_H

#include "lib/backtrace.h"
#include "lib/ksyms.h"
#include "lib/libgcc.h"
#include "lib/lock.h"
#include "lib/log.h"
#include "lib/memrange.h"
#include "lib/panic.h"
#include "lib/types.h"

#endif
