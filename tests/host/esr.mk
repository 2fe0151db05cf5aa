host_tests += esr
host_srcs_esr := arch/arm64/esr.c
