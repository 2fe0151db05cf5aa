host_tests += nvme_engine
host_srcs_nvme_engine := drivers/nvme_engine.c drivers/nvme_prp.c
