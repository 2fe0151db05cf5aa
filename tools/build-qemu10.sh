#!/usr/bin/env bash
# Builds a second QEMU, 10.0 from Debian 13 (trixie) source, next to Debian
# 12's 7.2: its SMMUv3 has stage 2 (7.2's has stage 1 only). Optional: run by
# `make qemu10` or `QEMU10=1 tools/bootstrap.sh`, never by a plain `make`.
#
# Only qemu-system-aarch64 (aarch64-softmmu) is built. The result lives in a
# cache outside the repo, so every clone on the machine shares it:
#   ${TESSERA_CACHE:-/var/cache/tessera}/qemu10-<codename>/bin/qemu-system-aarch64
# and build/deps/qemu10/qemu-system-aarch64 is a symlink to it. Idempotent: a
# run with the cache's stamp present only checks the runtime packages and
# makes the symlink. Delete the cache directory to rebuild (or to pick up a
# newer trixie upload). About 15 minutes on 2 cores from the tarball.
#
# Everything comes from Debian's archive. trixie is reached through a
# separate apt configuration (its own sources file, lists and cache under the
# cache directory): the machine's apt sources are not touched.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
deps=${DEPS:-$top/build/deps}
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
cache=${TESSERA_CACHE:-/var/cache/tessera}/qemu10-$codename
jobs=$(nproc 2>/dev/null || echo 2)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf 'qemu10: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Build dependencies; the runtime libraries come with them, so they are
# checked on every run (a cached binary copied into a fresh root needs them).
host_pkgs="gcc make ninja-build pkg-config libglib2.0-dev libpixman-1-dev libslirp-dev
  libfdt-dev python3 python3-venv flex bison bzip2 xz-utils"

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

link_result() {
	mkdir -p "$deps/qemu10"
	ln -sfn "$cache/bin/qemu-system-aarch64" "$deps/qemu10/qemu-system-aarch64"
	log "$("$deps/qemu10/qemu-system-aarch64" --version | head -1) at build/deps/qemu10/qemu-system-aarch64"
}

apt_packages
if [ -f "$cache/stamp" ] && [ -x "$cache/bin/qemu-system-aarch64" ]; then
	link_result
	exit 0
fi

sudo_ mkdir -p "$cache"
[ -w "$cache" ] || sudo_ chown "$(id -u):$(id -g)" "$cache"
t0=$(date +%s)

# trixie's indexes, apart from the machine's own (amd64 only: the machine
# may have arm64 enabled for gnu-efi, trixie's arm64 index is not needed).
a=$cache/apt
mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$cache/download" "$cache/tools"
printf 'deb %s trixie main\ndeb-src %s trixie main\n' "$mirror" "$mirror" >"$a/sources.list"
apt_t() {
	apt-get -q -o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$a/lists" -o Dir::Cache="$a/cache" \
		-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
		-o APT::Architectures=amd64 -o APT::Sandbox::User=root "$@"
}
log "fetching trixie's indexes (separate apt configuration under $a)"
apt_t update >"$a/update.log" 2>&1 || die "apt-get update for trixie failed; see $a/update.log"

# QEMU's configure wants meson >= 1.5 and pycotap; bookworm has neither.
# trixie's arch-all packages work unpacked onto PATH/PYTHONPATH.
tools=$cache/tools
(cd "$cache/download" && rm -f meson_*.deb python3-pycotap_*.deb &&
	apt_t download meson python3-pycotap >/dev/null) || die "apt-get download meson python3-pycotap failed"
rm -rf "$tools" && mkdir -p "$tools"
for d in "$cache"/download/meson_*.deb "$cache"/download/python3-pycotap_*.deb; do
	dpkg-deb -x "$d" "$tools"
done
export PATH=$tools/usr/bin:$PATH
export PYTHONPATH=$tools/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}
log "meson $(meson --version)"

log "fetching qemu source from trixie"
(cd "$cache/download" && rm -f qemu_* && apt_t source --download-only qemu >/dev/null 2>&1) ||
	die "apt-get source qemu (trixie) failed"
orig=$(ls "$cache"/download/qemu_*.orig.tar.* | head -1)
version=$(basename "$orig" | sed 's/^qemu_\(.*\)\.orig\.tar\..*/\1/')
log "qemu $version: unpacking"
src=$cache/src
rm -rf "$src" && mkdir -p "$src"
tar -xf "$orig" -C "$src" --strip-components=1

# The +ds tarball drops the EDK2 firmware blobs that pc-bios/meson.build
# insists on; empty stand-ins get past it (tessera uses Debian 12's AAVMF).
for f in $(grep -o "'edk2-[a-z0-9_.-]*\.fd'" "$src/pc-bios/meson.build" | tr -d "'"); do
	[ -f "$src/pc-bios/$f.bz2" ] || bzip2 -c /dev/null >"$src/pc-bios/$f.bz2"
done

log "configuring (aarch64-softmmu only)"
b=$src/build
mkdir -p "$b"
(cd "$b" && ../configure --target-list=aarch64-softmmu --disable-docs --disable-werror \
	--disable-user --disable-install-blobs >"$cache/configure.log" 2>&1) ||
	die "configure failed; see $cache/configure.log"
log "building qemu-system-aarch64 (about 2,000 steps)"
(cd "$b" && ninja -j"$jobs" qemu-system-aarch64 >"$cache/build.log" 2>&1) ||
	die "build failed; see $cache/build.log"

mkdir -p "$cache/bin"
install -m 755 "$b/qemu-system-aarch64" "$cache/bin/qemu-system-aarch64"
echo "$version" >"$cache/VERSION"
rm -rf "$src"
touch "$cache/stamp"
log "built in $(($(date +%s) - t0)) s"
link_result
