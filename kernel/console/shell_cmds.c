/* The hypervisor shell on the console: `tessera> `. */
#include "kernel/console/console.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t cnt_shell;

static int cmd_help(int argc, char **argv);

static int cmd_info(int argc, char **argv)
{
	report_print();
	return 0;
}

/* The vCPUs pinned to a CPU, the one on it marked with '*'. */
static void print_pinned(const struct percpu *c)
{
	const struct vcpu *v = c->vcpu;
	if (!v)
		return;
	kprintf("        runs");
	for (; v; v = v->next_on_cpu)
		kprintf(" %s/vcpu%u%s", v->part->cfg.name, v->idx, c->loaded == v ? "*" : "");
	kprintf("\n");
}

static int cmd_cpus(int argc, char **argv)
{
	report_cpus();
	for (unsigned i = 0; i < hw.ncpus; i++) {
		const struct percpu *c = &percpu_data[i];
		const char *state = c->online ? "online" : cpu_start_err[i] ? "failed" : "offline";
		kprintf(
		    "  cpu%u  MPIDR 0x%06llx  %-7s  irqs %llu  exits %llu  stack 0x%llx-0x%llx\n",
		    i, (unsigned long long)c->mpidr, state, (unsigned long long)c->irqs,
		    (unsigned long long)c->exits, (unsigned long long)c->stack_lo,
		    (unsigned long long)c->stack_hi);
		print_pinned(c);
	}
	return 0;
}

static int cmd_sched(int argc, char **argv)
{
	sched_report();
	return 0;
}

static int cmd_mem(int argc, char **argv)
{
	const struct memmap *m = mem_free_map();
	report_mem();
	kprintf("  boot pool: %llu KiB of %llu KiB used\n", (unsigned long long)(pool_used() >> 10),
		(unsigned long long)(boot_info->pool_size >> 10));
	for (unsigned i = 0; i < m->n; i++)
		kprintf("  free 0x%010llx-0x%010llx  %8llu KiB\n", (unsigned long long)m->r[i].base,
			(unsigned long long)(m->r[i].base + m->r[i].size - 1),
			(unsigned long long)(m->r[i].size >> 10));
	return 0;
}

static int cmd_pci(int argc, char **argv)
{
	report_pci();
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	if (!npartitions)
		kprintf("no partitions configured\n");
	for (unsigned i = 0; i < npartitions; i++) {
		const struct partition *p = &partitions[i];
		kprintf("  %-12s %-8s cpus 0x%llx  vcpus %u  %5llu MiB  starts %llu  faults %llu\n",
			p->cfg.name, partition_state_name(partition_state(p)),
			(unsigned long long)p->cfg.cpu_mask, p->cfg.vcpus,
			(unsigned long long)(p->cfg.mem_size >> 20), (unsigned long long)p->starts,
			(unsigned long long)p->faults);
		char devs[PART_PCI_MAX * 9];
		pdev_names(p, devs, sizeof(devs));
		if (devs[0])
			kprintf("      devices %s\n", devs);
		if (partition_state(p) == PART_FAILED)
			kprintf("      %s\n", p->cfg.error);
	}
	return 0;
}

static struct partition *named(int argc, char **argv)
{
	struct partition *p = argc == 2 ? partition_find(argv[1]) : NULL;
	if (argc != 2)
		kprintf("usage: %s NAME\n", argv[0]);
	else if (!p)
		kprintf("no partition named '%s' (see 'list')\n", argv[1]);
	return p;
}

static const char *why(int e)
{
	switch (e) {
	case -EBUSY:
		return "it is not stopped";
	case -EINVAL:
		return "it is not running";
	case -EAGAIN:
		return "its CPUs are busy or offline";
	default:
		return "see the messages above";
	}
}

static int cmd_start(int argc, char **argv)
{
	struct partition *p = named(argc, argv);
	if (!p)
		return 1;
	if (partition_state(p) == PART_FAILED) {
		kprintf("%s cannot start: %s\n", p->cfg.name, p->cfg.error);
		return 1;
	}
	int e = partition_start(p);
	if (e)
		kprintf("cannot start %s: %s\n", p->cfg.name, why(e));
	return e != 0;
}

static int cmd_stop(int argc, char **argv)
{
	struct partition *p = named(argc, argv);
	int e = p ? partition_stop(p, !strcmp(argv[0], "restart")) : 1;
	if (p && e)
		kprintf("cannot %s %s: %s\n", argv[0], p->cfg.name, why(e));
	return e != 0;
}

static int cmd_reboot(int argc, char **argv)
{
	kprintf("rebooting (PSCI SYSTEM_RESET)\n");
	psci_system_reset();
}

static int cmd_poweroff(int argc, char **argv)
{
	kprintf("powering off (PSCI SYSTEM_OFF)\n");
	psci_system_off();
}

/* Stage-2 dirty tracking by hand (test-commands only until incremental
 * snapshots drive it): start/stop on a running partition, or show. */
static int cmd_dirty(int argc, char **argv)
{
	struct partition *p = argc >= 2 ? partition_find(argv[1]) : NULL;
	const char *op = argc == 3 ? argv[2] : "show";
	if (!p || argc > 3) {
		kprintf(p || argc < 2 ? "usage: dirty NAME [start|stop]\n"
				      : "no partition named '%s' (see 'list')\n",
			argc >= 2 ? argv[1] : "");
		return 1;
	}
	int e = 0;
	if (!strcmp(op, "start"))
		e = partition_state(p) == PART_RUNNING ? dirty_start(p) : -EBUSY;
	else if (!strcmp(op, "stop") && snap_live_running(p))
		e = -EAGAIN; /* its copy-on-write needs the RAM read-only */
	else if (!strcmp(op, "stop"))
		dirty_stop(p);
	else if (strcmp(op, "show"))
		e = -EINVAL;
	if (e) {
		kprintf("dirty: %s: cannot %s (%s)\n", p->cfg.name, op,
			e == -EBUSY    ? "not running, or already tracking"
			: e == -EAGAIN ? "a live save is being written"
			: e == -EPERM  ? "it has assigned devices, whose DMA stage 2 does not see"
				       : strerror(-e));
		return 1;
	}
	kprintf("dirty: %s: tracking %s, %llu pages dirty, %llu write faults\n", p->cfg.name,
		dirty_on(p) ? "on" : "off", (unsigned long long)dirty_count(p),
		(unsigned long long)dirty_faults(p));
	return 0;
}

/* Recursion the compiler cannot bound (limit is volatile): the frame is
 * used after the call, so it is no tail call either. */
static volatile int recurse_limit = 1 << 30;
static int __attribute__((noinline)) recurse(int depth)
{
	volatile char frame[512];
	frame[0] = (char)depth;
	if (depth >= recurse_limit)
		return 0;
	return recurse(depth + 1) + frame[0];
}

/* Deliberate EL2 faults, to test the crash report. */
static int cmd_crash(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "";
	if (strcmp(kind, "stack") == 0)
		return recurse(0);
	if (strcmp(kind, "data") == 0) {
		/* nothing is mapped at page zero; hide the constant from GCC */
		volatile uintptr_t addr = 0x10;
		return *(volatile int *)addr;
	}
	if (strcmp(kind, "undef") == 0)
		__asm__ volatile("udf #0x7e55");
	if (strcmp(kind, "panic") == 0)
		panic("crash command");
	kprintf("usage: crash data|undef|panic|stack\n");
	return 1;
}

/* An MSI through the physical ITS into a partition, from a device that is
 * not there: the physical event (DeviceID PDEVID, by default 0x100 + the
 * partition's index; EventID = vevent % 32) routed to the guest's
 * (vdevid, vevent), then raised with INT, as an assigned device's MSI
 * write would. */
static int cmd_msi(int argc, char **argv)
{
	struct partition *p = argc == 4 || argc == 5 ? partition_find(argv[1]) : NULL;
	if (!p) {
		kprintf("usage: msi PART DEVID EVENTID [PDEVID]\n");
		return 1;
	}
	uint32_t vdev = (uint32_t)strtoul(argv[2], NULL, 0);
	uint32_t vev = (uint32_t)strtoul(argv[3], NULL, 0);
	uint32_t pdev = argc == 5 ? (uint32_t)strtoul(argv[4], NULL, 0) : 0x100 + p->id;
	uint32_t pev = vev % 32;
	int lpi = vm_msi_route(p, pdev, pev, vdev, vev);
	int e = lpi < 0 ? lpi : vm_msi_raise(p, pdev, pev);
	if (e) {
		kprintf("msi: error %d\n", e);
		return 1;
	}
	kprintf("msi: %s device %u event %u: physical LPI %d raised (dropped so far: %llu)\n",
		p->cfg.name, vdev, vev, lpi, (unsigned long long)vm_msi_dropped());
	return 0;
}

static const struct shell_cmd cmds[] = {
    {"help", "list the commands", cmd_help, false},
    {"info", "the boot report again", cmd_info, false},
    {"cpus", "physical CPUs and their state", cmd_cpus, false},
    {"sched", "each CPU's scheduling policy; per vCPU runtime, wake-ups, overruns, latency",
     cmd_sched, false},
    {"mem", "RAM seen, reserved and free", cmd_mem, false},
    {"pci", "PCIe functions found by ECAM enumeration", cmd_pci, false},
    {"list", "partitions: state, CPUs, memory", cmd_list, false},
    {"start", "NAME: start a stopped partition", cmd_start, false},
    {"stop", "NAME: stop a running partition", cmd_stop, false},
    {"restart", "NAME: stop a partition and start it again", cmd_stop, false},
    {"smmu", "SMMUv3: features, domains, streams, fault counters, last faults", cmd_smmu, false},
    {"dev",
     "list | attach BDF PART | detach BDF | translate BDF IOVA: PCIe functions and their "
     "owners (attach/detach: a stopped partition)",
     cmd_dev, false},
    {"disk",
     "[test [MiB]]: the NVMe disk tessera owns; test writes, reads back, verifies (in the "
     "background)",
     cmd_disk, false},
    {"snapshot",
     "save PART NAME | restore NAME [PART] | list | verify NAME | delete NAME: partitions "
     "on disk",
     cmd_snapshot, false},
    {"reboot", "reset the machine (PSCI SYSTEM_RESET)", cmd_reboot, false},
    {"poweroff", "power the machine off (PSCI SYSTEM_OFF)", cmd_poweroff, false},
    {"crash", "data|undef|panic|stack: fault at EL2 on purpose (test-commands only)", cmd_crash,
     true},
    {"dirty", "NAME [start|stop]: stage-2 dirty tracking of a partition's RAM (test-commands only)",
     cmd_dirty, true},
    {"msi", "PART DEVID EVENTID [PDEVID]: an MSI through the physical ITS (test-commands only)",
     cmd_msi, true},
};

static bool available(const struct shell_cmd *c)
{
	return c && (!c->test_only || hyp_config.test_commands);
}

static int cmd_help(int argc, char **argv)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (available(&cmds[i]))
			kprintf("  %-9s %s\n", cmds[i].name, cmds[i].help);
	return 0;
}

static void run_line(char *line)
{
	char *argv[16];
	int argc = shell_split(line, argv, ARRAY_SIZE(argv));
	if (argc == 0)
		return;
	const struct shell_cmd *c = shell_find(cmds, ARRAY_SIZE(cmds), argv[0]);
	if (!available(c)) {
		kprintf("unknown command '%s'; type 'help' for the list\n", argv[0]);
		return;
	}
	c->fn(argc, argv);
}

static void echo(const char *s, size_t n)
{
	console_write(s, n);
}

static struct line_ed ed;

void shell_prompt(void)
{
	kprintf(SHELL_PROMPT "%.*s", (int)ed.len, ed.buf);
}

void shell_start(void)
{
	kprintf("type 'help' for commands; Ctrl-] moves the console between the shell and "
		"partitions\n");
	cnt_shell = timer_now();
	kprintf("boot: %llu counter ticks at %llu Hz from EFI entry to the shell\n",
		(unsigned long long)(cnt_shell - boot_info->cnt_entry),
		(unsigned long long)timer_freq());
	shell_prompt();
}

/* Runs in the console's interrupt handler on the boot CPU; commands that
 * take long hold that CPU (and any vCPU pinned to it) meanwhile. */
void shell_input(char c)
{
	if (!line_ed_feed(&ed, c, echo))
		return;
	run_line(ed.buf);
	kprintf(SHELL_PROMPT);
}
