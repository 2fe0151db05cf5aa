host_tests += pt
host_srcs_pt := arch/arm64/pt.c
