host_tests += vuart_save
host_srcs_vuart_save := kernel/vdev/vuart.c kernel/vdev/vuart_save.c
