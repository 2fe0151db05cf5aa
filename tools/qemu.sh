#!/usr/bin/env bash
# Runs tessera under QEMU virt (EL2, GICv3, SMMUv3) from firmware.
# Environment: FIRMWARE (aavmf: UEFI from qemu-efi-aarch64, the default;
# u-boot: U-Boot's EFI from u-boot-qemu, which finds the ESP and runs
# bootaa64.efi by itself), ACPI (0: the machine is described by a device
# tree, acpi=off; 1: AAVMF publishes ACPI tables and no DT, acpi=on),
# SMP (4), MEM (4G), CONFIG (DTS for \tessera\config.dtb), QEMU_EXTRA (more
# options), ESP (ESP directory), DISK (NVMe image), ICOUNT=1 for
# -icount shift=0,align=off (benchmarks; ICOUNT=nosleep adds sleep=off:
# with every CPU idle the clock jumps to the next timer instead of
# following the host's, so a wake-up's latency is its instructions), QEMU (the binary; default
# Debian's qemu-system-aarch64). Serial is on stdio; stdin and stdout need
# not be a terminal.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run=${RUN_DIR:-$top/build/run}
esp=${ESP:-$run/esp}
disk=${DISK:-$top/build/nvme.img}
firmware=${FIRMWARE:-aavmf}
acpi=${ACPI:-0}
aavmf=/usr/share/AAVMF
uboot=/usr/lib/u-boot/qemu_arm64/u-boot.bin
mkdir -p "$run"
qemu=${QEMU:-qemu-system-aarch64}
command -v "$qemu" >/dev/null || { echo "qemu.sh: no QEMU binary $qemu" >&2; exit 127; }

case $acpi in
0) machine_acpi=off ;;
1) machine_acpi=on ;;
*) echo "qemu.sh: ACPI=$acpi: use 0 (device tree) or 1 (ACPI tables)" >&2; exit 2 ;;
esac
case $firmware in
aavmf)
	[ -f $aavmf/AAVMF_CODE.fd ] || { echo "qemu.sh: no $aavmf/AAVMF_CODE.fd (apt-get install qemu-efi-aarch64)" >&2; exit 1; }
	cp $aavmf/AAVMF_VARS.fd "$run/vars.fd"
	fw=(-drive if=pflash,format=raw,unit=0,readonly=on,file=$aavmf/AAVMF_CODE.fd
		-drive if=pflash,format=raw,unit=1,file="$run/vars.fd")
	;;
u-boot)
	[ -f $uboot ] || { echo "qemu.sh: no $uboot (apt-get install u-boot-qemu)" >&2; exit 1; }
	# U-Boot loads QEMU's ACPI tables only on x86: on virt it always passes the DT.
	[ "$acpi" = 0 ] || { echo "qemu.sh: U-Boot passes a device tree on QEMU virt; ACPI=1 needs FIRMWARE=aavmf" >&2; exit 2; }
	fw=(-bios $uboot)
	;;
*)
	echo "qemu.sh: FIRMWARE=$firmware: use aavmf or u-boot" >&2
	exit 2
	;;
esac

ESP=$esp "$top/tools/mkesp.sh"
[ -f "$disk" ] || truncate -s 256M "$disk"

icount=()
[ "${ICOUNT:-0}" = 1 ] && icount=(-icount shift=0,align=off)
[ "${ICOUNT:-0}" = nosleep ] && icount=(-icount shift=0,align=off,sleep=off)

# shellcheck disable=SC2086
exec "$qemu" \
	-M virt,virtualization=on,iommu=smmuv3,gic-version=3,acpi=$machine_acpi \
	-cpu max,pauth-impdef=on -smp "${SMP:-4}" -m "${MEM:-4G}" "${icount[@]}" \
	"${fw[@]}" \
	-drive file=fat:rw:"$esp",format=raw,if=none,id=esp -device virtio-blk-pci,drive=esp \
	-drive file="$disk",format=raw,if=none,id=nvme0 -device nvme,serial=tessera0,drive=nvme0 \
	-nic none -nographic ${QEMU_EXTRA:-}
