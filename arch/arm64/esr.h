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

/* MMIO access decoding for data aborts with ISV=1. */
struct mmio_access {
	bool write;
	unsigned size; /* 1, 2, 4, 8 */
	unsigned reg;  /* 0..30, 31 = XZR */
	bool sign_extend;
	bool sf; /* 64-bit register */
	bool acquire_release;
};
int esr_decode_mmio(uint64_t esr, struct mmio_access *a);
uint64_t mmio_load_value(const struct mmio_access *a, uint64_t raw);
uint64_t mmio_store_value(const struct mmio_access *a, uint64_t reg_value);

#endif
