host_tests += pci_names
host_srcs_pci_names := drivers/pci_names.c
