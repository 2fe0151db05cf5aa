#!/usr/bin/env python3
"""Benchmarks for tessera under QEMU (`make bench`).

Runs with ICOUNT=1 (-icount shift=0,align=off): every guest instruction
advances virtual time by exactly 1 ns, so counter ticks measured by tessera
convert to an instruction count that does not depend on the host.
Results are printed and written to build/bench/foundation.txt.
To add a benchmark, write a function returning a list of result lines and
append it to BENCHMARKS.
"""

import sys
import time

from harness import PLAIN_CONFIG, TOP, Machine, TestFailure

RESULTS = TOP / "build" / "bench" / "foundation.txt"
BOOT_LINE = r"boot: (\d+) counter ticks at (\d+) Hz from EFI entry to the shell"


def boot_instructions():
    """Instructions from EFI entry to the shell prompt, default config."""
    t0 = time.monotonic()
    with Machine("bench_boot", config=PLAIN_CONFIG, icount=True,
                 deadline=t0 + 600) as m:
        boot = m.expect(BOOT_LINE, timeout=300)
        m.wait_prompt()
        ticks, freq = int(boot.group(1)), int(boot.group(2))
        m.send("poweroff")
        m.expect(r"powering off")
        code = m.wait_exit(60)
        if code != 0:
            m.fail(f"QEMU exit status {code} after poweroff")
    wall = time.monotonic() - t0
    instructions = ticks * 10**9 // freq
    return [
        f"boot_instructions: {instructions}  (EFI entry to shell prompt: {ticks} counter "
        f"ticks at {freq} Hz = {instructions} ns of virtual time; -icount shift=0 makes "
        f"1 instruction 1 ns, all CPUs together, idle time skipped by QEMU counted too)",
        f"boot_wall_time: {wall:.1f} s  (whole QEMU run, firmware and poweroff included)",
    ]


BENCHMARKS = [boot_instructions]


def main():
    lines = []
    for bench in BENCHMARKS:
        try:
            result = bench()
        except TestFailure as e:
            print(f"FAIL {bench.__name__}: {e.reason}\n{e.tail}")
            return 1
        for line in result:
            print(line, flush=True)
        lines += result
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS.relative_to(TOP)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
