host_tests += image_load
host_srcs_image_load := kernel/vm/image_load.c
