/*
 * SMMUv3 queue positions (Arm IHI 0070, 3.5.1): a PROD or CONS value holds
 * log2 bits of index and one wrap bit above them. The wrap bit flips each
 * time the index passes the end, which is what tells a full queue (same
 * index, different wrap) from an empty one (same index, same wrap).
 * Portable: unit-tested on the host.
 */
#include "smmu/smmu_hw.h"

/* Index and wrap bit together; the bits above are flags, not position. */
static uint32_t pos_mask(unsigned log2)
{
	return (2u << log2) - 1;
}

uint32_t q_idx(uint32_t p, unsigned log2)
{
	return p & ((1u << log2) - 1);
}

uint32_t q_wrap(uint32_t p, unsigned log2)
{
	return p & (1u << log2);
}

/* The carry out of the index lands in the wrap bit; the carry out of the
 * wrap bit is dropped, so the wrap bit toggles on every pass. */
uint32_t q_inc(uint32_t p, unsigned log2)
{
	return (p + 1) & pos_mask(log2);
}

bool q_empty(uint32_t prod, uint32_t cons, unsigned log2)
{
	return ((prod ^ cons) & pos_mask(log2)) == 0;
}

bool q_full(uint32_t prod, uint32_t cons, unsigned log2)
{
	return q_idx(prod, log2) == q_idx(cons, log2) && q_wrap(prod, log2) != q_wrap(cons, log2);
}

/* Positions count modulo 2^(log2+1), twice the queue size, so the
 * difference is the number of entries between cons and prod, 0..2^log2. */
uint32_t q_used(uint32_t prod, uint32_t cons, unsigned log2)
{
	return (prod - cons) & pos_mask(log2);
}

uint32_t q_space(uint32_t prod, uint32_t cons, unsigned log2)
{
	return (1u << log2) - q_used(prod, cons, log2);
}
