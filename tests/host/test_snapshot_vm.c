/*
 * Snapshots of partitions (kernel/vm/snap_*.c) end to end over the fake
 * machine and a memory disk: `snapshot save` pauses, writes through the
 * real format library and resumes; a stopped partition restored from it
 * has the same RAM, vCPU registers, power states, pending interrupts,
 * queued console input and virtual time; the refusals (name taken, wrong
 * size, damaged, running, missing) change nothing; an I/O error in a save
 * leaves the previous snapshot good; a restore at boot that cannot be done
 * boots the kernel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/fake.h"
#include "kernel/vm/snap_state.h"

#define MIB (1ull << 20)

static int cmd(const char *line)
{
	char buf[256], *argv[8];
	int argc = 0;
	snprintf(buf, sizeof(buf), "snapshot %s", line);
	for (char *t = strtok(buf, " "); t && argc < 8; t = strtok(NULL, " "))
		argv[argc++] = t;
	return cmd_snapshot(argc, argv);
}

/* The CPU jobs (list, verify, delete) run where no partition runs. */
static void run_cpu_jobs(void)
{
	unsigned was = fake.cur;
	for (unsigned c = 0; c < FAKE_NCPUS; c++) {
		struct sched_cpu s = {NULL, 0};
		fake_set_cpu(c);
		if (!percpu_data[c].vcpu)
			sched_step(&s);
	}
	fake_set_cpu(was);
}

static void world(const struct fake_part_spec *specs, unsigned n)
{
	fake_world(specs, n);
	store_drop();
	fake_disk_attach(64);
}

/* RAM with zero pages, repeated pages and noise, as a guest leaves it. */
static void fill_ram(struct partition *p, unsigned seed)
{
	uint8_t *ram = (uint8_t *)(uintptr_t)p->ram_pa;
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (uint64_t pg = 0; pg < p->cfg.mem_size / 4096; pg++) {
		uint8_t *b = ram + pg * 4096;
		if (pg % 3 == 0)
			memset(b, 0, 4096);
		else if (pg % 3 == 1)
			memset(b, (int)(pg & 0xff), 4096);
		else
			for (unsigned i = 0; i < 4096; i++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				b[i] = (uint8_t)x;
			}
	}
}

static void set_regs(struct vcpu *v, uint64_t k)
{
	struct vcpu_ctx *c = &v->ctx;
	for (unsigned i = 0; i < 31; i++)
		c->x[i] = k * 1000 + i;
	for (unsigned i = 0; i < 64; i++)
		c->fp_v[i] = ~(k * 77 + i);
	c->pc = GUEST_RAM_BASE + 0x1000 + k * 4;
	c->pstate = 0x3c5; /* EL1h, DAIF masked */
	c->sp_el1 = 0x40800000 + k, c->sctlr = 0x30d0199d, c->vbar = 0x40002000;
	c->ttbr0 = 0x40100000 + k, c->tcr = 0x35b5503510, c->mair = 0xff44;
	c->tpidr_el0 = 0x1234 + k, c->contextidr = 7 + k, c->fpcr = 0x03000000;
	c->pac_keys[3] = 0xabcdef + k, c->dbg_bvr[2] = 0x40001000, c->pmccntr = 99 + k;
	c->cntv_ctl = 1, c->cntv_cval = 123456789 + k;
	c->ich_vmcr = 0xf0000001;
}

static void assert_ctx_equal(const struct vcpu_ctx *a, const struct vcpu_ctx *b)
{
	assert_memory_equal(a->x, b->x, sizeof(a->x));
	assert_memory_equal(a->fp_v, b->fp_v, sizeof(a->fp_v));
	assert_int_equal(a->pc, b->pc);
	assert_int_equal(a->pstate, b->pstate);
	assert_int_equal(a->sp_el1, b->sp_el1);
	assert_int_equal(a->sctlr, b->sctlr);
	assert_int_equal(a->vbar, b->vbar);
	assert_int_equal(a->ttbr0, b->ttbr0);
	assert_int_equal(a->tcr, b->tcr);
	assert_int_equal(a->mair, b->mair);
	assert_int_equal(a->tpidr_el0, b->tpidr_el0);
	assert_int_equal(a->contextidr, b->contextidr);
	assert_int_equal(a->fpcr, b->fpcr);
	assert_memory_equal(a->pac_keys, b->pac_keys, sizeof(a->pac_keys));
	assert_int_equal(a->dbg_bvr[2], b->dbg_bvr[2]);
	assert_int_equal(a->pmccntr, b->pmccntr);
	assert_int_equal(a->cntv_ctl, b->cntv_ctl);
	assert_int_equal(a->cntv_cval, b->cntv_cval);
	assert_int_equal(a->ich_vmcr, b->ich_vmcr);
	assert_int_equal(a->vmpidr, b->vmpidr);
}

static void save_ok(const char *part, const char *name)
{
	char line[96];
	struct partition *p = partition_find(part);
	snprintf(line, sizeof(line), "save %s %s", part, name);
	fake_log_clear();
	char *argv[4] = {"snapshot", "save", (char *)part, (char *)name};
	assert_int_equal(cmd_snapshot(4, argv), 0);
	assert_int_equal(partition_state(p), PART_PAUSED);
	fake_run_jobs(); /* each disk request takes a microsecond (fake_disk) */
	snprintf(line, sizeof(line), "snapshot: saved %s from %s: ", name, part);
	if (!fake_log_has(line))
		fail_msg("no \"%s\" in:\n%s", line, fake_log());
	assert_true(fake_log_has("resumed"));
	assert_int_equal(partition_state(p), PART_RUNNING);
}

static void stop(struct partition *p)
{
	assert_int_equal(partition_stop(p, false), 0);
	fake_run_jobs();
	assert_int_equal(partition_state(p), PART_STOPPED);
}

static void restore_ok(const char *line, struct partition *p)
{
	fake_log_clear();
	assert_int_equal(cmd(line), 0);
	run_cpu_jobs(); /* without a partition named, a CPU job finds it */
	fake_run_jobs();
	if (!fake_log_has("snapshot: restored "))
		fail_msg("not restored:\n%s", fake_log());
	assert_int_equal(partition_state(p), PART_RUNNING);
}

static const struct fake_part_spec two[] = {
    {.name = "a", .cpu_mask = 0x6, .vcpus = 2},
    {.name = "b", .cpu_mask = 0x8, .mem_mib = 32},
};

static void roundtrip(void **state)
{
	world(two, 2);
	struct partition *p = &partitions[0];
	fake_start(p);
	assert_int_equal(lc_cpu_on(&p->lc, 1, GUEST_RAM_BASE + 0x2000, 5), 0);
	fill_ram(p, 1);
	set_regs(&p->vcpus[0], 1);
	set_regs(&p->vcpus[1], 2);
	uint64_t v = 1u << 1; /* GICD_CTLR.EnableGrp1 */
	assert_int_equal(vgic_dist_access(&p->vgic, 0, 0, 4, true, &v), 0);
	v = 1u << 5; /* SGI 5 enabled on vCPU 1 (GICR_ISENABLER0) */
	assert_int_equal(vgic_redist_access(&p->vgic, 1, 0x20000 + 0x10000 + 0x100, 4, true, &v),
			 0);
	vgic_inject(&p->vgic, 1, 5);
	for (const char *s = "hello"; *s; s++)
		assert_true(vuart_rx(&p->uart, *s));
	uint64_t vnow = fake.now - p->cntvoff;

	uint8_t *ram = malloc(p->cfg.mem_size);
	assert_non_null(ram);
	memcpy(ram, (void *)(uintptr_t)p->ram_pa, p->cfg.mem_size);
	struct vcpu_ctx ctx0 = p->vcpus[0].ctx, ctx1 = p->vcpus[1].ctx;

	save_ok("a", "s1");
	/* freeze: the guest's time skipped the save */
	assert_true(fake_disk.requests > 16);
	assert_int_equal(fake.now - p->cntvoff, vnow);
	fake.now += 7 * 1000000000ull; /* the guest runs on, then stops */
	stop(p);
	fake.now += 60 * 1000000000ull; /* a minute later */
	restore_ok("restore s1", p);

	assert_memory_equal((void *)(uintptr_t)p->ram_pa, ram, p->cfg.mem_size);
	assert_ctx_equal(&p->vcpus[0].ctx, &ctx0);
	assert_ctx_equal(&p->vcpus[1].ctx, &ctx1);
	assert_int_equal(vcpu_power(&p->vcpus[1]), VCPU_ON);
	assert_true(vgic_pending(&p->vgic, 1));
	assert_false(vgic_pending(&p->vgic, 0));
	assert_int_equal(vuart_rx_queued(&p->uart), 5);
	/* virtual time goes on from the save: the minute stopped is not seen */
	assert_int_equal(fake.now - p->cntvoff, vnow);

	/* list and verify answer from the disk */
	fake_log_clear();
	assert_int_equal(cmd("list"), 0);
	run_cpu_jobs();
	assert_true(fake_log_has("snapshot: 1 snapshot(s)"));
	assert_true(fake_log_has("snapshot:   s1 part=a vcpus=2 ram=16777216"));
	assert_int_equal(cmd("verify s1"), 0);
	run_cpu_jobs();
	assert_true(fake_log_has("snapshot: verify s1: OK chunks=16 pages=4096"));
	free(ram);
}

/* What must be refused is, with a reason, and changes nothing. */
static void refusals(void **state)
{
	world(two, 2);
	struct partition *a = &partitions[0], *b = &partitions[1];
	if (!b->cfg.valid)
		fail_msg("%s", b->cfg.error);
	fake_start(a);
	fill_ram(a, 2);
	save_ok("a", "s1");
	fake_log_clear();
	/* the name is taken: the job says so, the partition runs on */
	assert_int_equal(cmd("save a s1"), 0);
	fake_run_jobs();
	assert_true(fake_log_has("snapshot: error: save s1 of a: the name is already taken"));
	assert_int_equal(partition_state(a), PART_RUNNING);
	/* at once: bad names, unknown partitions, a stopped partition, a running one */
	assert_int_equal(cmd("save a -x"), -EINVAL);
	assert_int_equal(cmd("save c s2"), -ENOENT);
	assert_int_equal(cmd("save b s2"), -EBUSY);
	assert_int_equal(cmd("restore s1 a"), -EBUSY);
	assert_true(fake_log_has("partition a is running (stop it first)"));
	assert_int_equal(cmd("bogus"), -EINVAL);
	/* b has 32 MiB, 1 vCPU: the snapshot of a does not fit it */
	fake_log_clear();
	if (cmd("restore s1 b"))
		fail_msg("%s", fake_log());
	fake_run_jobs();
	assert_true(fake_log_has("snapshot: error: restore s1: "));
	assert_true(fake_log_has("b stays stopped"));
	assert_int_equal(partition_state(b), PART_STOPPED);
	/* a missing one */
	stop(a);
	fake_log_clear();
	assert_int_equal(cmd("restore nope a"), 0);
	fake_run_jobs();
	assert_true(fake_log_has("no snapshot of that name"));
	assert_int_equal(partition_state(a), PART_STOPPED);
	assert_int_equal(cmd("delete nope"), 0);
	run_cpu_jobs();
	assert_true(fake_log_has("snapshot: error: delete nope: no snapshot of that name"));
}

/* Bit flips anywhere in a snapshot's blocks: verify says BAD, restore
 * refuses, and the partition stays stopped. */
static void damage_refused(void **state)
{
	world(two, 2);
	struct partition *a = &partitions[0];
	fake_start(a);
	fill_ram(a, 3);
	save_ok("a", "s1");
	stop(a);
	uint64_t used = 0;
	for (uint64_t i = 0; i < fake_disk.blocks * FAKE_DISK_BLOCK; i += 4096)
		for (unsigned k = 0; k < 4096; k++)
			if (fake_disk.data[i + k]) {
				used = i + 4096;
				break;
			}
	assert_true(used > 1 * MIB);
	srand(9);
	for (unsigned t = 0; t < 12; t++) {
		uint64_t off;
		do
			off = (uint64_t)rand() % used;
		while (!fake_disk.data[off] && rand() % 4); /* mostly where data is */
		uint8_t bit = (uint8_t)(1u << (rand() % 8));
		fake_disk.data[off] ^= bit;
		store_drop(); /* a fresh boot would read it again */
		fake_log_clear();
		assert_int_equal(cmd("verify s1"), 0);
		run_cpu_jobs();
		bool bad = fake_log_has("verify s1: BAD") || fake_log_has("snapshot: error:");
		assert_int_equal(cmd("restore s1 a"), 0);
		fake_run_jobs();
		bool refused = partition_state(a) == PART_STOPPED;
		if (!refused)
			stop(a);
		/* an unused byte (padding past the end of a block's data) may
		 * flip unseen; then the restore must also have worked exactly */
		if (!bad || !refused)
			fail_msg("flip at %llu (bit 0x%x) not detected:\n%s",
				 (unsigned long long)off, bit, fake_log());
		fake_disk.data[off] ^= bit;
	}
}

/* A disk error part way through a save: an error line, the partition runs
 * on, and the snapshot saved before is still the good one. */
static void io_error_keeps_previous(void **state)
{
	world(two, 2);
	struct partition *a = &partitions[0];
	fake_start(a);
	fill_ram(a, 4);
	unsigned r0 = fake_disk.requests;
	save_ok("a", "s1");
	unsigned per_save = fake_disk.requests - r0; /* a first save also formats */
	for (unsigned n = 1; n < per_save; n++) {
		fake_disk.fail_in = n;
		fake_log_clear();
		assert_int_equal(cmd("save a s2"), 0);
		fake_run_jobs();
		assert_int_equal(partition_state(a), PART_RUNNING);
		if (fake_log_has("snapshot: saved s2")) {
			assert_true(
			    n > per_save / 2); /* the failure comes after the save's last request */
			break;
		}
		assert_true(fake_log_has("snapshot: error: save s2 of a: "));
		fake_disk.fail_in = 0;
		fake_disk.failed = false;
		store_drop();
		fake_log_clear();
		assert_int_equal(cmd("list"), 0);
		run_cpu_jobs();
		/* a failure after the new superblock reached the disk (its last
		 * flush) leaves s2 committed: then it must be whole */
		bool two = fake_log_has("snapshot: 2 snapshot(s)");
		if (!two && !fake_log_has("snapshot: 1 snapshot(s)"))
			fail_msg("n=%u:\n%s", n, fake_log());
		assert_int_equal(cmd("verify s1"), 0);
		run_cpu_jobs();
		assert_true(fake_log_has("verify s1: OK"));
		if (two) {
			assert_int_equal(cmd("verify s2"), 0);
			run_cpu_jobs();
			assert_true(fake_log_has("verify s2: OK"));
			assert_int_equal(cmd("delete s2"), 0);
			run_cpu_jobs();
			assert_true(fake_log_has("snapshot: deleted s2"));
		}
	}
	fake_disk.fail_in = 0;
	fake_disk.failed = false;
	if (partition_find("a") && !fake_log_has("snapshot: saved s2"))
		save_ok("a", "s2"); /* and the space is usable */
}

/* A guest write: through the stage-2 fault while the page is tracked and
 * still read-only, as the hardware would take it. */
static void guest_write(struct partition *p, uint64_t off, uint8_t v)
{
	unsigned attrs;
	assert_int_equal(pt_translate(&p->s2, GUEST_RAM_BASE + off, NULL, &attrs, NULL), 0);
	if (!(attrs & PT_W))
		assert_true(dirty_fault(p, GUEST_RAM_BASE + off, true));
	((uint8_t *)(uintptr_t)p->ram_pa)[off] = v;
}

static uint8_t *ram_copy(const struct partition *p)
{
	uint8_t *r = malloc(p->cfg.mem_size);
	assert_non_null(r);
	memcpy(r, (void *)(uintptr_t)p->ram_pa, p->cfg.mem_size);
	return r;
}

static void expect_line(const char *line, const char *want)
{
	fake_log_clear();
	cmd(line);
	run_cpu_jobs();
	fake_run_jobs();
	if (!fake_log_has(want))
		fail_msg("`%s`: no \"%s\" in:\n%s", line, want, fake_log());
}

/* Incrementals: each writes only the chunks written since its parent and
 * restores to exactly its RAM; a restore is a parent too; a parent that is
 * not what the writes are tracked since is refused; a failed incremental
 * gives its pages back, so the next one is still complete. */
static void incremental_chain(void **state)
{
	world(two, 2);
	struct partition *a = &partitions[0];
	fake_start(a);
	fill_ram(a, 5);
	assert_false(dirty_on(a)); /* not until it is saved */
	save_ok("a", "s0");
	assert_true(dirty_on(a));
	guest_write(a, 3 * MIB + 17, 0xa1);
	guest_write(a, 9 * MIB + 4096 * 5, 0xa2);
	uint8_t *r1 = ram_copy(a);
	expect_line("save a s1 --parent s0", "parent=s0 shared_chunks=14 of 16");
	guest_write(a, 9 * MIB + 1, 0xb1);
	uint8_t *r2 = ram_copy(a);
	expect_line("save a s2 --parent s1", "parent=s1 shared_chunks=15 of 16");
	expect_line("save a s3 --parent s0", "not tracked since s0");
	expect_line("save a s3 --parent nope", "no snapshot nope");
	/* a failing incremental: its pages go back to the tracking */
	guest_write(a, 12 * MIB, 0xc1);
	uint8_t *r3 = ram_copy(a);
	fake_disk.fail_in = 3;
	expect_line("save a s3 --parent s2", "snapshot: error: save s3 of a: ");
	fake_disk.fail_in = 0;
	fake_disk.failed = false;
	expect_line("save a s3 --parent s2", "parent=s2 shared_chunks=15 of 16");
	expect_line("list", "s3 part=a vcpus=2 ram=16777216");
	assert_true(fake_log_has("parent=s2"));
	stop(a);
	assert_false(dirty_on(a)); /* stopped: nothing is tracked */
	restore_ok("restore s1 a", a);
	assert_memory_equal((void *)(uintptr_t)a->ram_pa, r1, a->cfg.mem_size);
	/* the restored s1 is what its writes now count from */
	guest_write(a, 1 * MIB, 0xd1);
	uint8_t *r4 = ram_copy(a);
	expect_line("save a s4 --parent s1", "parent=s1 shared_chunks=15 of 16");
	expect_line("delete s1", "snapshot: deleted s1");
	expect_line("delete s0", "snapshot: deleted s0");
	const struct {
		const char *name;
		const uint8_t *ram;
	} links[] = {{"s2", r2}, {"s3", r3}, {"s4", r4}};
	for (unsigned i = 0; i < 3; i++) {
		char line[32];
		stop(a);
		snprintf(line, sizeof(line), "restore %s a", links[i].name);
		restore_ok(line, a);
		assert_memory_equal((void *)(uintptr_t)a->ram_pa, links[i].ram, a->cfg.mem_size);
	}
	expect_line("compact s4", "snapshot: compacted s4: ");
	expect_line("verify s4", "verify s4: OK");
	free(r1);
	free(r2);
	free(r3);
	free(r4);
}

/* A live save: the pause only captures the state and write-protects the
 * RAM; the guest's writes after it (before the writer has taken their
 * chunks) are copied aside first, so the snapshot is the RAM at the
 * pause; the writes are tracked for the next incremental; a second save
 * while the writer works is refused; a stop cancels a live save. */
static void live_save(void **state)
{
	world(two, 2);
	struct partition *a = &partitions[0];
	fake_start(a);
	fill_ram(a, 6);
	uint8_t *at_pause = ram_copy(a);
	expect_line("save a L --live", "a: resumed");
	assert_true(snap_live_running(a));
	assert_int_equal(partition_state(a), PART_RUNNING);
	/* the guest runs on and writes before the writer got there */
	guest_write(a, 2 * MIB + 5, 0x11);
	guest_write(a, 2 * MIB + 6, 0x12); /* the same page: copied once */
	guest_write(a, 15 * MIB + 4096 * 7, 0x13);
	uint8_t *later = ram_copy(a);
	expect_line("save a M", "a live save of a is still being written");
	run_cpu_jobs(); /* the writer */
	fake_run_jobs();
	if (!fake_log_has("snapshot: saved L from a: ") || !fake_log_has("live copied_pages=2"))
		fail_msg("no live save line with 2 copied pages:\n%s", fake_log());
	assert_false(snap_live_running(a));
	/* tracked since L: an incremental holds the writes */
	expect_line("save a M --parent L", "parent=L shared_chunks=14 of 16");
	stop(a);
	restore_ok("restore L a", a);
	assert_memory_equal((void *)(uintptr_t)a->ram_pa, at_pause, a->cfg.mem_size);
	stop(a);
	restore_ok("restore M a", a);
	assert_memory_equal((void *)(uintptr_t)a->ram_pa, later, a->cfg.mem_size);
	/* a stop while the writer has not run: cancelled, nothing committed */
	expect_line("save a N --live", "a: resumed");
	stop(a);
	assert_false(snap_live_running(a));
	run_cpu_jobs();
	fake_run_jobs();
	expect_line("list", "snapshot: 2 snapshot(s)");
	free(at_pause);
	free(later);
}

/* restore = "NAME" at boot: resumed when it is there, booted when not. */
static void boot_restore(void **state)
{
	world(two, 2);
	struct partition *a = &partitions[0];
	fake_start(a);
	fill_ram(a, 5);
	set_regs(&a->vcpus[0], 3);
	struct vcpu_ctx ctx0 = a->vcpus[0].ctx;
	save_ok("a", "boot1");
	/* a power cycle: the disk stays, the machine is new */
	uint8_t *keep = malloc(fake_disk.blocks * FAKE_DISK_BLOCK);
	memcpy(keep, fake_disk.data, fake_disk.blocks * FAKE_DISK_BLOCK);
	static const struct fake_part_spec spec[] = {
	    {.name = "a", .cpu_mask = 0x6, .vcpus = 2, .restore = "boot1"},
	    {.name = "b", .cpu_mask = 0x8, .mem_mib = 32, .restore = "gone"}};
	world(spec, 2);
	memcpy(fake_disk.data, keep, fake_disk.blocks * FAKE_DISK_BLOCK);
	free(keep);
	assert_int_equal(snapshot_boot_restore(&partitions[0]), 0);
	assert_int_equal(snapshot_boot_restore(&partitions[1]), 0);
	fake_run_jobs();
	assert_true(fake_log_has("a: restoring from snapshot boot1"));
	assert_true(fake_log_has("snapshot: restored boot1 into a"));
	assert_ctx_equal(&partitions[0].vcpus[0].ctx, &ctx0);
	assert_int_equal(partition_state(&partitions[0]), PART_RUNNING);
	assert_true(fake_log_has("b: snapshot gone unusable (no snapshot of that name): booting "
				 "its kernel"));
	struct partition *b = &partitions[1];
	assert_int_equal(partition_state(b), PART_RUNNING);
	assert_int_equal(b->vcpus[0].ctx.pc, FAKE_LOAD_ADDR);
	assert_memory_equal((void *)(uintptr_t)(b->ram_pa + FAKE_LOAD_ADDR - GUEST_RAM_BASE),
			    fake_kernel_data(), 4 * FAKE_KERNEL_WORDS);
	assert_int_equal(vcpu_power(&b->vcpus[0]), VCPU_ON);
}

static void set_midr(uint64_t v)
{
	unsigned was = fake.cur;
	for (unsigned c = 0; c < FAKE_NCPUS; c++) {
		fake_set_cpu(c);
		fake_set_reg("vpidr_el2", v);
	}
	fake_set_cpu(was);
}

/* Another CPU (a different MIDR) or a disk too small: refused, said why. */
static void fingerprint_and_space(void **state)
{
	world(two, 2);
	struct partition *a = &partitions[0];
	set_midr(0x410fd0c0);
	fake_start(a);
	fill_ram(a, 6);
	save_ok("a", "s1");
	stop(a);
	set_midr(0x410fd490);
	fake_log_clear();
	assert_int_equal(cmd("restore s1"), 0);
	run_cpu_jobs();
	fake_run_jobs();
	assert_true(fake_log_has("CPU fingerprint mismatch"));
	assert_true(fake_log_has("MIDR_EL1"));
	assert_int_equal(partition_state(a), PART_STOPPED);
	/* 4 MiB of store for 16 MiB of noise and pattern: no room */
	store_drop();
	fake_disk_attach(4 + FAKE_DISK_SCRATCH / MIB);
	fake_start(a);
	fill_ram(a, 7);
	fake_log_clear();
	assert_int_equal(cmd("save a big"), 0);
	fake_run_jobs();
	assert_true(fake_log_has("snapshot: error: save big of a: "));
	assert_true(fake_log_has("full") || fake_log_has("space") || fake_log_has("small"));
	assert_int_equal(partition_state(a), PART_RUNNING);
}

/* No disk: every command says so and nothing stays paused. */
static void no_disk(void **state)
{
	world(two, 2);
	fake_disk_attach(0);
	struct partition *a = &partitions[0];
	fake_start(a);
	fake_log_clear();
	assert_int_equal(cmd("save a s1"), 0);
	fake_run_jobs();
	assert_true(fake_log_has("snapshot: error: save s1 of a: no disk for snapshots"));
	assert_int_equal(partition_state(a), PART_RUNNING);
	assert_int_equal(cmd("verify s1"), 0);
	run_cpu_jobs();
	assert_true(fake_log_has("snapshot: verify s1: BAD: no disk for snapshots"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(roundtrip),
	    cmocka_unit_test(refusals),
	    cmocka_unit_test(damage_refused),
	    cmocka_unit_test(io_error_keeps_previous),
	    cmocka_unit_test(incremental_chain),
	    cmocka_unit_test(live_save),
	    cmocka_unit_test(boot_restore),
	    cmocka_unit_test(no_disk),
	    cmocka_unit_test(fingerprint_and_space),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
