host_tests += smmu_queue
host_srcs_smmu_queue := smmu/queue_idx.c
