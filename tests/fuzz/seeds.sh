#!/bin/sh
# Seeds for fuzz_store: small stores written by snaptool, each with the
# fuzzer's flags byte appended (tests/fuzz/fuzz_store.c): 1 re-seal,
# 0 as is, 3 re-seal and writable.
set -e
tool=$1 out=$2
mkdir -p "$out"
tmp=$out/tmp.img
rm -f "$tmp"
"$tool" format "$tmp" 96K >/dev/null
"$tool" test-write "$tmp" one --ram 64K --vcpus 2 --sve 32 >/dev/null
"$tool" test-write "$tmp" two --ram 32K --ranges 2 --vcpus 1 --seed 7 >/dev/null
for f in 1 0 3; do
	cp "$tmp" "$out/two-snapshots.$f"
	printf "\\$(printf %o $f)" >>"$out/two-snapshots.$f"
done
rm -f "$tmp"
"$tool" format "$tmp" 32K >/dev/null
cp "$tmp" "$out/empty.3"
printf '\003' >>"$out/empty.3"
rm -f "$tmp"
