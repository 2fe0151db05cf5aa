/*
 * The portable half of the NVMe driver: PRP construction and status code
 * names. No MMIO, no allocation: the host tests exercise it directly.
 */
#include "drivers/drivers.h"
#include "drivers/nvme_hw.h"
#include <errno.h>

#define PAGE_OFF(a) ((a) & (NVME_PAGE - 1))

/* Room for entries in the list page from list_iova on: a list that crossed
 * a page boundary would need chaining, which the driver never needs (one
 * page holds 512 entries, max_xfer needs at most 129). */
static uint64_t list_room(uint64_t list_iova, unsigned list_max)
{
	uint64_t in_page = (NVME_PAGE - PAGE_OFF(list_iova)) / sizeof(uint64_t);

	return MIN(in_page, (uint64_t)list_max);
}

/* Base 4.3: PRP1 may start anywhere dword aligned; every later page is
 * page aligned. Two pages: PRP2 is the second page itself. More: PRP2
 * points at a list holding the addresses of pages 2..n. */
int nvme_build_prps(uint64_t iova, uint64_t len, uint64_t *prp1, uint64_t *prp2, uint64_t *list,
		    uint64_t list_iova, unsigned list_max)
{
	uint64_t first = NVME_PAGE - PAGE_OFF(iova); /* bytes PRP1 covers */

	if (!len || (iova & 3) || len - 1 > UINT64_MAX - iova)
		return -EINVAL;
	*prp1 = iova;
	*prp2 = 0;
	if (len <= first)
		return 0;
	uint64_t next = iova + first; /* page aligned from here on */
	uint64_t pages = (len - first + NVME_PAGE - 1) >> NVME_PAGE_SHIFT;
	if (pages == 1) {
		*prp2 = next;
		return 0;
	}
	if (!list || (list_iova & 7) || pages > list_room(list_iova, list_max))
		return -EINVAL;
	for (uint64_t i = 0; i < pages; i++)
		list[i] = next + i * NVME_PAGE;
	*prp2 = list_iova;
	return 0;
}

struct status_name {
	uint16_t code; /* SCT<<8 | SC */
	const char *name;
};

/* Base 2.0 figures 101 and 102, NVM Command Set 1.0 figure 31 (the codes a
 * block driver can meet; the rest fall back to their type's name). */
static const struct status_name status_names[] = {
    {0x000, "Successful Completion"},
    {0x001, "Invalid Command Opcode"},
    {0x002, "Invalid Field in Command"},
    {0x003, "Command ID Conflict"},
    {0x004, "Data Transfer Error"},
    {0x005, "Commands Aborted due to Power Loss Notification"},
    {0x006, "Internal Error"},
    {0x007, "Command Abort Requested"},
    {0x008, "Command Aborted due to SQ Deletion"},
    {0x009, "Command Aborted due to Failed Fused Command"},
    {0x00a, "Command Aborted due to Missing Fused Command"},
    {0x00b, "Invalid Namespace or Format"},
    {0x00c, "Command Sequence Error"},
    {0x00d, "Invalid SGL Segment Descriptor"},
    {0x00e, "Invalid Number of SGL Descriptors"},
    {0x00f, "Data SGL Length Invalid"},
    {0x012, "Invalid Use of Controller Memory Buffer"},
    {0x013, "PRP Offset Invalid"},
    {0x015, "Operation Denied"},
    {0x01d, "Sanitize In Progress"},
    {0x020, "Namespace is Write Protected"},
    {0x021, "Command Interrupted"},
    {0x022, "Transient Transport Error"},
    {0x080, "LBA Out of Range"},
    {0x081, "Capacity Exceeded"},
    {0x082, "Namespace Not Ready"},
    {0x083, "Reservation Conflict"},
    {0x084, "Format In Progress"},
    {0x100, "Completion Queue Invalid"},
    {0x101, "Invalid Queue Identifier"},
    {0x102, "Invalid Queue Size"},
    {0x108, "Invalid Interrupt Vector"},
    {0x109, "Invalid Log Page"},
    {0x10a, "Invalid Format"},
    {0x10c, "Invalid Queue Deletion"},
    {0x180, "Conflicting Attributes"},
    {0x181, "Invalid Protection Information"},
    {0x182, "Attempted Write to Read Only Range"},
    {0x280, "Write Fault"},
    {0x281, "Unrecovered Read Error"},
    {0x282, "End-to-end Guard Check Error"},
    {0x283, "End-to-end Application Tag Check Error"},
    {0x284, "End-to-end Reference Tag Check Error"},
    {0x285, "Compare Failure"},
    {0x286, "Access Denied"},
    {0x287, "Deallocated or Unwritten Logical Block"},
    {0x300, "Internal Path Error"},
    {0x371, "Command Aborted By Host"},
};

/* Indexed by SCT: what an unlisted code is, at least. */
static const char *const type_names[8] = {
    "Generic Command Status (unknown code)",
    "Command Specific Status (unknown code)",
    "Media and Data Integrity Error (unknown code)",
    "Path Related Status (unknown code)",
    "Reserved Status Code Type 4",
    "Reserved Status Code Type 5",
    "Reserved Status Code Type 6",
    "Vendor Specific Status",
};

const char *nvme_status_str(uint16_t sct_sc)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_names); i++)
		if (status_names[i].code == sct_sc)
			return status_names[i].name;
	return type_names[(sct_sc >> 8) & 7];
}
