host_tests += mmio_decode
host_srcs_mmio_decode := arch/arm64/esr.c
