host_tests += vuart
host_srcs_vuart := kernel/vdev/vuart.c
