#!/bin/sh
# Sanity checks on the final link, run by the Makefile:
#
#   check-image.sh PASS1.so FINAL.so
#
# 1. FINAL.so may carry only R_AARCH64_RELATIVE dynamic relocations: gnu-efi's
#    self-relocation in crt0 applies nothing else, so any other type would
#    be a pointer silently left unrelocated at run time.
#    And they must all patch memory in [_data, _edata), the only part of the
#    image that UEFI firmware with memory protection leaves writable.
# 2. The code symbols (nm types t/T) of both links must be identical. The
#    backtrace table in FINAL.so was generated from PASS1.so's symbols; if
#    any function moved, every crash report would name the wrong functions.
set -eu

cross=${CROSS:-aarch64-linux-gnu-}
me=check-image

if [ $# -ne 2 ]; then
	echo "usage: $0 PASS1.so FINAL.so" >&2
	exit 2
fi
pass1=$1
final=$2
for f in "$pass1" "$final"; do
	if [ ! -r "$f" ]; then
		echo "$me: cannot read $f" >&2
		exit 1
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
status=0

# --- 1. dynamic relocations ---------------------------------------------------
# "There are no relocations in this file." has no R_ field and passes.
"${cross}readelf" -rW "$final" >"$tmp/relocs"
awk '$3 ~ /^R_/ && $3 != "R_AARCH64_RELATIVE"' "$tmp/relocs" >"$tmp/bad-relocs"
if [ -s "$tmp/bad-relocs" ]; then
	n=$(wc -l <"$tmp/bad-relocs" | tr -d ' ')
	echo "$me: $final has $n relocation(s) other than R_AARCH64_RELATIVE," >&2
	echo "$me: which the EFI self-relocation would not apply (first 20):" >&2
	head -n 20 "$tmp/bad-relocs" >&2
	status=1
fi

# --- 1b. ...and only where crt0 may write ------------------------------------
# UEFI firmware with memory protection maps the PE text section (everything
# before _data: code and .rodata) read-only, so a relocation there makes
# _relocate fault before efi_main runs.
"${cross}nm" "$final" >"$tmp/final.nm"
awk '
function pad16(s) { s = tolower(s); while (length(s) < 16) s = "0" s; return s }
FNR == NR { if ($3 == "_data") lo = pad16($1); if ($3 == "_edata") hi = pad16($1); next }
lo == "" || hi == "" { print "?"; exit }
$3 ~ /^R_/ { o = pad16($1); if (o < lo || o >= hi) print }
' "$tmp/final.nm" "$tmp/relocs" >"$tmp/ro-relocs"
if [ "$(head -n 1 "$tmp/ro-relocs")" = "?" ]; then
	echo "$me: warning: no _data/_edata in $final, relocation targets not checked" >&2
elif [ -s "$tmp/ro-relocs" ]; then
	n=$(wc -l <"$tmp/ro-relocs" | tr -d ' ')
	echo "$me: $final has $n relocation(s) outside [_data, _edata): the firmware" >&2
	echo "$me: maps that memory read-only and _relocate would fault (a const object" >&2
	echo "$me: holding pointers in a read-only section?). First 20:" >&2
	head -n 20 "$tmp/ro-relocs" >&2
	status=1
fi

# --- 2. code symbols unchanged between the links -----------------------------
text_syms() {
	# nm -S prints "addr size type name", or "addr type name" without a size
	"${cross}nm" -n -S --defined-only "$1" |
		awk 'NF == 4 && $3 ~ /^[tT]$/ { print $1, $2, $3, $4 }
		     NF == 3 && $2 ~ /^[tT]$/ { print $1, "-", $2, $3 }'
}
text_syms "$pass1" >"$tmp/pass1.syms"
text_syms "$final" >"$tmp/final.syms"
if [ ! -s "$tmp/pass1.syms" ]; then
	echo "$me: no text symbols in $pass1 (stripped?)" >&2
	status=1
elif ! cmp -s "$tmp/pass1.syms" "$tmp/final.syms"; then
	echo "$me: text symbols differ between $pass1 and $final:" >&2
	echo "$me: functions moved, so the backtrace table would be wrong." >&2
	echo "$me: (is .ksyms still the last input section of .rodata?)" >&2
	echo "$me: first differences (< pass1, > final):" >&2
	diff "$tmp/pass1.syms" "$tmp/final.syms" | grep '^[<>]' | head -n 20 >&2 || true
	status=1
fi

exit $status
