#!/usr/bin/env bash
# Lays out the EFI system partition tessera boots from, as a directory QEMU
# serves as a FAT disk:
#   EFI/BOOT/BOOTAA64.EFI   tessera.efi (the removable-media default path)
#   tessera/config.dtb      CONFIG compiled with dtc (omitted if CONFIG is empty)
#   <other paths>           files from ESP_FILES="src=esp/path ..." (guest images)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${ESP:-$top/build/esp}
efi=${EFI_IMAGE:-$top/build/tessera.efi}
config=${CONFIG:-}

[ -f "$efi" ] || { echo "mkesp: $efi missing (run make)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/EFI/BOOT" "$out/tessera"
cp "$efi" "$out/EFI/BOOT/BOOTAA64.EFI"
if [ -n "$config" ]; then
	dtc -q -I dts -O dtb -o "$out/tessera/config.dtb" "$config"
fi
for pair in ${ESP_FILES:-}; do
	src=${pair%%=*} dst=${pair#*=}
	[ -f "$src" ] || { echo "mkesp: $src missing" >&2; exit 1; }
	mkdir -p "$out/$(dirname "$dst")"
	cp "$src" "$out/$dst"
done
