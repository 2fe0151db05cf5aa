/*
 * Console input and focus. The UART's RX interrupt (routed to the boot CPU)
 * feeds either the hypervisor shell or the partition that has focus; Ctrl-]
 * moves focus: shell -> first running partition -> next ... -> shell.
 * Partition output is line-buffered by its vUART and printed with a
 * "[name] " prefix.
 */
#include "kernel/console/console.h"
#include "drivers/drivers.h"

#define FOCUS_KEY 0x1d /* Ctrl-] */

static uintptr_t uart;
static int focus = -1; /* -1: the shell; otherwise a partition index */

static void uart_putc(char c)
{
	pl011_putc(uart, c);
}

void console_init(uintptr_t base)
{
	uart = base;
	pl011_init(base);
	if (base)
		log_set_sink(uart_putc);
}

uintptr_t console_base(void)
{
	return uart;
}

static bool can_focus(int i)
{
	return i >= 0 && i < (int)npartitions && partition_state(&partitions[i]) == PART_RUNNING;
}

static void partition_uart_raw(void *ctx, char c)
{
	kprintf("%c", c);
}

static void set_raw(struct partition *p, bool on)
{
	spin_lock(&p->uart_lock);
	vuart_set_raw(&p->uart, on ? partition_uart_raw : NULL);
	spin_unlock(&p->uart_lock);
}

/* The focused partition's output passes through byte by byte (prompts and
 * echo appear as typed); the others stay line-buffered with a prefix. */
static void set_focus(int f)
{
	if (focus >= 0)
		set_raw(&partitions[focus], false);
	focus = f;
	if (focus >= 0)
		set_raw(&partitions[focus], true);
}

static void partition_started(struct partition *p)
{
	if (focus >= 0 && &partitions[focus] == p)
		set_raw(p, true);
}

static void next_focus(void)
{
	int i = focus + 1;
	while (i < (int)npartitions && !can_focus(i))
		i++;
	set_focus(i < (int)npartitions ? i : -1);
	if (focus < 0) {
		kprintf("\n[console: tessera shell]\n");
		shell_prompt();
	} else {
		kprintf("\n[console: partition %s; Ctrl-] switches]\n", partitions[focus].cfg.name);
	}
}

static void to_partition(struct partition *p, char c)
{
	spin_lock(&p->uart_lock);
	vuart_rx(&p->uart, c);
	spin_unlock(&p->uart_lock);
}

static void console_input(char c)
{
	if (c == FOCUS_KEY) {
		next_focus();
		return;
	}
	if (focus >= 0 && !can_focus(focus))
		set_focus(-1); /* it stopped: input goes back to the shell */
	if (focus < 0)
		shell_input(c);
	else
		to_partition(&partitions[focus], c);
}

void console_rx_irq(void)
{
	int c;
	while ((c = pl011_getc(console_base())) >= 0)
		console_input((char)c);
}

static void partition_out(void *ctx, const char *line, size_t n)
{
	const struct partition *p = ctx;
	kprintf("[%s] %.*s\n", p->cfg.name, (int)n, line);
}

void console_attach_partitions(void)
{
	static const struct vm_console_ops ops = {partition_out, partition_started};
	vm_set_console(&ops);
}
