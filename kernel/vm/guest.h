/*
 * Private to kernel/: virtual devices and partition configuration. Every
 * model here is portable C (no sysregs, no MMIO): it builds for the host and
 * is unit-tested there. The glue that wires models to vCPUs lives in the
 * partition code.
 */
#ifndef KERNEL_VDEV_H
#define KERNEL_VDEV_H

#include "lib/types.h"
#include "lib/memrange.h"
#include "boot/boot.h"

/* ---- guest machine model (DESIGN.md) ---- */
#define GUEST_RAM_BASE	  0x40000000ull
#define GUEST_GICD_BASE	  0x08000000ull
#define GUEST_GICD_SIZE	  0x10000ull
#define GUEST_GICR_BASE	  0x080a0000ull
#define GUEST_GICR_STRIDE 0x20000ull /* RD_base + SGI_base frames per vCPU */
#define GUEST_UART_BASE	  0x09000000ull
#define GUEST_UART_SIZE	  0x1000ull
#define GUEST_UART_SPI	  1 /* INTID 33 */
#define GUEST_VTIMER_PPI  27
#define GUEST_PTIMER_PPI  30
#define GUEST_PMU_PPI	  23 /* PMU overflow, as on QEMU virt */
#define GUEST_MAX_VCPUS	  8
#define GUEST_DTB_MAX	  0x10000ull /* the DTB sits in the last 64 KiB of RAM */

/* ---- partition configuration (part_config.c; docs/config.md) ---- */
#define PART_MAX      8
#define PART_NAME_MAX 32
#define PART_PATH_MAX BOOT_PATH_MAX
#define PART_ARGS_MAX 512
#define PART_ERR_MAX  160
#define PART_SVE_MAX  256 /* bytes: SVE's architectural maximum vector length (2048 bits) */

enum kernel_format { KFMT_AUTO, KFMT_IMAGE, KFMT_ELF, KFMT_RAW };

struct part_cfg {
	char name[PART_NAME_MAX];
	uint64_t cpu_mask; /* physical CPUs ("cpus" property) */
	unsigned vcpus;	   /* "vcpus", default: number of CPUs in cpu_mask */
	/* on CPUs under the priority policy (docs/config.md): "sched-priority"
	 * (0-255, higher first), "sched-budget-us" per "sched-period-us" per
	 * vCPU (0: no budget) */
	unsigned sched_prio;
	uint32_t sched_budget_us, sched_period_us;
	/* its CPUs whose /scheduler policy lets partitions share them (set by
	 * sched_config_validate); 0: each CPU is this partition's alone */
	uint64_t cpu_shared;
	uint64_t mem_size; /* "memory" (bytes) */
	uint64_t mem_base; /* "memory-base": fixed physical base, 0 = any */
	char kernel[PART_PATH_MAX];
	enum kernel_format kfmt; /* "kernel-format": "image", "elf", "raw"; auto */
	uint64_t load_addr;	 /* "load-address" (IPA) for raw images */
	char initrd[PART_PATH_MAX];
	char bootargs[PART_ARGS_MAX];
	bool autostart;	  /* true unless "no-autostart" (or status = "disabled") */
	unsigned sve_vl;  /* "sve-max-vl": SVE's maximum vector length in bytes; 0 = no SVE */
	char restore[48]; /* "restore": a snapshot to resume at boot instead of booting */
	bool valid;
	char error[PART_ERR_MAX]; /* why the partition cannot start */
};

/* What validation checks against. */
struct machine_desc {
	unsigned ncpus;
	const struct memmap *free; /* physical memory free for partitions */
	/* Size of the ESP file at path, or -1 if it was not loaded. */
	int64_t (*file_size)(void *ctx, const char *path);
	void *ctx;
};

/* Parses /partitions of the config DTB into out[] (at most max). Returns
 * the number of partitions, or -1 with err filled if the tree itself is
 * unusable. A partition with a bad property gets valid=false and error
 * naming the partition and property. */
int part_config_parse(const void *cfg, struct part_cfg *out, unsigned max, char *err,
		      size_t errlen);
/* Cross-checks: CPUs in range and not shared (but for cpu_shared), fixed memory not
 * overlapping, images present and fitting the memory, memory available
 * (partitions are served in order; one that does not fit is marked
 * invalid, the others keep theirs). Invalid partitions keep valid=false
 * with the reason in error. */
void part_config_validate(struct part_cfg *p, unsigned n, const struct machine_desc *m);

/* ---- kernel images (image_load.c) ---- */
struct image_seg {
	uint64_t offset; /* from the start of the guest RAM (IPA - GUEST_RAM_BASE) */
	uint64_t file_off, file_size, mem_size; /* mem_size > file_size: zero fill */
};
struct image_layout {
	enum kernel_format fmt; /* the format detected or forced */
	uint64_t entry;		/* IPA */
	unsigned nsegs;
	struct image_seg segs[8];
	uint64_t end; /* highest RAM offset used, page aligned */
};
/* Lays out a kernel image in a partition's RAM (ram_size bytes at
 * GUEST_RAM_BASE): Linux arm64 Image (header honoured: text_offset,
 * image_size, 2 MiB alignment), ELF64 aarch64 (PT_LOAD segments; paddr is
 * the IPA), raw (at load_addr). Returns 0 or -EINVAL/-E2BIG with err set. */
int image_layout(const void *data, uint64_t size, enum kernel_format fmt, uint64_t load_addr,
		 uint64_t ram_size, struct image_layout *out, char *err, size_t errlen);

/* ---- guest device tree (guest_dt.c) ---- */
struct guest_dt_params {
	const char *name;
	unsigned vcpus;
	uint64_t ram_base, ram_size; /* IPA */
	const char *bootargs;
	uint64_t initrd_start, initrd_end; /* IPA; 0,0 if none */
	unsigned timer_freq;		   /* CNTFRQ, for the timer node (0: omit) */
	bool no_pmu;			   /* the CPU has no PMUv3: no pmu node */
};
/* Builds the DTB handed to the guest in x0: memory, cpus (enable-method
 * psci, reg = vCPU index as MPIDR Aff0), psci (hvc, 1.0), GICv3 with
 * distributor and redistributors, armv8 timer (PPIs 13, 14, 11, 10), the
 * armv8 PMU (PPI 7 = INTID 23) unless no_pmu, PL011
 * with its apb_pclk clock and stdout-path, chosen (bootargs, initrd).
 * Returns 0 or a libfdt error. */
int guest_dt_build(void *buf, size_t size, const struct guest_dt_params *p);

#endif
