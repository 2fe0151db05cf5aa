/* The hypervisor shell on the console: `tessera> `. */
#include "kernel/internal.h"
#include <stdlib.h>
#include <string.h>

static int cmd_help(int argc, char **argv);

static int cmd_info(int argc, char **argv)
{
	report_print();
	return 0;
}

static int cmd_cpus(int argc, char **argv)
{
	report_cpus();
	for (unsigned i = 0; i < hw.ncpus; i++) {
		const struct percpu *c = &percpu_data[i];
		const char *state = c->online ? "online" : cpu_start_err[i] ? "failed" : "offline";
		kprintf("  cpu%u  MPIDR 0x%06llx  %-7s  irqs %llu  stack 0x%llx-0x%llx\n", i,
			(unsigned long long)c->mpidr, state, (unsigned long long)c->irqs,
			(unsigned long long)c->stack_lo, (unsigned long long)c->stack_hi);
	}
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

/* Deliberate EL2 faults, to test the crash report. */
static int cmd_crash(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "";
	if (strcmp(kind, "data") == 0) {
		/* nothing is mapped at page zero; hide the constant from GCC */
		volatile uintptr_t addr = 0x10;
		return *(volatile int *)addr;
	}
	if (strcmp(kind, "undef") == 0)
		__asm__ volatile("udf #0x7e55");
	if (strcmp(kind, "panic") == 0)
		panic("crash command");
	kprintf("usage: crash data|undef|panic\n");
	return 1;
}

static const struct shell_cmd cmds[] = {
    {"help", "list the commands", cmd_help, false},
    {"info", "the boot report again", cmd_info, false},
    {"cpus", "physical CPUs and their state", cmd_cpus, false},
    {"mem", "RAM seen, reserved and free", cmd_mem, false},
    {"pci", "PCIe functions found by ECAM enumeration", cmd_pci, false},
    {"smmu", "SMMUv3: features, domains, streams, fault counters, last faults", cmd_smmu,
     false},
    {"disk", "[test]: the NVMe disk tessera owns; test writes, reads back, verifies", cmd_disk,
     false},
    {"reboot", "reset the machine (PSCI SYSTEM_RESET)", cmd_reboot, false},
    {"poweroff", "power the machine off (PSCI SYSTEM_OFF)", cmd_poweroff, false},
    {"crash", "data|undef|panic: fault at EL2 on purpose (test builds)", cmd_crash, true},
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

void shell_run(void)
{
	static struct line_ed ed;
	kprintf("type 'help' for commands\n");
	cnt_shell = timer_now();
	kprintf("boot: %llu counter ticks at %llu Hz from EFI entry to the shell\n",
		(unsigned long long)(cnt_shell - boot_info->cnt_entry),
		(unsigned long long)timer_freq());
	for (;;) {
		kprintf(SHELL_PROMPT);
		while (!line_ed_feed(&ed, console_getc(), echo))
			;
		run_line(ed.buf);
	}
}
