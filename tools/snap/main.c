/* snaptool: list, inspect, verify and export tessera snapshots on the host. */
#include "tools/snap/snaptool.h"
#include <string.h>

static const char usage[] =
    "usage: snaptool COMMAND ...\n"
    "  list DISK                  the store's state and its snapshots\n"
    "  inspect DISK NAME          records, vCPU registers, vGIC, timers, devices,\n"
    "                             memory map and sizes of a snapshot\n"
    "  verify DISK NAME           read everything back and check every checksum\n"
    "                             (exit 0: good; 1: damaged or missing; 2: good, but a\n"
    "                             superblock slot is damaged or was torn by a crash)\n"
    "  extract DISK NAME OUT.raw  the guest's RAM ranges, one after the other\n"
    "  core DISK NAME OUT.elf     an ELF core for gdb-multiarch: one thread per vCPU,\n"
    "                             RAM as PT_LOAD segments at guest physical addresses\n"
    "  format DISK [SIZE]         make an empty store (SIZE: create the file first,\n"
    "                             e.g. 256M; the whole file is the snapshot area)\n"
    "  delete DISK NAME           delete a snapshot\n"
    "  test-write DISK NAME [OPTIONS]  (for tests) write a synthetic snapshot;\n"
    "                             snaptool test-write --help lists the options\n"
    "DISK is a disk image file (or block device) holding a snapshot store, e.g.\n"
    "the image QEMU gives tessera as its NVMe disk.\n";

static const struct {
	const char *name;
	int (*fn)(int, char **);
	int nargs; /* at least */
} cmds[] = {
    {"list", cmd_list, 1},     {"inspect", cmd_inspect, 2},
    {"verify", cmd_verify, 2}, {"extract", cmd_extract, 3},
    {"core", cmd_core, 3},     {"format", cmd_format, 1},
    {"delete", cmd_delete, 2}, {"test-write", cmd_test_write, 2},
};

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		bool help = argc > 2 && !strcmp(argv[2], "--help");
		if (argc - 2 < cmds[i].nargs && !help) {
			fprintf(stderr, "snaptool %s: missing arguments\n%s", argv[1], usage);
			return 1;
		}
		return cmds[i].fn(argc - 2, argv + 2);
	}
	fprintf(stderr, "snaptool: unknown command \"%s\"\n%s", argv[1], usage);
	return 1;
}
