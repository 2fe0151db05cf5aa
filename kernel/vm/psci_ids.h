/*
 * SMCCC and PSCI function IDs and return codes, as the specifications
 * (Arm DEN0028, DEN0022) number them: shared by the PSCI server and its
 * host test.
 */
#ifndef KERNEL_VM_PSCI_IDS_H
#define KERNEL_VM_PSCI_IDS_H

#define SMCCC_VERSION	    0x80000000u
#define SMCCC_ARCH_FEATURES 0x80000001u
#define PSCI_VERSION	    0x84000000u
#define PSCI_CPU_SUSPEND32  0x84000001u
#define PSCI_CPU_SUSPEND64  0xc4000001u
#define PSCI_CPU_OFF	    0x84000002u
#define PSCI_CPU_ON32	    0x84000003u
#define PSCI_CPU_ON64	    0xc4000003u
#define PSCI_AFFINITY32	    0x84000004u
#define PSCI_AFFINITY64	    0xc4000004u
#define PSCI_MIGRATE_TYPE   0x84000006u
#define PSCI_SYSTEM_OFF	    0x84000008u
#define PSCI_SYSTEM_RESET   0x84000009u
#define PSCI_FEATURES	    0x8400000au

#define PSCI_SUCCESS	     0
#define PSCI_NOT_SUPPORTED   (-1)
#define PSCI_INVALID	     (-2)
#define PSCI_DENIED	     (-3)
#define PSCI_ALREADY_ON	     (-4)
#define PSCI_INVALID_ADDRESS (-9)
#define PSCI_ON_PENDING	     (-5)
#define PSCI_TOS_NOT_PRESENT 2

#endif
