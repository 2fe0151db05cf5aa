/*
 * Host test for tools/gen-ksyms.sh: the table generated from
 * ksyms_sample.nm (see gen_ksyms.mk) keeps only code symbols inside
 * [_text, _etext), sorted, one per address, as offsets from _text; the
 * empty table (from /dev/null) links and finds nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/ksyms.h"

extern const struct ksym_table ksyms;	    /* from ksyms_sample.nm */
extern const struct ksym_table ksyms_empty; /* from /dev/null */

static const struct {
	uint64_t addr, size;
	const char *name;
} want[] = {
    {0x0, 0x40, "_start"},	      /* _text and $x at the same address dropped */
    {0x40, 0x10, "local_fn"},	      /* t */
    {0x50, 0, "asm_entry"},	      /* no size; .L_label dropped */
    {0x80, 0x8, "late_fn"},	      /* out of order in the input */
    {0x100, 0x100, "weak_fn"},	      /* W inside the text */
    {0x200, 0x20, "dup_a"},	      /* sized T beats size-less alias */
    {0x240, 0x10, "foo.constprop.0"}, /* $d dropped */
};

static void test_table(void **state)
{
	assert_int_equal(ksyms.count, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < ksyms.count; i++) {
		assert_int_equal(ksyms.syms[i].addr, want[i].addr);
		assert_int_equal(ksyms.syms[i].size, want[i].size);
		assert_string_equal(ksyms.names + ksyms.syms[i].name, want[i].name);
	}
}

static void test_lookup(void **state)
{
	uint64_t off;

	assert_string_equal(ksym_lookup(&ksyms, 0x44, &off), "local_fn");
	assert_int_equal(off, 4);
	assert_string_equal(ksym_lookup(&ksyms, 0x60, &off), "asm_entry");
	assert_int_equal(off, 0x10);
	assert_null(ksym_lookup(&ksyms, 0x220, &off));		 /* past dup_a */
	assert_null(ksym_lookup(&ksyms, 0x3000 - 0x1000, &off)); /* some_rodata */
}

static void test_empty(void **state)
{
	uint64_t off;

	assert_int_equal(ksyms_empty.count, 0);
	assert_non_null(ksyms_empty.syms);
	assert_string_equal(ksyms_empty.names, "");
	assert_null(ksym_lookup(&ksyms_empty, 0, &off));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
