host_tests += vpci
host_srcs_vpci := kernel/vm/vpci.c kernel/vm/vpci_msix.c kernel/vm/vpci_msi.c
