/*
 * `snapshot save|restore|list|verify|delete` and the restore at boot. The
 * shell runs in the console's interrupt, so every command only checks its
 * arguments and hands the disk work to a job: a save to the partition's
 * paused job (lc_pause), a restore to its build (lc_start_restore), the
 * others to a CPU job (sched_job) on a CPU that runs no partition if there
 * is one, else the boot CPU. Results are printed when the job ends, every
 * line starting "snapshot: " (docs/snapshot-shell.md lists them).
 */
#include "kernel/vm/snap_state.h"
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define WHY_MAX 200

enum cmd_op { OP_LIST, OP_VERIFY, OP_DELETE, OP_FIND, OP_COMPACT, OP_LIVE };

struct cmd_job {
	struct sched_job j; /* first: the job is found from it */
	enum cmd_op op;
	char name[SNAP_NAME_MAX + 1];
	struct partition *part; /* OP_LIVE */
};

/* ---- save: the partition's paused job ---- */

void snap_paused_job(struct partition *p)
{
	struct snap_save_stats st;
	char why[WHY_MAX];
	uint64_t t1 = timer_now();
	kprintf("%s: paused\n", p->cfg.name);
	if (p->snap_live) {
		store_take();
		int e = snap_live_begin(p, p->snap_name, p->snap_t0, t1, why, sizeof(why));
		store_give();
		p->cntvoff += timer_now() - t1; /* freeze: the guest's time skips the pause */
		if (e)
			kprintf("snapshot: error: save %s of %s: %s\n", p->snap_name, p->cfg.name,
				why);
		return;
	}
	store_take();
	const char *parent = p->snap_parent[0] ? p->snap_parent : NULL;
	int e = snap_save_partition(p, p->snap_name, parent, t1, &st, why, sizeof(why));
	store_give();
	uint64_t t2 = timer_now();
	p->cntvoff += t2 - t1; /* freeze: the guest's virtual time skips the pause */
	if (e) {
		kprintf("snapshot: error: save %s of %s: %s\n", p->snap_name, p->cfg.name, why);
		return;
	}
	char inc[96] = "";
	if (parent)
		snprintf(inc, sizeof(inc), " parent=%s shared_chunks=%llu of %llu", parent,
			 (unsigned long long)st.reused_chunks, (unsigned long long)st.chunks);
	kprintf("snapshot: saved %s from %s: ram=%llu disk=%llu written=%llu zero_pages=%llu "
		"pause_us=%llu time_us=%llu%s\n",
		p->snap_name, p->cfg.name, (unsigned long long)st.ram_bytes,
		(unsigned long long)st.disk_bytes, (unsigned long long)st.disk_bytes,
		(unsigned long long)st.zero_pages, (unsigned long long)snap_us(t2 - p->snap_t0),
		(unsigned long long)snap_us(t2 - t1), inc);
}

static bool name_ok(const char *name);
static int queue(enum cmd_op op, const char *name, struct partition *part);

static int save(const char *part, const char *name, const char *parent, bool live)
{
	struct partition *p = partition_find(part);
	if (!p) {
		kprintf("snapshot: error: no partition \"%s\"\n", part);
		return -ENOENT;
	}
	if (!snap_name_valid(name)) {
		kprintf("snapshot: error: \"%s\" is not a snapshot name ([A-Za-z0-9._-], starting "
			"alphanumeric, up to %u)\n",
			name, SNAP_NAME_MAX);
		return -EINVAL;
	}
	if (partition_state(p) != PART_RUNNING) {
		kprintf("snapshot: error: save %s: partition %s is %s, not running\n", name, part,
			partition_state_name(partition_state(p)));
		return -EBUSY;
	}
	if (p->cfg.its) {
		kprintf("snapshot: error: save %s: partition %s has an ITS (its), which snapshots "
			"do not hold\n",
			name, part);
		return -EINVAL;
	}
	/* a device's state (registers, DMA in flight) is not the partition's
	 * to save: a restore would resume a driver against a reset device */
	if (p->npdevs) {
		kprintf("snapshot: error: save %s: partition %s has assigned PCI devices\n", name,
			part);
		return -EPERM;
	}
	if (parent && !name_ok(parent))
		return -EINVAL;
	if (snap_live_running(p)) {
		kprintf("snapshot: error: save %s: a live save of %s is still being written\n",
			name, part);
		return -EBUSY;
	}
	/* the job reads these once the partition is paused, after this write */
	strcpy(p->snap_name, name);
	strcpy(p->snap_parent, parent ? parent : "");
	p->snap_live = live;
	if (live)
		return queue(OP_LIVE, NULL, p);
	p->snap_t0 = timer_now();
	int e = lc_pause(&p->lc);
	if (e)
		kprintf("snapshot: error: save %s: partition %s is %s, not running\n", name, part,
			partition_state_name(partition_state(p)));
	return e;
}

/* ---- restore: the partition's build ---- */

int snap_restore_job(struct partition *p)
{
	char why[WHY_MAX];
	uint64_t rd = 0, t1 = timer_now();
	store_take();
	int e = snap_restore_partition(p, p->snap_name, &rd, why, sizeof(why));
	store_give();
	uint64_t t2 = timer_now();
	if (!e)
		kprintf("snapshot: restored %s into %s: ram=%llu read=%llu time_us=%llu\n",
			p->snap_name, p->cfg.name, (unsigned long long)p->cfg.mem_size,
			(unsigned long long)rd, (unsigned long long)snap_us(t2 - t1));
	else if (p->snap_boot)
		kprintf("%s: snapshot %s unusable (%s): booting its kernel\n", p->cfg.name,
			p->snap_name, why);
	else
		kprintf("snapshot: error: restore %s: %s; %s stays stopped\n", p->snap_name, why,
			p->cfg.name);
	return e;
}

static int restore_into(struct partition *p, const char *name, bool boot)
{
	if (p->npdevs) {
		kprintf("snapshot: error: restore %s: partition %s has assigned PCI devices\n",
			name, p->cfg.name);
		return -EPERM;
	}
	if (partition_state(p) != PART_STOPPED) {
		kprintf("snapshot: error: restore %s: partition %s is %s (stop it first)\n", name,
			p->cfg.name, partition_state_name(partition_state(p)));
		return -EBUSY;
	}
	if (p->cfg.its) { /* its LPI and ITS state would be lost */
		kprintf("snapshot: error: restore %s: partition %s has an ITS (its), which "
			"snapshots do not hold\n",
			name, p->cfg.name);
		return -EINVAL;
	}
	strcpy(p->snap_name, name);
	p->snap_boot = boot;
	p->snap_t0 = timer_now();
	int e = lc_start_restore(&p->lc);
	if (e)
		kprintf("snapshot: error: restore %s into %s: %s\n", name, p->cfg.name,
			e == -EAGAIN  ? "its CPUs are in use"
			: e == -EPERM ? "its configuration is invalid"
				      : "it is not stopped");
	return e;
}

int snapshot_boot_restore(struct partition *p)
{
	kprintf("%s: restoring from snapshot %s\n", p->cfg.name, p->cfg.restore);
	return restore_into(p, p->cfg.restore, true);
}

/* ---- list, verify, delete, and finding a snapshot's partition ---- */

static void do_list(struct snap_store *s)
{
	struct snap_store_stat st;
	if (snap_stat(s, &st)) {
		kprintf("snapshot: error: list: %s\n", snap_error(s));
		return;
	}
	kprintf("snapshot: %u snapshot(s), generation %llu, used %llu of %llu bytes\n", st.count,
		(unsigned long long)st.generation, (unsigned long long)st.used_blocks * SNAP_BLOCK,
		(unsigned long long)st.area_blocks * SNAP_BLOCK);
	for (unsigned i = 0; i < snap_count(s); i++) {
		struct snap_info in;
		struct snap_image *m;
		if (snap_entry(s, i, &in))
			continue;
		const char *part = "?";
		char pbuf[48], parent[64] = "";
		struct snap_rec r;
		if (snap_load(s, in.name, &m) == 0) {
			memcpy(pbuf, snap_image_header(m)->partition, sizeof(pbuf));
			pbuf[sizeof(pbuf) - 1] = '\0';
			part = pbuf;
			if (!snap_image_find(m, SNAP_REC_PARENT, 0, &r))
				snprintf(parent, sizeof(parent), " parent=%s",
					 ((const struct snap_parent *)r.body)->name);
			snap_image_free(m);
		}
		kprintf("snapshot:   %s part=%s vcpus=%u ram=%llu disk=%llu gen=%llu%s\n", in.name,
			part, in.nvcpus, (unsigned long long)in.ram_bytes,
			(unsigned long long)in.disk_bytes, (unsigned long long)in.generation,
			parent);
	}
}

static void do_verify(struct snap_store *s, const char *name)
{
	struct snap_verify_stats vs;
	int e = snap_verify(s, name, &vs);
	if (e)
		kprintf("snapshot: verify %s: BAD: %s\n", name,
			e == -ENOENT ? "no snapshot of that name" : snap_error(s));
	else
		kprintf(
		    "snapshot: verify %s: OK chunks=%llu pages=%llu zero_pages=%llu bytes=%llu\n",
		    name, (unsigned long long)vs.chunks, (unsigned long long)vs.pages,
		    (unsigned long long)vs.zero_pages, (unsigned long long)vs.payload_bytes);
}

static void do_delete(struct snap_store *s, const char *name)
{
	int e = snap_delete(s, name);
	if (e)
		kprintf("snapshot: error: delete %s: %s\n", name,
			e == -ENOENT ? "no snapshot of that name" : snap_error(s));
	else
		kprintf("snapshot: deleted %s\n", name);
}

static void do_compact(struct snap_store *s, const char *name)
{
	struct snap_save_stats st;
	int e = snap_compact(s, name, &st);
	if (e)
		kprintf("snapshot: error: compact %s: %s\n", name,
			e == -ENOENT ? "no snapshot of that name" : snap_error(s));
	else
		kprintf("snapshot: compacted %s: written=%llu chunks=%llu\n", name,
			(unsigned long long)st.disk_bytes, (unsigned long long)st.chunks);
}

/* Restore without a partition named: the one the snapshot was taken from. */
static struct partition *do_find(struct snap_store *s, const char *name)
{
	struct snap_image *m;
	int e = snap_load(s, name, &m);
	if (e) {
		kprintf("snapshot: error: restore %s: %s\n", name,
			e == -ENOENT ? "no snapshot of that name" : snap_error(s));
		return NULL;
	}
	char part[48];
	memcpy(part, snap_image_header(m)->partition, sizeof(part));
	part[sizeof(part) - 1] = '\0';
	snap_image_free(m);
	struct partition *p = partition_find(part);
	if (!p)
		kprintf(
		    "snapshot: error: restore %s: it was taken from partition \"%s\", which this "
		    "configuration does not have (name one)\n",
		    name, part);
	return p;
}

/* A live save: the store opened first (on first use it reads the disk),
 * while the guest runs, so the pause does no I/O; then the pause. */
static void live_pause(struct partition *p, char *why, size_t whylen)
{
	store_take();
	struct snap_store *s = store_get(true, why, whylen);
	store_give();
	if (!s) {
		kprintf("snapshot: error: save %s of %s: %s\n", p->snap_name, p->cfg.name, why);
		return;
	}
	p->snap_t0 = timer_now();
	if (lc_pause(&p->lc))
		kprintf("snapshot: error: save %s: partition %s is %s, not running\n", p->snap_name,
			p->cfg.name, partition_state_name(partition_state(p)));
}

static void cmd_job_run(struct sched_job *j)
{
	struct cmd_job *c = (struct cmd_job *)j;
	char why[WHY_MAX];
	struct partition *p = NULL;
	if (c->op == OP_LIVE) {
		live_pause(c->part, why, sizeof(why));
		free(c);
		return;
	}
	store_take();
	struct snap_store *s = store_get(false, why, sizeof(why));
	if (!s && c->op == OP_VERIFY)
		kprintf("snapshot: verify %s: BAD: %s\n", c->name, why);
	else if (!s)
		kprintf("snapshot: error: %s\n", why);
	else if (c->op == OP_LIST)
		do_list(s);
	else if (c->op == OP_VERIFY)
		do_verify(s, c->name);
	else if (c->op == OP_DELETE)
		do_delete(s, c->name);
	else if (c->op == OP_COMPACT)
		do_compact(s, c->name);
	else
		p = do_find(s, c->name);
	/* verify and delete saw the disk as it is, and a name not found may be a
	 * fallback to an older superblock: start from the disk next time */
	if (s && c->op != OP_LIST && !(c->op == OP_FIND && p))
		store_drop();
	store_give();
	if (p)
		restore_into(p, c->name, false);
	free(c);
}

/* On a CPU that runs no partition, else on the boot CPU: the first whose
 * job slot is free (a job still finishing elsewhere must not make the next
 * command busy). */
static int place(struct sched_job *j)
{
	for (unsigned c = 0; c < hw.ncpus; c++)
		if (percpu_data[c].online && !percpu_data[c].vcpu && !lc_job_pending(c) &&
		    !sched_job(c, j))
			return 0;
	return sched_job(boot_cpu, j);
}

static bool cpu_owned(unsigned c)
{
	for (unsigned i = 0; i < npartitions; i++)
		if (partitions[i].cfg.cpu_mask & BIT(c))
			return true;
	return false;
}

int snap_job_place(struct sched_job *j, const struct partition *p)
{
	(void)p;
	for (unsigned c = 0; c < hw.ncpus; c++)
		if (percpu_data[c].online && !cpu_owned(c) && !lc_job_pending(c) &&
		    !sched_job(c, j))
			return (int)c;
	return -EBUSY;
}

static int queue(enum cmd_op op, const char *name, struct partition *part)
{
	struct cmd_job *c = calloc(1, sizeof(*c));
	if (!c) {
		kprintf("snapshot: error: out of memory\n");
		return -ENOMEM;
	}
	c->j.fn = cmd_job_run;
	c->op = op;
	c->part = part;
	if (name)
		strcpy(c->name, name);
	int e = place(&c->j);
	if (e) {
		kprintf("snapshot: error: busy: another snapshot command is queued; try again\n");
		free(c);
	}
	return e;
}

static bool name_ok(const char *name)
{
	if (snap_name_valid(name))
		return true;
	kprintf("snapshot: error: \"%s\" is not a snapshot name ([A-Za-z0-9._-], starting "
		"alphanumeric, up to %u)\n",
		name, SNAP_NAME_MAX);
	return false;
}

static int restore(int argc, char **argv)
{
	if (!name_ok(argv[0]))
		return -EINVAL;
	if (argc < 2)
		return queue(OP_FIND, argv[0], NULL);
	struct partition *p = partition_find(argv[1]);
	if (!p) {
		kprintf("snapshot: error: no partition \"%s\"\n", argv[1]);
		return -ENOENT;
	}
	return restore_into(p, argv[0], false);
}

static void usage(void)
{
	kprintf(
	    "usage: snapshot save PART NAME [--parent P | --live] | restore NAME [PART] | list | "
	    "verify NAME | delete NAME | compact NAME\n");
}

/* save PART NAME [--parent P | --live] */
static int save_args(int n, char **a)
{
	if (n == 2)
		return save(a[0], a[1], NULL, false);
	if (n == 4 && !strcmp(a[2], "--parent"))
		return save(a[0], a[1], a[3], false);
	if (n == 3 && !strcmp(a[2], "--live"))
		return save(a[0], a[1], NULL, true);
	usage();
	return -EINVAL;
}

int cmd_snapshot(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	int n = argc - 2;
	if (!strcmp(sub, "save") && n >= 2)
		return save_args(n, argv + 2);
	if (!strcmp(sub, "compact") && n == 1)
		return name_ok(argv[2]) ? queue(OP_COMPACT, argv[2], NULL) : -EINVAL;
	if (!strcmp(sub, "restore") && (n == 1 || n == 2))
		return restore(n, argv + 2);
	if (!strcmp(sub, "list") && n == 0)
		return queue(OP_LIST, NULL, NULL);
	if (!strcmp(sub, "verify") && n == 1)
		return name_ok(argv[2]) ? queue(OP_VERIFY, argv[2], NULL) : -EINVAL;
	if (!strcmp(sub, "delete") && n == 1)
		return name_ok(argv[2]) ? queue(OP_DELETE, argv[2], NULL) : -EINVAL;
	usage();
	return -EINVAL;
}
