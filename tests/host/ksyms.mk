host_tests += ksyms
host_srcs_ksyms := lib/ksyms.c
