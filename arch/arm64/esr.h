/*
 * ESR_ELx decoding (portable; host-tested). Used by the crash report and by
 * trap dispatch.
 */
#ifndef ARCH_ARM64_ESR_H
#define ARCH_ARM64_ESR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESR_EC(esr)  (((esr) >> 26) & 0x3f)
#define ESR_IL(esr)  (((esr) >> 25) & 1)
#define ESR_ISS(esr) ((esr)&0x1ffffff)

/* Exception class names, e.g. "data abort (same EL)"; "unknown EC 0x3a". */
const char *esr_class_name(unsigned ec);
/* One line describing esr: class and, for aborts, fault status with level
 * and access direction, for SVC/HVC/SMC the immediate, for MSR/MRS traps the
 * register encoding. Returns the length written (snprintf semantics). */
int esr_describe(uint64_t esr, char *buf, size_t len);

/* ---- MMIO access decoding for data aborts with ISV=1 ---- */

#define ESR_EC_DABT_LOW 0x24
#define ESR_EC_DABT_CUR 0x25

/* The single-register load or store that faulted, from the ISS alone (ISV,
 * SAS, SSE, SRT, SF, AR, WnR): no need to read guest instructions. */
struct mmio_access {
	bool write;
	unsigned size; /* 1, 2, 4, 8 */
	unsigned reg;  /* 0..30, 31 = XZR */
	bool sign_extend;
	bool sf; /* 64-bit register */
	bool acquire_release;
};
#define ISS_ISV	     (1u << 24)
#define ISS_SAS(iss) (((iss) >> 22) & 3)
#define ISS_SSE	     (1u << 21)
#define ISS_SRT(iss) (((iss) >> 16) & 0x1f)
#define ISS_SF	     (1u << 15)
#define ISS_AR	     (1u << 14)
#define ISS_WNR	     (1u << 6)

/* The decoder itself, inline for the fast exit path (which knows the
 * class already): fills *a from the ISS; false if ISV = 0. */
static inline bool esr_mmio_iss(uint64_t esr, struct mmio_access *a)
{
	uint32_t iss = (uint32_t)ESR_ISS(esr);
	if (!(iss & ISS_ISV))
		return false;
	a->write = (iss & ISS_WNR) != 0;
	a->size = 1u << ISS_SAS(iss);
	a->reg = ISS_SRT(iss);
	a->sign_extend = (iss & ISS_SSE) != 0;
	a->sf = (iss & ISS_SF) != 0;
	a->acquire_release = (iss & ISS_AR) != 0;
	return true;
}
static inline uint64_t mmio_size_mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}
/* mmio_load_value, inline: the access's bytes shifted to the top and
 * back, arithmetically for a sign-extending load (nothing moves for 8) */
static inline uint64_t mmio_load(const struct mmio_access *a, uint64_t raw)
{
	if (a->size == 4 && !a->sign_extend) /* most device registers: one AND */
		return raw & 0xffffffffull;
	unsigned sh = 64 - 8 * a->size;
	uint64_t v = raw << sh;

	v = a->sign_extend ? (uint64_t)((int64_t)v >> sh) : v >> sh;
	return a->sf ? v : v & 0xffffffffull;
}

/* Fills *a; -EINVAL if esr is not a data abort (EC 0x24/0x25) or has no
 * valid instruction syndrome (ISV=0: e.g. load/store pair, writeback,
 * SIMD&FP or cache maintenance), which the caller cannot emulate. */
int esr_decode_mmio(uint64_t esr, struct mmio_access *a);
/* The value a load writes to its register, from the raw device value:
 * masked to the access size, sign-extended if SSE (to 64 bits, or to 32 for
 * a W register); a W destination has its upper 32 bits zero. */
uint64_t mmio_load_value(const struct mmio_access *a, uint64_t raw);
/* The value a store sends to the device: reg_value masked to the access
 * size. XZR (reg 31) reads as 0: the caller passes 0 for it. */
uint64_t mmio_store_value(const struct mmio_access *a, uint64_t reg_value);
/* Data/instruction abort helpers: fault on a stage-1 translation table
 * walk (S1PTW, ISS[7]); fault status code (DFSC/IFSC, ISS[5:0]). */
bool esr_dabt_is_s1ptw(uint64_t esr);
unsigned esr_dabt_fsc(uint64_t esr);

#endif
