#!/usr/bin/env python3
"""Fails when a file includes a header from a layer above its own.

Layers, lowest first. A file may include headers of its own folder and of
any lower layer; folders on the same rank may not include each other.
"""
import pathlib, re, sys

RANKS = [
    ["lib"],
    ["boot", "arch/arm64"],
    ["drivers"],
    ["smmu"],
    ["snapshot"],
    ["kernel/machine"],
    ["kernel/vgic", "kernel/vdev", "kernel/io"],
    ["kernel/vm"],
    ["kernel/console"],
    ["kernel/init"],
    ["tools/snap"],  # snaptool: a host program over snapshot/ and lib/
]
RANK = {d: i for i, ds in enumerate(RANKS) for d in ds}
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder(path):
    for d in sorted(RANK, key=len, reverse=True):
        if path == d or path.startswith(d + "/"):
            return d
    return None


def main():
    top = pathlib.Path(__file__).resolve().parent.parent
    bad = 0
    for f in sorted(top.glob("**/*")):
        rel = f.relative_to(top).as_posix()
        if f.suffix not in (".c", ".h", ".S") or rel.startswith(("build/", "tests/")):
            continue
        mine = folder(rel)
        if mine is None:
            print(f"check-layers: {rel}: folder has no layer (add it to tools/check-layers.py)")
            bad += 1
            continue
        for inc in INC.findall(f.read_text(errors="replace")):
            theirs = folder(inc)
            if theirs is None or theirs == mine:
                continue
            if RANK[theirs] >= RANK[mine]:
                print(f"check-layers: {rel} includes \"{inc}\": {theirs} is not below {mine}")
                bad += 1
    if bad:
        sys.exit(1)
    print("check-layers: every include points down")


if __name__ == "__main__":
    main()
