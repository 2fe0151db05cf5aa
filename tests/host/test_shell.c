/* Shell line editing, splitting and command lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "kernel/console/shell.h"

static char echoed[1024];
static size_t n_echoed;

static void echo(const char *s, size_t n)
{
	memcpy(echoed + n_echoed, s, n);
	n_echoed += n;
	echoed[n_echoed] = 0;
}

/* Feeds a string; returns how many complete lines it produced. */
static int feed(struct line_ed *ed, const char *s)
{
	int lines = 0;
	for (; *s; s++)
		lines += line_ed_feed(ed, *s, echo);
	return lines;
}

static void setup_echo(void)
{
	n_echoed = 0;
	echoed[0] = 0;
}

static void plain_line(void **state)
{
	struct line_ed ed = {0};
	setup_echo();
	assert_int_equal(feed(&ed, "cpus"), 0);
	assert_int_equal(feed(&ed, "\r"), 1);
	assert_string_equal(ed.buf, "cpus");
	assert_string_equal(echoed, "cpus\n");
}

static void backspace_and_kill(void **state)
{
	struct line_ed ed = {0};
	setup_echo();
	assert_int_equal(feed(&ed, "cpuz\x7fs\r"), 1);
	assert_string_equal(ed.buf, "cpus");
	assert_string_equal(echoed, "cpuz\b \bs\n");
	assert_int_equal(feed(&ed, "\b\bmem\x15pci\n"), 1); /* backspace on empty is harmless */
	assert_string_equal(ed.buf, "pci");
}

static void ctrl_c_and_controls(void **state)
{
	struct line_ed ed = {0};
	setup_echo();
	assert_int_equal(feed(&ed, "rebo\x03"), 1);
	assert_string_equal(ed.buf, "");
	assert_int_equal(feed(&ed, "m\x1b"
				   "em\r"),
			 1); /* ESC is dropped */
	assert_string_equal(ed.buf, "mem");
}

static void overflow_is_bounded(void **state)
{
	struct line_ed ed = {0};
	setup_echo();
	for (int i = 0; i < 1000; i++)
		line_ed_feed(&ed, 'a', echo);
	setup_echo();
	assert_int_equal(feed(&ed, "\r"), 1);
	assert_int_equal(strlen(ed.buf), sizeof(ed.buf) - 1);
}

static void split_words(void **state)
{
	char line[] = "  crash   data\tnow ";
	char *argv[4];
	assert_int_equal(shell_split(line, argv, 4), 3);
	assert_string_equal(argv[0], "crash");
	assert_string_equal(argv[1], "data");
	assert_string_equal(argv[2], "now");
	char many[] = "a b c d e";
	assert_int_equal(shell_split(many, argv, 2), 2);
	char empty[] = "   ";
	assert_int_equal(shell_split(empty, argv, 4), 0);
}

static int nop(int argc, char **argv)
{
	return 0;
}

static void find_exact(void **state)
{
	const struct shell_cmd cmds[] = {{"cpus", "", nop, false}, {"crash", "", nop, true}};
	assert_ptr_equal(shell_find(cmds, 2, "crash"), &cmds[1]);
	assert_null(shell_find(cmds, 2, "cpu"));
	assert_null(shell_find(cmds, 2, "cpuss"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_line),	   cmocka_unit_test(backspace_and_kill),
	    cmocka_unit_test(ctrl_c_and_controls), cmocka_unit_test(overflow_is_bounded),
	    cmocka_unit_test(split_words),	   cmocka_unit_test(find_exact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
