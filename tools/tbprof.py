#!/usr/bin/env python3
"""Instructions executed per function of tessera, from a QEMU TCG log.

Run QEMU (e.g. through tests/qemu/harness.py's qemu_extra) with
  -d exec,nochain,in_asm -dfilter BASE+SIZE -D LOG
where BASE and SIZE are the boot report's "image:" line, then
  tools/tbprof.py LOG BASE [build/tessera.so] [FUNCTION]
prints each function's share of the instructions executed in that range
(every translation block's instruction count times its executions), most
first; with FUNCTION, that function's translation blocks instead (offset
in the .so, executions, instructions). A profiler for the exit path: under -icount those counts are what
the benchmarks measure. Needs aarch64-linux-gnu-nm.
"""
import bisect
import collections
import re
import subprocess
import sys


def symbols(elf):
    out = subprocess.run(["aarch64-linux-gnu-nm", "-n", "--defined-only", elf],
                         capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "tTwW":
            syms.append((int(f[0], 16), f[2]))
    return syms


def parse(log):
    sizes, execs, cur = {}, collections.Counter(), None
    insn = re.compile(r"^0x([0-9a-f]+):\s")
    trace = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
    with open(log, errors="replace") as f:
        for line in f:
            m = trace.match(line)
            if m:
                execs[int(m.group(1), 16)] += 1
                continue
            if line.startswith("IN:"):
                cur = None
                continue
            m = insn.match(line)
            if m:
                pc = int(m.group(1), 16)
                if cur is None:
                    cur = pc
                    sizes[cur] = 0
                sizes[cur] += 1
    return sizes, execs


def main():
    log, base = sys.argv[1], int(sys.argv[2], 16)
    elf = sys.argv[3] if len(sys.argv) > 3 else "build/tessera.so"
    func = sys.argv[4] if len(sys.argv) > 4 else None
    syms = symbols(elf)
    addrs = [a for a, _ in syms]
    sizes, execs = parse(log)
    per = collections.Counter()
    for pc, n in sorted(execs.items()):
        i = bisect.bisect_right(addrs, pc - base) - 1
        name = syms[i][1] if i >= 0 else "?"
        per[name] += n * sizes.get(pc, 0)
        if name == func:
            print(f"{pc - base:#x} {n:10d} x {sizes.get(pc, 0)}")
    if func:
        return
    total = sum(per.values())
    for name, n in per.most_common(40):
        print(f"{n:12d} {100 * n / max(total, 1):5.1f}% {name}")
    print(f"{total:12d} total")


if __name__ == "__main__":
    main()
