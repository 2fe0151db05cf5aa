/*
 * Hypervisor settings from \tessera\config.dtb (docs/config.md). Partitions
 * are read by their own code; this file holds the /hypervisor node.
 */
#include "kernel/machine/machine.h"
#include <libfdt.h>

struct hyp_config hyp_config;

void config_load(const struct boot_info *bi)
{
	if (!bi->config)
		return;
	hyp_config.present = true;
	int node = fdt_path_offset(bi->config, "/hypervisor");
	if (node >= 0)
		hyp_config.test_commands = fdt_getprop(bi->config, node, "test-commands", NULL);
}
