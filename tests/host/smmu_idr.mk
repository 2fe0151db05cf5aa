host_tests += smmu_idr
host_srcs_smmu_idr := smmu/idr.c
