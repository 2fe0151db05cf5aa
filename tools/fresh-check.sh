#!/usr/bin/env bash
# Proves that the README's commands work on a fresh Debian 12 machine: builds
# a clean bookworm root (debootstrap --variant=minbase) with only what the
# README asks a machine to have (gcc, make, git, python3), clones the
# committed HEAD of this checkout into it, and runs the commands there as
# root in a chroot, as a user would.
#
#   tools/fresh-check.sh                 runs `make test` (the README's test command)
#   tools/fresh-check.sh 'CMD && CMD'    runs that shell command line instead
#
# Exits with the inner command's status. Uncommitted changes are not seen:
# the root gets a clone of HEAD.
#
# The base root (minbase + gcc make git python3, no apt lists) is cached as
# ${TESSERA_CACHE:-/var/cache/tessera}/bookworm-base.tar.zst and rebuilt when
# older than FRESH_BASE_DAYS (7) days; each run unpacks it into a new
# directory under ${FRESH_TMP:-/var/tmp} and deletes it afterwards
# (FRESH_KEEP=1 keeps it). Shared with the host: /proc, /sys, /dev,
# /dev/pts, /etc/resolv.conf, and the QEMU 10 cache directory
# ($TESSERA_CACHE/qemu10-bookworm, see tools/build-qemu10.sh) so a root need
# not rebuild it. Nothing else: every other package, index and source comes
# from Debian's archive inside the root.
#
# Not in the base root, on purpose: ca-certificates (apt reaches the archive
# over http and the clone is local), sudo (the commands run as root).
# The host needs root (or sudo), debootstrap and zstd (installed with apt
# when missing), and network access to Debian's archive.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
	exec sudo -E "$0" "$@"
fi

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${TESSERA_CACHE:-/var/cache/tessera}
base=$cache/bookworm-base.tar.zst
max_days=${FRESH_BASE_DAYS:-7}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
base_pkgs="gcc make git python3"
cmd=${*:-make test}

log() { printf 'fresh-check: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
t_start=$(date +%s)
since() { echo "$(($(date +%s) - $1)) s"; }

roots=() # directories to unmount and delete on exit
mounts_under() { # mount points at or below $1, deepest first
	awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}
release_root() {
	local r=$1 p m
	# Processes still running inside (a QEMU left behind): ours, end them.
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/root" 2>/dev/null)" = "$r" ]; then kill -9 "${p#/proc/}" 2>/dev/null || true; fi
	done
	for m in $(mounts_under "$r"); do
		umount "$m" 2>/dev/null || umount -l "$m" || log "warning: cannot unmount $m"
	done
	if [ -n "$(mounts_under "$r")" ]; then
		log "warning: mounts remain under $r; not deleting it"
	elif [ "${FRESH_KEEP:-0}" = 1 ]; then
		log "kept $r"
	else
		rm -rf --one-file-system "$r"
	fi
}
cleanup() {
	local r
	set +e
	for r in "${roots[@]}"; do release_root "$r"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount_root() {
	local r=$1
	mount -t proc proc "$r/proc"
	mount -t sysfs sys "$r/sys"
	mount --bind /dev "$r/dev"
	mount --bind /dev/pts "$r/dev/pts"
	mkdir -p "$r/dev/shm" 2>/dev/null || true
	mount -t tmpfs -o mode=1777 shm "$r/dev/shm"
	cp -L /etc/resolv.conf "$r/etc/resolv.conf"
}
# A clean environment, as a login on the fresh machine would have.
in_root() {
	local r=$1
	shift
	chroot "$r" /usr/bin/env -i HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 \
		TERM="${TERM:-dumb}" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		${CI:+CI=$CI} "$@"
}

host_tools() {
	local missing=""
	command -v debootstrap >/dev/null || missing="$missing debootstrap"
	command -v zstd >/dev/null || missing="$missing zstd"
	[ -z "$missing" ] && return 0
	log "installing on the host:$missing"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
}

# Debian 12's own apt sources as the installer writes them (main, updates,
# security; no deb-src: tools/bootstrap.sh adds what it needs).
write_sources() {
	rm -f "$1/etc/apt/sources.list"
	cat >"$1/etc/apt/sources.list.d/debian.sources" <<-EOF
		Types: deb
		URIs: $mirror
		Suites: bookworm bookworm-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: $security
		Suites: bookworm-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
}

make_base() {
	local t0 r
	t0=$(date +%s)
	mkdir -p "$cache"
	r=$(mktemp -d "${FRESH_TMP:-/var/tmp}/tessera-base.XXXXXX")
	roots+=("$r")
	chmod 755 "$r"
	log "debootstrap --variant=minbase bookworm into $r"
	debootstrap --variant=minbase bookworm "$r" "$mirror" >"$r.debootstrap.log" 2>&1 ||
		die "debootstrap failed; see $r.debootstrap.log"
	rm -f "$r.debootstrap.log"
	write_sources "$r"
	mount_root "$r"
	log "installing $base_pkgs"
	in_root "$r" apt-get update -q >/dev/null
	in_root "$r" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $base_pkgs >/dev/null
	in_root "$r" apt-get clean
	release_mounts_only "$r"
	rm -rf "$r"/var/lib/apt/lists/* "$r/etc/resolv.conf"
	tar -C "$r" --numeric-owner -cpf - . | zstd -q -T0 -6 -o "$base.tmp"
	mv "$base.tmp" "$base"
	log "base root made in $(since "$t0"): $base ($(du -h "$base" | cut -f1))"
}
release_mounts_only() {
	local m
	for m in $(mounts_under "$1"); do umount "$m" || umount -l "$m"; done
}

host_tools
if (cd "$top" && [ -n "$(git status --porcelain --untracked-files=no)" ]); then
	log "note: uncommitted changes are not checked (the root gets a clone of HEAD)"
fi

# One base root at a time (a second run waits for the first's).
mkdir -p "$cache"
exec 9>"$cache/.bookworm-base.lock"
flock 9
if [ -f "$base" ] && [ -n "$(find "$base" -mtime -"$max_days")" ]; then
	log "reusing $base ($(((t_start - $(stat -c %Y "$base")) / 3600)) h old)"
else
	make_base
fi
flock -u 9
exec 9>&-

t0=$(date +%s)
root=$(mktemp -d "${FRESH_TMP:-/var/tmp}/tessera-fresh.XXXXXX")
roots+=("$root")
chmod 755 "$root"
zstd -q -dc "$base" | tar -C "$root" --numeric-owner -xpf -
mount_root "$root"
q10=/var/cache/tessera/qemu10-bookworm # where tools/build-qemu10.sh looks inside
mkdir -p "$cache/qemu10-bookworm" "$root$q10"
mount --bind "$cache/qemu10-bookworm" "$root$q10"
git -c safe.directory="$top" clone -q --no-hardlinks "$top" "$root/root/tessera"
log "root ready in $(since "$t0"): $root, $(git -C "$root/root/tessera" log -1 --format='%h %s')"

log "running in the fresh root: $cmd"
t0=$(date +%s)
rc=0
in_root "$root" bash -c "cd /root/tessera && $cmd" || rc=$?
log "inner command exited $rc after $(since "$t0") (total $(since "$t_start"))"
exit $rc
