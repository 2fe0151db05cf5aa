/* Host tests for drivers/nvme_prp.c: PRP entries and status names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "drivers/drivers.h"
#include "drivers/nvme_hw.h"

#define LIST_IOVA 0x80000000ull /* where the PRP list page would live */
#define POISON	  0xdeadbeefdeadbeefull

struct prps {
	uint64_t prp1, prp2;
	uint64_t list[512];
};

static int build(struct prps *p, uint64_t iova, uint64_t len, unsigned list_max)
{
	p->prp1 = p->prp2 = POISON;
	for (size_t i = 0; i < 512; i++)
		p->list[i] = POISON;
	return nvme_build_prps(iova, len, &p->prp1, &p->prp2, p->list, LIST_IOVA, list_max);
}

static void test_single_page(void **state)
{
	struct prps p;

	assert_int_equal(build(&p, 0x40001000, 4096, 512), 0);
	assert_int_equal(p.prp1, 0x40001000);
	assert_int_equal(p.prp2, 0); /* unused: the transfer fits in PRP1's page */
	assert_int_equal(p.list[0], POISON);
	/* A small transfer inside one page, not at its start. */
	assert_int_equal(build(&p, 0x40001200, 512, 512), 0);
	assert_int_equal(p.prp1, 0x40001200);
	assert_int_equal(p.prp2, 0);
	/* Ends exactly at the page boundary. */
	assert_int_equal(build(&p, 0x40001e00, 512, 512), 0);
	assert_int_equal(p.prp2, 0);
}

static void test_two_pages(void **state)
{
	struct prps p;

	assert_int_equal(build(&p, 0x40002000, 8192, 512), 0);
	assert_int_equal(p.prp1, 0x40002000);
	assert_int_equal(p.prp2, 0x40003000); /* the second page itself, no list */
	assert_int_equal(p.list[0], POISON);
	/* 512 bytes straddling a boundary still need PRP2. */
	assert_int_equal(build(&p, 0x40002f00, 512, 512), 0);
	assert_int_equal(p.prp1, 0x40002f00);
	assert_int_equal(p.prp2, 0x40003000);
}

static void test_list(void **state)
{
	struct prps p;

	assert_int_equal(build(&p, 0x40010000, 3 * 4096, 512), 0);
	assert_int_equal(p.prp1, 0x40010000);
	assert_int_equal(p.prp2, LIST_IOVA);
	assert_int_equal(p.list[0], 0x40011000);
	assert_int_equal(p.list[1], 0x40012000);
	assert_int_equal(p.list[2], POISON); /* nothing written past the end */

	/* 512 KiB, the driver's largest transfer: 127 list entries. */
	assert_int_equal(build(&p, 0x40100000, 512 * 1024, 512), 0);
	assert_int_equal(p.prp2, LIST_IOVA);
	for (unsigned i = 0; i < 127; i++)
		assert_int_equal(p.list[i], 0x40101000 + i * 4096ull);
	assert_int_equal(p.list[127], POISON);
}

static void test_unaligned_start(void **state)
{
	struct prps p;

	/* 8 KiB from offset 0x200: three pages touched, so a list of two. */
	assert_int_equal(build(&p, 0x40020200, 8192, 512), 0);
	assert_int_equal(p.prp1, 0x40020200);
	assert_int_equal(p.prp2, LIST_IOVA);
	assert_int_equal(p.list[0], 0x40021000);
	assert_int_equal(p.list[1], 0x40022000);
	assert_int_equal(p.list[2], POISON);
	/* 512 KiB unaligned: 129 pages, 128 list entries. */
	assert_int_equal(build(&p, 0x40100004, 512 * 1024, 512), 0);
	assert_int_equal(p.list[127], 0x40180000);
	assert_int_equal(p.list[128], POISON);
}

static void test_invalid(void **state)
{
	struct prps p;

	/* Too long for the list: 4 pages need 3 entries. */
	assert_int_equal(build(&p, 0x40000000, 4 * 4096, 2), -EINVAL);
	assert_int_equal(build(&p, 0x40000000, 4 * 4096, 3), 0);
	/* 513 list entries never fit one list page. */
	assert_int_equal(build(&p, 0x40000000, 514 * 4096ull, 1024), -EINVAL);
	/* No list given at all. */
	uint64_t prp1, prp2;
	assert_int_equal(nvme_build_prps(0x40000000, 3 * 4096, &prp1, &prp2, NULL, 0, 0), -EINVAL);
	/* A list that would cross its page: only 2 entries left in it. */
	assert_int_equal(
	    nvme_build_prps(0x40000000, 4 * 4096, &prp1, &prp2, p.list, LIST_IOVA + 4096 - 16, 512),
	    -EINVAL);
	/* Zero length, a PRP1 not dword aligned, an address range that wraps. */
	assert_int_equal(build(&p, 0x40000000, 0, 512), -EINVAL);
	assert_int_equal(build(&p, 0x40000002, 512, 512), -EINVAL);
	assert_int_equal(build(&p, UINT64_MAX - 4095, 8192, 512), -EINVAL);
	/* The last page of the address space is fine on its own. */
	assert_int_equal(build(&p, UINT64_MAX - 4095, 4096, 512), 0);
}

static void test_status_strings(void **state)
{
	assert_string_equal(nvme_status_str(0x0000), "Successful Completion");
	assert_string_equal(nvme_status_str(0x0002), "Invalid Field in Command");
	assert_string_equal(nvme_status_str(0x0004), "Data Transfer Error");
	assert_string_equal(nvme_status_str(0x0006), "Internal Error");
	assert_string_equal(nvme_status_str(0x0080), "LBA Out of Range");
	assert_string_equal(nvme_status_str(0x0101), "Invalid Queue Identifier");
	assert_string_equal(nvme_status_str(0x0281), "Unrecovered Read Error");
	assert_string_equal(nvme_status_str(0x0286), "Access Denied");
	/* The names the driver's constants stand for. */
	assert_string_equal(nvme_status_str(NVME_SC_DATA_XFER), "Data Transfer Error");
	assert_string_equal(nvme_status_str(NVME_SC_LBA_RANGE), "LBA Out of Range");
}

static void test_status_unknown(void **state)
{
	assert_string_equal(nvme_status_str(0x007f), "Generic Command Status (unknown code)");
	assert_string_equal(nvme_status_str(0x01ee), "Command Specific Status (unknown code)");
	assert_string_equal(nvme_status_str(0x02ff),
			    "Media and Data Integrity Error (unknown code)");
	assert_string_equal(nvme_status_str(0x0342), "Path Related Status (unknown code)");
	assert_string_equal(nvme_status_str(0x0401), "Reserved Status Code Type 4");
	assert_string_equal(nvme_status_str(0x07c0), "Vendor Specific Status");
	/* Never NULL, whatever the input. */
	for (unsigned v = 0; v <= 0xffff; v += 0x0101)
		assert_non_null(nvme_status_str((uint16_t)v));
}

static void test_cqe_status_field(void **state)
{
	/* CQE DW3 upper half: P [0], SC [8:1], SCT [11:9], M [14], DNR [15]. */
	uint16_t st = NVME_CQE_DNR | (0u << 9) | (0x04u << 1) | NVME_CQE_PHASE;
	assert_int_equal(NVME_CQE_SCT_SC(st), NVME_SC_DATA_XFER);
	st = (2u << 9) | (0x81u << 1);
	assert_int_equal(NVME_CQE_SCT_SC(st), 0x0281);
	st = NVME_CQE_MORE | (1u << 9) | (0x02u << 1);
	assert_int_equal(NVME_CQE_SCT_SC(st), 0x0102);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_page),	   cmocka_unit_test(test_two_pages),
	    cmocka_unit_test(test_list),	   cmocka_unit_test(test_unaligned_start),
	    cmocka_unit_test(test_invalid),	   cmocka_unit_test(test_status_strings),
	    cmocka_unit_test(test_status_unknown), cmocka_unit_test(test_cqe_status_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
