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
