/*
 * SMMUv3 event records (Arm IHI 0070, 7.3), global errors (6.3.17) and
 * command errors (4.x, CMDQ_CONS.ERR) turned into names and one-line
 * descriptions. Portable: unit-tested on the host.
 */
#include <stdio.h>

#include "smmu/smmu_hw.h"

#define EVT_0_SSV     BIT(11)
#define EVT_1_PNU     BIT(33)
#define EVT_1_IND     BIT(34)
#define EVT_1_RNW     BIT(35) /* 1: read */
#define EVT_1_S2      BIT(39)
#define EVT_3_ADDR2_M 0x000ffffffffffff8ull /* FetchAddr/IPA [51:3] */

void evt_decode(const uint64_t e[EVT_DWORDS], struct smmu_evt *ev)
{
	ev->type = (uint8_t)(e[0] & 0xff);
	ev->ssv = e[0] & EVT_0_SSV;
	ev->ssid = (uint32_t)((e[0] >> 12) & 0xfffff);
	ev->sid = (uint32_t)(e[0] >> 32);
	ev->priv = e[1] & EVT_1_PNU;
	ev->instr = e[1] & EVT_1_IND;
	ev->read = e[1] & EVT_1_RNW;
	ev->s2 = e[1] & EVT_1_S2;
	ev->addr = e[2];
	ev->addr2 = e[3] & EVT_3_ADDR2_M;
}

struct name {
	unsigned v;
	const char *name;
};

static const struct name evt_names[] = {
    {EVT_F_UUT, "F_UUT"},
    {EVT_C_BAD_STREAMID, "C_BAD_STREAMID"},
    {EVT_F_STE_FETCH, "F_STE_FETCH"},
    {EVT_C_BAD_STE, "C_BAD_STE"},
    {EVT_F_BAD_ATS_TREQ, "F_BAD_ATS_TREQ"},
    {EVT_F_STREAM_DISABLED, "F_STREAM_DISABLED"},
    {EVT_F_TRANSL_FORBID, "F_TRANSL_FORBIDDEN"},
    {EVT_C_BAD_SUBSTREAMID, "C_BAD_SUBSTREAMID"},
    {EVT_F_CD_FETCH, "F_CD_FETCH"},
    {EVT_C_BAD_CD, "C_BAD_CD"},
    {EVT_F_WALK_EABT, "F_WALK_EABT"},
    {EVT_F_TRANSLATION, "F_TRANSLATION"},
    {EVT_F_ADDR_SIZE, "F_ADDR_SIZE"},
    {EVT_F_ACCESS, "F_ACCESS"},
    {EVT_F_PERMISSION, "F_PERMISSION"},
    {EVT_F_TLB_CONFLICT, "F_TLB_CONFLICT"},
    {EVT_F_CFG_CONFLICT, "F_CFG_CONFLICT"},
    {EVT_E_PAGE_REQUEST, "E_PAGE_REQUEST"},
    {EVT_F_VMS_FETCH, "F_VMS_FETCH"},
};

static const char *lookup(const struct name *t, size_t n, unsigned v, const char *dflt)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].name;
	return dflt;
}

const char *evt_type_name(unsigned type)
{
	return lookup(evt_names, ARRAY_SIZE(evt_names), type, "UNKNOWN");
}

/* The records whose layout has RnW/InD/PnU and the input address. */
bool evt_has_access(unsigned type)
{
	switch (type) {
	case EVT_F_UUT:
	case EVT_F_BAD_ATS_TREQ:
	case EVT_F_TRANSL_FORBID:
	case EVT_F_WALK_EABT:
	case EVT_F_TRANSLATION:
	case EVT_F_ADDR_SIZE:
	case EVT_F_ACCESS:
	case EVT_F_PERMISSION:
	case EVT_F_TLB_CONFLICT:
		return true;
	default:
		return false;
	}
}

bool evt_has_fetch(unsigned type)
{
	return type == EVT_F_STE_FETCH || type == EVT_F_CD_FETCH || type == EVT_F_WALK_EABT ||
	       type == EVT_F_VMS_FETCH;
}

static int access_str(const struct smmu_evt *ev, char *buf, size_t len)
{
	int n = snprintf(buf, len, " %s%s%s iova 0x%llx", ev->read ? "read" : "write",
			 ev->instr ? " instr" : "", ev->priv ? " priv" : "",
			 (unsigned long long)ev->addr);

	/* A stage-2 fault also gives the IPA the walk was for. */
	if (ev->s2 && ev->type >= EVT_F_TRANSLATION && ev->type <= EVT_F_PERMISSION && n >= 0 &&
	    (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " (stage 2, ipa 0x%llx)",
			      (unsigned long long)ev->addr2);
	return n;
}

/* QEMU (7.2) puts the F_CD_FETCH address in dword 2 instead of 3. */
static uint64_t fetch_addr(const struct smmu_evt *ev)
{
	return ev->addr2 ? ev->addr2 : ev->addr;
}

int evt_format(const struct smmu_evt *ev, const char *owner, char *buf, size_t len)
{
	char acc[96] = "", fetch[40] = "", ssid[24] = "";

	if (evt_has_access(ev->type))
		access_str(ev, acc, sizeof(acc));
	if (evt_has_fetch(ev->type))
		snprintf(fetch, sizeof(fetch), " fetch 0x%llx", (unsigned long long)fetch_addr(ev));
	if (ev->ssv)
		snprintf(ssid, sizeof(ssid), " ssid 0x%x", ev->ssid);
	return snprintf(buf, len, "stream 0x%04x (owner: %s) %s%s%s%s", ev->sid, owner,
			evt_type_name(ev->type), ssid, acc, fetch);
}

const char *gerror_bit_name(unsigned bit)
{
	static const char *const names[] = {
	    "CMDQ_ERR",		NULL,
	    "EVTQ_ABT_ERR",	"PRIQ_ABT_ERR",
	    "MSI_CMDQ_ABT_ERR", "MSI_EVTQ_ABT_ERR",
	    "MSI_PRIQ_ABT_ERR", "MSI_GERROR_ABT_ERR",
	    "SFM_ERR",
	};

	return bit < ARRAY_SIZE(names) ? names[bit] : NULL;
}

const char *cmdq_err_name(unsigned err)
{
	static const char *const names[] = {"NONE", "ILL", "ABT", "ATC_INV_SYNC"};

	return err < ARRAY_SIZE(names) ? names[err] : "IMPDEF";
}

static const struct name cmd_names[] = {
    {CMD_PREFETCH_CONFIG, "CMD_PREFETCH_CONFIG"}, {CMD_CFGI_STE, "CMD_CFGI_STE"},
    {CMD_CFGI_STE_RANGE, "CMD_CFGI_STE_RANGE"},	  {CMD_CFGI_CD, "CMD_CFGI_CD"},
    {CMD_CFGI_CD_ALL, "CMD_CFGI_CD_ALL"},	  {CMD_TLBI_NH_ASID, "CMD_TLBI_NH_ASID"},
    {CMD_TLBI_NH_VA, "CMD_TLBI_NH_VA"},		  {CMD_TLBI_EL2_ALL, "CMD_TLBI_EL2_ALL"},
    {CMD_TLBI_S12_VMALL, "CMD_TLBI_S12_VMALL"},	  {CMD_TLBI_S2_IPA, "CMD_TLBI_S2_IPA"},
    {CMD_TLBI_NSNH_ALL, "CMD_TLBI_NSNH_ALL"},	  {CMD_SYNC, "CMD_SYNC"},
};

const char *cmd_op_name(unsigned opcode)
{
	return lookup(cmd_names, ARRAY_SIZE(cmd_names), opcode, "unknown");
}
