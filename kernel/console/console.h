/*
 * kernel/console/: the physical console shared by tessera and the
 * partitions (console.c: input focus, partition output), the shell
 * (shell.c, shell_cmds.c) and the boot report (report.c). Uses everything
 * below it in kernel/ (vm, io, machine) and lib, arch, drivers, smmu.
 */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include "kernel/console/shell.h"
#include "kernel/io/io.h"
#include "kernel/machine/machine.h"
#include "kernel/vm/vm.h"

/* ---- the console device and input focus (console.c) ---- */
void console_init(uintptr_t base);
uintptr_t console_base(void);
void console_rx_irq(void);
/* Hooks the console into the partitions' vUART output (vm_set_console). */
void console_attach_partitions(void);

/* ---- the shell, driven by console input (shell_cmds.c) ---- */
extern uint64_t cnt_shell; /* CNTPCT when the shell first prompts */
void shell_start(void);
void shell_prompt(void);
void shell_input(char c);

/* ---- the boot report (report.c); sections shared with shell commands ---- */
void report_print(void);
void report_cpus(void);
void report_mem(void);
void report_pci(void);

#endif
