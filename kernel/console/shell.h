/* The shell's line editor and command table (portable; host-tested). */
#ifndef KERNEL_CONSOLE_SHELL_H
#define KERNEL_CONSOLE_SHELL_H

#include "lib/types.h"

#define SHELL_PROMPT "tessera> "
struct shell_cmd {
	const char *name;
	const char *help;
	int (*fn)(int argc, char **argv);
	bool test_only; /* listed and runnable only with /hypervisor/test-commands */
};
/* Splits line in place into argv (at most max); returns argc. */
int shell_split(char *line, char **argv, int max);
/* Line editor: feeds one input byte; returns true when a line is complete
 * (then buf holds it, NUL terminated). Handles backspace/DEL, ^U, ^C. Echo
 * goes through echo(). */
struct line_ed {
	char buf[256];
	size_t len;
};
bool line_ed_feed(struct line_ed *ed, char c, void (*echo)(const char *s, size_t n));
/* Finds a command by exact name; NULL if none. */
const struct shell_cmd *shell_find(const struct shell_cmd *cmds, size_t n, const char *name);

#endif
