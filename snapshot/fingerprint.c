/* The CPU fingerprint: the ID registers a guest saw, compared on restore. */
#include "snapshot/internal.h"
#include <errno.h>
#include <stdio.h>

static const struct {
	uint32_t reg;
	const char *name;
} names[] = {
    {SNAP_MIDR_EL1, "MIDR_EL1"},
    {SNAP_REVIDR_EL1, "REVIDR_EL1"},
    {SNAP_ID_AA64PFR0_EL1, "ID_AA64PFR0_EL1"},
    {SNAP_ID_AA64PFR1_EL1, "ID_AA64PFR1_EL1"},
    {SNAP_ID_AA64ZFR0_EL1, "ID_AA64ZFR0_EL1"},
    {SNAP_ID_AA64DFR0_EL1, "ID_AA64DFR0_EL1"},
    {SNAP_ID_AA64DFR1_EL1, "ID_AA64DFR1_EL1"},
    {SNAP_ID_AA64ISAR0_EL1, "ID_AA64ISAR0_EL1"},
    {SNAP_ID_AA64ISAR1_EL1, "ID_AA64ISAR1_EL1"},
    {SNAP_ID_AA64ISAR2_EL1, "ID_AA64ISAR2_EL1"},
    {SNAP_ID_AA64MMFR0_EL1, "ID_AA64MMFR0_EL1"},
    {SNAP_ID_AA64MMFR1_EL1, "ID_AA64MMFR1_EL1"},
    {SNAP_ID_AA64MMFR2_EL1, "ID_AA64MMFR2_EL1"},
    {SNAP_CLIDR_EL1, "CLIDR_EL1"},
    {SNAP_CTR_EL0, "CTR_EL0"},
    {SNAP_DCZID_EL0, "DCZID_EL0"},
};

const char *snap_sysreg_name(uint32_t reg)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].reg == reg)
			return names[i].name;
	return NULL;
}

/* "ID_AA64PFR0_EL1" or "S3_0_C0_C4_0" */
static const char *reg_str(uint32_t reg, char *buf, size_t n)
{
	const char *name = snap_sysreg_name(reg);
	if (name)
		return name;
	snprintf(buf, n, "S%u_%u_C%u_C%u_%u", reg >> 14 & 3, reg >> 11 & 7, reg >> 7 & 15,
		 reg >> 3 & 15, reg & 7);
	return buf;
}

static const struct snap_idreg *find(const struct snap_idreg *r, uint32_t n, uint32_t reg)
{
	for (uint32_t i = 0; i < n; i++)
		if (r[i].reg == reg)
			return &r[i];
	return NULL;
}

int snap_fingerprint_check(const struct snap_image *m, const struct snap_idreg *cur, uint32_t n,
			   char *why, size_t whylen)
{
	char b[24];
	for (uint32_t i = 0; i < m->nfp; i++) {
		const struct snap_idreg *now = find(cur, n, m->fp[i].reg);
		if (!now)
			return snap_failn(why, whylen, -EPERM,
					  "%s was saved but is not offered now",
					  reg_str(m->fp[i].reg, b, sizeof(b)));
		if (now->value != m->fp[i].value)
			return snap_failn(
			    why, whylen, -EPERM, "%s was 0x%llx at the save, is 0x%llx now",
			    reg_str(m->fp[i].reg, b, sizeof(b)), (unsigned long long)m->fp[i].value,
			    (unsigned long long)now->value);
	}
	for (uint32_t i = 0; i < n; i++)
		if (!find(m->fp, m->nfp, cur[i].reg))
			return snap_failn(why, whylen, -EPERM,
					  "%s is offered now but was not saved",
					  reg_str(cur[i].reg, b, sizeof(b)));
	return 0;
}
