host_tests += vpci_msix
host_srcs_vpci_msix := kernel/vm/vpci.c kernel/vm/vpci_msix.c kernel/vm/vpci_msi.c
