#!/bin/sh
# The compiler newlib is built with (tools/bootstrap.sh build_newlib): the
# cross GCC with -mgeneral-regs-only, so that newlib code never touches the
# FP/SIMD registers, which hold a loaded guest's state while tessera runs
# (see arch/arm64/fpsimd.c).
#
# - newlib's aarch64 assembly for memchr, memset, strchr, strchrnul and
#   strrchr uses vector registers. Each X.S is built with
#   PREFER_SIZE_OVER_SPEED, which empties it, and its X-stub.c without it
#   (so the stub adds nothing itself) but with newlib's portable
#   string/X.c included first: the same C the stub would include, in its
#   word-at-a-time form. (Built with the macro, the stub would include it as
#   a byte loop: about 16 times the instructions for memset.)
#   The other aarch64 string routines use general registers only and stay.
#   setjmp.S saves d8-d15 and cannot be helped: tessera does not use it.
# - Code that needs floating point (strtod, dtoa, the float parts of
#   printf/scanf, libm) cannot be compiled with -mgeneral-regs-only: GCC
#   refuses it, and such a file is compiled without the flag and listed in
#   $NEWLIB_FP_LOG. None of it may end up in tessera; tools/check-nofp.py
#   checks the linked image.
set -u
cc=${NEWLIB_TARGET_CC:-aarch64-linux-gnu-gcc}

extra=""
for a in "$@"; do
	case $a in
	*/machine/aarch64/memchr.S | */machine/aarch64/memset.S | \
		*/machine/aarch64/strchr.S | */machine/aarch64/strchrnul.S | \
		*/machine/aarch64/strrchr.S)
		extra=-DPREFER_SIZE_OVER_SPEED
		;;
	*/machine/aarch64/memchr-stub.c | */machine/aarch64/memset-stub.c | \
		*/machine/aarch64/strchr-stub.c | */machine/aarch64/strchrnul-stub.c | \
		*/machine/aarch64/strrchr-stub.c)
		name=${a##*/}
		extra="-include ${a%/machine/aarch64/*}/string/${name%-stub.c}.c"
		;;
	esac
done

log_fp() {
	[ -n "${NEWLIB_FP_LOG:-}" ] || return 0
	for a in "$@"; do
		case $a in
		conftest.*) ;; # configure's own probes
		*.c | *.S) echo "$a" >>"$NEWLIB_FP_LOG" ;;
		esac
	done
}

# libm is floating point throughout: not worth a first try that fails.
for a in "$@"; do
	case $a in */newlib/libm/*.c | */newlib/libm/*.S)
		log_fp "$@"
		exec "$cc" $extra "$@"
		;;
	esac
done

err=$(mktemp "${TMPDIR:-/tmp}/newlib-cc.XXXXXX") || exit 1
trap 'rm -f "$err"' EXIT
if "$cc" -mgeneral-regs-only $extra "$@" 2>"$err"; then
	cat "$err" >&2
	exit 0
fi
if ! grep -q "general-regs-only" "$err"; then
	cat "$err" >&2
	exit 1
fi
log_fp "$@"
"$cc" $extra "$@"
