/*
 * Block I/O on the namespace: read, write, flush, and the raw-address read
 * the DMA-confinement test uses. Transfers are split by max_xfer; each
 * piece's buffer is mapped for the device only while its command runs.
 */
#include "drivers/nvme_priv.h"
#include "lib/log.h"
#include <errno.h>
#include <stdio.h>

static const char *op_name(uint8_t op)
{
	return op == NVME_CMD_READ ? "read" : op == NVME_CMD_WRITE ? "write" : "flush";
}

/* Counts a finished command; failures were counted by nvme_exec. */
static void account(struct nvme_ctrl *c, uint8_t op, uint64_t bytes, int err)
{
	struct nvme_stats *s = &c->stats;

	if (op == NVME_CMD_READ) {
		s->reads++;
		s->bytes_read += err ? 0 : bytes;
	} else if (op == NVME_CMD_WRITE) {
		s->writes++;
		s->bytes_written += err ? 0 : bytes;
	} else {
		s->flushes++;
	}
}

static void report(struct nvme_ctrl *c, uint8_t op, uint64_t lba, int err,
		   const struct nvme_result *res)
{
	char what[48];

	if (op == NVME_CMD_FLUSH)
		snprintf(what, sizeof(what), "flush");
	else
		snprintf(what, sizeof(what), "%s lba %llu", op_name(op), (unsigned long long)lba);
	nvme_log_failure(c, what, err, res);
	if (err == -ETIMEDOUT || (err == -EIO && res->status == NVME_STATUS_FATAL))
		nvme_take_offline(c, what);
}

/* A completion says nothing about DMA the IOMMU refused (QEMU's NVMe, for
 * one, reports success): ask the IOMMU, and fail the command if it did, as
 * the Data Transfer Error a real controller would have reported. */
static int dma_blocked(struct nvme_ctrl *c, uint8_t op, uint64_t lba)
{
	uint64_t at;

	if (!c->dma.faulted || !c->dma.faulted(c->dma.ctx, &at))
		return 0;
	c->stats.errors++;
	c->stats.last_status = NVME_SC_DATA_XFER;
	kprintf("nvme: %s lba %llu: the SMMU blocked the controller's DMA at 0x%llx: data not "
		"transferred\n",
		op_name(op), (unsigned long long)lba, (unsigned long long)at);
	return -EFAULT;
}

/* One command whose data is at bus address iova (already reachable). */
static int rw_cmd(struct nvme_ctrl *c, uint8_t op, uint64_t lba, uint32_t nblocks, uint64_t iova)
{
	uint64_t len = (uint64_t)nblocks * c->info.block_size;
	struct nvme_sqe sqe = {.cdw0 = op,
			       .nsid = c->info.nsid,
			       .cdw10 = (uint32_t)lba,
			       .cdw11 = (uint32_t)(lba >> 32),
			       .cdw12 = nblocks - 1}; /* NLB is 0's based */
	struct nvme_result res;
	int e = nvme_build_prps(iova, len, &sqe.prp1, &sqe.prp2, c->prp_list.va, c->prp_list.iova,
				NVME_PRP_LIST_MAX);

	if (e) {
		kprintf("nvme: %s lba %llu: no PRPs for 0x%llx bytes at 0x%llx\n", op_name(op),
			(unsigned long long)lba, (unsigned long long)len, (unsigned long long)iova);
		return e;
	}
	nvme_sync_for_dev(c->prp_list.va, c->prp_list.size);
	e = nvme_exec(c, &c->io, &sqe, NVME_CMD_TIMEOUT, &res);
	if (!e)
		e = dma_blocked(c, op, lba);
	account(c, op, len, e);
	if (e && e != -EFAULT)
		report(c, op, lba, e, &res);
	return e == -EFAULT ? -EIO : e;
}

/* Maps buf for this one command and unmaps it after, even after a failure:
 * whatever the device still attempts then hits the SMMU, not memory. */
static int xfer_chunk(struct nvme_ctrl *c, uint8_t op, uint64_t lba, uint32_t nblocks, void *buf)
{
	uint64_t len = (uint64_t)nblocks * c->info.block_size, iova;
	bool dev_writes = op == NVME_CMD_READ;

	if (dev_writes)
		nvme_sync_for_cpu(buf, len); /* no dirty line may land on the DMA'd data */
	else
		nvme_sync_for_dev(buf, len);
	int e = c->dma.map(c->dma.ctx, (uintptr_t)buf, len, dev_writes, &iova);
	if (e) {
		kprintf("nvme: %s lba %llu: cannot map the buffer (%d)\n", op_name(op),
			(unsigned long long)lba, e);
		return e;
	}
	e = rw_cmd(c, op, lba, nblocks, iova);
	int u = c->dma.unmap(c->dma.ctx, iova, len);
	if (dev_writes)
		nvme_sync_for_cpu(buf, len);
	return e ? e : u;
}

/* Shared checks; logs why a request is refused. */
static int check_rw(struct nvme_ctrl *c, uint8_t op, uint64_t lba, uint32_t nblocks, uint64_t addr)
{
	if (!c || !c->io_ready || c->offline) {
		kprintf("nvme: %s lba %llu: controller not in service\n", op_name(op),
			(unsigned long long)lba);
		return -EIO;
	}
	if (!nblocks || lba >= c->info.blocks || nblocks > c->info.blocks - lba) {
		kprintf("nvme: %s lba %llu: %u blocks out of range (namespace has %llu)\n",
			op_name(op), (unsigned long long)lba, nblocks,
			(unsigned long long)c->info.blocks);
		return -EINVAL;
	}
	if (addr & 3) { /* PRP1 must be dword aligned */
		kprintf("nvme: %s lba %llu: buffer 0x%llx not 4-byte aligned\n", op_name(op),
			(unsigned long long)lba, (unsigned long long)addr);
		return -EINVAL;
	}
	return 0;
}

static int rw(struct nvme_ctrl *c, uint8_t op, uint64_t lba, uint32_t nblocks, uint8_t *buf)
{
	int e = check_rw(c, op, lba, nblocks, (uintptr_t)buf);
	uint32_t max = e ? 0 : c->info.max_xfer / c->info.block_size;

	if (e)
		return e;
	spin_lock(&c->lock);
	while (!e && nblocks) {
		uint32_t n = MIN(nblocks, max);
		e = xfer_chunk(c, op, lba, n, buf);
		lba += n;
		nblocks -= n;
		buf += (uint64_t)n * c->info.block_size;
	}
	spin_unlock(&c->lock);
	return e;
}

int nvme_read(struct nvme_ctrl *c, uint64_t lba, uint32_t nblocks, void *buf)
{
	return rw(c, NVME_CMD_READ, lba, nblocks, buf);
}

/* The device only reads buf; the cast does not let anyone write it. */
int nvme_write(struct nvme_ctrl *c, uint64_t lba, uint32_t nblocks, const void *buf)
{
	return rw(c, NVME_CMD_WRITE, lba, nblocks, (uint8_t *)(uintptr_t)buf);
}

int nvme_flush(struct nvme_ctrl *c)
{
	struct nvme_sqe sqe = {.cdw0 = NVME_CMD_FLUSH, .nsid = c ? c->info.nsid : 0};
	struct nvme_result res;
	int e = check_rw(c, NVME_CMD_FLUSH, 0, 1, 0);

	if (e)
		return e;
	spin_lock(&c->lock);
	e = nvme_exec(c, &c->io, &sqe, NVME_CMD_TIMEOUT, &res);
	account(c, NVME_CMD_FLUSH, 0, e);
	if (e)
		report(c, NVME_CMD_FLUSH, 0, e, &res);
	spin_unlock(&c->lock);
	return e;
}

/* Test hook: iova goes to the device as is, deliberately unmapped, so one
 * command at most (no splitting). */
int nvme_read_raw(struct nvme_ctrl *c, uint64_t lba, uint32_t nblocks, uint64_t iova)
{
	int e = check_rw(c, NVME_CMD_READ, lba, nblocks, iova);

	if (e)
		return e;
	if ((uint64_t)nblocks * c->info.block_size > c->info.max_xfer)
		return -EINVAL;
	spin_lock(&c->lock);
	e = rw_cmd(c, NVME_CMD_READ, lba, nblocks, iova);
	spin_unlock(&c->lock);
	return e;
}
