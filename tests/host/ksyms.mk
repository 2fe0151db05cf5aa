host_tests += ksyms
host_srcs_ksyms := kernel/ksyms.c
