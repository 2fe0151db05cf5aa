/* The /scheduler configuration (kernel/vm/sched_config.c) and the
 * partitions' scheduling properties (part_config.c): a valid schedule
 * with all three policies, then every error, each naming its node (or
 * partition) and property, refusing only the partitions on that CPU. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>
#include "kernel/vm/sched_policy.h"

#define MiB (1ull << 20)

static char blob[16384];
static struct part_cfg p[PART_MAX];
static struct sched_cfg S;
static struct memmap free_mem;
static int nparts;

static void ok(int e)
{
	assert_int_equal(e, 0);
}

static void cells(const char *name, int n, ...)
{
	fdt32_t v[40];
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		v[i] = cpu_to_fdt32(va_arg(ap, uint32_t));
	va_end(ap);
	ok(fdt_property(blob, name, v, n * 4));
}

static void strp(const char *name, const char *s)
{
	ok(fdt_property_string(blob, name, s));
}

/* A string list property ("a\0b\0"). */
static void strs(const char *name, const char *list, int len)
{
	ok(fdt_property(blob, name, list, len));
}

static void part(const char *name, int ncpus, uint32_t c0, uint32_t c1, uint32_t vcpus)
{
	ok(fdt_begin_node(blob, name));
	if (ncpus == 1)
		cells("cpus", 1, c0);
	else
		cells("cpus", 2, c0, c1);
	cells("vcpus", 1, vcpus);
	ok(fdt_property_u64(blob, "memory", 64 * MiB));
	strp("kernel", "/tguest.elf");
}

static void end(void)
{
	ok(fdt_end_node(blob));
}

/* Partitions a (CPU 1), b (CPUs 1 and 2, a vCPU on each), c (CPU 2),
 * d (CPU 3); extra() writes c's scheduling properties instead of the
 * standard ones. */
static void partitions(void (*extra)(void))
{
	ok(fdt_begin_node(blob, "partitions"));
	part("a", 1, 1, 0, 1);
	end();
	part("b", 2, 1, 2, 2);
	cells("sched-priority", 1, 7);
	end();
	part("c", 1, 2, 0, 1);
	if (extra) {
		extra();
	} else {
		cells("sched-priority", 1, 3);
		cells("sched-budget-us", 1, 2000);
		cells("sched-period-us", 1, 10000);
	}
	end();
	part("d", 1, 3, 0, 1);
	end();
	end();
}

/* CPU 1 cyclic: a 0-4 ms, b 4-8 ms of a 10 ms frame. */
static void cpu1_cyclic(void)
{
	ok(fdt_begin_node(blob, "cpu@1"));
	strp("policy", "cyclic");
	cells("major-frame-us", 1, 10000);
	cells("windows", 4, 0, 4000, 4000, 4000);
	strs("window-partitions", "a\0b", 4);
}

static void cpu2_priority(void)
{
	ok(fdt_begin_node(blob, "cpu@2"));
	strp("policy", "priority");
	cells("slice-us", 1, 2000);
}

static void cpu3_pinned(void)
{
	ok(fdt_begin_node(blob, "cpu@3"));
	strp("policy", "pinned");
}

/* The whole config: the partitions, then /scheduler with the standard
 * nodes, each replaced by its override when one is given (override
 * writes its own node, open; NULL keeps the standard one). */
struct sched_nodes {
	void (*cpu1)(void), (*cpu2)(void), (*cpu3)(void), (*more)(void);
	void (*part_c)(void);
};

static void write_config(const struct sched_nodes *o)
{
	ok(fdt_create(blob, sizeof(blob)));
	ok(fdt_finish_reservemap(blob));
	ok(fdt_begin_node(blob, ""));
	partitions(o->part_c);
	ok(fdt_begin_node(blob, "scheduler"));
	(o->cpu1 ? o->cpu1 : cpu1_cyclic)();
	end();
	(o->cpu2 ? o->cpu2 : cpu2_priority)();
	end();
	(o->cpu3 ? o->cpu3 : cpu3_pinned)();
	end();
	if (o->more) {
		o->more();
		end();
	}
	end();
	end();
	ok(fdt_finish(blob));
}

static int64_t file_size(void *ctx, const char *path)
{
	return 4096;
}

/* Parse both, validate the schedule, then the partitions against a 4-CPU
 * machine with the shared CPUs the schedule allows. */
static int load(const struct sched_nodes *o, char *err)
{
	write_config(o);
	nparts = part_config_parse(blob, p, PART_MAX, err, PART_ERR_MAX);
	assert_int_equal(nparts, 4);
	int e = sched_config_parse(blob, &S, err, PART_ERR_MAX);
	if (e)
		return e;
	sched_config_validate(&S, p, (unsigned)nparts, 4);
	free_mem = (struct memmap){0};
	ok(mr_add(&free_mem, 0x80000000ull, 1024 * MiB));
	struct machine_desc m = {4, &free_mem, file_size, NULL, NULL, 0};
	part_config_validate(p, (unsigned)nparts, &m);
	return 0;
}

static void valid_schedule(void **state)
{
	char err[PART_ERR_MAX] = "";
	struct sched_nodes o = {0};
	assert_int_equal(load(&o, err), 0);
	for (int i = 0; i < nparts; i++)
		assert_true(p[i].valid);
	assert_int_equal(S.listed, 0xe);
	assert_int_equal(sched_shared_cpus(&S), 0x6);
	assert_int_equal(S.cpu[0].policy, SCHED_DEFAULT);
	assert_int_equal(S.cpu[1].policy, SCHED_CYCLIC);
	assert_int_equal(S.cpu[1].frame_us, 10000);
	assert_int_equal(S.cpu[1].nwin, 2);
	assert_int_equal(S.cpu[1].win[1].offset_us, 4000);
	assert_int_equal(S.cpu[1].win[1].length_us, 4000);
	assert_int_equal(S.cpu[1].win[1].part, 1);
	assert_int_equal(S.cpu[1].slice_us, SCHED_SLICE_US_DEFAULT);
	assert_int_equal(S.cpu[2].policy, SCHED_PRIORITY);
	assert_int_equal(S.cpu[2].slice_us, 2000);
	assert_int_equal(S.cpu[3].policy, SCHED_PINNED);
	assert_int_equal(p[1].sched_prio, 7);
	assert_int_equal(p[2].sched_budget_us, 2000);
	assert_int_equal(p[2].sched_period_us, 10000);
	assert_int_equal(p[0].sched_budget_us, 0);
}

/* No /scheduler: every CPU default, nothing shared (today's rules). */
static void no_scheduler_is_today(void **state)
{
	char err[PART_ERR_MAX];
	ok(fdt_create(blob, sizeof(blob)));
	ok(fdt_finish_reservemap(blob));
	ok(fdt_begin_node(blob, ""));
	partitions(NULL);
	end();
	ok(fdt_finish(blob));
	assert_int_equal(sched_config_parse(blob, &S, err, sizeof(err)), 0);
	assert_int_equal(S.listed, 0);
	assert_int_equal(sched_shared_cpus(&S), 0);
	for (unsigned c = 0; c < 64; c++)
		assert_int_equal(S.cpu[c].policy, SCHED_DEFAULT);
	nparts = part_config_parse(blob, p, PART_MAX, err, sizeof(err));
	sched_config_validate(&S, p, (unsigned)nparts, 4);
	free_mem = (struct memmap){0};
	ok(mr_add(&free_mem, 0x80000000ull, 1024 * MiB));
	struct machine_desc m = {4, &free_mem, file_size, NULL, NULL, 0};
	part_config_validate(p, (unsigned)nparts, &m);
	assert_true(p[0].valid);
	assert_string_equal(p[1].error,
			    "partition \"b\": property \"cpus\": CPU 1 is already used by "
			    "partition \"a\"");
	assert_true(p[2].valid); /* b, refused, holds no CPU */
}

/* ---- errors in a cpu@N node ---- */

static void cyc_open(const char *frame_cells)
{
	ok(fdt_begin_node(blob, "cpu@1"));
	strp("policy", "cyclic");
	if (frame_cells)
		cells("major-frame-us", 1, 10000);
}
static void e_policy_missing(void)
{
	ok(fdt_begin_node(blob, "cpu@1"));
	cells("slice-us", 1, 100);
}
static void e_policy_unknown(void)
{
	ok(fdt_begin_node(blob, "cpu@1"));
	strp("policy", "edf");
}
static void e_frame_missing(void)
{
	cyc_open(NULL);
	cells("windows", 2, 0, 4000);
	strs("window-partitions", "a", 2);
}
static void e_frame_zero(void)
{
	cyc_open(NULL);
	cells("major-frame-us", 1, 0);
}
static void e_frame_two_cells(void)
{
	cyc_open(NULL);
	cells("major-frame-us", 2, 0, 10000);
}
static void e_windows_missing(void)
{
	cyc_open("y");
	strs("window-partitions", "a", 2);
}
static void e_windows_odd(void)
{
	cyc_open("y");
	cells("windows", 3, 0, 4000, 4000);
	strs("window-partitions", "a\0b", 4);
}
static void e_owners_missing(void)
{
	cyc_open("y");
	cells("windows", 2, 0, 4000);
}
static void e_owners_count(void)
{
	cyc_open("y");
	cells("windows", 4, 0, 4000, 4000, 4000);
	strs("window-partitions", "a", 2);
}
static void e_past_frame(void)
{
	cyc_open("y");
	cells("windows", 4, 0, 4000, 8000, 4000);
	strs("window-partitions", "a\0b", 4);
}
static void e_length_zero(void)
{
	cyc_open("y");
	cells("windows", 4, 0, 4000, 5000, 0);
	strs("window-partitions", "a\0b", 4);
}
static void e_overlap(void)
{
	cyc_open("y");
	cells("windows", 4, 0, 4000, 3000, 2000);
	strs("window-partitions", "a\0b", 4);
}
static void e_order(void)
{
	cyc_open("y");
	cells("windows", 4, 5000, 1000, 0, 4000);
	strs("window-partitions", "b\0a", 4);
}
static void e_owner_unknown(void)
{
	cyc_open("y");
	cells("windows", 4, 0, 4000, 4000, 4000);
	strs("window-partitions", "a\0zz", 5);
}
static void e_owner_no_cpu(void)
{
	cyc_open("y");
	cells("windows", 6, 0, 4000, 4000, 4000, 8000, 1000);
	strs("window-partitions", "a\0b\0c", 6);
}
static void e_owner_empty(void)
{
	cyc_open("y");
	cells("windows", 4, 0, 4000, 4000, 4000);
	strs("window-partitions", "a\0", 3);
}
static void e_too_many_windows(void)
{
	cyc_open("y");
	fdt32_t v[2 * (SP_MAX_WINDOWS + 1)];
	char names[2 * (SP_MAX_WINDOWS + 1)];
	for (unsigned i = 0; i <= SP_MAX_WINDOWS; i++) {
		v[2 * i] = cpu_to_fdt32(i * 500);
		v[2 * i + 1] = cpu_to_fdt32(100);
		names[2 * i] = 'a';
		names[2 * i + 1] = '\0';
	}
	ok(fdt_property(blob, "windows", v, sizeof(v)));
	strs("window-partitions", names, sizeof(names));
}
static void e_windows_on_priority(void)
{
	ok(fdt_begin_node(blob, "cpu@1"));
	strp("policy", "priority");
	cells("windows", 2, 0, 4000);
}
static void e_frame_on_priority(void)
{
	ok(fdt_begin_node(blob, "cpu@1"));
	strp("policy", "priority");
	cells("major-frame-us", 1, 10000);
}
static void e_slice_on_pinned(void)
{
	cpu3_pinned();
	cells("slice-us", 1, 1000);
}
static void e_unknown_prop(void)
{
	cpu1_cyclic();
	cells("budget", 1, 1);
}
static void e_subnode(void)
{
	cpu1_cyclic();
	ok(fdt_begin_node(blob, "window@0"));
	end();
}
static void e_slice_zero(void)
{
	cpu2_priority();
	cells("slice-us", 1, 0);
}

struct node_case {
	void (*cpu1)(void), (*cpu2)(void), (*cpu3)(void);
	unsigned cpu;
	const char *expect;
};

static const struct node_case node_cases[] = {
    {e_policy_missing, NULL, NULL, 1, "/scheduler/cpu@1: property \"policy\": missing (required)"},
    {e_policy_unknown, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"policy\": expected one of \"pinned\", \"cyclic\", "
     "\"priority\""},
    {e_frame_missing, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"major-frame-us\": missing (required with policy = "
     "\"cyclic\")"},
    {e_frame_zero, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"major-frame-us\": 0 us is out of range (1-10000000)"},
    {e_frame_two_cells, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"major-frame-us\": expected one 32-bit cell, got 8 bytes"},
    {e_windows_missing, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"windows\": missing (required with policy = \"cyclic\")"},
    {e_windows_odd, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"windows\": expected <offset-us length-us> pairs of 32-bit "
     "cells"},
    {e_owners_missing, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"window-partitions\": missing (required with policy = "
     "\"cyclic\")"},
    {e_owners_count, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"window-partitions\": expected 2 partition names, one per "
     "window"},
    {e_past_frame, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"windows\": window 1 (8000-12000 us) ends after the major "
     "frame (10000 us)"},
    {e_length_zero, NULL, NULL, 1, "/scheduler/cpu@1: property \"windows\": window 1 has length 0"},
    {e_overlap, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"windows\": window 1 (3000-5000 us) overlaps window 0 (0-4000 "
     "us)"},
    {e_order, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"windows\": window 1 starts before window 0 (list windows in "
     "time order)"},
    {e_owner_unknown, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"window-partitions\": window 1: no partition \"zz\""},
    {e_owner_no_cpu, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"window-partitions\": window 2: partition \"c\" does not have "
     "CPU 1 in its \"cpus\""},
    {e_owner_empty, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"window-partitions\": window 1: not a partition name"},
    {e_too_many_windows, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"windows\": 17 windows, at most 16"},
    {e_windows_on_priority, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"windows\": only used with policy = \"cyclic\""},
    {e_frame_on_priority, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"major-frame-us\": only used with policy = \"cyclic\""},
    {e_unknown_prop, NULL, NULL, 1,
     "/scheduler/cpu@1: property \"budget\": unknown property (see docs/config.md)"},
    {e_subnode, NULL, NULL, 1, "/scheduler/cpu@1: unexpected sub-node \"window@0\""},
    {NULL, e_slice_zero, NULL, 2,
     "/scheduler/cpu@2: property \"slice-us\": 0 us is out of range (1-10000000)"},
    {NULL, NULL, e_slice_on_pinned, 3,
     "/scheduler/cpu@3: property \"slice-us\": not used with policy = \"pinned\""},
};

/* Which partitions have each CPU: a, b on 1; b, c on 2; d on 3. */
static const uint64_t on_cpu[4] = {0, 0x3, 0x6, 0x8};

static void each_node_error_names_node_and_property(void **state)
{
	for (unsigned k = 0; k < ARRAY_SIZE(node_cases); k++) {
		const struct node_case *c = &node_cases[k];
		char err[PART_ERR_MAX] = "", want[PART_ERR_MAX];
		struct sched_nodes o = {c->cpu1, c->cpu2, c->cpu3, NULL, NULL};
		print_message("case %u: %s\n", k, c->expect);
		assert_int_equal(load(&o, err), 0);
		assert_false(S.cpu[c->cpu].valid);
		assert_string_equal(S.cpu[c->cpu].error, c->expect);
		for (unsigned cpu = 1; cpu < 4; cpu++)
			if (cpu != c->cpu)
				assert_true(S.cpu[cpu].valid);
		/* the partitions on that CPU are refused, saying why; the
		 * others start (b on CPUs 1 and 2 is refused by either) */
		for (int i = 0; i < nparts; i++) {
			if (!(on_cpu[c->cpu] & BIT(i))) {
				if (!(i == 1 && (c->cpu == 1 || c->cpu == 2)))
					assert_true(p[i].valid);
				continue;
			}
			assert_false(p[i].valid);
			snprintf(want, sizeof(want),
				 "partition \"%s\": property \"cpus\": CPU %u has an invalid "
				 "schedule (/scheduler/cpu@%u)",
				 p[i].name, c->cpu, c->cpu);
			assert_string_equal(p[i].error, want);
		}
	}
}

static void e_cpu7(void)
{
	ok(fdt_begin_node(blob, "cpu@7"));
	strp("policy", "priority");
}

static void cpu_that_does_not_exist(void **state)
{
	char err[PART_ERR_MAX];
	struct sched_nodes o = {.more = e_cpu7};
	assert_int_equal(load(&o, err), 0);
	assert_string_equal(S.cpu[7].error,
			    "/scheduler/cpu@7: CPU 7 does not exist (the machine has 4 CPUs)");
	for (int i = 0; i < nparts; i++)
		assert_true(p[i].valid);
}

/* ---- errors in the tree: no CPU node is usable ---- */

static void e_name_core(void)
{
	ok(fdt_begin_node(blob, "core1"));
}
static void e_name_leading_zero(void)
{
	ok(fdt_begin_node(blob, "cpu@01"));
}
static void e_name_big(void)
{
	ok(fdt_begin_node(blob, "cpu@64"));
}
static void e_twice(void)
{
	ok(fdt_begin_node(blob, "cpu@3"));
	strp("policy", "pinned");
}

static void bad_node_names(void **state)
{
	static const struct {
		void (*more)(void);
		const char *expect;
	} cases[] = {
	    {e_name_core, "/scheduler/core1: expected a node cpu@N, N a CPU number (0-63)"},
	    {e_name_leading_zero,
	     "/scheduler/cpu@01: expected a node cpu@N, N a CPU number (0-63)"},
	    {e_name_big, "/scheduler/cpu@64: expected a node cpu@N, N a CPU number (0-63)"},
	    {e_twice, "/scheduler/cpu@3: listed twice"},
	};
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		char err[PART_ERR_MAX] = "";
		struct sched_nodes o = {.more = cases[k].more};
		assert_int_equal(load(&o, err), -1);
		assert_string_equal(err, cases[k].expect);
	}
}

/* ---- errors that refuse one partition ---- */

/* Pinned CPU 3 with both of d's vCPUs on it. */
static void pinned_two_vcpus(void **state)
{
	static const char *const want =
	    "partition \"d\": property \"vcpus\": 2 vCPUs on CPU 3, whose policy is \"pinned\" "
	    "(/scheduler/cpu@3): exactly one";
	char err[PART_ERR_MAX];
	ok(fdt_create(blob, sizeof(blob)));
	ok(fdt_finish_reservemap(blob));
	ok(fdt_begin_node(blob, ""));
	ok(fdt_begin_node(blob, "partitions"));
	part("d", 1, 3, 0, 2);
	end();
	part("e", 1, 0, 0, 1);
	end();
	end();
	ok(fdt_begin_node(blob, "scheduler"));
	cpu3_pinned();
	end();
	end();
	end();
	ok(fdt_finish(blob));
	nparts = part_config_parse(blob, p, PART_MAX, err, sizeof(err));
	ok(sched_config_parse(blob, &S, err, sizeof(err)));
	sched_config_validate(&S, p, (unsigned)nparts, 4);
	assert_string_equal(p[0].error, want);
	assert_true(p[1].valid);
}

/* A second partition on pinned CPU 0: refused as on a default CPU. */
static void cpu0_pinned(void)
{
	ok(fdt_begin_node(blob, "cpu@0"));
	strp("policy", "pinned");
}

static void pinned_cpu_not_shared(void **state)
{
	char err[PART_ERR_MAX];
	ok(fdt_create(blob, sizeof(blob)));
	ok(fdt_finish_reservemap(blob));
	ok(fdt_begin_node(blob, ""));
	ok(fdt_begin_node(blob, "partitions"));
	part("x", 1, 0, 0, 1);
	end();
	part("y", 1, 0, 0, 1);
	end();
	end();
	ok(fdt_begin_node(blob, "scheduler"));
	cpu0_pinned();
	end();
	end();
	end();
	ok(fdt_finish(blob));
	nparts = part_config_parse(blob, p, PART_MAX, err, sizeof(err));
	ok(sched_config_parse(blob, &S, err, sizeof(err)));
	sched_config_validate(&S, p, (unsigned)nparts, 4);
	free_mem = (struct memmap){0};
	ok(mr_add(&free_mem, 0x80000000ull, 1024 * MiB));
	struct machine_desc m = {4, &free_mem, file_size, NULL, NULL, 0};
	part_config_validate(p, (unsigned)nparts, &m);
	assert_true(p[0].valid);
	assert_string_equal(p[1].error, "partition \"y\": property \"cpus\": CPU 0 is already used "
					"by partition \"x\"");
}

/* a has CPU 1 but no window there. */
static void cyc_only_b(void)
{
	cyc_open("y");
	cells("windows", 2, 0, 4000);
	strs("window-partitions", "b", 2);
}

static void cyclic_partition_without_window(void **state)
{
	char err[PART_ERR_MAX];
	struct sched_nodes o = {.cpu1 = cyc_only_b};
	assert_int_equal(load(&o, err), 0);
	assert_true(S.cpu[1].valid);
	assert_string_equal(p[0].error,
			    "partition \"a\": property \"cpus\": CPU 1 is cyclic and no "
			    "window of /scheduler/cpu@1 is its");
	assert_true(p[1].valid);
}

/* Three partitions of 8 vCPUs on priority CPU 0: the third is refused. */
static void too_many_vcpus_on_one_cpu(void **state)
{
	char err[PART_ERR_MAX];
	ok(fdt_create(blob, sizeof(blob)));
	ok(fdt_finish_reservemap(blob));
	ok(fdt_begin_node(blob, ""));
	ok(fdt_begin_node(blob, "partitions"));
	part("x", 1, 0, 0, 8);
	end();
	part("y", 1, 0, 0, 8);
	end();
	part("z", 1, 0, 0, 1);
	end();
	end();
	ok(fdt_begin_node(blob, "scheduler"));
	ok(fdt_begin_node(blob, "cpu@0"));
	strp("policy", "priority");
	end();
	end();
	end();
	ok(fdt_finish(blob));
	nparts = part_config_parse(blob, p, PART_MAX, err, sizeof(err));
	ok(sched_config_parse(blob, &S, err, sizeof(err)));
	sched_config_validate(&S, p, (unsigned)nparts, 4);
	assert_true(p[0].valid);
	assert_true(p[1].valid);
	assert_string_equal(p[2].error, "partition \"z\": property \"cpus\": CPU 0 would run more "
					"than 16 vCPUs");
}

/* The partition properties, on partition c. */
static void c_prio_big(void)
{
	cells("sched-priority", 1, 256);
}
static void c_prio_cells(void)
{
	cells("sched-priority", 2, 0, 1);
}
static void c_budget_zero(void)
{
	cells("sched-budget-us", 1, 0);
}
static void c_budget_long(void)
{
	cells("sched-budget-us", 1, 20000);
	cells("sched-period-us", 1, 10000);
}
static void c_period_zero(void)
{
	cells("sched-budget-us", 1, 2000);
	cells("sched-period-us", 1, 0);
}

static void partition_property_errors(void **state)
{
	static const struct {
		void (*extra)(void);
		const char *expect;
	} cases[] = {
	    {c_prio_big,
	     "partition \"c\": property \"sched-priority\": 256 is out of range (0-255)"},
	    {c_prio_cells,
	     "partition \"c\": property \"sched-priority\": expected one 32-bit cell, got 8 bytes"},
	    {c_budget_zero, "partition \"c\": property \"sched-budget-us\": 0 is not a time (leave "
			    "the property out for no budget)"},
	    {c_budget_long,
	     "partition \"c\": property \"sched-budget-us\": 20000 us is longer than "
	     "the period of 10000 us"},
	    {c_period_zero, "partition \"c\": property \"sched-period-us\": 0 is not a time (leave "
			    "the property out for no budget)"},
	};
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		char err[PART_ERR_MAX];
		struct sched_nodes o = {.part_c = cases[k].extra};
		print_message("case %u: %s\n", k, cases[k].expect);
		assert_int_equal(load(&o, err), 0);
		assert_string_equal(p[2].error, cases[k].expect);
		assert_true(p[0].valid);
		assert_true(p[3].valid);
	}
}

/* budget without period and period without budget, on their own. */
static void budget_and_period_go_together(void **state)
{
	char err[PART_ERR_MAX];
	for (int k = 0; k < 2; k++) {
		ok(fdt_create(blob, sizeof(blob)));
		ok(fdt_finish_reservemap(blob));
		ok(fdt_begin_node(blob, ""));
		ok(fdt_begin_node(blob, "partitions"));
		part("q", 1, 0, 0, 1);
		cells(k ? "sched-period-us" : "sched-budget-us", 1, 1000);
		end();
		end();
		end();
		ok(fdt_finish(blob));
		assert_int_equal(part_config_parse(blob, p, PART_MAX, err, sizeof(err)), 1);
		assert_string_equal(p[0].error,
				    k ? "partition \"q\": property \"sched-budget-us\": missing "
					"(required with sched-period-us)"
				      : "partition \"q\": property \"sched-period-us\": missing "
					"(required with sched-budget-us)");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid_schedule),
	    cmocka_unit_test(no_scheduler_is_today),
	    cmocka_unit_test(each_node_error_names_node_and_property),
	    cmocka_unit_test(cpu_that_does_not_exist),
	    cmocka_unit_test(bad_node_names),
	    cmocka_unit_test(pinned_two_vcpus),
	    cmocka_unit_test(pinned_cpu_not_shared),
	    cmocka_unit_test(cyclic_partition_without_window),
	    cmocka_unit_test(too_many_vcpus_on_one_cpu),
	    cmocka_unit_test(partition_property_errors),
	    cmocka_unit_test(budget_and_period_go_together),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
