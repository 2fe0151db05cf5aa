#!/usr/bin/env bash
# Builds the arm64 Linux guest kit tessera boots in its tests, from Debian's
# packages only:
#   OUT/Image              uncompressed kernel Image of bookworm's current arm64
#                          kernel (what linux-image-arm64:arm64 depends on)
#   OUT/initramfs.cpio.gz  busybox-static:arm64 and an /init script (below)
#   OUT/KERNEL_VERSION     the kernel release, e.g. 6.1.0-56-arm64
#   OUT/cache/             the downloaded .debs, reused while still current
# Usage: tools/linux-guest.sh [OUT]            (default: build/linux-guest)
#
# Cached: a run finding all outputs built by this same linux-guest.sh and
# mkcpio.py does nothing. FORCE=1 rebuilds (and picks up a newer kernel from
# the archive, which a cached kit does not look for).
# Needs the arm64 dpkg architecture (tools/bootstrap.sh adds it), apt-get,
# dpkg-deb, gzip and python3; no root, no cpio tool.
#
# The guest's /init reads guest.mode= from the kernel command line:
#   poweroff (default)  print the markers below, then power off (PSCI SYSTEM_OFF)
#   shell               also print GUEST-LINUX-SHELL, run a shell on the
#                       console, power off when it exits
#   reboot              reboot (PSCI SYSTEM_RESET)
#   hang                sleep forever
# /bin/memfill [MiB] (tests/guests/memfill) fills memory and prints checksums.
# Console markers: GUEST-LINUX-UP, GUEST-LINUX-CPUS=<n>, GUEST-LINUX-DONE,
# then GUEST-LINUX-POWEROFF / -SHELL / -REBOOT / -HANG.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/linux-guest}
mkcpio=$top/tools/mkcpio.py
memfill=$top/tests/guests/memfill/memfill.c
cc=${CROSS_CC:-aarch64-linux-gnu-gcc}
outputs="Image initramfs.cpio.gz KERNEL_VERSION"

log() { printf 'linux-guest: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# What the kit is built by: a change to any of these rebuilds it.
recipe_key() { cat "$0" "$mkcpio" "$memfill" | sha256sum | cut -d' ' -f1; }

kit_current() {
	local f
	for f in $outputs; do [ -s "$out/$f" ] || return 1; done
	[ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$key" ]
}

key=$(recipe_key)
if [ "${FORCE:-0}" != 1 ] && kit_current; then
	exit 0
fi

for t in apt-get apt-cache dpkg dpkg-deb gzip python3 tar od flock "$cc"; do
	command -v "$t" >/dev/null || die "$t not found (tools/bootstrap.sh installs the host tools)"
done
if [ "$(dpkg --print-architecture)" != arm64 ] &&
	! dpkg --print-foreign-architectures | grep -qx arm64; then
	die "the arm64 dpkg architecture is not enabled: run tools/bootstrap.sh (it adds it and updates apt)"
fi

mkdir -p "$out/cache"
out=$(cd "$out" && pwd)
cache=$out/cache

# One builder at a time per kit (e.g. parallel make); the winner's kit serves
# the others.
exec 9>"$out/.lock"
flock 9
if [ "${FORCE:-0}" != 1 ] && kit_current; then
	exit 0
fi
rm -f "$out/.stamp"

tmp=$(mktemp -d "$out/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# apt, run as root, drops to the _apt user to download and then cannot write
# into a root-owned cache; download as root instead.
apt_opts=(-q)
[ "$(id -u)" = 0 ] && apt_opts+=(-o APT::Sandbox::User=root)

# Every apt call can take a second (Debian's docker images turn apt's binary
# cache off), so look-ups and downloads are batched.
declare -A cand=()
# lookup PKG...: sets cand[PKG] to the version apt would install of each
# PKG:arm64, or to nothing.
lookup() {
	local line name="" args=()
	for name; do
		cand[$name]=""
		args+=("$name:arm64")
	done
	while IFS= read -r line; do
		case $line in
		" "*Candidate:*)
			line=${line#*Candidate: }
			[ -n "$name" ] && [ "$line" != "(none)" ] && cand[$name]=$line
			;;
		" "*) ;;
		*:) # "NAME:arm64:", or "NAME:" on an arm64 host
			name=${line%:}
			name=${name%:arm64}
			;;
		*) name="" ;;
		esac
	done < <(apt-cache policy "${args[@]}" 2>/dev/null)
}
updated=0
# need PKG...: as lookup, but each PKG must have a candidate; refreshes
# missing or stale package lists once when it can.
need() {
	local p missing=""
	lookup "$@"
	for p; do [ -n "${cand[$p]}" ] || missing="$missing $p:arm64"; done
	if [ -n "$missing" ] && [ $updated = 0 ] && [ "$(id -u)" = 0 ]; then
		log "apt's lists lack$missing; running apt-get update"
		apt-get update -q >&2 || die "apt-get update failed"
		updated=1
		need "$@"
		return
	fi
	[ -z "$missing" ] || die "apt knows no$missing (run apt-get update, or tools/bootstrap.sh)"
}
# deb PKG: where the cache keeps the candidate PKG:arm64 .deb (apt names it
# NAME_VERSION_ARCH.deb, an epoch's colon written %3a).
deb() { printf '%s
' "$cache/${1}_${cand[$1]//:/%3a}_arm64.deb"; }
# fetch PKG...: downloads each candidate PKG:arm64 the cache lacks.
fetch() {
	local p f dl want=()
	for p; do [ -s "$(deb "$p")" ] || want+=("$p:arm64=${cand[$p]}"); done
	[ ${#want[@]} = 0 ] && return 0
	log "downloading ${want[*]}"
	dl=$(mktemp -d "$tmp/dl.XXXXXX")
	(cd "$dl" && apt-get download "${apt_opts[@]}" "${want[@]}" >&2) ||
		die "apt-get download ${want[*]} failed"
	for p; do
		f=$(deb "$p")
		[ -s "$f" ] && continue
		[ -s "$dl/${f##*/}" ] || die "apt-get download left no ${f##*/}"
		mv "$dl/${f##*/}" "$f"
		# Other versions of the package are dead weight now.
		find "$cache" -maxdepth 1 -name "${p}_*_arm64.deb" ! -name "${f##*/}" -delete
	done
}

# The kernel package: the metapackage's first linux-image-<version> dependency.
need linux-image-arm64 busybox-static
fetch linux-image-arm64
meta=$(deb linux-image-arm64)
kpkg=$(dpkg-deb -f "$meta" Depends | sed 's/[,|]/\n/g' |
	sed -n 's/^ *\(linux-image-[0-9][^ (:]*\).*/\1/p' | head -n1)
[ -n "$kpkg" ] || die "no linux-image-<version> dependency in ${meta##*/}: $(dpkg-deb -f "$meta" Depends)"
kpkg=${kpkg%-unsigned}
lookup "$kpkg" "$kpkg-unsigned"
if [ -z "${cand[$kpkg]}" ]; then
	if [ -n "${cand[$kpkg-unsigned]}" ]; then kpkg=$kpkg-unsigned; else need "$kpkg"; fi
fi
fetch "$kpkg" busybox-static
kdeb=$(deb "$kpkg")
bbdeb=$(deb busybox-static)

# --- Image ---------------------------------------------------------------------
# od -An -tx1 prints bytes as " 41 52 ..."; squeeze to "4152...".
hexat() { od -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }
is_image() { [ "$(hexat "$1" 56 4)" = 41524d64 ]; } # "ARM\x64" at 0x38

if [ -s "$out/Image" ] && [ -s "$out/KERNEL_VERSION" ] &&
	[ "$(cat "$out/.image-from" 2>/dev/null)" = "${kdeb##*/}" ]; then
	kver=$(cat "$out/KERNEL_VERSION")
	log "Image $kver is current"
else
	log "extracting the kernel from ${kdeb##*/}"
	rm -f "$out/.image-from"
	kx=$tmp/kernel
	mkdir -p "$kx"
	# dpkg-deb -x would unpack all the modules too; only /boot/vmlinuz-* is used.
	dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$kx" --wildcards './boot/vmlinuz-*' ||
		die "no /boot/vmlinuz-* in ${kdeb##*/}"
	vmlinuz=$(find "$kx/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n1)
	[ -n "$vmlinuz" ] || die "no /boot/vmlinuz-* in ${kdeb##*/}"
	kver=${vmlinuz##*/vmlinuz-}
	case $(hexat "$vmlinuz" 0 2) in
	1f8b)
		gzip -dc "$vmlinuz" >"$tmp/Image" || die "cannot gunzip $vmlinuz"
		;;
	*)
		is_image "$vmlinuz" ||
			die "${vmlinuz##*/} is neither gzip nor a raw arm64 Image (starts with $(hexat "$vmlinuz" 0 8))"
		cp "$vmlinuz" "$tmp/Image"
		;;
	esac
	is_image "$tmp/Image" || die "${vmlinuz##*/} does not hold an arm64 Image (no ARM\\x64 magic at 0x38)"
	mv "$tmp/Image" "$out/Image"
	printf '%s\n' "$kver" >"$out/KERNEL_VERSION"
	printf '%s\n' "${kdeb##*/}" >"$out/.image-from"
	log "Image: Linux $kver, $(stat -c %s "$out/Image") bytes"
fi

# --- initramfs -----------------------------------------------------------------
bx=$tmp/busybox
mkdir -p "$bx"
dpkg-deb --fsys-tarfile "$bbdeb" | tar -x -C "$bx" ./bin/busybox ||
	die "no /bin/busybox in ${bbdeb##*/}"
# ELF, 64-bit, little-endian; e_machine (offset 18) 0xb7 = EM_AARCH64.
if [ "$(hexat "$bx/bin/busybox" 0 6)" != 7f454c460201 ] || [ "$(hexat "$bx/bin/busybox" 18 2)" != b700 ]; then
	die "/bin/busybox in ${bbdeb##*/} is not an arm64 ELF binary"
fi

# /bin/memfill (snapshot tests): freestanding, raw syscalls, no libc needed.
"$cc" -O2 -nostdlib -static -ffreestanding -fno-builtin -fno-stack-protector \
	-Wall -Wextra -Werror -o "$tmp/memfill" "$memfill" || die "cannot build $memfill"

cat >"$tmp/init" <<'EOF'
#!/bin/sh
# tessera Linux guest init (generated by tools/linux-guest.sh).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root TERM=${TERM:-vt100}
/bin/busybox --install -s 2>/dev/null

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp

echo GUEST-LINUX-UP
uname -a
echo "GUEST-LINUX-CPUS=$(grep -c '^processor' /proc/cpuinfo)"
free
echo GUEST-LINUX-DONE
# the kernel's log stamps this line with its clock: benchmarks read it
echo "GUEST-LINUX-DONE-KMSG" >/dev/kmsg 2>/dev/null

mode=poweroff
for word in $(cat /proc/cmdline); do
	case $word in
	guest.mode=*) mode=${word#guest.mode=} ;;
	esac
done

case $mode in
poweroff) ;;
shell)
	echo GUEST-LINUX-SHELL
	if command -v cttyhack >/dev/null; then
		setsid cttyhack sh
	else
		sh
	fi
	;;
reboot)
	echo GUEST-LINUX-REBOOT
	reboot -f
	;;
hang)
	echo GUEST-LINUX-HANG
	while :; do sleep 3600; done
	;;
*)
	echo "init: unknown guest.mode=$mode, powering off"
	;;
esac

echo GUEST-LINUX-POWEROFF
poweroff -f
# Should init ever get here, the kernel would panic; wait instead.
while :; do sleep 3600; done
EOF

cat >"$tmp/spec" <<EOF
dir /bin 0755
dir /sbin 0755
dir /usr 0755
dir /usr/bin 0755
dir /usr/sbin 0755
dir /dev 0755
dir /proc 0555
dir /sys 0555
dir /tmp 1777
dir /root 0700
dir /etc 0755
dir /mnt 0755
dir /run 0755
file /bin/busybox 0755 $bx/bin/busybox
slink /bin/sh busybox
file /bin/memfill 0755 $tmp/memfill
nod /dev/console 0600 c 5 1
file /init 0755 $tmp/init
EOF
python3 "$mkcpio" --gzip "$tmp/initramfs.cpio.gz" "$tmp/spec" || die "mkcpio.py failed"
mv "$tmp/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
log "initramfs.cpio.gz: busybox $(dpkg-deb -f "$bbdeb" Version), $(stat -c %s "$out/initramfs.cpio.gz") bytes"

# Make sees the kit as newer than the scripts it depends on.
for f in $outputs; do touch "$out/$f"; done
printf '%s\n' "$key" >"$out/.stamp"
log "kit ready in $out (Linux $kver)"
