host_tests += idregs_pmu
host_srcs_idregs_pmu := arch/arm64/idregs.c
