/* NVMe glue: being written. */
#include "kernel/internal.h"

void disk_init(void)
{
}

int cmd_disk(int argc, char **argv)
{
	kprintf("disk: driver not built yet\n");
	return 1;
}
