host_tests += smmu_encode
host_srcs_smmu_encode := smmu/encode.c smmu/decode.c arch/arm64/pt.c
