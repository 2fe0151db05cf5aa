/*
 * libgcc routines that tessera provides itself. Built with
 * -mgeneral-regs-only, GCC turns __builtin_popcount* into calls to
 * __popcountdi2, and libgcc's aarch64 __popcountdi2 counts with SIMD (CNT
 * on a vector register), which would clobber a loaded guest's V registers
 * (arch/arm64/fpsimd.c). The linker takes these before libgcc.a's, and
 * tools/check-nofp.py fails the image if any libgcc routine with vector
 * instructions is linked in.
 */
#include "lib/libgcc.h"

/* Bits summed in pairs, nibbles, bytes, then the bytes added by one
 * multiply (the sum fits in the top byte). */
unsigned popcount64(uint64_t x)
{
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

#if !defined(TESSERA_HOST)
int __popcountdi2(long long x);
int __popcountsi2(int x);

int __popcountdi2(long long x)
{
	return (int)popcount64((uint64_t)x);
}

int __popcountsi2(int x)
{
	return (int)popcount64((uint32_t)x);
}
#endif
