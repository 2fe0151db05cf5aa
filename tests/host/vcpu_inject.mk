host_tests += vcpu_inject
host_srcs_vcpu_inject := arch/arm64/vcpu_inject.c
