/* Shell line editing and parsing (portable; host-tested). */
#include "kernel/console/shell.h"
#include <string.h>

int shell_split(char *line, char **argv, int max)
{
	int argc = 0;
	char *p = line;
	while (*p && argc < max) {
		while (*p == ' ' || *p == '\t')
			*p++ = 0;
		if (!*p)
			break;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return argc;
}

static void erase(struct line_ed *ed, size_t n, void (*echo)(const char *, size_t))
{
	for (; n && ed->len; n--) {
		ed->len--;
		echo("\b \b", 3);
	}
}

static bool finish(struct line_ed *ed, void (*echo)(const char *, size_t))
{
	echo("\n", 1);
	ed->buf[ed->len] = 0;
	ed->len = 0;
	return true;
}

bool line_ed_feed(struct line_ed *ed, char c, void (*echo)(const char *s, size_t n))
{
	switch (c) {
	case '\r':
	case '\n':
		return finish(ed, echo);
	case 0x7f: /* DEL, what most terminals send for backspace */
	case '\b':
		erase(ed, 1, echo);
		return false;
	case 0x15: /* ^U: kill the line */
		erase(ed, ed->len, echo);
		return false;
	case 0x03: /* ^C: abandon the line */
		echo("^C", 2);
		ed->len = 0;
		return finish(ed, echo);
	}
	if ((unsigned char)c < 0x20 || ed->len + 1 >= sizeof(ed->buf))
		return false; /* other control bytes and overflow are ignored */
	ed->buf[ed->len++] = c;
	echo(&c, 1);
	return false;
}

const struct shell_cmd *shell_find(const struct shell_cmd *cmds, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}
