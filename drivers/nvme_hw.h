/*
 * NVMe as the specification defines it (NVM Express Base 2.0, NVM Command
 * Set 1.0): controller registers, queue entry layouts, opcodes. Private to
 * drivers/nvme*.c; portable (no MMIO), so nvme_prp.c and host tests can use
 * it too.
 */
#ifndef DRIVERS_NVME_HW_H
#define DRIVERS_NVME_HW_H

#include "lib/types.h"

/* The page size tessera programs (CC.MPS = 0); PRPs are in these units. */
#define NVME_PAGE_SHIFT 12
#define NVME_PAGE	(1ull << NVME_PAGE_SHIFT)

/* ---- controller registers (BAR0), Base 3.1 ---- */
#define NVME_REG_CAP  0x00 /* 64-bit */
#define NVME_REG_VS   0x08
#define NVME_REG_CC   0x14
#define NVME_REG_CSTS 0x1c
#define NVME_REG_AQA  0x24
#define NVME_REG_ASQ  0x28 /* 64-bit */
#define NVME_REG_ACQ  0x30 /* 64-bit */
#define NVME_REG_DBS  0x1000

#define NVME_CAP_MQES(c)   ((unsigned)((c)&0xffff))	    /* 0's based */
#define NVME_CAP_TO(c)	   ((unsigned)(((c) >> 24) & 0xff)) /* 500 ms units */
#define NVME_CAP_DSTRD(c)  ((unsigned)(((c) >> 32) & 0xf))
#define NVME_CAP_CSS(c)	   ((unsigned)(((c) >> 37) & 0xff))
#define NVME_CAP_MPSMIN(c) ((unsigned)(((c) >> 48) & 0xf))
#define NVME_CAP_CSS_NVM   BIT(0)

#define NVME_CC_EN	    BIT(0)
#define NVME_CC_CSS_NVM	    (0u << 4)
#define NVME_CC_MPS(shift)  ((uint32_t)((shift)-12) << 7)
#define NVME_CC_IOSQES(log) ((uint32_t)(log) << 16)
#define NVME_CC_IOCQES(log) ((uint32_t)(log) << 20)

#define NVME_CSTS_RDY BIT(0)
#define NVME_CSTS_CFS BIT(1)

/* ---- queue entries ---- */
#define NVME_SQE_LOG2 6 /* 64-byte submission entries */
#define NVME_CQE_LOG2 4 /* 16-byte completion entries */

struct nvme_sqe {
	uint32_t cdw0; /* opcode [7:0], command ID [31:16]; FUSE, PSDT = 0 (PRPs) */
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t dw0; /* command specific */
	uint32_t dw1;
	uint16_t sq_head; /* how far the controller has consumed the SQ */
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status; /* P [0], SC [8:1], SCT [11:9], CRD [13:12], M [14], DNR [15] */
};

_Static_assert(sizeof(struct nvme_sqe) == 1 << NVME_SQE_LOG2, "SQE is 64 bytes");
_Static_assert(sizeof(struct nvme_cqe) == 1 << NVME_CQE_LOG2, "CQE is 16 bytes");

#define NVME_CQE_PHASE BIT(0)
#define NVME_CQE_MORE  BIT(14)
#define NVME_CQE_DNR   BIT(15)
/* The SCT<<8 | SC form nvme_status_str and nvme_stats take. */
#define NVME_CQE_SCT_SC(st) ((uint16_t)((((st) >> 9) & 0x7) << 8 | (((st) >> 1) & 0xff)))

/* Status codes the driver or its tests name (SCT<<8 | SC). */
#define NVME_SC_SUCCESS	      0x0000
#define NVME_SC_INVALID_FIELD 0x0002
#define NVME_SC_DATA_XFER     0x0004
#define NVME_SC_INTERNAL      0x0006
#define NVME_SC_LBA_RANGE     0x0080

/* ---- opcodes ---- */
#define NVME_ADM_CREATE_SQ 0x01
#define NVME_ADM_CREATE_CQ 0x05
#define NVME_ADM_IDENTIFY  0x06
#define NVME_CMD_FLUSH	   0x00
#define NVME_CMD_WRITE	   0x01
#define NVME_CMD_READ	   0x02

/* Identify CDW10.CNS values. */
#define NVME_CNS_NS	 0x00
#define NVME_CNS_CTRL	 0x01
#define NVME_CNS_NS_LIST 0x02

/* Create I/O queue CDW11 bits. */
#define NVME_QUEUE_PC BIT(0) /* physically contiguous */

/* ---- Identify data offsets ---- */
#define NVME_IDC_VID   0   /* 2 bytes */
#define NVME_IDC_SN    4   /* 20 bytes, space padded */
#define NVME_IDC_MN    24  /* 40 bytes */
#define NVME_IDC_FR    64  /* 8 bytes */
#define NVME_IDC_MDTS  77  /* max transfer: 2^n min-size pages, 0 = no limit */
#define NVME_IDN_NSZE  0   /* 8 bytes: size in logical blocks */
#define NVME_IDN_NLBAF 25  /* number of LBA formats, 0's based */
#define NVME_IDN_FLBAS 26  /* formatted LBA size: format index */
#define NVME_IDN_LBAF  128 /* 4 bytes each: MS [15:0], LBADS [23:16] */

#endif
