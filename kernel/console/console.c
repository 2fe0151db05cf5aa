/*
 * Console input and focus. The UART's RX interrupt (routed to the boot CPU)
 * feeds either the hypervisor shell or the partition that has focus; Ctrl-]
 * moves focus: shell -> first running partition -> next ... -> shell.
 * Partition output is line-buffered by its vUART and printed with a
 * "[name] " prefix.
 *
 * Input for a partition queues in its vUART (a few KiB behind the 32-byte
 * FIFO) and reaches the guest as it reads. When that queue is full the
 * console takes no more bytes from the UART: its RX interrupt is masked,
 * the bytes wait in the UART's FIFO (and QEMU's chardev, or a sender with
 * flow control, behind it) until the guest has read some, when the vUART's
 * input-ready hook unmasks it again. Nothing typed or pasted is dropped.
 *
 * Locks: focus_lock (focus, and the vUART mode switches that follow it) is
 * taken before a vUART's lock; rx_lock (the RX mask) is a leaf, taken
 * under a vUART's lock by the hook. The lifecycle lock is held when
 * focus_lock is taken by the started hook, so the shell, which starts and
 * stops partitions, runs with neither held. Focus follows a partition's
 * state read without a lock: only a hint, as a vUART that is not
 * initialised (or was flushed at the stop) takes no input and raises no
 * interrupt whatever the console does.
 */
#include "kernel/console/console.h"
#include "drivers/drivers.h"

#define FOCUS_KEY 0x1d /* Ctrl-] */

static uintptr_t uart;

static struct spinlock focus_lock;
static int focus = -1;	/* -1: the shell; otherwise a partition index */
static bool full_noted; /* the "input is full" note was shown for this focus */

static struct spinlock rx_lock;
static bool rx_held;	  /* RX interrupt masked: the focused input is full */
static uint32_t rx_ready; /* input-ready hook calls (read without rx_lock) */

static void uart_putc(char c)
{
	pl011_putc(uart, c);
}

static void input_ready(void);

void console_init(uintptr_t base)
{
	uart = base;
	pl011_init(base);
	if (base)
		log_set_sink(uart_putc);
	vuart_set_input_ready(input_ready);
}

uintptr_t console_base(void)
{
	return uart;
}

/* ---- flow control towards the physical UART ---- */

/* A vUART that refused input has room again (any CPU, its lock held). */
static void input_ready(void)
{
	uint64_t f = spin_lock_irqsave(&rx_lock);
	__atomic_store_n(&rx_ready, rx_ready + 1, __ATOMIC_RELEASE);
	if (rx_held) {
		rx_held = false;
		pl011_rx_irq_mask(uart, false);
	}
	spin_unlock_irqrestore(&rx_lock, f);
}

/* Stops taking bytes until input_ready(); false (nothing held) if it was
 * called since seen was read, i.e. room appeared while we asked. */
static bool hold_input(uint32_t seen)
{
	uint64_t f = spin_lock_irqsave(&rx_lock);
	bool hold = rx_ready == seen;
	if (hold) {
		rx_held = true;
		pl011_rx_irq_mask(uart, true);
	}
	spin_unlock_irqrestore(&rx_lock, f);
	return hold;
}

/* ---- focus (focus_lock held) ---- */

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
	vuart_set_raw(&p->uart, on ? partition_uart_raw : NULL);
}

/* The focused partition's output passes through byte by byte (prompts and
 * echo appear as typed); the others stay line-buffered with a prefix. */
static void set_focus(int f)
{
	if (focus >= 0)
		set_raw(&partitions[focus], false);
	focus = f;
	full_noted = false;
	if (focus >= 0)
		set_raw(&partitions[focus], true);
}

/* Runs on the CPU that built p, under the lifecycle lock. */
static void partition_started(struct partition *p)
{
	uint64_t f = spin_lock_irqsave(&focus_lock);
	if (focus >= 0 && &partitions[focus] == p)
		set_raw(p, true);
	spin_unlock_irqrestore(&focus_lock, f);
}

/* Returns true if the shell has focus now. */
static bool next_focus(void)
{
	int i = focus + 1;
	while (i < (int)npartitions && !can_focus(i))
		i++;
	set_focus(i < (int)npartitions ? i : -1);
	if (focus < 0)
		kprintf("\n[console: tessera shell]\n");
	else
		kprintf("\n[console: partition %s; Ctrl-] switches]\n", partitions[focus].cfg.name);
	return focus < 0;
}

/* The focused partition, or NULL for the shell (also when it stopped:
 * input goes back to the shell). */
static struct partition *focused(void)
{
	if (focus >= 0 && !can_focus(focus))
		set_focus(-1);
	return focus >= 0 ? &partitions[focus] : NULL;
}

/* Whether p can take a byte now; if not, holds the UART until it can. */
static bool room_for(struct partition *p)
{
	uint32_t seen = __atomic_load_n(&rx_ready, __ATOMIC_ACQUIRE);
	if (vuart_rx_wait(&p->uart))
		return true;
	if (!full_noted) {
		full_noted = true;
		kprintf("\n[console: %s's input buffer (%u bytes) is full; the rest waits "
			"until it reads]\n",
			p->cfg.name, VUART_RX_RING);
	}
	return !hold_input(seen); /* room appeared meanwhile: go on */
}

/* ---- input ---- */

enum take { TAKE_NONE, TAKE_DONE, TAKE_SHELL, TAKE_PROMPT };

/* Reads at most one byte from the UART and routes it to the focused
 * partition; the shell's input (*c) and prompt are left to the caller,
 * outside focus_lock. TAKE_NONE: nothing to read, or the input is held. */
static enum take take_one(int *c)
{
	uint64_t f = spin_lock_irqsave(&focus_lock);
	struct partition *p = focused();
	enum take t = TAKE_DONE;
	if (p && !room_for(p))
		t = TAKE_NONE;
	else if ((*c = pl011_getc(uart)) < 0)
		t = TAKE_NONE;
	else if (*c == FOCUS_KEY)
		t = next_focus() ? TAKE_PROMPT : TAKE_DONE;
	else if (p)
		vuart_rx(&p->uart, (char)*c); /* dropped only if it stopped or loops back */
	else
		t = TAKE_SHELL;
	spin_unlock_irqrestore(&focus_lock, f);
	return t;
}

void console_rx_irq(void)
{
	enum take t;
	int c;
	while ((t = take_one(&c)) != TAKE_NONE) {
		if (t == TAKE_SHELL)
			shell_input((char)c);
		else if (t == TAKE_PROMPT)
			shell_prompt();
	}
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
