host_tests += nvme_prp
host_srcs_nvme_prp := drivers/nvme_prp.c
