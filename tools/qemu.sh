#!/usr/bin/env bash
# Runs tessera under QEMU virt (EL2, GICv3, SMMUv3) with AAVMF firmware.
# Environment: SMP (4), MEM (4G), CONFIG (DTS for \tessera\config.dtb),
# QEMU_EXTRA (more options), ESP (ESP directory), DISK (NVMe image),
# ICOUNT=1 for -icount shift=0,align=off (benchmarks), QEMU (the binary;
# default Debian's qemu-system-aarch64). Serial is on stdio; stdin and
# stdout need not be a terminal.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run=${RUN_DIR:-$top/build/run}
esp=${ESP:-$run/esp}
disk=${DISK:-$top/build/nvme.img}
mkdir -p "$run"
qemu=${QEMU:-qemu-system-aarch64}
command -v "$qemu" >/dev/null || { echo "qemu.sh: no QEMU binary $qemu" >&2; exit 127; }

ESP=$esp "$top/tools/mkesp.sh"
cp /usr/share/AAVMF/AAVMF_VARS.fd "$run/vars.fd"
[ -f "$disk" ] || truncate -s 256M "$disk"

icount=()
[ "${ICOUNT:-0}" = 1 ] && icount=(-icount shift=0,align=off)

# shellcheck disable=SC2086
exec "$qemu" \
	-M virt,virtualization=on,iommu=smmuv3,gic-version=3,acpi=off \
	-cpu max,pauth-impdef=on -smp "${SMP:-4}" -m "${MEM:-4G}" "${icount[@]}" \
	-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd \
	-drive if=pflash,format=raw,unit=1,file="$run/vars.fd" \
	-drive file=fat:rw:"$esp",format=raw,if=none,id=esp -device virtio-blk-pci,drive=esp \
	-drive file="$disk",format=raw,if=none,id=nvme0 -device nvme,serial=tessera0,drive=nvme0 \
	-nic none -nographic ${QEMU_EXTRA:-}
