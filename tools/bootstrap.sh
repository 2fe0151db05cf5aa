#!/usr/bin/env bash
# Fetches and builds tessera's dependencies into build/deps. Idempotent:
# each step leaves a stamp, and a run with every stamp present does nothing.
# Everything comes from Debian's archive; nothing third-party lives in the repo.
# QEMU10=1 also builds QEMU 10.0 (tools/build-qemu10.sh; `make qemu10`).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
deps=${DEPS:-$top/build/deps}
dl=$deps/download
stamps=$deps/stamps
cross=aarch64-linux-gnu-
jobs=$(nproc 2>/dev/null || echo 2)
mkdir -p "$dl" "$stamps"

log() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
done_() { [ -f "$stamps/$1" ]; }
mark() { touch "$stamps/$1"; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# libzstd-dev: snaptool and the host tests of snapshot/; gdb-multiarch opens
# snaptool's cores (tested); clang-14 and libclang-rt-14-dev: libFuzzer.
host_pkgs="gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-system-arm
  qemu-efi-aarch64 u-boot-qemu device-tree-compiler mtools newlib-source libcmocka-dev
  libfdt-dev dpkg-dev xz-utils python3 cppcheck clang-format libzstd-dev
  gdb-multiarch clang-14 libclang-rt-14-dev"

apt_packages() {
	local missing=""
	for p in $host_pkgs; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "installing Debian packages:$missing"
	sudo_ apt-get update -q
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
}

# arm64 binary packages and source packages need apt configuration that a
# plain Debian machine lacks.
apt_sources() {
	done_ apt-sources && return 0
	local changed=0
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		sudo_ dpkg --add-architecture arm64
		changed=1
	fi
	if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		local suite
		suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
		printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$suite" "$suite" | sudo_ tee /etc/apt/sources.list.d/tessera-deb-src.sources >/dev/null
		changed=1
	fi
	[ $changed = 1 ] && sudo_ apt-get update -q
	mark apt-sources
}

fetch_gnu_efi() {
	done_ gnu-efi && return 0
	log "fetching gnu-efi:arm64"
	(cd "$dl" && apt-get download -q gnu-efi:arm64 2>/dev/null)
	rm -rf "$deps/gnu-efi" && mkdir -p "$deps/gnu-efi"
	dpkg-deb -x "$dl"/gnu-efi_*_arm64.deb "$deps/gnu-efi"
	[ -f "$deps/gnu-efi/usr/lib/crt0-efi-aarch64.o" ] || die "gnu-efi has no crt0-efi-aarch64.o"
	mark gnu-efi
}

# newlib as a bare-metal libc: no syscalls (tessera provides _sbrk and locks).
# Compiled through tools/newlib-cc.sh, which adds -mgeneral-regs-only and
# replaces the aarch64 string routines that use SIMD: newlib code must not
# touch FP/SIMD registers, which hold a loaded guest's state (checked on the
# linked image by tools/check-nofp.py). No float formatting in printf and
# scanf (tessera prints none). The stamp is named for this build: a
# build/deps from before it (with SIMD in memset, strchr, printf) rebuilds;
# rename it again when newlib-cc.sh or these options change.
build_newlib() {
	done_ newlib-nofp && return 0
	log "building newlib without FP/SIMD (about 4 minutes)"
	local src=$deps/src/newlib b=$deps/build-newlib
	rm -rf "$src" "$b" "$deps/newlib" "$stamps/newlib" && mkdir -p "$src" "$b"
	tar -xf /usr/src/newlib/newlib-*.tar.* -C "$src" --strip-components=1
	(cd "$b" && "$src/configure" --target=aarch64-none-elf --prefix="$deps/newlib" \
		--disable-multilib --disable-newlib-supplied-syscalls \
		--enable-newlib-io-long-long --enable-newlib-io-c99-formats \
		--disable-newlib-io-float \
		--enable-newlib-retargetable-locking --disable-nls \
		CC_FOR_TARGET="$top/tools/newlib-cc.sh" AR_FOR_TARGET=${cross}ar AS_FOR_TARGET=${cross}as \
		LD_FOR_TARGET=${cross}ld NM_FOR_TARGET=${cross}nm RANLIB_FOR_TARGET=${cross}ranlib \
		OBJDUMP_FOR_TARGET=${cross}objdump READELF_FOR_TARGET=${cross}readelf \
		STRIP_FOR_TARGET=${cross}strip \
		CFLAGS_FOR_TARGET="-g -O2 -ffreestanding -fPIC -fno-stack-protector -mno-outline-atomics" \
		>"$b/configure.log" 2>&1 &&
		NEWLIB_TARGET_CC=${cross}gcc NEWLIB_FP_LOG="$b/fp-sources.txt" \
			make -j"$jobs" all-target-newlib >"$b/build.log" 2>&1 &&
		make install-target-newlib >"$b/install.log" 2>&1) ||
		die "newlib build failed; see $b/*.log"
	# what had to keep floating point (and so must never be linked)
	sort -u "$b/fp-sources.txt" | sed "s|^.*/newlib/libc/|libc/|; s|^.*/newlib/libm/|libm/|" \
		>"$deps/newlib/fp-sources.txt" 2>/dev/null || true
	rm -rf "$src" "$b"
	mark newlib-nofp
}

# Freestanding aarch64 flags shared by libfdt and zstd. A function, not a
# variable: the cross compiler it asks exists only after apt_packages ran.
lib_cflags() {
	echo "-O2 -g -ffreestanding -fPIC -fno-stack-protector -mno-outline-atomics" \
		"-mgeneral-regs-only -nostdinc -isystem $deps/newlib/aarch64-none-elf/include" \
		"-isystem $(${cross}gcc -print-file-name=include)"
}

# libfdt from the Xen source package (it carries upstream dtc's libfdt; the
# device-tree-compiler source package is not fetchable from this archive).
build_libfdt() {
	done_ libfdt && return 0
	log "building libfdt from the xen source package"
	local src=$deps/src/xen out=$deps/libfdt
	rm -rf "$src" "$out" && mkdir -p "$src" "$out/lib" "$out/include" "$out/obj/xen"
	(cd "$dl" && apt-get source -q --download-only xen >/dev/null 2>&1) || die "apt-get source xen failed"
	tar -xf "$dl"/xen_*.orig.tar.xz -C "$src" --strip-components=1 --wildcards '*/xen/common/libfdt/*'
	cp /usr/include/libfdt.h /usr/include/fdt.h /usr/include/libfdt_env.h "$out/include/"
	: >"$out/obj/xen/lib.h"
	local objs=""
	for c in "$src"/xen/common/libfdt/fdt*.c; do
		case $c in *fdt_overlay.c) continue ;; esac
		local o=$out/obj/$(basename "${c%.c}").o
		# shellcheck disable=SC2086
		${cross}gcc $(lib_cflags) -I"$out/include" -I"$out/obj" -Dsimple_strtoul=strtoul -c "$c" -o "$o"
		objs="$objs $o"
	done
	# shellcheck disable=SC2086
	${cross}ar rcs "$out/lib/libfdt.a" $objs
	rm -rf "$src" "$out/obj"
	mark libfdt
}

build_zstd() {
	done_ zstd && return 0
	log "building zstd from Debian's libzstd source"
	local src=$deps/src/zstd out=$deps/zstd
	rm -rf "$src" "$out" && mkdir -p "$src" "$out/lib" "$out/include" "$out/obj"
	(cd "$dl" && apt-get source -q --download-only libzstd >/dev/null 2>&1) || die "apt-get source libzstd failed"
	tar -xf "$dl"/libzstd_*.orig.tar.xz -C "$src" --strip-components=1
	local objs="" pids=""
	for c in "$src"/lib/common/*.c "$src"/lib/compress/*.c "$src"/lib/decompress/*.c; do
		local o=$out/obj/$(basename "${c%.c}").o
		# shellcheck disable=SC2086
		${cross}gcc $(lib_cflags) -DZSTD_DISABLE_ASM -DZSTD_TRACE=0 -DZSTD_LEGACY_SUPPORT=0 \
			-DDEBUGLEVEL=0 -DXXH_NAMESPACE=ZSTD_ -DZSTD_HEAPMODE=1 -DZSTD_MULTITHREAD_DISABLE \
			-c "$c" -o "$o" &
		pids="$pids $!"
		objs="$objs $o"
		[ "$(jobs -r | wc -l)" -ge "$jobs" ] && wait -n
	done
	for p in $pids; do wait "$p" || die "zstd compile failed"; done
	# shellcheck disable=SC2086
	${cross}ar rcs "$out/lib/libzstd.a" $objs
	cp "$src"/lib/zstd.h "$src"/lib/zstd_errors.h "$src"/lib/common/xxhash.h "$out/include/"
	rm -rf "$src" "$out/obj"
	mark zstd
}

apt_packages
apt_sources
fetch_gnu_efi
build_newlib
build_libfdt
build_zstd
touch "$stamps/all"
# Optional, only when asked: QEMU 10.0 (stage-2 SMMUv3) beside Debian's 7.2.
if [ "${QEMU10:-0}" = 1 ]; then
	"$top/tools/build-qemu10.sh"
fi
