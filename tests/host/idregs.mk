host_tests += idregs
host_srcs_idregs := arch/arm64/idregs.c
