/*
 * SMMUv3 ID register decoding (Arm IHI 0070, 6.3.1-6.3.6 and 6.3.8).
 * Portable so the host unit tests can feed it known register values.
 */
#include "smmu/smmu.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Bits [hi:lo] of reg; fields here are at most 16 bits wide. */
static unsigned field(uint32_t reg, unsigned hi, unsigned lo)
{
	return (reg >> lo) & ((1u << (hi - lo + 1)) - 1);
}

static bool bit(uint32_t reg, unsigned n)
{
	return (reg >> n) & 1;
}

static void decode_idr0(uint32_t idr0, struct smmu_features *f)
{
	f->s2p = bit(idr0, 0);
	f->s1p = bit(idr0, 1);
	f->ttf = field(idr0, 3, 2);
	f->coherent = bit(idr0, 4);
	f->btm = bit(idr0, 5);
	f->httu = field(idr0, 7, 6);
	f->hyp = bit(idr0, 9);
	f->ats = bit(idr0, 10);
	f->asid16 = bit(idr0, 12);
	f->msi = bit(idr0, 13);
	f->sev = bit(idr0, 14);
	f->pri = bit(idr0, 16);
	f->vmid16 = bit(idr0, 18);
	f->cd2l = bit(idr0, 19);
	f->ttendian = field(idr0, 22, 21);
	f->stall_model = field(idr0, 25, 24);
	f->term_model = bit(idr0, 26);
	f->two_level_st = field(idr0, 28, 27) == 1; /* 2 and 3 are reserved */
}

static void decode_idr1(uint32_t idr1, struct smmu_features *f)
{
	f->sid_bits = field(idr1, 5, 0);
	f->ssid_bits = field(idr1, 10, 6);
	f->priq_log2 = field(idr1, 15, 11);
	f->evtq_log2 = field(idr1, 20, 16);
	f->cmdq_log2 = field(idr1, 25, 21);
}

/* OAS encodings 0-6; 7 is reserved and decodes to 0 (unknown). */
static const unsigned oas_bits[] = {32, 36, 40, 42, 44, 48, 52};

static void decode_idr5(uint32_t idr5, struct smmu_features *f)
{
	unsigned oas = field(idr5, 2, 0);

	f->oas_bits = oas < ARRAY_SIZE(oas_bits) ? oas_bits[oas] : 0;
	f->gran4k = bit(idr5, 4);
	f->gran16k = bit(idr5, 5);
	f->gran64k = bit(idr5, 6);
	f->va_bits = field(idr5, 11, 10) == 1 ? 52 : 48;
}

void smmu_decode_idr(uint32_t idr0, uint32_t idr1, uint32_t idr5, uint32_t aidr,
		     struct smmu_features *f)
{
	memset(f, 0, sizeof(*f));
	decode_idr0(idr0, f);
	decode_idr1(idr1, f);
	decode_idr5(idr5, f);
	f->version = field(aidr, 3, 0); /* ArchMajorRev [7:4] is 0 for every v3.x */
}

/* snprintf that keeps going past a full buffer, counting what it would need. */
struct sbuf {
	char *buf;
	size_t len, pos;
};

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	bool room = sb->pos < sb->len;
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(room ? sb->buf + sb->pos : NULL, room ? sb->len - sb->pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->pos += (size_t)n;
}

static const char *ttf_name(unsigned ttf)
{
	static const char *const names[] = {"none", "AArch32", "AArch64", "AArch32+AArch64"};

	return names[ttf & 3];
}

static void print_flags(struct sbuf *sb, const struct smmu_features *f)
{
	const struct {
		bool on;
		const char *name;
	} flags[] = {
	    {f->coherent, "coherent"},
	    {f->msi, "MSI"},
	    {f->ats, "ATS"},
	    {f->pri, "PRI"},
	    {f->btm, "BTM"},
	    {f->hyp, "HYP"},
	    {f->asid16, "ASID16"},
	    {f->vmid16, "VMID16"},
	    {f->cd2l, "CD2L"},
	    {f->sev, "SEV"},
	    {f->httu == 1, "HTTU-A"},
	    {f->httu == 2, "HTTU-AD"},
	    {f->stall_model == 0 || f->stall_model == 2, "stall"},
	};
	const char *sep = " | ";

	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		if (flags[i].on) {
			sb_printf(sb, "%s%s", sep, flags[i].name);
			sep = ", ";
		}
	}
}

int smmu_features_str(const struct smmu_features *f, char *buf, size_t len)
{
	struct sbuf sb = {buf, len, 0};

	if (buf && len)
		buf[0] = '\0';
	sb_printf(&sb, "stages: %s%s%s | TTF %s", f->s1p ? "S1" : "", f->s1p && f->s2p ? "+" : "",
		  f->s2p ? "S2" : (f->s1p ? "" : "none"), ttf_name(f->ttf));
	sb_printf(&sb, " | streams: %s, %u SID bits, %u SSID bits",
		  f->two_level_st ? "2-level" : "linear", f->sid_bits, f->ssid_bits);
	sb_printf(&sb, " | OAS %u bits | granules:%s%s%s", f->oas_bits, f->gran4k ? " 4K" : "",
		  f->gran16k ? " 16K" : "", f->gran64k ? " 64K" : "");
	sb_printf(&sb, " | cmdq 2^%u, evtq 2^%u", f->cmdq_log2, f->evtq_log2);
	print_flags(&sb, f);
	sb_printf(&sb, " | SMMUv3.%u", f->version);
	return (int)sb.pos;
}
