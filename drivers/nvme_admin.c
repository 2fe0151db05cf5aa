/*
 * NVMe admin commands the driver needs: Identify (controller, active
 * namespace list, namespace) and creation of the I/O queue pair.
 */
#include "drivers/nvme_priv.h"
#include "lib/log.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Identify data is little-endian and unaligned in places. */
static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}
static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* Runs an admin command; on failure logs "nvme: bb:dd.f: <what>: why". */
static int admin(struct nvme_ctrl *c, struct nvme_sqe *sqe, const char *what)
{
	struct nvme_result res;
	int e = nvme_exec(c, &c->admin, sqe, NVME_CMD_TIMEOUT, &res);

	if (e) {
		char msg[64];
		snprintf(msg, sizeof(msg), "%s: %s", c->bdf, what);
		nvme_log_failure(c, msg, e, &res);
	}
	return e;
}

/* The Identify buffer is one page, so PRP1 alone describes it. */
static int identify(struct nvme_ctrl *c, unsigned cns, uint32_t nsid, const char *what)
{
	struct nvme_sqe sqe = {
	    .cdw0 = NVME_ADM_IDENTIFY, .nsid = nsid, .prp1 = c->ident.iova, .cdw10 = cns};

	nvme_sync_for_cpu(c->ident.va, c->ident.size);
	int e = admin(c, &sqe, what);
	nvme_sync_for_cpu(c->ident.va, c->ident.size);
	return e;
}

/* ASCII, space padded, not terminated: trim and make it printable. */
static void id_string(char *dst, const uint8_t *src, size_t n)
{
	while (n && (src[n - 1] == ' ' || src[n - 1] == 0))
		n--;
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	dst[n] = 0;
}

/* MDTS counts pages of CAP.MPSMIN (4 KiB, checked at bring-up); the
 * driver caps it further so one mapping stays bounded. */
static uint32_t max_xfer(uint8_t mdts)
{
	if (!mdts || mdts >= 20)
		return NVME_MAX_XFER;
	return (uint32_t)MIN((uint64_t)NVME_PAGE << mdts, (uint64_t)NVME_MAX_XFER);
}

static int identify_ctrl(struct nvme_ctrl *c)
{
	const uint8_t *id = c->ident.va;
	struct nvme_info *in = &c->info;
	int e = identify(c, NVME_CNS_CTRL, 0, "Identify Controller");

	if (e)
		return e;
	in->vid = get_le16(id + NVME_IDC_VID);
	id_string(in->serial, id + NVME_IDC_SN, 20);
	id_string(in->model, id + NVME_IDC_MN, 40);
	id_string(in->firmware, id + NVME_IDC_FR, 8);
	in->max_xfer = max_xfer(id[NVME_IDC_MDTS]);
	return 0;
}

/* The first active namespace. NVMe 1.0 controllers lack CNS 2 and answer
 * with an error status: namespace 1 is the usual one then. */
static int find_namespace(struct nvme_ctrl *c)
{
	struct nvme_result res;
	struct nvme_sqe sqe = {
	    .cdw0 = NVME_ADM_IDENTIFY, .prp1 = c->ident.iova, .cdw10 = NVME_CNS_NS_LIST};

	nvme_sync_for_cpu(c->ident.va, c->ident.size);
	int e = nvme_exec(c, &c->admin, &sqe, NVME_CMD_TIMEOUT, &res);
	nvme_sync_for_cpu(c->ident.va, c->ident.size);
	if (e == -EIO && res.status != NVME_STATUS_FATAL) {
		c->info.nsid = 1;
		return 0;
	}
	if (e) {
		char msg[64];
		snprintf(msg, sizeof(msg), "%s: Identify active namespace list", c->bdf);
		nvme_log_failure(c, msg, e, &res);
		return e;
	}
	c->info.nsid = get_le32(c->ident.va); /* ascending: the first is the lowest */
	if (!c->info.nsid) {
		kprintf("nvme: %s: no active namespace\n", c->bdf);
		return -ENODEV;
	}
	return 0;
}

/* Only plain formats: no metadata interleaved with or beside the data. */
static int check_format(struct nvme_ctrl *c, unsigned lbads, unsigned ms)
{
	if (ms) {
		kprintf(
		    "nvme: %s: namespace %u has %u bytes of metadata per block: not supported\n",
		    c->bdf, c->info.nsid, ms);
		return -ENOTSUP;
	}
	if (lbads < 9 || (1u << lbads) > c->info.max_xfer) {
		kprintf("nvme: %s: namespace %u block size 2^%u not supported\n", c->bdf,
			c->info.nsid, lbads);
		return -ENOTSUP;
	}
	return 0;
}

static int identify_namespace(struct nvme_ctrl *c)
{
	const uint8_t *id = c->ident.va;
	int e = identify(c, NVME_CNS_NS, c->info.nsid, "Identify Namespace");

	if (e)
		return e;
	/* FLBAS: format index bits 3:0, and 6:5 above them when NLBAF > 16. */
	unsigned fl = id[NVME_IDN_FLBAS], idx = (fl & 0xf) | ((fl >> 5) & 3) << 4;
	if (idx > id[NVME_IDN_NLBAF]) {
		kprintf("nvme: %s: FLBAS names LBA format %u of %u\n", c->bdf, idx,
			id[NVME_IDN_NLBAF] + 1u);
		return -EIO;
	}
	uint32_t lbaf = get_le32(id + NVME_IDN_LBAF + 4 * idx);
	e = check_format(c, (lbaf >> 16) & 0xff, lbaf & 0xffff);
	if (e)
		return e;
	c->info.block_size = 1u << ((lbaf >> 16) & 0xff);
	c->info.blocks = get_le64(id + NVME_IDN_NSZE);
	if (!c->info.blocks) {
		kprintf("nvme: %s: namespace %u is empty\n", c->bdf, c->info.nsid);
		return -ENODEV;
	}
	/* Whole blocks per transfer, and NLB is a 16-bit count. */
	c->info.max_xfer = MIN(c->info.max_xfer, c->info.block_size * 65536u) / c->info.block_size *
			   c->info.block_size;
	return 0;
}

int nvme_identify(struct nvme_ctrl *c)
{
	int e = identify_ctrl(c);

	if (!e)
		e = find_namespace(c);
	if (!e)
		e = identify_namespace(c);
	return e;
}

/* Polled queues: IEN = 0, so no interrupt vector is involved. The CQ must
 * exist before the SQ that completes into it. */
int nvme_create_io_queues(struct nvme_ctrl *c)
{
	struct nvme_qpair *q = &c->io;
	uint16_t depth = (uint16_t)MIN(NVME_IO_DEPTH, NVME_CAP_MQES(c->cap) + 1u);
	int e = nvme_qpair_alloc(c, q, NVME_IO_QID, depth);

	if (e)
		return e;
	uint32_t size_qid = (uint32_t)(depth - 1) << 16 | NVME_IO_QID;
	struct nvme_sqe cq = {.cdw0 = NVME_ADM_CREATE_CQ,
			      .prp1 = q->cq.buf.iova,
			      .cdw10 = size_qid,
			      .cdw11 = NVME_QUEUE_PC};
	struct nvme_sqe sq = {.cdw0 = NVME_ADM_CREATE_SQ,
			      .prp1 = q->sq.buf.iova,
			      .cdw10 = size_qid,
			      .cdw11 = (uint32_t)NVME_IO_QID << 16 | NVME_QUEUE_PC};
	e = admin(c, &cq, "Create I/O Completion Queue");
	if (!e)
		e = admin(c, &sq, "Create I/O Submission Queue");
	c->io_ready = !e;
	return e;
}
