/*
 * ESR_ELx decoding for crash reports and trap dispatch. Portable C (only
 * snprintf) so that it runs unchanged in host unit tests. Encodings follow
 * the Arm ARM (DDI 0487), "ESR_EL2, Exception Syndrome Register (EL2)".
 */
#include "arch/arm64/esr.h"
#include <errno.h>
#include <stdio.h>

/* Unallocated classes get a constant name too: no static buffer, so the
 * function stays safe on the crash path and from several CPUs at once. */
#define UNALLOC(ec) [ec] = "unknown EC " #ec

static const char *const class_names[64] = {
    [0x00] = "unknown reason",
    [0x01] = "WFI/WFE",
    UNALLOC(0x02),
    [0x03] = "MCR/MRC (CP15)",
    [0x04] = "MCRR/MRRC (CP15)",
    [0x05] = "MCR/MRC (CP14)",
    [0x06] = "LDC/STC (CP14)",
    [0x07] = "SVE/SIMD/FP access",
    [0x08] = "VMRS (CP10 ID group)",
    [0x09] = "pointer authentication instruction",
    [0x0a] = "LD64B/ST64B or other instruction",
    UNALLOC(0x0b),
    [0x0c] = "MRRC (CP14)",
    [0x0d] = "branch target exception",
    [0x0e] = "illegal execution state",
    UNALLOC(0x0f),
    UNALLOC(0x10),
    [0x11] = "SVC (AArch32)",
    [0x12] = "HVC (AArch32)",
    [0x13] = "SMC (AArch32)",
    UNALLOC(0x14),
    [0x15] = "SVC (AArch64)",
    [0x16] = "HVC (AArch64)",
    [0x17] = "SMC (AArch64)",
    [0x18] = "MSR/MRS/system instruction",
    [0x19] = "SVE access",
    [0x1a] = "ERET",
    [0x1b] = "TSTART (TME)",
    [0x1c] = "pointer authentication failure",
    [0x1d] = "SME access",
    [0x1e] = "granule protection check",
    [0x1f] = "implementation defined (EL3)",
    [0x20] = "instruction abort (lower EL)",
    [0x21] = "instruction abort (same EL)",
    [0x22] = "PC alignment fault",
    UNALLOC(0x23),
    [0x24] = "data abort (lower EL)",
    [0x25] = "data abort (same EL)",
    [0x26] = "SP alignment fault",
    [0x27] = "memory operation (MOPS)",
    [0x28] = "FP exception (AArch32)",
    UNALLOC(0x29),
    UNALLOC(0x2a),
    UNALLOC(0x2b),
    [0x2c] = "FP exception (AArch64)",
    [0x2d] = "guarded control stack",
    UNALLOC(0x2e),
    [0x2f] = "SError",
    [0x30] = "breakpoint (lower EL)",
    [0x31] = "breakpoint (same EL)",
    [0x32] = "software step (lower EL)",
    [0x33] = "software step (same EL)",
    [0x34] = "watchpoint (lower EL)",
    [0x35] = "watchpoint (same EL)",
    UNALLOC(0x36),
    UNALLOC(0x37),
    [0x38] = "BKPT (AArch32)",
    UNALLOC(0x39),
    [0x3a] = "vector catch (AArch32)",
    UNALLOC(0x3b),
    [0x3c] = "BRK (AArch64)",
    UNALLOC(0x3d),
    UNALLOC(0x3e),
    UNALLOC(0x3f),
};

const char *esr_class_name(unsigned ec)
{
	if (ec >= sizeof(class_names) / sizeof(class_names[0]))
		return "invalid EC";
	return class_names[ec];
}

/* ---- output: snprintf semantics over several appends ---- */

struct out {
	char *buf;
	size_t len;
	size_t pos; /* characters produced so far, even past len */
};

static char *out_ptr(const struct out *o)
{
	return o->pos < o->len ? o->buf + o->pos : NULL;
}

static size_t out_room(const struct out *o)
{
	return o->pos < o->len ? o->len - o->pos : 0;
}

static void out_advance(struct out *o, int n)
{
	if (n > 0)
		o->pos += (size_t)n;
}

/* Once the buffer is full, later appends only count (snprintf(NULL, 0)). */
#define OUT(o, ...) out_advance((o), snprintf(out_ptr(o), out_room(o), __VA_ARGS__))

/* ---- fault status codes (DFSC/IFSC, ISS[5:0]) ---- */

#define NO_LEVEL 100

/* A run of codes first..last; level = level0 + (fsc - first). */
struct fsc_range {
	uint8_t first, last;
	int8_t level0;
	const char *name;
};

static const struct fsc_range fsc_ranges[] = {
    {0x00, 0x03, 0, "address size fault"},
    {0x04, 0x07, 0, "translation fault"},
    {0x08, 0x0b, 0, "access flag fault"},
    {0x0c, 0x0f, 0, "permission fault"},
    {0x10, 0x10, NO_LEVEL, "synchronous external abort"},
    {0x11, 0x11, NO_LEVEL, "synchronous tag check fault"},
    {0x13, 0x13, -1, "synchronous external abort on table walk"},
    {0x14, 0x17, 0, "synchronous external abort on table walk"},
    {0x18, 0x18, NO_LEVEL, "synchronous parity/ECC error"},
    {0x1b, 0x1b, -1, "synchronous parity/ECC error on table walk"},
    {0x1c, 0x1f, 0, "synchronous parity/ECC error on table walk"},
    {0x21, 0x21, NO_LEVEL, "alignment fault"},
    {0x23, 0x23, -1, "granule protection fault on table walk"},
    {0x24, 0x27, 0, "granule protection fault on table walk"},
    {0x28, 0x28, NO_LEVEL, "granule protection fault"},
    {0x29, 0x29, -1, "address size fault"},
    {0x2b, 0x2b, -1, "translation fault"},
    {0x30, 0x30, NO_LEVEL, "TLB conflict abort"},
    {0x31, 0x31, NO_LEVEL, "unsupported atomic hardware update fault"},
    {0x34, 0x34, NO_LEVEL, "implementation defined fault (lockdown)"},
    {0x35, 0x35, NO_LEVEL, "implementation defined fault (unsupported exclusive or atomic)"},
};

static void put_fsc(struct out *o, unsigned fsc)
{
	for (size_t i = 0; i < sizeof(fsc_ranges) / sizeof(fsc_ranges[0]); i++) {
		const struct fsc_range *r = &fsc_ranges[i];
		if (fsc < r->first || fsc > r->last)
			continue;
		if (r->level0 == NO_LEVEL)
			OUT(o, "%s", r->name);
		else
			OUT(o, "%s, level %d", r->name, r->level0 + (int)(fsc - r->first));
		return;
	}
	OUT(o, "fault status 0x%02x", fsc);
}

/* ---- per-class ISS decoders ---- */

#define ISS_FNV	  (1u << 10)
#define ISS_CM	  (1u << 8)
#define ISS_S1PTW (1u << 7)

/* Rt as a register name: 31 is the zero register in loads and stores. */
static void put_reg(struct out *o, unsigned r, int wide)
{
	if (r == 31)
		OUT(o, "%s", wide ? "xzr" : "wzr");
	else
		OUT(o, "%c%u", wide ? 'x' : 'w', r);
}

static void put_abort(struct out *o, uint32_t iss, int data)
{
	static const char *const sizes[] = {"byte", "halfword", "word", "doubleword"};

	put_fsc(o, iss & 0x3f);
	if (iss & ISS_S1PTW)
		OUT(o, ", on stage 1 walk");
	if (data && (iss & ISS_CM))
		OUT(o, ", cache maintenance");
	if (data)
		OUT(o, ", %s", (iss & ISS_WNR) ? "write" : "read");
	/* FnV is RES0 for faults that always have a valid FAR */
	OUT(o, ", FAR %s", (iss & ISS_FNV) ? "not valid" : "valid");
	if (data && (iss & ISS_ISV)) {
		OUT(o, ", ISV: SAS=%s, SRT=", sizes[(iss >> 22) & 3]);
		put_reg(o, (iss >> 16) & 0x1f, (iss & ISS_SF) != 0);
	}
}

/* EC 0x18: the register in the S<op0>_<op1>_C<n>_C<m>_<op2> form that
 * assemblers accept for any system register. */
static void put_sysreg(struct out *o, uint32_t iss)
{
	unsigned op0 = (iss >> 20) & 3, op2 = (iss >> 17) & 7, op1 = (iss >> 14) & 7;
	unsigned crn = (iss >> 10) & 0xf, rt = (iss >> 5) & 0x1f, crm = (iss >> 1) & 0xf;

	OUT(o, "S%u_%u_C%u_C%u_%u, %s, Rt=", op0, op1, crn, crm, op2, (iss & 1) ? "read" : "write");
	put_reg(o, rt, 1);
}

static void put_iss(struct out *o, unsigned ec, uint32_t iss)
{
	switch (ec) {
	case 0x20:
	case 0x21:
		put_abort(o, iss, 0);
		break;
	case 0x24:
	case 0x25:
		put_abort(o, iss, 1);
		break;
	case 0x11: /* SVC/HVC carry the immediate; SMC (AArch32) does not */
	case 0x12:
	case 0x15:
	case 0x16:
	case 0x17:
	case 0x3c:
		OUT(o, "imm16 0x%04x", (unsigned)(iss & 0xffff));
		break;
	case 0x18:
		put_sysreg(o, iss);
		break;
	default:
		OUT(o, "ISS 0x%x", (unsigned)iss);
		break;
	}
}

int esr_describe(uint64_t esr, char *buf, size_t len)
{
	struct out o = {buf, len, 0};
	unsigned ec = (unsigned)ESR_EC(esr);

	if (len)
		buf[0] = '\0';
	OUT(&o, "EC 0x%02x %s: ", ec, esr_class_name(ec));
	put_iss(&o, ec, (uint32_t)ESR_ISS(esr));
	return o.pos > (size_t)0x7fffffff ? 0x7fffffff : (int)o.pos;
}

/* ---- MMIO access decoding (data aborts with ISV=1) ---- */

int esr_decode_mmio(uint64_t esr, struct mmio_access *a)
{
	unsigned ec = (unsigned)ESR_EC(esr);

	if ((ec != ESR_EC_DABT_LOW && ec != ESR_EC_DABT_CUR) || !esr_mmio_iss(esr, a))
		return -EINVAL;
	return 0;
}

uint64_t mmio_load_value(const struct mmio_access *a, uint64_t raw)
{
	return mmio_load(a, raw);
}

uint64_t mmio_store_value(const struct mmio_access *a, uint64_t reg_value)
{
	return reg_value & mmio_size_mask(a->size);
}

bool esr_dabt_is_s1ptw(uint64_t esr)
{
	return (ESR_ISS(esr) & ISS_S1PTW) != 0;
}

unsigned esr_dabt_fsc(uint64_t esr)
{
	return (unsigned)(ESR_ISS(esr) & 0x3f);
}
