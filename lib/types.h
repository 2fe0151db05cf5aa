/*
 * Address types. Physical, intermediate-physical (guest) and hypervisor
 * virtual addresses are distinct structs so that passing one where another
 * is expected is a compile error, not a silent isolation bug.
 */
#ifndef ARCH_ARM64_TYPES_H
#define ARCH_ARM64_TYPES_H

/* tessera links as one image: every function it declares is in it, so
 * calls are direct branches, not loads from the GOT (what -fno-plt makes
 * of calls to symbols that might live in another module). */
#if !defined(TESSERA_HOST)
#pragma GCC visibility push(hidden)
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t v;
} paddr_t;
typedef struct {
	uint64_t v;
} ipaddr_t;
typedef struct {
	uintptr_t v;
} vaddr_t;

static inline paddr_t pa_init(uint64_t v)
{
	return (paddr_t){v};
}
static inline uint64_t pa_addr(paddr_t a)
{
	return a.v;
}
static inline ipaddr_t ipa_init(uint64_t v)
{
	return (ipaddr_t){v};
}
static inline uint64_t ipa_addr(ipaddr_t a)
{
	return a.v;
}
static inline vaddr_t va_init(uintptr_t v)
{
	return (vaddr_t){v};
}
static inline uintptr_t va_addr(vaddr_t a)
{
	return a.v;
}

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1ull << PAGE_SHIFT)
#define SZ_2M	   (1ull << 21)
#define SZ_1G	   (1ull << 30)

#define ALIGN_UP(x, a)	 (((x) + ((a)-1)) & ~((uint64_t)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((uint64_t)(a)-1)) == 0)
#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define BIT(n)		 (1ull << (n))
#define MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define MAX(a, b)	 ((a) > (b) ? (a) : (b))

#endif
