host_tests += image_load
host_srcs_image_load := kernel/image_load.c
