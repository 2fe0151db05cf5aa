#!/usr/bin/env python3
"""QEMU integration tests for tessera (`make qemu-test`).

Usage: run_tests.py [test ...]   (no arguments: all tests)
FIRMWARE=u-boot or ACPI=1 in the environment runs the tests that do not
name a firmware under U-Boot or AAVMF with ACPI (docs/boards.md).
Each test boots its own machine (see harness.py); two run at a time.
Console logs go to build/test-run/<test>/console.log. Timeouts scale with
TESSERA_TEST_TIMEOUT_SCALE.
"""

import hashlib
import os
import random
import re
import shutil
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

from harness import (CONFIGS, FIRMWARE_HANDOVER, PLAIN_CONFIG, PROMPT, TEST_CONFIG, TOP, Machine,
                     TestFailure, kill_all, snapshot_efi, timeout_scale)

TEST_TIMEOUT = 120  # seconds per test, before scaling
PARALLEL = 2
HALT_SILENCE = 3  # seconds a halted machine must stay quiet

TESTS = {}  # name -> (function(machine), Machine keyword arguments)


def test(name=None, **machine_args):
    def register(fn):
        TESTS[name or fn.__name__] = (fn, machine_args)
        return fn
    return register


# ---- checks ----

def need(text, regex, what, flags=re.M):
    """The first match of regex in text, or a failure naming what was missing."""
    m = re.search(regex, text, flags)
    if not m:
        raise TestFailure(f"missing {what} (no match for {regex!r})")
    return m


def reject(text, regex, what):
    m = re.search(regex, text, re.M)
    if m:
        raise TestFailure(f"unexpected {what}: {m.group(0)!r}")


def check(cond, reason):
    if not cond:
        raise TestFailure(reason)


def check_cpus_online(out, n):
    need(out, rf"cpus: {n} online of {n}\b", f"'cpus: {n} online of {n}'")
    for i in range(n):
        need(out, rf"^\s*cpu{i}\s.*\bonline\b", f"cpu{i} online")


def poweroff(m):
    m.send("poweroff")
    m.expect(r"powering off")
    code = m.wait_exit(30)
    check(code == 0, f"QEMU exit status {code} after poweroff, expected 0")


# ---- tests ----

@test(config=TEST_CONFIG, smp=4)
def boot_report(m):
    m.wait_prompt()
    out = m.transcript()
    need(out, r"cpus: 4 online of 4\b", "'cpus: 4 online of 4'")
    need(out, r"^gic: GICv3\b", "gic: GICv3 line")
    need(out, r"smmu: SMMUv3 at 0x[0-9a-f]+", "SMMUv3 line")
    need(out, r"^pci: .*NVM Express controller", "pci line with the NVMe")
    ram = need(out, r"^ram: (\d+) MiB seen,.* (\d+) MiB free", "ram line")
    seen, free = int(ram.group(1)), int(ram.group(2))
    check(seen >= 4000, f"ram: {seen} MiB seen, expected >= 4000")
    check(free > 0, "ram: 0 MiB free")
    need(out, r"^boot: \d+ counter ticks at \d+ Hz from EFI entry to the shell",
         "boot: ... counter ticks line")
    reject(out, r"CRASH", "crash")


@test(config=TEST_CONFIG, smp=4)
def shell(m):
    m.wait_prompt()
    check_cpus_online(m.command("cpus"), 4)

    out = m.command("mem")
    need(out, r"^ram: \d+ MiB seen", "ram: line")
    need(out, r"^\s*free 0x[0-9a-f]+-0x[0-9a-f]+", "a free range")

    out = m.command("frobnicate")
    need(out, r"unknown command 'frobnicate'; type 'help' for the list", "unknown command")

    out = m.command("cpuz\x7fs")  # DEL erases the z
    reject(out, r"unknown command", "answer to the edited line")
    check_cpus_online(out, 4)

    out = m.command("help")
    for name in ("help", "info", "cpus", "mem", "pci", "reboot", "poweroff"):
        need(out, rf"^\s+{name}\s", f"'{name}' in help")

    out = m.command("pci")
    need(out, r"^pci: .*NVM Express controller", "the NVMe in pci")
    poweroff(m)


def crash_report(m, kind):
    """Runs `crash <kind>`; returns the report from its banner to 'system halted'."""
    m.wait_prompt()
    m.send(f"crash {kind}")
    echo = m.expect(rf"crash {kind}\r\n")
    banner = m.expect(r"\*\*\* TESSERA CRASH on CPU 0 \*\*\*")
    between = m.transcript()[echo.end():banner.start()]
    check(between.strip("\r\n") == "",
          f"output before the crash banner: {between!r}")
    halt = m.expect(r"system halted")
    report = m.transcript()[banner.start():halt.end()]
    m.expect_silence(re.escape(PROMPT), HALT_SILENCE)
    return report


def check_registers(report, regs):
    for reg in regs:
        need(report, rf"(?:^|\s){reg}\s+0x[0-9a-f]+", f"register {reg} in the dump")


def check_backtrace(report):
    bt = need(report, r"^backtrace:", "'backtrace:' line")
    frame = r"^\s*#(\d+) 0x[0-9a-f]+ ([A-Za-z_][\w.]*)\+0x[0-9a-f]+"
    frames = re.findall(frame, report[bt.end():], re.M)
    numbers = [int(n) for n, _ in frames]
    check(0 in numbers and 1 in numbers,
          f"backtrace needs frames #0 and #1 with symbols, got {frames}")
    symbols = [s for _, s in frames]  # may carry GCC suffixes: run_line.isra.0
    check(any(s.split(".")[0] in ("run_line", "shell_input", "shell_run") for s in symbols),
          f"no shell frame (run_line/shell_input) in backtrace: {symbols}")


def check_halt_order(report):
    bt = report.index("backtrace:")
    stop = need(report, r"stopping other CPUs", "'stopping other CPUs'")
    check(bt < stop.start() < report.index("system halted"),
          "expected backtrace, then 'stopping other CPUs', then 'system halted'")


def check_elr_in_cmd_crash(report):
    need(report, r"^ELR 0x[0-9a-f]+.*\bcmd_crash\+0x[0-9a-f]+", "ELR in cmd_crash")


def check_crash_data(report):
    esr = need(report, r"^ESR 0x[0-9a-f]+.*$", "ESR line").group(0)
    check("data abort" in esr, f"ESR line does not say data abort: {esr!r}")
    far = int(need(report, r"FAR 0x([0-9a-fA-F]+)", "FAR 0x...").group(1), 16)
    check(far == 0x10, f"FAR is 0x{far:x}, expected 0x10")
    check_elr_in_cmd_crash(report)


def check_crash_undef(report):
    esr = need(report, r"^ESR 0x[0-9a-f]+.*$", "ESR line").group(0)
    check("EC 0x00" in esr and "unknown" in esr,
          f"ESR line does not say EC 0x00 / unknown: {esr!r}")
    check_elr_in_cmd_crash(report)


def check_crash_panic(report):
    need(report, r"reason: crash command", "'reason: crash command'")


def crash_test(kind, check_kind, regs=("x0", "x30", "sp")):
    def run(m):
        report = crash_report(m, kind)
        check_kind(report)
        check_registers(report, regs)
        check_backtrace(report)
        check_halt_order(report)
    test(f"crash_{kind}", config=TEST_CONFIG, smp=4)(run)


crash_test("data", check_crash_data)
crash_test("undef", check_crash_undef)
# panic() is a call: only its frame registers are captured and printed
crash_test("panic", check_crash_panic, regs=("x29", "x30", "sp"))


@test(config=TEST_CONFIG, smp=4)
def crash_stack(m):
    """Overflowing the EL2 stack gives a report, not a silent recursive fault."""
    report = crash_report(m, "stack")
    need(report, r"^reason: stack overflow: SP 0x[0-9a-f]+ ran below this CPU's stack",
         "stack overflow reason")
    need(report, r"^ESR 0x[0-9a-f]+ : EC 0x25 data abort", "the faulting store's ESR")
    need(report, r"^ELR 0x[0-9a-f]+ recurse\+0x", "ELR in recurse")
    check_registers(report, ("x0", "x30", "sp"))
    need(report, r"^\s*#1 0x[0-9a-f]+ recurse\+0x", "a backtrace through recurse")
    check_halt_order(report)


@test(config=PLAIN_CONFIG, smp=4)
def no_test_commands(m):
    m.wait_prompt()
    out = m.command("crash data")
    need(out, r"unknown command 'crash'", "'unknown command 'crash''")
    reject(m.command("help"), r"^\s+crash\s", "crash in help")
    check_cpus_online(m.command("cpus"), 4)
    poweroff(m)


@test(config=TEST_CONFIG, smp=2, mem="1G")
def smp2(m):
    m.wait_prompt()
    out = m.transcript()
    need(out, r"cpus: 2 online of 2\b", "'cpus: 2 online of 2'")
    seen = int(need(out, r"^ram: (\d+) MiB seen", "ram line").group(1))
    check(960 <= seen <= 1024, f"ram: {seen} MiB seen, expected about 1024")
    poweroff(m)


# ---- partitions ----

def cfg(name):
    return CONFIGS / f"{name}.dts"


def expect_partition_stopped(m, name, timeout=60):
    m.expect(rf"{name}: stopped", timeout)
    need(m.command("list"), rf"^\s+{name}\s+stopped\b", f"{name} stopped in list")


# Checks of tguest's mode=all (tests/guests/tguest/tests.c) that may answer
# SKIP, and why: the CPU QEMU models lacks what they test. Any other skip
# fails the test.
TGUEST_OPTIONAL = {}


def tguest_test_names():
    src = (Path(__file__).resolve().parents[1] / "guests/tguest/tests.c").read_text()
    table = src[src.index("static const struct test tests[]"):]
    return re.findall(r'\{"(\w+)", t_\w+\}', table[:table.index("};")])


def check_tguest_done(m, part, timeout):
    """Every check in tguest's table ran and passed; skips only where allowed."""
    done = m.expect(rf"\[{part}\] TGUEST-DONE pass=(\d+) fail=(\d+) skip=(\d+)", timeout)
    out = m.transcript()
    results = dict(re.findall(rf"^\[{part}\] TGUEST: (\w+) (PASS|FAIL|SKIP)", out, re.M))
    fails = re.findall(rf"\[{part}\] TGUEST: (\S+) FAIL(.*)", out)
    check(int(done.group(2)) == 0 and not fails, f"guest checks failed: {fails}")
    names = tguest_test_names()
    missing = [n for n in names if n not in results]
    check(not missing, f"guest checks that never reported: {missing}")
    skipped = [n for n in names if results[n] == "SKIP"]
    bad = [n for n in skipped if n not in TGUEST_OPTIONAL and n not in qemu_lacks()]
    check(not bad, f"guest checks skipped without a reason the test allows: {bad}")
    passed = int(done.group(1))
    check(passed == len(names) - len(skipped) and int(done.group(3)) == len(skipped),
          f"{passed} passed, {done.group(3)} skipped of {len(names)} checks")


@test(config=cfg("tguest-all"), smp=4)
def tguest_checks(m):
    """The test guest's own checks: PSCI, SGIs, timer, PL011, aborts, isolation."""
    m.wait_prompt()
    check_tguest_done(m, "checks", 90)
    expect_partition_stopped(m, "checks")  # SYSTEM_OFF stops only that partition
    for _ in range(3):  # the neighbour keeps running (200 ms heartbeat)
        m.expect(r"\[neighbour\] TGUEST-ALIVE \d+", 10)
    reject(m.transcript(), r"CRASH", "crash")
    poweroff(m)


@test(config=cfg("tguest-shared"), smp=4)
def vcpu_time_sharing(m):
    """4 vCPUs on 2 CPUs: CPU_ON, SGIs, timers, CPU_OFF all work time-shared."""
    m.wait_prompt()
    need(m.expect(r"\[shared\] TGUEST: start mode=all vcpus=(\d+)", 30).group(0),
         r"vcpus=4", "4 vCPUs in the guest's device tree")
    check_tguest_done(m, "shared", 120)
    expect_partition_stopped(m, "shared")
    m.expect(r"\[neighbour\] TGUEST-ALIVE \d+", 10)
    poweroff(m)


SCHED_ROW = (r"^\s+{}/vcpu0\*?\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+latency"
             r"((?:\s+\d+){{6}})")


def sched_row(out, name):
    """A vCPU's `sched` line: prio, runtime, wake-ups, overruns, worst latency (us)."""
    r = need(out, SCHED_ROW.format(re.escape(name)), f"{name}/vcpu0 in sched")
    return [int(x) for x in r.groups()[:5]]


def sched_now(out):
    return int(need(out, r"^\s+now (\d+) us", "now in sched").group(1))


@test(config=cfg("sched-cyclic"), smp=4, icount="nosleep")
def sched_cyclic(m):
    """Three partitions on two cyclic CPUs (20 ms frame; CPU 1: rt 0-5 ms, hog
    spinning with interrupts masked 5-15 ms; CPU 2: beat 0-10 ms): rt's timer
    interrupts come, none held past the start of rt's next window (15 ms), some
    held (the schedule is real); hog gets its half of CPU 1 and no more, rt no
    more than its quarter; beat keeps its heartbeat; solo is pinned to CPU 3
    alone, intruder naming CPU 3 is refused. -icount sleep=off: the counter is
    the guests' time, not a loaded host's."""
    m.wait_prompt()
    out = m.transcript()
    need(out, r'partition "intruder": property "cpus": CPU 3 is already used by partition '
         r'"solo"', "intruder refused")
    for _ in range(3):  # the boot's builds ran on CPU 1: let them pass
        m.expect(r"\[rt\] TGUEST-RT n=\d+ max_us=\d+\r?\n", 60)
    out = m.command("sched")
    hog0, rt0, t0 = sched_row(out, "hog")[1], sched_row(out, "rt")[1], sched_now(out)
    worst = []
    for _ in range(4):
        r = m.expect(r"\[rt\] TGUEST-RT n=(\d+) max_us=(\d+)\r?\n", 60)
        # a 3 ms timer in a 5 ms window of 20: two interrupts a frame
        check(int(r.group(1)) >= 80, f"rt: {r.group(1)} timer interrupts in a second, want 100")
        worst.append(int(r.group(2)))
    print(f"sched_cyclic: rt's worst lateness per second {worst} us", flush=True)
    # hog's masked spinning cannot hold rt's interrupt past rt's next window
    # start: at most 15 ms late (a deadline just after rt's window), plus the
    # wake-up's path (a few us). Exact under -icount sleep=off: with every CPU
    # idle the clock jumps to the next timer instead of following the host's
    # (with sleep=on, beside other QEMUs, up to ~18 ms more was seen).
    check(max(worst) <= 15000 + 100, f"rt: timer interrupts up to {worst} us late, want <= 15 ms")
    check(max(worst) >= 5000, f"rt: never later than {worst} us: not held to its window")
    out = m.command("sched")
    dt = sched_now(out) - t0
    hog, rt = sched_row(out, "hog")[1] - hog0, sched_row(out, "rt")[1] - rt0
    check(0.47 <= hog / dt <= 0.51, f"hog ran {hog / dt:.3f} of CPU 1, want its 0.50")
    check(rt / dt <= 0.26, f"rt ran {rt / dt:.3f} of CPU 1, more than its 0.25")
    need(out, r"^\s+cpu1\s+cyclic, major frame 20000 us, 2 windows", "cpu1 cyclic in sched")
    need(out, r"^\s+cpu2\s+cyclic, major frame 20000 us, 1 windows", "cpu2 cyclic in sched")
    sched_row(out, "beat")
    need(out, r"^\s+cpu3\s+pinned\s+solo/vcpu0\*?\s*$", "cpu3 pinned, solo alone")
    cpus = m.command("cpus")
    r = need(cpus, r"cpu3\s.*\n\s+runs(.*)$", "cpu3's vCPUs in cpus")
    check(r.group(1).split() in (["solo/vcpu0"], ["solo/vcpu0*"]),
          f"cpu3 runs {r.group(1).strip()}: want solo/vcpu0 alone")
    m.expect(r"\[beat\] TGUEST-ALIVE \d+", 30)
    m.expect(r"\[hog\] TGUEST-HOG \d+", 30)
    reject(m.transcript(), r"CRASH", "crash")
    poweroff(m)


@test(config=cfg("sched-budget"), smp=4, icount="nosleep")
def sched_budget(m):
    """greedy (priority 9, 2 ms per 10 ms) spins forever with interrupts masked:
    meas below it, on the same priority CPU, measures from the counter that it
    gets the other 80% (-icount: the counter is the guests' time, not a loaded
    host's); sched shows greedy's runtime at its budget, an overrun a period."""
    m.wait_prompt()
    for _ in range(3):
        m.expect(r"\[meas\] TGUEST-SHARE run_pm=\d+\r?\n", 60)
    out = m.command("sched")
    g0, s0 = sched_row(out, "greedy"), sched_row(out, "meas")
    shares = [int(m.expect(r"\[meas\] TGUEST-SHARE run_pm=(\d+)\r?\n", 60).group(1))
              for _ in range(5)]
    out = m.command("sched")
    g1, s1 = sched_row(out, "greedy"), sched_row(out, "meas")
    g, total = g1[1] - g0[1], (g1[1] - g0[1]) + (s1[1] - s0[1])
    check(all(760 <= s <= 840 for s in shares), f"meas got {shares} per mille, want 800")
    check(0.18 <= g / total <= 0.22, f"greedy ran {g / total:.3f} of CPU 1, want its budget 0.20")
    check(g1[0] == 9 and s1[0] == 1, f"priorities {g1[0]}, {s1[0]}: want 9, 1")
    check(g1[3] - g0[3] >= 0.9 * total / 10000,
          f"greedy: {g1[3] - g0[3]} overruns in {total} us, want one a 10 ms period")
    reject(m.transcript(), r"CRASH", "crash")
    poweroff(m)


@test(config=cfg("tguest-pmu"), smp=4, icount=True)
def guest_pmu(m):
    """PMUv3 in a partition under -icount: a loop trapping to tessera on each of its
    1000 iterations counts the guest's own ~3000 instructions and cycles, not tessera's."""
    m.wait_prompt()
    r = m.expect(r"\[pmu\] TGUEST-PMU pmuver=(\d+) counters=(\d+) insns=(\d+) cycles=(\d+) "
                 r"cpu_cycles=(\d+) loop=(\d+)\r?\n", 60)  # to the line's end: whole numbers
    ver, n, insns, cycles, ev_cycles, loop = (int(x) for x in r.groups())
    m.expect(r"\[pmu\] TGUEST-DONE pass=1 fail=0", 10)
    check(1 <= ver < 15 and n > 0, f"PMUVer {ver}, {n} counters: want PMUv3 with counters")
    # each iteration's trapped load may not retire at EL1; EL2's work must not count
    check(loop * 2 // 3 <= insns <= loop + 16, f"{insns} instructions for a {loop}-instruction loop")
    for what, v in (("cycle counter", cycles), ("CPU_CYCLES", ev_cycles)):
        check(0 < v <= 4 * (loop + 16), f"{what} {v} over a {loop}-instruction loop")
    reject(m.transcript(), r"CRASH", "crash")
    poweroff(m)


@test(config=cfg("tguest-sve"), smp=4, qemu_extra="-cpu max,pauth-impdef=on,sve-max-vq=2")
def sve_limits(m):
    """SVE vector lengths: sve-max-vl above what the CPU has (256-bit vectors
    here) is capped, one below it kept; without sve-max-vl SVE is hidden and
    its instructions UNDEF in the guest, not in tessera."""
    m.wait_prompt()
    want = {"capped": (32, 256, "PASS"), "short": (16, 16, "PASS"), "nosve": (0, 0, "SKIP")}
    done = set()
    while len(done) < len(want):  # in whatever order they finish
        done.add(m.expect(r"\[(capped|short|nosve)\] TGUEST-DONE pass=", 60).group(1))
    out = m.transcript()
    for part, (vl, asked, state) in want.items():
        got = dict(re.findall(rf"^\[{part}\] TGUEST: (sve_\w+) (PASS|FAIL|SKIP)", out, re.M))
        fails = re.findall(rf"^\[{part}\] TGUEST: (sve_\w+ FAIL.*)", out, re.M)
        check(not fails, f"{part}: {fails}")
        check(got == {"sve_id": "PASS", "sve_vl": "PASS", "sve_state": state},
              f"{part}: results {got}, want sve_id, sve_vl PASS and sve_state {state}")
        line = rf"(^|\s){part}: SVE, vector length {vl} bytes \(sve-max-vl {asked}\)"
        if vl:
            need(out, line, f"{part}'s SVE line")
        else:
            reject(out, rf"(^|\s){part}: SVE,", "an SVE line for a partition without SVE")
    need(out, r"nosve: vCPU 0: SVE in a partition without SVE", "the injected UNDEF's log")
    for part in want:  # the lines may have gone by while waiting for the others
        if not re.search(rf"(^|\s){part}: stopped", m.transcript(), re.M):
            m.expect(rf"(^|\s){part}: stopped", 60)
    listing = m.command("list")
    for part in want:
        need(listing, rf"^\s+{part}\s+stopped\b", f"{part} stopped in list")
    reject(m.transcript(), r"CRASH", "crash")
    poweroff(m)


@test(config=cfg("tguest-reset"), smp=4)
def partition_reset(m):
    """SYSTEM_RESET restarts only the partition that asked."""
    m.wait_prompt()
    for _ in range(3):
        m.expect(r"\[resetter\] TGUEST-BOOT", 30)
    m.expect(r"\[steady\] TGUEST-ALIVE", 10)
    steady_boots = len(re.findall(r"\[steady\] TGUEST: start", m.transcript()))
    check(steady_boots == 1, f"the neighbour started {steady_boots} times")
    m.command("stop resetter")
    expect_partition_stopped(m, "resetter")
    m.expect(r"\[steady\] TGUEST-ALIVE", 10)
    poweroff(m)


def free_kib(m):
    """Free RAM in KiB, the sum of `mem`'s free ranges."""
    ranges = re.findall(r"^\s+free 0x[0-9a-f]+-0x[0-9a-f]+\s+(\d+) KiB", m.command("mem"), re.M)
    check(ranges, "no free ranges in `mem`")
    return sum(int(k) for k in ranges)


def states(m):
    return dict(re.findall(r"^\s+(\w+)\s+(stopped|starting|running|stopping|failed)\b",
                           m.command("list"), re.M))


def wait_states(m, want, timeout=60):
    """Polls `list` until every partition named in want is in that state."""
    deadline = time.monotonic() + timeout * timeout_scale()
    while True:
        now = states(m)
        if all(now.get(n) == st for n, st in want.items()):
            return
        if time.monotonic() > deadline:
            raise TestFailure(f"partitions {now}, wanted {want}")
        time.sleep(0.2)


def shell_ok(m, line, refusal=None):
    """A shell command that must have been read as sent: a garbled or lost
    line (unknown command, usage) fails the test instead of going unnoticed."""
    out = m.command(line)
    reject(out, r"unknown command|usage:|no partition named", f"answer to {line!r}")
    if refusal is None:
        reject(out, r"cannot ", f"answer to {line!r}")
    return out


STRESS_EVENTS = 300


@test(config=cfg("tguest-stress"), smp=4, test_timeout=300)
def lifecycle_stress(m):
    """Random start/stop/restart against a self-resetting and a 2-vCPU partition:
    every stop wins over the guest's resets, each partition ends as asked last,
    and free RAM returns to its starting figure."""
    import random
    rng = random.Random(int(time.time()))
    m.wait_prompt()
    names = ("resetter", "steady")
    for n in names:
        shell_ok(m, f"stop {n}")
    wait_states(m, {n: "stopped" for n in names})
    free0 = free_kib(m)
    intent = {n: None for n in names}
    answers = {"ok": 0, "refused": 0}
    for i in range(STRESS_EVENTS):
        n, op = rng.choice(names), rng.choice(("start", "stop", "restart"))
        out = shell_ok(m, f"{op} {n}", refusal=r"cannot (start|stop|restart)")
        refused = re.search(r"cannot (start|stop|restart)", out)
        answers["refused" if refused else "ok"] += 1
        if not refused:
            intent[n] = "stopped" if op == "stop" else "running"
        if rng.random() < 0.3:
            time.sleep(rng.random() * 0.05)
        if i % 60 == 59:  # a stop in the middle of the resets must hold
            shell_ok(m, "stop resetter", refusal=r"cannot stop")
            wait_states(m, {"resetter": "stopped"})
            time.sleep(0.5)
            wait_states(m, {"resetter": "stopped"}, 1)
            intent["resetter"] = "stopped"
    print(f"lifecycle_stress: {STRESS_EVENTS} events, {answers}, last asked {intent}", flush=True)
    want = {n: st for n, st in intent.items() if st}
    wait_states(m, want)
    time.sleep(1)  # and they stay so (the resetter would be back by now)
    wait_states(m, want, 1)
    reject(m.transcript(), r"CRASH|start failed", "crash or failed start")
    for n in names:
        shell_ok(m, f"stop {n}", refusal=r"cannot stop")
    wait_states(m, {n: "stopped" for n in names})
    free1 = free_kib(m)
    check(free1 == free0, f"free RAM {free1} KiB after the stress, {free0} KiB before")
    poweroff(m)


@test(config=cfg("tguest-ipi"), smp=4, icount=True, test_timeout=400)
def ipi_delivery(m):
    """100,000 SGIs: 25,000 to a vCPU polling with YIELD, 25,000 to one in WFI,
    and 25,000 each way at once: every one taken by the guest's handler, none
    twice. Under -icount the vCPUs run round robin on one thread, so "late"
    (not taken within 65,536 YIELDs of the sender) is a path length, not
    host scheduling noise, and must be 0."""
    m.wait_prompt()
    done = m.expect(r"\[ipi\] TGUEST-IPI-DONE fail=(\d+)", 380)
    out = m.transcript()
    passes = re.findall(r"^\[ipi\] TGUEST-IPI (\w+) (PASS|FAIL) sent=(\d+) taken=(\d+) "
                        r"late=(\d+) back=(\d+)", out, re.M)
    print("ipi_delivery: " + ", ".join(f"{n}: {t}/{s} taken, {late} late, {b} back"
                                       for n, _, s, t, late, b in passes), flush=True)
    fails = re.findall(r"^\[ipi\] TGUEST-IPI .*FAIL.*", out, re.M)
    check(not fails and done.group(1) == "0", f"SGIs lost: {fails}")
    check([p[0] for p in passes] == ["spin", "wfi", "both"], f"passes {passes}")
    for name, _, sent, taken, late, back in passes:
        check(int(sent) == 25000 and taken == sent, f"{name}: {taken} of {sent} taken")
        check(int(back) == (int(sent) if name == "both" else 0), f"{name}: {back} back")
        check(late == "0", f"{name}: {late} SGIs taken only after 65,536 spins of the sender")
    expect_partition_stopped(m, "ipi")
    poweroff(m)


# ---- virtual ITS and LPIs (issue 11) ----

ITS_DONE = r"TGUEST-ITS-DONE pass=(\d+) fail=(\d+)"
ITS_CHECKS = ["gicd-typer-lpis", "gicd-typer-idbits", "gicr-typer-plpis", "iidr-read-only",
              "typer-read-only", "typer-id-bits", "baser-types", "setup", "int-cpu0", "int-cpu1",
              "disabled-not-delivered", "inv-enables", "invall-disables", "invall-enables",
              "clear", "movi", "discard"]


def check_its_run(out, prefix, where):
    """Every check of tguest mode=its reported ok, none FAIL."""
    done = need(out, prefix + ITS_DONE, f"{where}: TGUEST-ITS-DONE")
    oks = re.findall(rf"^{prefix}TGUEST-ITS ok (\S+)", out, re.M)
    fails = re.findall(rf"^{prefix}TGUEST-ITS FAIL (\S+)", out, re.M)
    check(not fails and done.group(2) == "0", f"{where}: ITS checks failed: {fails}")
    missing = [c for c in ITS_CHECKS if c not in oks]
    check(not missing, f"{where}: ITS checks that never passed: {missing}")


def its_bare():
    """tguest mode=its on bare QEMU (-M virt,gic-version=3,its=on), as
    bench.py's exits_bare runs tguest: QEMU's own ITS is the reference."""
    dtb = TOP / "build" / "guests" / "virt-smp2-256M.dtb"
    subprocess.run(["make", "-s", str(dtb.relative_to(TOP))], cwd=TOP, check=True)
    cmd = [os.environ.get("QEMU", "qemu-system-aarch64"), "-M", "virt,gic-version=3,its=on",
           "-cpu", "max,pauth-impdef=on", "-smp", "2", "-m", "256", "-nographic", "-nic", "none",
           "-kernel", str(TOP / "build/guests/tguest.elf"), "-dtb", str(dtb),
           "-append", "tguest.mode=its"]
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
                         text=True, errors="replace").stdout
    check_its_run(out, "", "bare QEMU")


@test(config=cfg("tguest-its"), smp=4)
def its_checks(m):
    """kvm-unit-tests-style ITS checks (introspection; MAPD/MAPC/MAPTI/INT/INV/
    INVALL/CLEAR/MOVI/DISCARD with LPIs reaching the right vCPU and no other)
    in a partition with `its`, then the same guest on bare QEMU's ITS."""
    m.wait_prompt()
    m.expect(r"\[its\] " + ITS_DONE, 90)
    check_its_run(m.transcript(), r"\[its\] ", "tessera")
    expect_partition_stopped(m, "its")
    m.expect(r"\[neighbour\] TGUEST-ALIVE \d+", 10)
    reject(m.transcript(), r"CRASH|panic", "crash")
    poweroff(m)
    its_bare()


@test(config=cfg("tguest-its-scribble"), smp=4)
def its_scribble(m):
    """A guest writing random words over its ITS command queue, device,
    collection and ITT tables and LPI tables, and random values into
    GITS_CBASER/CWRITER/BASER and GICR_PROPBASER/CTLR: tessera logs the
    errors (rate-limited), the scribbler keeps running, and so does its
    neighbour."""
    m.wait_prompt()
    m.expect(r"\[scribbler\] TGUEST-ITS-SCRIBBLE setup=ok", 60)
    m.expect(r"\[scribbler\] TGUEST-ITS-SCRIBBLE rounds=[1-9]\d{3,}", 120)
    out = m.transcript()
    need(out, r"^scribbler: (ITS|LPI) .*\(0x[0-9a-f]+\)", "an ITS error logged for the scribbler")
    need(out, r"^scribbler: further ITS/LPI errors not logged", "the error log rate-limited")
    n0 = len(re.findall(r"\[neighbour\] TGUEST-ALIVE", out))
    for _ in range(3):
        m.expect(r"\[neighbour\] TGUEST-ALIVE \d+", 10)
    check(len(re.findall(r"\[neighbour\] TGUEST-ALIVE", m.transcript())) >= n0 + 3,
          "neighbour heartbeat")
    need(m.command("list"), r"^\s+scribbler\s+running\b", "scribbler still running")
    need(m.command("snapshot save scribbler s1"),
         r"snapshot: error: save s1: partition scribbler has an ITS", "snapshot refused")
    reject(m.transcript(), r"CRASH|panic", "crash")
    poweroff(m)


def wait_count(m, regex, n, timeout=10):
    """Polls the whole transcript (guest lines may come before or after the
    shell's prompt) until regex matches n times."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if len(re.findall(regex, m.transcript(), re.M)) >= n:
            return
        time.sleep(0.1)
    check(False, f"{regex!r} not seen {n} times")


@test(config=cfg("tguest-its-msi"), smp=4)
def its_msi(m):
    """MSIs through the physical ITS: the `msi` test command maps a physical
    event of a made-up device to a partition's (guest DeviceID, EventID) and
    raises it with INT; the physical LPI, taken at EL2, reaches the vCPU the
    guest's collection names, as the vLPI the guest mapped. Both partitions
    map the same guest IDs: each MSI reaches only the partition it was
    routed to, and a physical event routed to one cannot be routed to the
    other; one to an event the guest never mapped is dropped, counted."""
    m.wait_prompt()
    for part in ("msia", "msib"):  # in either order
        wait_count(m, rf"\[{part}\] TGUEST-ITS-WAIT ready", 1, 60)
    for n in (1, 2, 3):
        out = m.command("msi msia 2 3")
        need(out, r"msi: msia device 2 event 3: physical LPI \d+ raised", "msi raised")
        wait_count(m, r"\[msia\] TGUEST-ITS-WAIT lpi=8195 cpu=1 count=\d+\r?\n", n)
    m.command("msi msib 2 0")
    wait_count(m, r"\[msib\] TGUEST-ITS-WAIT lpi=8192 cpu=0 count=1\r?\n", 1)
    # msia's physical event (device 0x100, event 3) cannot be routed to msib
    need(m.command("msi msib 2 3 0x100"), r"msi: error -16\b", "a second owner refused (EBUSY)")
    m.command("msi msia 2 9")  # msia mapped no event 9
    time.sleep(1)
    out = m.command("msi msib 2 0")
    need(out, r"dropped so far: 1\b", "the unmapped MSI dropped and counted")
    wait_count(m, r"\[msib\] TGUEST-ITS-WAIT lpi=8192 cpu=0 count=2\r?\n", 1)
    time.sleep(1)
    t = m.transcript()
    check(len(re.findall(r"\[msia\] TGUEST-ITS-WAIT lpi=", t)) == 3,
          "msia took exactly its 3 MSIs")
    check(len(re.findall(r"\[msib\] TGUEST-ITS-WAIT lpi=", t)) == 2,
          "msib took exactly its 2 MSIs")
    reject(t, r"CRASH|panic", "crash")
    poweroff(m)


# ---- interrupt storms (issue 8) ----

def sched_slice_ns():
    """SLICE_MS of kernel/vm/sched.c, in ns: the bound follows the scheduler."""
    src = (TOP / "kernel/vm/sched.c").read_text()
    return int(re.search(r"^#define\s+SLICE_MS\s+(\d+)", src, re.M).group(1)) * 1000000


# Two faults of kernel/vgic/ (issue 8) that this test found, both fixed
# (kernel/vgic/vgic.h: bounded delivery among equal priorities; active
# LRs keep their priority). A flag set to True again makes the test
# require the fault to show (and say so), for a bisect of the old code.
#
# Ties: between interrupts of equal priority the vGIC's flush (lr.c
# better(): the lower INTID) and the CPU interface (QEMU's hppvi_index:
# the lower list register) both favour the same one, so vCPU 0 re-sending
# even a single SGI faster than vCPU 1 completes it keeps PPI 27 from ever
# being taken: in the storm's "flood" phase the timer does not fire at all
# (bare QEMU's GIC does the same to this guest; the issue asks tessera to
# bound it by a slice). Fixed: ties go round robin into the LRs, and an
# interrupt passed over in its LR is the guest's only choice at its level
# until taken.
VGIC_TIE_STARVES_TIMER = False
# Priority of an active interrupt: a GICR_IPRIORITYR write while the
# guest handles the interrupt is copied into its active list register at
# the next flush (lr.c lr_compose uses irq->prio); the guest's EOI then
# drops the priority it was taken at, which no longer matches the LR's, so
# the LR is not deactivated (GICv3 VirtualWriteEOIR; QEMU icv_eoir_write
# lr_gprio == dropprio) and the HW-linked timer stays active for good: in
# the "reprio" phase vCPU 1's timer stops (bare QEMU: it never does).
# Fixed: an active LR keeps the priority it was taken at (act_prio).
VGIC_REPRIO_LOSES_TIMER = False

STORM_RE = (r"^\[(storm|shared)\] TGUEST-STORM (\w+) sent_sgi=(\d+) sent_spi=(\d+) sgi=(\d+) "
            r"spi=(\d+) ticks=(\d+) skipped=(\d+) late_max_ns=(\d+) late_avg_ns=(\d+) "
            r"pending_ns=(\d+) overdue_max=(\d+)\r?\n")
PROBE_RE = (r"^\[probe\] TGUEST-PROBE w=(\d+) span_ns=(\d+) guest_insns=(\d+) steal_ns=(\d+) "
            r"ticks=(\d+) skipped=(\d+) late_max_ns=(\d+) late_avg_ns=(\d+) work_min_ns=(\d+) "
            r"work_avg_ns=(\d+) chunks=(\d+)\r?\n")
STORM_PHASE_MS = 100  # tests/qemu/configs/tguest-storm.dts
STORM_TICK_NS = 1000000  # tguest.tick_us default
STORM_SWITCH_NS = 1000000  # see irq_storm: what may come on top of a slice
PROBE_STEAL_TOLERANCE_NS = 100000  # per 20 ms window; see irq_storm


def storm_phases(out):
    """{partition: {phase: dict of the TGUEST-STORM line's numbers}} and the
    transcript offsets of each partition's phase lines."""
    keys = ("sent_sgi", "sent_spi", "sgi", "spi", "ticks", "skipped", "late_max", "late_avg",
            "pending", "overdue_max")
    got, at = {}, {}
    for mt in re.finditer(STORM_RE, out, re.M):
        got.setdefault(mt.group(1), {})[mt.group(2)] = dict(zip(keys, map(int, mt.groups()[2:])))
        at.setdefault(mt.group(1), {})[mt.group(2)] = mt.start()
    return got, at


def probe_windows(out):
    """(offset of its line, numbers) of each probe window, in order."""
    keys = ("w", "span", "guest", "steal", "ticks", "skipped", "late_max", "late_avg",
            "work_min", "work_avg", "chunks")
    return [(mt.start(), dict(zip(keys, map(int, mt.groups()))))
            for mt in re.finditer(PROBE_RE, out, re.M)]


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def known_fault(flag_name, what):
    print(f"irq_storm: KNOWN FAILURE (kernel/vgic, {flag_name}): {what}", flush=True)


def check_storm(name, ph, slice_ns):
    """One storm partition's numbers: the flood happened, the timer kept
    within a slice (but for the known faults), and ran again after."""
    ticks_per_phase = STORM_PHASE_MS * 1000000 // STORM_TICK_NS
    bound = slice_ns + STORM_SWITCH_NS
    check(list(ph) == ["quiet", "flood_hi", "flood", "after", "reprio"],
          f"{name}: phases {list(ph)}")
    for p in ("flood_hi", "flood"):
        f = ph[p]
        check(f["sent_sgi"] >= 5000 and f["sent_spi"] >= 5000,
              f"{name} {p}: only {f['sent_sgi']} SGIs and {f['sent_spi']} SPIs sent")
        # vCPU 1 takes each pending one once: many when it has a CPU of its
        # own, a few per turn when it shares one (a turn is a slice)
        want = 1000 if name == "storm" else 16
        check(f["sgi"] >= want, f"{name} {p}: vCPU 1 took {f['sgi']} SGIs, want {want}")
        # and the SPIs, which tie with the SGIs (all 0x80): with ties to
        # the lower INTID, "storm" took none (seen since: 1400-1650)
        want = 500 if name == "storm" else 16
        check(f["spi"] >= want, f"{name} {p}: vCPU 1 took {f['spi']} SPIs, want {want}")
    check(ph["reprio"]["sent_sgi"] >= 1000, f"{name} reprio: {ph['reprio']['sent_sgi']} SGIs sent")
    known = {"flood": VGIC_TIE_STARVES_TIMER, "reprio": VGIC_REPRIO_LOSES_TIMER}
    flags = {"flood": "VGIC_TIE_STARVES_TIMER", "reprio": "VGIC_REPRIO_LOSES_TIMER"}
    for p in ("quiet", "flood_hi", "flood", "reprio"):
        late = ph[p]["late_max"]
        if name == "shared" and p == "reprio" and VGIC_REPRIO_LOSES_TIMER:
            # the same fault, but only when a slice ends inside the timer's
            # handler: it may or may not show
            known_fault(flags[p], f"shared reprio (may show or not): timer "
                        f"{late / 1e6:.1f} ms late, {ph[p]['ticks']} ticks")
            continue
        if name == "storm" and known.get(p):
            check(late > bound, f"storm {p}: timer at most {late} ns late, within the bound: "
                  f"fixed? set {flags[p]} = False")
            known_fault(flags[p], f"storm {p}: timer {late / 1e6:.1f} ms late, "
                        f"{ph[p]['ticks']} of {ticks_per_phase} ticks")
            continue
        check(late <= bound, f"{name} {p}: vCPU 1's timer taken {late} ns late, more than a "
              f"slice ({slice_ns} ns) + {STORM_SWITCH_NS} ns")
        check(ph[p]["ticks"] > 0, f"{name} {p}: the timer never fired")
    if name == "storm":
        check(ph["quiet"]["ticks"] >= ticks_per_phase * 9 // 10,
              f"storm quiet: {ph['quiet']['ticks']} ticks of {ticks_per_phase}")
    else:  # the test tests the slice only if vCPU 1 really waits for vCPU 0's
        check(ph["quiet"]["late_max"] >= slice_ns // 2,
              f"shared quiet: timer at most {ph['quiet']['late_max']} ns late: not time-shared?")
    check(ph["after"]["ticks"] >= ticks_per_phase // 10,
          f"{name} after: only {ph['after']['ticks']} ticks once the flood stopped")


@test(config=cfg("tguest-storm"), smp=5, icount=True)
def irq_storm(m):
    """Interrupt storms (issue 8; tguest mode=storm and mode=probe). In a
    2-vCPU partition vCPU 0 floods vCPU 1 with SGIs and SPIs, with a CPU
    per vCPU ("storm") and both time-sharing one ("shared"): vCPU 1's timer
    is never taken more than a slice late (but for two known vGIC faults,
    above). Beside them "probe", alone on its CPU, loses no more of it to
    the hypervisor while the storms flood than before they were started.

    Why -icount: virtual time then counts instructions and the slice and
    every lateness are path lengths. Without it, on 2 host cores with 4 busy
    vCPUs, the same guest's 1 ms timer was up to 28 ms late while nothing
    flooded: host noise, not the hypervisor. But under -icount QEMU runs one
    vCPU at a time, so every CPU's instructions advance everyone's clock:
    the probe's lateness and loop times grow with what the storms run
    between its turns, by construction (they are printed, and the lateness
    only checked against half a slice). What the probe is checked on is
    steal: counter time minus its PMU's instruction count. QEMU counts the
    machine's instructions into it while the probe's CPU is at EL1, running
    or waiting for its turn, and not while it is at EL2, so steal is the
    time its CPU was in the hypervisor. Before the storms that is its own
    timer's exits, 4 x 0.5-0.75 us per 20 ms window, the same to a few ns in
    every window. Letting the storm reach the probe's CPU (tried: a vGIC
    kick that also kicks CPU 4) adds 0.7-1.2 ms to every flood window. A window
    now and then shows up to ~2 ms more, where QEMU ended the probe's turn
    just as it entered EL2 and ran the other CPUs meanwhile (no lock wait
    and no stay at EL2 over 9 us was seen on its CPU then): so the median of
    the flood windows is checked, within 100 us (0.5% of a window) of the
    baseline's, above the 0-8 us differences seen, 7 times below the fault.

    vCPU 1's bound is SLICE_MS (read from kernel/vm/sched.c) plus 1 ms for
    the switch and QEMU's turns of the other CPUs (seen: up to 0.2 ms); a
    shared CPU whose slices were twice as long fails at 20 ms, one without
    slices never lets vCPU 1 start. The flood must have happened: thousands
    of SGIs and SPIs sent per phase, and taken (thousands with a CPU each,
    each pending one once per turn when time-shared)."""
    slice_ns = sched_slice_ns()
    m.wait_prompt()
    m.expect(r"\[probe\] TGUEST-PROBE w=4 ", 30)
    started = len(m.transcript())
    for name in ("storm", "shared"):
        shell_ok(m, f"start {name}")
    done, last = set(), {}
    while len(done) < 2:  # in whatever order; a phase takes 1-2 s of host time
        try:
            # to the line's end: a line may be read while it is still arriving
            line = m.expect(r"\[(storm|shared)\] (TGUEST-STORM(-DONE| FAIL)?[^\r\n]*)\r?\n", 30)
        except TestFailure as e:
            e.reason += f" (last lines: {last})"
            raise
        last[line.group(1)] = line.group(2).strip()[:60]
        check(line.group(3) != " FAIL", f"{line.group(1)}: {line.group(2).strip()}")
        if line.group(3) == "-DONE":
            done.add(line.group(1))
    for name in ("storm", "shared"):
        if not re.search(rf"(^|\s){name}: stopped", m.transcript()[started:], re.M):
            m.expect(rf"(^|\s){name}: stopped", 30)
    m.expect(r"\[probe\] TGUEST-PROBE w=\d+ ", 30)
    out = m.transcript()
    reject(out, r"TGUEST-STORM FAIL.*|CRASH", "storm failure or crash")
    phases, at = storm_phases(out)
    check(set(phases) == {"storm", "shared"}, f"storm reports from {sorted(phases)}")
    for name, ph in phases.items():
        print(f"irq_storm: {name}: " + "; ".join(
            f"{p} sent {v['sent_sgi']}/{v['sent_spi']} took {v['sgi']}/{v['spi']} "
            f"ticks {v['ticks']} late max {v['late_max']} avg {v['late_avg']} ns"
            for p, v in ph.items()), flush=True)
    windows = probe_windows(out)
    base = [w for pos, w in windows if pos < started]
    # flooding: from a storm's quiet report to its flood report; a window
    # counts if the line before it (its start) and its own are inside
    spans = [(at[n]["quiet"], at[n]["flood"]) for n in at]
    flood = [w for (p0, _), (pos, w) in zip(windows, windows[1:])
             if any(a < p0 and pos < b for a, b in spans)]
    check(len(base) >= 3 and len(flood) >= 5,
          f"{len(base)} probe windows before the storms, {len(flood)} while they flooded")
    for what, ws in (("before", base), ("flood", flood)):
        print(f"irq_storm: probe {what}: {len(ws)} windows, steal median "
              f"{median([w['steal'] for w in ws])} max {max(w['steal'] for w in ws)} ns, "
              f"timer late max {max(w['late_max'] for w in ws)} avg "
              f"{sum(w['late_avg'] for w in ws) // len(ws)} ns, work min "
              f"{min(w['work_min'] for w in ws)} avg {sum(w['work_avg'] for w in ws) // len(ws)} "
              f"ns", flush=True)
    for name, ph in phases.items():
        check_storm(name, ph, slice_ns)
    check(all(w["guest"] > 0 for _, w in windows), "the probe's PMU counted no instructions")
    b, f = median([w["steal"] for w in base]), median([w["steal"] for w in flood])
    check(f <= b + PROBE_STEAL_TOLERANCE_NS,
          f"probe: median steal {f} ns per window while the storms flooded, {b} ns before: "
          "the storm reaches the probe's CPU")
    late = max(w["late_max"] for w in flood)
    check(late <= slice_ns // 2, f"probe: its timer {late} ns late while the storms flooded")
    listing = m.command("list")
    need(listing, r"^\s+probe\s+running\b", "probe still running")
    poweroff(m)


@test(config=cfg("linux"), smp=4)
def linux_boot(m):
    """Debian's Linux boots in a 2-vCPU partition and powers off only itself."""
    linux_to_poweroff(m)


LINUX_TROUBLE = (r"CRASH|Oops|BUG:|WARNING:|rcu_sched self-detected stall|"
                 r"rcu: INFO: rcu_\w+ detected stalls|Kernel panic|Unable to handle kernel")


def reject_linux_trouble(m):
    """A Linux guest that kept going after an Oops, a warning or a stall is a failure."""
    reject(m.transcript(), LINUX_TROUBLE, "kernel trouble")


def linux_to_poweroff(m):
    """Linux reaches its markers with 2 CPUs, powers off only itself, the neighbour lives."""
    m.wait_prompt()
    m.expect(r"\[linux\] GUEST-LINUX-UP", 120)
    m.expect(r"\[linux\] GUEST-LINUX-CPUS=2\b", 30)
    m.expect(r"\[linux\] GUEST-LINUX-DONE", 30)
    pmu = need(m.transcript(), r"\[linux\] .*hw perfevents: enabled with armv8_pmuv3 PMU driver, "
               r"(\d+) counters available", "Linux's PMU driver line")
    check(int(pmu.group(1)) >= 2, f"Linux sees {pmu.group(1)} PMU counters, want the cycle counter and more")
    expect_partition_stopped(m, "linux")
    m.expect(r"\[other\] TGUEST-ALIVE", 10)
    reject_linux_trouble(m)
    poweroff(m)


@test(config=cfg("linux-its"), smp=4)
def linux_its(m):
    """Linux's own GICv3 ITS driver on a partition with `its`: it probes the
    ITS, allocates its tables and LPI tables, maps each CPU's collection
    (MAPC, SYNC, INVALL through the command queue), with no error logged by
    Linux or by tessera; then it powers off only itself."""
    m.wait_prompt()
    m.expect(r"\[linux\] GUEST-LINUX-DONE", 150)
    out = m.transcript()
    need(out, r"\[linux\] .*ITS@0x0*8080000", "Linux's ITS driver found the ITS")
    need(out, r"\[linux\] .*GICv3: CPU1: using (allocated|reserved) LPI pending table",
         "LPIs enabled on CPU 1")
    reject(out, r"\[linux\] .*(ITS.*(fail|timeout|error|unable)|CPU1: LPIs not enabled)",
           "an ITS error in Linux")
    reject(out, r"^linux: (ITS|LPI) ", "an ITS error logged by tessera")
    expect_partition_stopped(m, "linux")
    m.expect(r"\[other\] TGUEST-ALIVE", 10)
    reject_linux_trouble(m)
    poweroff(m)


def shell_answers(m, line, answer, tries=3):
    for i in range(tries):
        m.send(line)
        try:
            return m.expect(answer, 10)
        except TestFailure:
            if i == tries - 1:
                raise


@test(config=cfg("linux-shared"), smp=4)
def linux_time_shared(m):
    """Linux with 2 vCPUs time-sharing one physical CPU, with SVE (sve-max-vl 64)."""
    linux_to_poweroff(m)
    need(m.transcript(), r"\[linux\] \[[ \d.]+\] SVE: maximum available vector length 64 bytes",
         "Linux finding SVE at the configured length")


@test(config=cfg("linux-shell"), smp=4)
def two_partitions(m):
    """Linux (CPUs 0-1) and a test guest (CPUs 2-3) at once; each survives the other's stop."""
    m.wait_prompt()
    m.expect(r"\[linux\] GUEST-LINUX-SHELL", 120)
    m.send("\x1d")  # console focus to the first partition: linux
    m.expect(r"console: partition linux")
    # the focused partition's output is unprefixed; the shell may still be
    # starting (input before it reads its tty can be dropped): retry
    shell_answers(m, "echo tessera-$((6*7))", r"\ntessera-42")
    m.send("\x1d")  # next: other
    m.expect(r"console: partition other")
    m.send("p")
    m.expect(r"TGUEST-PONG", 10)
    m.send("\x1d")  # back to the shell
    m.expect(r"console: tessera shell")
    m.command("stop other")
    expect_partition_stopped(m, "other")
    m.send("\x1d")
    m.expect(r"console: partition linux")
    shell_answers(m, "echo still-$((40+2))", r"\nstill-42")
    m.send("\x1d")
    m.expect(r"console: tessera shell")
    m.command("stop linux")
    expect_partition_stopped(m, "linux")
    m.command("start other")
    m.expect(r"\[other\] TGUEST-ALIVE", 20)
    m.command("restart other")  # stop, then start again by itself
    m.expect(r"other: stopped", 20)
    m.expect(r"other: started", 20)
    m.expect(r"\[other\] TGUEST-IDLE", 20)
    need(m.command("list"), r"^\s+other\s+running\b.*starts 3\b", "other running, started 3 times")
    reject_linux_trouble(m)
    poweroff(m)


@test(config=cfg("bad"), smp=4)
def config_errors(m):
    """Each bad partition is named with its property; the good one runs."""
    m.wait_prompt()
    out = m.transcript()
    need(out, r'partition "shares-cpu".*"cpus"', "shared CPU error")
    need(out, r'partition "no-cpu".*"cpus"', "CPU out of range error")
    need(out, r'partition "no-file".*"kernel"', "missing kernel error")
    need(out, r'partition "too-big".*"memory"', "memory error")
    m.expect(r"\[good\] TGUEST-ALIVE", 20)
    out = m.command("start no-file")
    need(out, r"no-file cannot start", "refusal to start an invalid partition")
    poweroff(m)


# ---- assigned PCI devices ----

# edu devices at fixed slots, and a PCIe-to-PCI bridge with two behind it
PCI_BAD_DEVICES = ("-device edu,addr=03.0 -device edu,addr=04.0 "
                   "-device pcie-pci-bridge,id=pbr,addr=05.0 "
                   "-device edu,bus=pbr,addr=01.0 -device edu,bus=pbr,addr=02.0")


@test(config=cfg("pci-bad"), smp=4, qemu_extra=PCI_BAD_DEVICES)
def pci_config_errors(m):
    """Each pci-devices rule: the error names partition, property, device."""
    m.wait_prompt()
    out = m.transcript()
    prop = r'property "pci-devices": '
    need(out, rf'partition "taken": {prop}device 00:03\.0 is already assigned to partition "good"',
         "device assigned twice")
    need(out, rf'partition "absent": {prop}device 00:1f\.0 does not exist', "absent device")
    need(out, rf'partition "hyp-disk": {prop}device 00:02\.0 is tessera\'s own disk',
         "tessera's disk")
    need(out, rf'partition "malformed": {prop}"3\.0" is not a PCI address', "malformed address")
    need(out, rf'partition "bridge": {prop}device 00:05\.0 is a PCI bridge', "a bridge")
    need(out, rf'partition "split-alias": {prop}device 01:01\.0 shares stream ID 0x100 with '
         r'01:02\.0, which must be assigned with it', "functions behind one alias split")
    m.expect(r"good: device 00:03\.0 \(1234:11e8\) is its 00:00\.0, stream 0x18", 20)
    m.expect(r"\[good\] TGUEST-ALIVE", 20)
    out = m.command("start taken")
    need(out, r"taken cannot start", "refusal to start an invalid partition")
    poweroff(m)


@test(config=cfg("pci-bad"), smp=4, qemu_extra=PCI_BAD_DEVICES)
def pci_dev_shell(m):
    """dev list / translate / attach / detach, and list's devices."""
    m.wait_prompt()
    ram = int(m.expect(r"good: started on CPUs 0x1, 1 vCPUs, 32 MiB at (0x[0-9a-f]+), entry", 30).group(1), 16)
    m.expect(r"\[good\] TGUEST-ALIVE", 20)
    out = m.command("dev list")
    need(out, r"^  00:02\.0 +1b36:0010 .* 0x10 +tessera +nvme0 \(hypervisor\)\r?$", "tessera's disk")
    need(out, r"^  00:03\.0 +1234:11e8 .* 0x18 +good +good\r?$", "good's device, attached")
    need(out, r"^  00:04\.0 +1234:11e8 .* 0x20 +- +abort\r?$", "a free device in abort")
    need(out, r"^  01:01\.0 +1234:11e8 .* 0x100 +- +abort\r?$", "a device behind the bridge: its alias")
    need(m.command("list"), r"good .*\r?\n +devices 00:03\.0\r?\n", "list names the devices")
    need(m.command("smmu"), r"smmu: stream 0x0018 -> domain \d+ \(good\), device 00:03\.0",
         "smmu names the partition's device")
    need(m.command("dev translate 00:03.0 40001000"),
         rf"00:03\.0: iova 0x40001000 -> pa 0x{ram + 0x1000:x} \(good's RAM \+ 0x1000\)", "a translation")
    need(m.command("dev translate 00:03.0 42000000"), r"not mapped in good's domain: the SMMU aborts it",
         "beyond the RAM: aborted")
    need(m.command("dev translate 00:04.0 40001000"), r"no domain \(not assigned\)", "unassigned")
    need(m.command("dev attach 00:04.0 good"), r'partition "good" is running: stop it first',
         "attach to a running partition refused")
    need(m.command("snapshot save good s1"),
         r"snapshot: error: save s1: partition good has assigned PCI devices", "no snapshot")
    m.command("stop good")
    m.expect(r"good: device 00:03\.0 quiesced \(bus mastering off\), stream 0x18 detached", 20)
    expect_partition_stopped(m, "good")
    need(m.command("dev translate 00:03.0 40001000"), r"its partition is not running", "no domain")
    need(m.command("dev attach 00:02.0 good"),
         r'dev: partition "good": property "pci-devices": device 00:02\.0 is tessera\'s own disk',
         "tessera's disk refused")
    need(m.command("dev attach 01:01.0 good"), r"shares stream ID 0x100 with 01:02\.0", "alias split refused")
    need(m.command("dev attach 00:04.0 good"), r"dev: 00:04\.0 assigned to good", "attach")
    need(m.command("dev detach 00:03.0"), r"dev: 00:03\.0 taken from good", "detach")
    need(m.command("dev list"), r"^  00:03\.0 +1234:11e8 .* 0x18 +- +abort\r?$", "the detached device free")
    m.command("start good")
    m.expect(r"good: device 00:04\.0 \(1234:11e8\) is its 00:00\.0, stream 0x20", 30)
    m.expect(r"\[good\] TGUEST-ALIVE", 20)
    need(m.command("dev list"), r"^  00:04\.0 +1234:11e8 .* 0x20 +good +good\r?$", "attached at start")
    poweroff(m)


# Linux drives an assigned virtio-blk disk. Debian's kernel has virtio_pci
# and virtio_blk as modules: the test's initramfs is the kit's with a
# second cpio appended (the kernel unpacks both) holding them and an /init
# that reads the disk's first MiB, copies it to 2 MiB and powers off.
PCI_KIT = "build/test-run/pci-kit"  # relative to the repository (QEMU's cwd)
PCI_DISK = f"{PCI_KIT}/vblk.img"
PCI_NVME = f"{PCI_KIT}/pnvme.img"
# the MSI-X variants' own copies: the runner may run them beside the INTx ones
PCI_DISK_MSIX = f"{PCI_KIT}/vblk-msix.img"
PCI_NVME_MSIX = f"{PCI_KIT}/pnvme-msix.img"
PCI_DISK_MSIX_ACPI = f"{PCI_KIT}/vblk-msix-acpi.img"
# per kit: the modules in load order and the disk's device node
PCI_KITS = {
    "vblk": (("virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "virtio_blk"),
             "/dev/vda"),
    "nvme": (("crc64", "crc64_rocksoft_generic", "crc64-rocksoft", "crct10dif_common",
              "crct10dif_generic", "crc-t10dif", "t10-pi", "nvme-core", "nvme"), "/dev/nvme0n1"),
}
PCI_INIT = """#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
/bin/busybox --install -s 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo GUEST-LINUX-UP
for m in %s; do insmod /lib/vpci/$m.ko || echo "VPCI-INSMOD-FAILED $m"; done
i=0
while [ ! -b %s ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
echo "VPCI-READ $(dd if=%s bs=1M count=1 2>/dev/null | sha256sum)"
dd if=%s of=%s bs=1M count=1 seek=2 conv=fsync 2>/dev/null && echo VPCI-WROTE
sync
grep -iE 'virtio|nvme' /proc/interrupts | sed 's/^/VPCI-IRQ /'
echo GUEST-LINUX-POWEROFF
poweroff -f
while :; do sleep 3600; done
"""
VBLK_DEVICE = (f"-drive file={PCI_DISK},format=raw,if=none,id=vblk "
               "-device virtio-blk-pci,disable-legacy=on,iommu_platform=on,drive=vblk,addr=04.0")
# behind a PCIe root port: a PCIe endpoint with function-level reset
NVME_DEVICE = (f"-drive file={PCI_NVME},format=raw,if=none,id=pnvme "
               "-device pcie-root-port,id=rp5,chassis=5,addr=05.0 "
               "-device nvme,serial=part0,drive=pnvme,bus=rp5")


def pci_disk_data():
    return random.Random(20261204).randbytes(1 << 20)


def pci_initrd(name, mods, init):
    """PCI_KIT/initramfs-NAME.gz: the Linux kit's initramfs with a cpio
    appended holding init as /init and the modules (from PCI_KIT/mods, which
    make_pci_kit unpacks) in /lib/vpci. False if a module is missing."""
    kit = TOP / PCI_KIT
    spec = ["dir /lib 0755", "dir /lib/vpci 0755", f"file /init 0755 {kit / name}.init"]
    for mod in mods:
        found = list((kit / "mods").rglob(f"{mod}.ko"))
        if not found:
            return False
        spec.append(f"file /lib/vpci/{mod}.ko 0644 {found[0]}")
    (kit / f"{name}.init").write_text(init)
    (kit / f"{name}.spec").write_text("\n".join(spec) + "\n")
    subprocess.run([sys.executable, str(TOP / "tools/mkcpio.py"), "--gzip",
                    str(kit / f"{name}.cpio.gz"), str(kit / f"{name}.spec")], check=True)
    base = TOP / "build/linux-guest/initramfs.cpio.gz"
    (kit / f"initramfs-{name}.gz").write_bytes(base.read_bytes() +
                                               (kit / f"{name}.cpio.gz").read_bytes())
    return True


def make_pci_kit():
    """The initramfs of each PCI_KITS entry and the disk images of the
    pci_linux_* tests (quietly nothing without the Linux kit: those tests
    then fail saying so)."""
    kit = TOP / PCI_KIT
    debs = [d for d in sorted((TOP / "build/linux-guest/cache").glob("linux-image-*_arm64.deb"))
            if not d.name.startswith("linux-image-arm64")]
    base = TOP / "build/linux-guest/initramfs.cpio.gz"
    if not debs or not base.exists():
        return
    shutil.rmtree(kit, ignore_errors=True)
    (kit / "mods").mkdir(parents=True)
    wanted = " ".join(sorted({f"'*/{mod}.ko'" for mods, _ in PCI_KITS.values() for mod in mods}))
    tar = subprocess.run(f"dpkg-deb --fsys-tarfile {debs[-1]} | tar -x -C {kit / 'mods'} "
                         f"--wildcards {wanted}", shell=True, capture_output=True)
    if tar.returncode:
        return
    for name, (mods, dev) in PCI_KITS.items():
        if not pci_initrd(name, mods, PCI_INIT % (" ".join(mods), dev, dev, dev, dev)):
            return
    for img in (PCI_DISK, PCI_NVME, PCI_DISK_MSIX, PCI_NVME_MSIX, PCI_DISK_MSIX_ACPI):
        with open(TOP / img, "wb") as f:
            f.write(pci_disk_data())
            f.truncate(8 << 20)


def msix_irqs(m, queue):
    """The guest's /proc/interrupts lines (VPCI-IRQ) of its device's queue
    interrupts (queue: their name's regex) on ITS-MSI: each one's total
    count, at least one and all nonzero; no INTx line left."""
    out = m.transcript()
    lines = re.findall(r"\[linux\] VPCI-IRQ +\d+:((?: +\d+)+) +(\S+) .*?(\S+)\r?$", out, re.M)
    queues = [(sum(map(int, c.split())), chip, name) for c, chip, name in lines
              if re.fullmatch(queue, name)]
    check(queues, f"no queue interrupt {queue!r} in the guest's /proc/interrupts: {lines}")
    for total, chip, name in queues:
        check(chip.startswith("ITS-"), f"{name} is on {chip}, not the ITS")
    check(any(total for total, _, _ in queues), f"no queue interrupt was taken: {queues}")
    reject(out, r"VPCI-IRQ .*GICv3 +35 Level", "an INTx line in use")
    return queues


def linux_disk_check(m, bdf, ids, sid, intid, image, msix=None, again=False):
    """The guest read the image's first MiB (sha256) and copied it to 2 MiB
    with INTx (or, msix the regex of its queue interrupts' names, MSI-X
    through its virtual ITS; again: and once more after a start of the
    stopped partition); the device was quiesced; the host checks the
    image."""
    want = hashlib.sha256(pci_disk_data()).hexdigest()
    m.wait_prompt()
    m.expect(rf"linux: device {bdf} \({ids}\) is its 00:00\.0, stream 0x{sid:x}", 60)
    need(m.transcript(), rf"linux: device {bdf}: INTx \(INTID {intid}\) is its INTID 35", "INTx")
    got = m.expect(r"\[linux\] VPCI-READ ([0-9a-f]{64})", 240).group(1)
    check(got == want, f"the guest read sha256 {got}, the disk holds {want}")
    m.expect(r"\[linux\] VPCI-WROTE", 60)
    if msix:
        m.expect(r"\[linux\] GUEST-LINUX-POWEROFF", 20)
        need(m.transcript(), rf"linux: device {bdf}: MSI-X on, \d+ vectors through its ITS",
             "MSI-X turned on")
        msix_irqs(m, msix)
        reject(m.transcript(), r"MSI-X vector or MSI (not aimed|could not)", "a refused vector")
        reject(m.transcript(), r"\[linux\] .*(WARNING|no irq domain)", "a device tree Linux warned of")
    else:
        m.expect(r"\[linux\] VPCI-IRQ .*GICv3 +35 Level", 10)
    quiesced = m.expect(rf"linux: device {bdf} quiesced \(([^)]*)\)", 60).group(1)
    if msix and again:  # its routes were dropped and its doorbell unmapped: all again
        expect_partition_stopped(m, "linux")
        m.command("start linux")
        got = m.expect(r"\[linux\] VPCI-READ ([0-9a-f]{64})", 240).group(1)
        check(got == want, f"the second run read sha256 {got}, the disk holds {want}")
        m.expect(r"\[linux\] GUEST-LINUX-POWEROFF", 60)
        m.expect(rf"linux: device {bdf} quiesced", 60)
        ons = re.findall(r"MSI-X on, \d+ vectors", m.transcript())
        check(len(ons) == 2, f"MSI-X turned on {len(ons)} times in two runs")
        queues = msix_irqs(m, msix)
        check(len(queues) >= 2, f"the second run's queue interrupts missing: {queues}")
    reject(m.transcript(), r"smmu: fault", "a blocked DMA")
    reject(m.transcript(), r"VPCI-INSMOD-FAILED", "a module that did not load")
    poweroff(m)
    data = (TOP / image).read_bytes()
    check(hashlib.sha256(data[2 << 20:3 << 20]).hexdigest() == want,
          "the disk after QEMU exited: the guest's copy at 2 MiB differs")
    return quiesced


@test(config=cfg("linux-vblk"), smp=4, qemu_extra=VBLK_DEVICE, test_timeout=300,
      esp_extra=f"{PCI_KIT}/initramfs-vblk.gz=tessera/linux/initramfs-vblk.gz")
def pci_linux_virtio_blk(m):
    """Linux reads and writes an assigned virtio-blk disk (INTx, SMMU); the host checks it."""
    linux_disk_check(m, "00:04\\.0", "1af4:1042", 0x20, 35, PCI_DISK)


@test(config=cfg("linux-nvme"), smp=4, qemu_extra=NVME_DEVICE, test_timeout=300,
      esp_extra=f"{PCI_KIT}/initramfs-nvme.gz=tessera/linux/initramfs-nvme.gz")
def pci_linux_nvme(m):
    """The same with an NVMe controller behind a root port: reset (FLR) when it stops."""
    how = linux_disk_check(m, "01:00\\.0", "1b36:0010", 0x100, 36, PCI_NVME)
    check("function reset" in how, f"the controller was not reset when its partition stopped ({how})")


@test(config=cfg("linux-vblk-its"), smp=4, test_timeout=300,
      qemu_extra=VBLK_DEVICE.replace(PCI_DISK, PCI_DISK_MSIX),
      esp_extra=f"{PCI_KIT}/initramfs-vblk.gz=tessera/linux/initramfs-vblk.gz")
def pci_linux_virtio_blk_msix(m):
    """pci_linux_virtio_blk with a virtual ITS: the disk's queue interrupts
    are MSI-X through it (the table trapped, routed by tessera), in a
    second run of the partition too."""
    linux_disk_check(m, "00:04\\.0", "1af4:1042", 0x20, 35, PCI_DISK_MSIX,
                     msix=r"virtio\d+-req\.\d+", again=True)


@test(config=cfg("linux-vblk-its"), smp=4, test_timeout=300, acpi=True,
      qemu_extra=VBLK_DEVICE.replace(PCI_DISK, PCI_DISK_MSIX_ACPI),
      esp_extra=f"{PCI_KIT}/initramfs-vblk.gz=tessera/linux/initramfs-vblk.gz")
def pci_linux_virtio_blk_msix_acpi(m):
    """The same with tessera booted from ACPI tables (the physical ITS from
    the MADT, the DeviceID without a host msi-map)."""
    linux_disk_check(m, "00:04\\.0", "1af4:1042", 0x20, 35, PCI_DISK_MSIX_ACPI,
                     msix=r"virtio\d+-req\.\d+")


@test(config=cfg("linux-nvme-its"), smp=4, test_timeout=300,
      qemu_extra=NVME_DEVICE.replace(PCI_NVME, PCI_NVME_MSIX),
      esp_extra=f"{PCI_KIT}/initramfs-nvme.gz=tessera/linux/initramfs-nvme.gz")
def pci_linux_nvme_msix(m):
    """pci_linux_nvme with a virtual ITS: the admin and I/O queues' interrupts
    are MSI-X through it (its table shares BAR0 with the doorbells)."""
    linux_disk_check(m, "01:00\\.0", "1b36:0010", 0x100, 36, PCI_NVME_MSIX, msix=r"nvme0q\d+")



@test(config=cfg("pci-scribble"), smp=4,
      qemu_extra="-device edu,addr=03.0,dma_mask=0xffffffffffffffff")
def pci_ecam_scribble(m):
    """Random writes over a partition's virtual ECAM: contained, the device still works."""
    m.wait_prompt()
    m.expect(r"\[scribbler\] TGUEST-SCRIBBLE 0\b", 30)
    m.expect(r"\[scribbler\] TGUEST-SCRIBBLE done id=0x10000ed", 240)
    m.expect(r"\[scribbler\] TGUEST-EDU own-ram ok", 20)
    m.expect(r"scribbler: device 00:03\.0 quiesced", 20)
    out = m.transcript()
    sum0 = need(out, r"\[victim\] TGUEST-VICTIM 0 sum=(0x[0-9a-f]+)", "victim's checksum").group(1)
    for _ in range(2):
        got = m.expect(r"\[victim\] TGUEST-VICTIM \d+ sum=(0x[0-9a-f]+)\r?\n", 10).group(1)
        check(got == sum0, f"victim's checksum changed: {sum0} -> {got}")
    reject(m.transcript(), r"smmu: fault|cannot map a BAR|CRASH|external abort", "a fault or a crash")
    need(m.command("list"), r"victim +running", "the victim still running")
    poweroff(m)


@test(config=cfg("pci-msix-scribble"), smp=4,
      qemu_extra="-blockdev null-co,node-name=sblk,size=8388608 "
      "-device virtio-blk-pci,disable-legacy=on,iommu_platform=on,drive=sblk,addr=04.0")
def pci_msix_scribble(m):
    """Random writes over an assigned device's MSI-X table and PBA pages
    and its Message Control, many aimed at the vITS doorbell: tessera's
    shadow reads back what the guest wrote, stays up, the device is
    quiesced when the scribbler powers off, and the neighbour (whose vITS
    maps LPIs) takes no interrupt."""
    m.wait_prompt()
    wait_count(m, r"\[neighbour\] TGUEST-ITS-WAIT ready", 1, 60)
    m.expect(r"\[scribbler\] TGUEST-MSIX cap=0x[0-9a-f]+ vectors=\d+", 30)
    m.expect(r"\[scribbler\] TGUEST-MSIX readback ok", 10)
    m.expect(r"\[scribbler\] TGUEST-MSIX-SCRIBBLE done", 240)
    m.expect(r"scribbler: device 00:04\.0 quiesced", 30)
    out = m.transcript()
    need(out, r"^scribbler: device 00:04\.0: MSI-X on, \d+ vectors through its ITS",
         "MSI-X turned on")
    need(out, r"^scribbler: device 00:04\.0: an MSI-X vector or MSI not aimed at its ITS "
         r"stays masked",
         "a vector aimed elsewhere refused")
    reject(out, r"\[neighbour\] TGUEST-ITS-WAIT lpi=", "an interrupt in the neighbour")
    reject(out, r"smmu: fault|CRASH|panic|external abort", "a fault or a crash")
    need(m.command("list"), r"^\s+neighbour\s+running\b", "the neighbour still running")
    poweroff(m)


@test(config=cfg("pci-edu-msi"), smp=4,
      qemu_extra="-device edu,addr=03.0,dma_mask=0xffffffffffffffff")
def pci_edu_msi(m):
    """An assigned edu device's MSIs (the plain capability) reach its
    partition through the virtual ITS, each one it raises; the neighbour
    takes none."""
    m.wait_prompt()
    wait_count(m, r"\[neighbour\] TGUEST-ITS-WAIT ready", 1, 60)
    m.expect(r"\[msi\] TGUEST-EDU-MSI cap=0x[0-9a-f]+ ctrl=0x[0-9a-f]*[13579bdf]\b", 30)
    got = m.expect(r"\[msi\] TGUEST-EDU-MSI delivered=(\d+)/(\d+) msi_ps=", 60)
    check(got.group(1) == got.group(2), f"{got.group(1)} of {got.group(2)} MSIs delivered")
    m.expect(r"msi: device 00:03\.0 quiesced", 30)
    out = m.transcript()
    need(out, r"^msi: device 00:03\.0: MSI on, 1 vectors through its ITS \(DeviceID 0x18\)",
         "MSI turned on")
    reject(out, r"\[neighbour\] TGUEST-ITS-WAIT lpi=", "an interrupt in the neighbour")
    reject(out, r"smmu: fault|CRASH|panic|external abort|not aimed|could not be routed",
           "a fault, a crash or a refused MSI")
    poweroff(m)


@test(config=cfg("pci-no-smmu"), smp=4, qemu_extra="-machine iommu=none -device edu,addr=03.0")
def pci_config_no_smmu(m):
    """Without an SMMU no device can be assigned: the error names it."""
    m.wait_prompt()
    need(m.transcript(), r'partition "unconfined": property "pci-devices": device 00:03\.0 is not '
         r'behind an SMMU \(its DMA could not be confined\)', "the unconfined device refused")
    m.expect(r"\[good\] TGUEST-ALIVE", 20)
    need(m.command("dev list"), r"^  00:03\.0 +1234:11e8 .* none +- +-\r?$", "no stream")
    poweroff(m)


VICTIM_TARGET = 0x80801000  # victim's memory-base 0x80000000 + its checksummed 8 MiB
ITS_DOORBELL = 0x8090040  # GITS_TRANSLATER of QEMU virt's ITS


@test(config=cfg("pci-edu"), smp=4,
      qemu_extra="-device edu,addr=03.0,dma_mask=0xffffffffffffffff")
@test("pci_dma_attack_acpi", config=cfg("pci-edu"), smp=4, acpi=True,
      qemu_extra="-device edu,addr=03.0,dma_mask=0xffffffffffffffff")
def pci_dma_attack(m):
    """An assigned edu device's DMA reaches its partition's RAM and nothing else."""
    m.wait_prompt()
    image = int(need(m.transcript(), r"^image: (0x[0-9a-f]+)", "tessera's image base").group(1), 16)
    targets = [VICTIM_TARGET, image + 0x1000, 0x40000000 + 0x2000000, ITS_DOORBELL]
    m.expect(r"\[attacker\] TGUEST-EDU-READY", 30)
    m.expect(r"\[victim\] TGUEST-VICTIM \d+ sum=", 10)
    out = m.transcript()
    sum0 = need(out, r"\[victim\] TGUEST-VICTIM 0 sum=(0x[0-9a-f]+)", "victim's checksum").group(1)
    need(out, r"attacker: device 00:03\.0 \(1234:11e8\) is its 00:00\.0, stream 0x18",
         "the device attached")
    need(out, r"\[attacker\] TGUEST-EDU BAR0 size mask 0xfff00000", "BAR sizing")
    need(out, r"\[attacker\] TGUEST-EDU device id 0x10000ed", "the BAR mapped")
    need(out, r"\[attacker\] TGUEST-EDU own-ram ok", "DMA inside its RAM")
    m.send("\x1d")  # console focus: attacker (its output is unprefixed then)
    m.expect(r"console: partition attacker", 10)
    m.send(" ".join(f"{t:x}" for t in targets))
    # focus back to the shell (through victim) before the device runs, so
    # the attacker's lines come whole, prefixed, not mixed with the log
    m.send("\x1d")
    m.send("\x1d")
    m.expect(r"console: tessera shell", 10)
    for t in targets:
        m.expect(rf"TGUEST-EDU attack 0x{t:x} done", 20)
    m.expect(r"TGUEST-EDU own-ram ok", 20)
    m.expect(r"TGUEST-EDU-DONE", 10)
    m.expect(r"attacker: device 00:03\.0 quiesced \(bus mastering off\), stream 0x18 detached", 20)
    out = m.transcript()
    for t in targets:
        need(out, rf"smmu: fault: stream 0x0018 \(owner: attacker, device 00:03\.0\) \S+ "
             rf"write iova 0x{t:x}\b", f"the blocked DMA to 0x{t:x} logged")
    # the victim's next checksums, after every attack
    for _ in range(2):
        got = m.expect(r"\[victim\] TGUEST-VICTIM \d+ sum=(0x[0-9a-f]+)\r?\n", 10).group(1)
        check(got == sum0, f"victim's checksum changed: {sum0} -> {got}")
    poweroff(m)


# ---- SMMU and NVMe ----

ROGUE_IMG = "build/test-run/rogue-nvme.img"  # relative to the repository (QEMU's cwd)
ROGUE_DISK = f"-drive file={ROGUE_IMG},format=raw,if=none,id=rogue -device nvme,serial=rogue0,drive=rogue"


def make_rogue_img():
    from harness import TOP
    path = TOP / ROGUE_IMG
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(16 << 20)


# What tessera says it did is checked from outside: the NVMe image file
# after QEMU exits, guest-physical memory and device registers through
# QEMU's monitor (HMP on a unix socket), DMA aborts through QEMU's SMMUv3
# trace events.

def hmp_opts(name):
    """QEMU options for a monitor socket in the test's run directory."""
    return f"-monitor unix:build/test-run/{name}/hmp.sock,server=on,wait=off"


def hmp(m, cmd, timeout=20):
    """Runs one HMP command; returns its output (without echo and prompt)."""
    import socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(str(m.dir / "hmp.sock"))
    buf = b""

    def until_prompt():
        nonlocal buf
        while b"(qemu) " not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise TestFailure(f"monitor closed during {cmd!r}")
            buf += chunk
        out, buf = buf.split(b"(qemu) ", 1)
        return out
    try:
        until_prompt()
        sock.sendall(cmd.encode() + b"\n")
        out = until_prompt().decode("latin-1")
    finally:
        sock.close()
    out = re.sub(r"\x1b\[[0-9;]*[A-Za-z]|\r", "", out)
    return out.split("\n", 1)[1] if "\n" in out else ""


def pmem(m, addr, size):
    """size bytes of guest-physical memory at addr, read by QEMU itself."""
    from harness import TOP
    path = m.dir / f"pmem-{addr:x}.bin"
    # relative to QEMU's cwd: HMP would read a leading '/' as a division
    out = hmp(m, f"pmemsave 0x{addr:x} {size} {path.relative_to(TOP)}")
    check(path.exists(), f"pmemsave 0x{addr:x} {size}: no file ({out.strip()!r})")
    data = path.read_bytes()
    check(len(data) == size, f"pmemsave 0x{addr:x}: {len(data)} bytes, expected {size}")
    return data


def xp32(m, addr):
    """One 32-bit word of physical address space (MMIO too), via HMP xp."""
    out = hmp(m, f"xp /1wx 0x{addr:x}")
    return int(need(out, r":\s*0x([0-9a-f]+)", f"xp output for 0x{addr:x}").group(1), 16)


MASK64 = (1 << 64) - 1


def pattern_words(seed, lba, per):
    """kernel/io/disk_test.c pattern_word(seed, lba, 0..per-1), independently."""
    base = (seed + lba * 0x9e3779b97f4a7c15) & MASK64
    for i in range(per):
        z = (base + (i + 1) * 0xbf58476d1ce4e5b9) & MASK64
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK64
        yield z ^ (z >> 31)


def check_image(path, first, last, seed, bs=512):
    """Blocks first..last of the image file hold the pattern of seed."""
    import array
    per = bs // 8
    with open(path, "rb") as f:
        f.seek(first * bs)
        data = f.read((last - first + 1) * bs)
    check(len(data) == (last - first + 1) * bs, f"image {path} too short for lba {last}")
    words = array.array("Q")
    words.frombytes(data)
    if sys.byteorder != "little":
        words.byteswap()
    for lba in range(first, last + 1):
        want = list(pattern_words(seed, lba, per))
        got = words[(lba - first) * per:(lba - first + 1) * per].tolist()
        if got != want:
            i = next(k for k in range(per) if got[k] != want[k])
            raise TestFailure(f"image lba {lba} word {i}: 0x{got[i]:016x}, pattern says "
                              f"0x{want[i]:016x} (seed 0x{seed:016x})")


def disk_test_verdict(m, mib, timeout=120, since=None):
    """Waits for `disk test`'s verdict; returns (first lba, last lba, seed) of its last pass.
    since: where in the transcript the test was started, when commands sent while it ran
    may have carried the verdict past the cursor already."""
    verdict = rf"disk test: wrote {mib} MiB, read back, verified OK"
    last = r"last pass lba (\d+)-(\d+), seed 0x([0-9a-f]{16})"
    if since is None or not re.search(verdict + r"[^\n]*\n[^\n]*" + last,
                                      m.transcript()[since:]):
        m.expect(verdict, timeout)
        m.expect(last, 10)
    r = list(re.finditer(last, m.transcript()[since or 0:]))[-1]
    return int(r.group(1)), int(r.group(2)), int(r.group(3), 16)


@test(config=TEST_CONFIG, smp=4)
def disk_io(m):
    """NVMe identify and a multi-megabyte write/read/verify through the SMMU, checked in the image."""
    m.wait_prompt()
    out = m.transcript()
    need(out, r"smmu: enabled, .*all streams abort by default", "SMMU takeover line")
    need(out, r"disk: nvme0 .*serial tessera0, 256 MiB, 512 B blocks, behind SMMU stream",
         "disk identify line")
    out = m.command("disk")
    need(out, r"tessera0", "serial in 'disk'")
    out = m.command("disk test 16")
    need(out, r"disk test: started: 16 MiB over lba 393216-425983 in 1 pass", "test start line")
    first, last, seed = disk_test_verdict(m, 16)
    check((first, last) == (393216, 425983), f"last pass lba {first}-{last}, expected the "
          "scratch area's first 16 MiB (393216-425983)")
    out = m.command("smmu")
    need(out, r"0x0*10\b.*nvme0", "nvme0's stream in 'smmu'")
    reject(m.transcript(), r"CRASH|smmu: global error|smmu: fault:", "SMMU error or crash")
    poweroff(m)
    check_image(m.dir / "nvme.img", first, last, seed)


def dma_trace(name):
    """QEMU options tracing SMMU translations and aborts into qemu.log (not the console)."""
    return (f"-D build/test-run/{name}/qemu.log -trace smmuv3_record_event "
            "-trace smmuv3_translate_abort -trace smmu_iotlb_lookup_miss")


def qemu_log(m):
    path = m.dir / "qemu.log"
    return path.read_text("latin-1") if path.exists() else ""



@test(config=TEST_CONFIG, smp=4, qemu_extra=f"{hmp_opts('dma_fault')} {dma_trace('dma_fault')}")
def dma_fault(m):
    """DMA to an address outside the NVMe's domain: translation fault, failed I/O, memory untouched."""
    m.wait_prompt()
    out = m.command("disk dmafault")
    r = need(out, r"disk dmafault: reading lba (\d+) into unmapped 0x([0-9a-f]+)-0x([0-9a-f]+)",
             "dmafault start line")
    lba, lo, hi = int(r.group(1)), int(r.group(2), 16), int(r.group(3), 16)
    m.expect(r"disk dmafault: command failed with .*SMMU recorded F_TRANSLATION at 0x[0-9a-f]+"
             r".*memory untouched: PASS", 30)
    need(m.transcript(), r"smmu: fault: stream 0x0*10\b.*nvme0.*F_TRANSLATION",
         "the SMMU's fault log line naming stream and owner")
    # from outside: QEMU's SMMU model logged the event at that page, and the page
    # still holds the 0xa5 fill while the block read from disk does not
    text = qemu_log(m)
    looked = [int(a, 16) for a in re.findall(r"smmu_iotlb_lookup_miss.*?addr=0x([0-9a-f]+)", text)]
    check(any(lo <= a <= hi for a in looked), f"QEMU's SMMU never translated an address in "
          f"0x{lo:x}-0x{hi:x}: the device was not aimed there")
    need(text, r"smmuv3_record_event SMMU_EVT_F_TRANSLATION sid=0x10\b",
         "QEMU's SMMU recording F_TRANSLATION for nvme0's stream")
    page = pmem(m, lo, hi - lo + 1)
    check(page == b"\xa5" * len(page), "the page the device was aimed at changed (seen by QEMU)")
    with open(m.dir / "nvme.img", "rb") as f:
        f.seek(lba * 512)
        block = f.read(512)
    check(block != b"\xa5" * 512, "the block read holds 0xa5 itself: the check above proves nothing")
    out = m.command("disk test 2")
    disk_test_verdict(m, 2, 60)  # the disk still works afterwards
    poweroff(m)


@test(config=TEST_CONFIG, smp=4, qemu_extra=f"{ROGUE_DISK} {hmp_opts('rogue_dma')} {dma_trace('rogue_dma')}")
def rogue_dma(m):
    """A second NVMe that nobody owns cannot write memory: its stream stays in abort."""
    m.wait_prompt()
    need(m.transcript(), r"disk: NVMe .* left unowned", "the second NVMe left unowned")
    out = m.command("disk rogue", timeout=90)
    r = need(out, r"disk rogue: (\w\w):(\w\w)\.(\w) \(stream 0x([0-9a-f]+)", "rogue start line")
    bus, dev, fn, sid = (int(r.group(i), 16) for i in range(1, 5))
    need(out, r"disk rogue: unowned controller's DMA was blocked .*memory untouched: PASS",
         "rogue PASS line")
    # from outside: QEMU's SMMU aborted the rogue's stream ...
    aborts = [int(a, 16) for a in re.findall(
        rf"smmuv3_translate_abort.*sid=0x0*{sid:x}\b.*?iova[:=]0x([0-9a-f]+)", qemu_log(m))]
    check(aborts, f"no QEMU smmuv3_translate_abort for stream 0x{sid:x}")
    # ... and where its registers point, memory is as tessera filled it: the
    # admin CQ never got an entry, the Identify buffer its first SQE names never data
    info = hmp(m, "info pci")
    dm = need(info, rf"Bus\s+{bus}, device\s+{dev}, function {fn}:.*?BAR0: 64 bit memory at "
                    r"0x([0-9a-f]+)", "the rogue's BAR0 in 'info pci'", flags=re.S)
    bar = int(dm.group(1), 16)
    asq = xp32(m, bar + 0x28) | xp32(m, bar + 0x2c) << 32
    acq = xp32(m, bar + 0x30) | xp32(m, bar + 0x34) << 32
    aqa = xp32(m, bar + 0x24)
    check(asq and acq, f"rogue ASQ 0x{asq:x} ACQ 0x{acq:x}: tessera never programmed it")
    check(asq in aborts, f"QEMU never aborted the rogue's fetch from its admin SQ 0x{asq:x}")
    sqe = pmem(m, asq, 64)
    check(sqe[0] == 0x06, f"the rogue's first admin command has opcode 0x{sqe[0]:02x}, not "
          "Identify (0x06)")
    prp1 = int.from_bytes(sqe[24:32], "little")
    ident = pmem(m, prp1, 4096)
    check(ident == b"\xa5" * 4096, f"the rogue's Identify buffer at 0x{prp1:x} changed")
    cq = pmem(m, acq, (((aqa >> 16) & 0xfff) + 1) * 16)
    check(cq == bytes(len(cq)), f"the rogue's admin CQ at 0x{acq:x} holds data: DMA reached it")
    poweroff(m)


# ---- what guests see: checks a QEMU may skip; debug state across a reset ----

def qemu_version():
    """(major, minor) of the QEMU the tests run: $QEMU (relative to the top, as
    tools/qemu.sh takes it) or Debian's qemu-system-aarch64; (0, 0) if unknown."""
    exe = os.environ.get("QEMU") or "qemu-system-aarch64"
    try:
        out = subprocess.run([exe, "--version"], cwd=TOP, capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return (0, 0)
    m = re.search(r"version (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def qemu_lacks():
    """Guest checks that may SKIP on this QEMU (besides TGUEST_OPTIONAL): wfit
    where -cpu max lacks FEAT_WFxT (Debian's 7.2; 10.0 has it, so there it
    must run)."""
    return {"wfit"} if qemu_version() < (10, 0) else set()


@test(config=cfg("tguest-reset"), smp=4)
def debug_reset(m):
    """Each boot of a self-resetting partition finds its debug registers at their
    reset values although the boot before filled them (tguest mode=reset)."""
    m.wait_prompt()
    for _ in range(3):
        m.expect(r"\[resetter\] TGUEST-DBG (clean|dirty.*)", 30)
        m.expect(r"\[resetter\] TGUEST-SVE (clean|dirty)[^\r\n]*[\r\n]", 30)  # whole line
    out = m.transcript()
    reject(out, r"\[resetter\] TGUEST-DBG dirty.*", "debug state left by the boot before")
    clean = len(re.findall(r"\[resetter\] TGUEST-DBG clean", out))
    check(clean >= 3, f"only {clean} boots reported clean debug registers")
    # the same for its SVE state (Z, P, FFR at 32-byte vectors), also filled each boot
    reject(out, r"\[resetter\] TGUEST-SVE dirty.*", "SVE state left by the boot before")
    clean = len(re.findall(r"\[resetter\] TGUEST-SVE clean vl=32\b", out))
    check(clean >= 3, f"only {clean} boots reported a fresh SVE state at 32 bytes")
    poweroff(m)


def heartbeats(m):
    """The last TGUEST-ALIVE count of the CPU 0 guest so far (0 if none)."""
    beats = re.findall(r"\[beat\] TGUEST-ALIVE (\d+)", m.transcript())
    return int(beats[-1]) if beats else 0


def answers_quickly(m, line, answer, secs=5):
    """line gets its answer at a prompt within secs (host time, not scaled)."""
    t0 = time.monotonic()
    out = m.command(line, timeout=secs)
    took = time.monotonic() - t0
    need(out, answer, f"answer to {line!r}")
    check(took < secs, f"{line!r} took {took:.1f} s")
    return took


@test(config=cfg("disk-cpu0"), smp=4)
def disk_responsive(m):
    """A 1 GiB disk test runs from interrupts: the shell answers and CPU 0's guest keeps beating."""
    m.wait_prompt()
    m.expect(r"\[beat\] TGUEST-ALIVE 3\b", 60)
    since = len(m.transcript())
    out = m.command("disk test 1024")
    need(out, r"disk test: started: 1024 MiB over lba 393216-524287 in 16 pass", "start line")
    beats0, slowest, answered = heartbeats(m), 0.0, 0
    while "verified OK" not in m.transcript() and "disk test: FAIL" not in m.transcript():
        slowest = max(slowest, answers_quickly(m, "list", r"beat\s+running"))
        slowest = max(slowest, answers_quickly(m, "disk", r"test      (running|not running)"))
        answered += 2
        time.sleep(0.5)
    first, last, seed = disk_test_verdict(m, 1024, 10, since)
    need(m.transcript(), r"disk test: pass 15 of 16 verified \(960 MiB so far\)", "pass lines")
    beats = heartbeats(m) - beats0
    polls = need(m.command("disk"), r"polls     (\d+), the longest (\d+) us", "poll counters")
    check(answered >= 4, f"only {answered} commands answered during the test: it ended too "
          "soon to show anything")
    check(beats >= 5, f"CPU 0's guest beat {beats} times during the disk test")
    print(f"  disk_responsive: {answered} commands answered during 1 GiB, slowest "
          f"{slowest:.2f} s; {beats} heartbeats of the CPU 0 guest; {polls.group(1)} polls, "
          f"longest {polls.group(2)} us", flush=True)
    poweroff(m)
    check_image(m.dir / "nvme.img", first, last, seed)


@test(config=cfg("disk-cpu0"), smp=4, qemu_extra=hmp_opts("disk_hang"))
def disk_hang(m):
    """A controller that stops completing: timeout, reset, re-initialisation, the request sent
    again and verified; one that stays hung fails the request with a reason; the shell and
    CPU 0's guest carry on throughout, and the disk works afterwards."""
    m.wait_prompt()
    m.expect(r"\[beat\] TGUEST-ALIVE 3\b", 60)
    # 4 KiB/s: after the first request (the bucket starts empty) nothing completes
    hmp(m, "block_set_io_throttle nvme0 4096 0 0 0 0 0")
    out = m.command("disk test 16")
    need(out, r"disk test: started: 16 MiB", "start line")
    beats0, t0 = heartbeats(m), time.monotonic()
    answers_quickly(m, "list", r"beat\s+running")
    answers_quickly(m, "disk", r"test      running")
    to = m.expect(r"nvme: 00:02\.0: (write|read|flush) lba \d+: timed out: no completion "
                  r"within 5000 ms", 30)
    hung = time.monotonic() - t0
    m.expect(r"nvme: 00:02\.0: command timed out; resetting the controller \(attempt 1 of 3\)",
             5)
    m.expect(r"nvme: 00:02\.0: controller reset and re-initialised; [1-9]\d* request\(s\) sent "
             r"again", 30)
    check(heartbeats(m) - beats0 >= 10, f"CPU 0's guest beat {heartbeats(m) - beats0} times "
          f"in the {hung:.0f} s the controller hung")
    answers_quickly(m, "list", r"beat\s+running")
    hmp(m, "block_set_io_throttle nvme0 0 0 0 0 0 0")  # the resent requests may now complete
    first, last, seed = disk_test_verdict(m, 16, 60)
    out = m.command("disk")
    need(out, r"state     live; controller resets 1, recoveries 1", "reset counters in 'disk'")
    need(out, r"timeouts 1\b", "the timeout counted")
    out = m.command("disk test 4")  # and the disk keeps working
    disk_test_verdict(m, 4, 60)
    # a controller that stays hung: the request fails after its one resend, saying why
    hmp(m, "block_set_io_throttle nvme0 4096 0 0 0 0 0")
    m.command("disk test 2")
    m.expect(r"command timed out; resetting the controller \(attempt 1 of 3\)", 30)
    m.expect(r"controller reset and re-initialised", 30)
    m.expect(r"(write|read|flush) lba \d+ \(\d+ blocks\) failed: still no completion after a "
             r"controller reset", 30)
    m.expect(r"disk test: FAIL: I/O error -\d+ \(no completion, even after a controller "
             r"reset\) in pass 1", 60)
    answers_quickly(m, "list", r"beat\s+running")
    hmp(m, "block_set_io_throttle nvme0 0 0 0 0 0 0")
    m.command("disk test 4")
    first, last, seed = disk_test_verdict(m, 4, 60)
    poweroff(m)
    check_image(m.dir / "nvme.img", first, last, seed)


# ---- console input (pastes) ----

PASTE_SEED = 20261203
PASTE_NOTE = r"\[console: {name}'s input buffer \(\d+ bytes\) is full"


def paste_bytes(rng, count, alphabet=bytes(range(0x20, 0x7f))):
    """count random bytes from alphabet (printable: no Ctrl-], no CR)."""
    return bytes(rng.choice(alphabet) for _ in range(count))


def paste_round(m, name, rng, count, delay_ms):
    """Pastes count random bytes into the focused tguest (mode=rx, waiting
    at TGUEST-RX-READY) in one write; it sleeps delay_ms first, then reads
    them, and is ready again. Checks count and CRC-32
    computed here (a missing RX interrupt leaves the guest asleep until its
    5 s idle timeout: a short count); returns the round's transcript and the
    UART interrupts the guest took."""
    start = m._cursor
    data = paste_bytes(rng, count)
    m.send_bytes(f"{count} {delay_ms}\r".encode() + data)
    got = m.expect(r"TGUEST-RX n=(\d+) crc=([0-9a-f]{8}) irqs=(\d+)", 90)
    n, crc, irqs = int(got.group(1)), int(got.group(2), 16), int(got.group(3))
    check(n == count, f"{name}: the guest read {n} of {count} pasted bytes")
    check(crc == zlib.crc32(data),
          f"{name}: CRC-32 of the {count} bytes read is {crc:08x}, sent {zlib.crc32(data):08x}")
    m.expect(r"TGUEST-RX-READY", 10)
    return m.transcript()[start:got.start()], irqs


def paste_into(m, name):
    m.send_bytes(b"\x1d")
    m.expect(rf"console: partition {name}\b")
    rng = random.Random(f"{PASTE_SEED}-{name}")
    round1, irqs1 = paste_round(m, name, rng, 4096, 0)  # read as it arrives
    # asleep for 2 s: the input backs up, the console holds the rest in
    # the UART (flow control) and says so once
    round2, irqs2 = paste_round(m, name, rng, 16384, 2000)
    notes = len(re.findall(PASTE_NOTE.format(name=name), round1 + round2))
    check(notes == 1, f"{name}: the 'input buffer is full' note shown {notes} times, expected 1")
    check(irqs1 + irqs2 > 0, f"{name}: the guest read 20 KiB without a UART interrupt")


@test(config=cfg("console-paste"), smp=4)
def console_paste(m):
    """4 KiB and 16 KiB pastes reach a test guest byte for byte, on the console's CPU and another."""
    m.wait_prompt()
    for _ in range(2):  # both waiting for a header, in either order
        m.expect(r"\[(near|far)\] TGUEST-RX-READY", 30)
    paste_into(m, "near")
    paste_into(m, "far")
    m.send_bytes(b"0 0\r")  # far ends; input goes back to the shell
    expect_partition_stopped(m, "far")
    reject(m.transcript(), r"CRASH", "crash")
    poweroff(m)


@test(config=cfg("linux-paste"), smp=4)
def linux_paste(m):
    """Command lines pasted into Linux's shell (200 and 3 x 300 characters in one write) arrive whole."""
    m.wait_prompt()
    m.expect(r"\[linux\] GUEST-LINUX-SHELL", 120)
    m.send_bytes(b"\x1d")
    m.expect(r"console: partition linux")
    shell_answers(m, "echo ready-$((6*7))", r"\nready-42")
    rng = random.Random(PASTE_SEED)
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:=+/"
    args = [paste_bytes(rng, 200, safe)] + [paste_bytes(rng, 300, safe) for _ in range(3)]
    lines = [b"printf %s '" + a + b"' | md5sum\r" for a in args]
    start = m._cursor
    m.send_bytes(lines[0])
    m.expect(rf"\n{hashlib.md5(args[0]).hexdigest()}\s+-", 30)
    m.send_bytes(b"".join(lines[1:]))
    for a in args[1:]:
        m.expect(rf"\n{hashlib.md5(a).hexdigest()}\s+-", 30)
    reject(m.transcript()[start:], r"not found|missing|syntax error|CRASH|Oops|BUG:",
           "a broken line")
    m.send_bytes(b"\x1d")  # back to the shell
    m.expect(r"console: tessera shell")
    poweroff(m)


# ---- other firmware: U-Boot's EFI, AAVMF describing the machine with ACPI ----
# The tests above run under AAVMF with a device tree. These boot the same
# tessera.efi through U-Boot (its DT) and through AAVMF with acpi=on (no DT:
# MADT, GTDT, SPCR, MCFG, IORT, FADT) and check that tessera finds the same
# machine and that a Linux partition and the disk behind the SMMU work.

FIRMWARES = {  # name -> (Machine arguments, the stub's line naming the source, firmware line)
    "aavmf-dt": (dict(firmware="aavmf", acpi=False), "device tree", r"EDK II"),
    "aavmf-acpi": (dict(firmware="aavmf", acpi=True), "ACPI", r"EDK II"),
    "u-boot": (dict(firmware="u-boot", acpi=False), "device tree", r"Das U-Boot"),
}


def check_source(m, kind):
    """The stub read the machine from the description this firmware gives."""
    _, source, vendor = FIRMWARES[kind]
    out = m.transcript()
    need(out, rf"tessera: machine from {source}: \d+ CPUs", f"'machine from {source}' line")
    need(out, rf"^firmware: {vendor} rev", f"firmware: {vendor} line")


def report_facts(m):
    """What the boot report and `cpus` say about the hardware, firmware aside."""
    m.wait_prompt()
    out = m.transcript()
    facts = [need(out, r"^cpus: \d+ online of \d+ .*$", "cpus line").group(0).strip(),
             need(out, r"^ram: \d+ MiB seen", "ram line").group(0),
             need(out, r"^gic: .*$", "gic line").group(0).strip(),
             need(out, r"^smmu: SMMUv3 at .*$", "SMMUv3 line").group(0).strip(),
             need(out, r"^disk: nvme0 .*$", "disk line").group(0).strip()]
    facts += [line.strip() for line in re.findall(r"^pci: .*$", out, re.M)]
    cpus = m.command("cpus")
    facts += re.findall(r"^\s*cpu\d+\s+(?:MPIDR\s+)?0x[0-9a-f]+", cpus, re.M)
    check(len(facts) > 8, f"only {len(facts)} facts in the report")
    return facts


def qemu_pci(m):
    """The PCI functions QEMU itself has, as 'bb:dd.f vvvv:dddd', from HMP info pci."""
    out = hmp(m, "info pci")
    return sorted(f"{int(b):02x}:{int(d):02x}.{int(f)} {v}:{i}" for b, d, f, v, i in re.findall(
        r"Bus\s+(\d+), device\s+(\d+), function (\d+):\s*\n\s*.*?PCI device ([0-9a-f]{4}):([0-9a-f]{4})",
        out))


@test(config=TEST_CONFIG, smp=4, qemu_extra=hmp_opts("firmware_reports"), test_timeout=240,
      **FIRMWARES["aavmf-dt"][0])
def firmware_reports(m):
    """AAVMF with a DT, AAVMF with ACPI and U-Boot: the same CPUs, GIC, SMMU, PCIe devices and disk."""
    reports = {}
    for kind, (args, _, _) in FIRMWARES.items():
        name = f"firmware_reports-{kind}"
        other = m if kind == "aavmf-dt" else Machine(
            name, deadline=m.deadline, efi=m.env.get("EFI_IMAGE"), config=TEST_CONFIG,
            qemu_extra=hmp_opts(name), **args)
        try:
            if other is not m:
                other.start()
            reports[kind] = report_facts(other)
            check_source(other, kind)
            # from outside: the functions tessera lists are the ones QEMU has
            listed = sorted(re.sub(r"^pci: (\S+) (\S+) .*", r"\1 \2", f)
                            for f in reports[kind] if re.match(r"pci: \w\w:", f))
            check(listed == qemu_pci(other), f"{kind}: tessera lists {listed}, "
                  f"QEMU has {qemu_pci(other)}")
            reject(other.transcript(), r"CRASH", "crash")
            poweroff(other)
        finally:
            if other is not m:
                other.kill()
    base = reports["aavmf-dt"]
    for kind, facts in reports.items():
        for a, b in zip(base, facts):
            check(a == b, f"{kind} says {b!r} where AAVMF with a DT says {a!r}")
        check(len(base) == len(facts), f"{kind}: {len(facts)} facts, AAVMF with a DT {len(base)}")


for _kind in ("aavmf-acpi", "u-boot"):
    _args, _suffix = FIRMWARES[_kind][0], {"aavmf-acpi": "acpi", "u-boot": "uboot"}[_kind]
    test(f"linux_boot_{_suffix}", config=cfg("linux"), smp=4, **_args)(linux_boot)
    test(f"disk_io_{_suffix}", config=TEST_CONFIG, smp=4, **_args)(disk_io)
    test(f"dma_fault_{_suffix}", config=TEST_CONFIG, smp=4, **_args,
         qemu_extra=f"{hmp_opts('dma_fault_' + _suffix)} {dma_trace('dma_fault_' + _suffix)}")(dma_fault)
test("tguest_checks_acpi", config=cfg("tguest-all"), smp=4, **FIRMWARES["aavmf-acpi"][0])(tguest_checks)


# ---- snapshots (issue 9, /work/snap-contract.md) ----

SNAPTOOL = TOP / "build" / "snaptool"
SAVED = r"snapshot: saved {name} from {part}: ram=(\d+) disk=(\d+) written=(\d+) zero_pages=(\d+) pause_us=(\d+) time_us=(\d+)"


def snaptool(*args):
    """build/snaptool's exit status and output."""
    r = subprocess.run([str(SNAPTOOL), *map(str, args)], capture_output=True, text=True,
                       timeout=120)
    return r.returncode, r.stdout + r.stderr


def snap_save(m, part, name, timeout=120):
    """`snapshot save`; returns the saved line's numbers (ram, disk, written, ...)."""
    m.send(f"snapshot save {part} {name}")
    m.expect(rf"{part}: paused", 30)
    saved = m.expect(SAVED.format(name=re.escape(name), part=part) + r"|snapshot: error: .*",
                     timeout)
    check(saved.group(0).startswith("snapshot: saved"),
          f"`snapshot save {part} {name}` answered {saved.group(0)!r}, expected 'saved'")
    m.expect(rf"{part}: resumed", 30)
    return [int(x) for x in saved.groups()]


def snap_restore(m, name, part, timeout=120):
    m.send(f"snapshot restore {name}")
    r = m.expect(rf"snapshot: restored {re.escape(name)} into {part}: ram=(\d+) read=(\d+) "
                 rf"time_us=(\d+)|snapshot: error: .*", timeout)
    check(r.group(0).startswith("snapshot: restored"),
          f"`snapshot restore {name}` answered {r.group(0)!r}, expected 'restored'")
    m.expect(rf"{part}: started", 30)
    return r


def ticks_of(text, part):
    return [(int(k), int(c)) for k, c in
            re.findall(rf"\[{part}\] TGUEST-SNAP tick (\d+) cntvct=(\d+)", text)]


@test(config=cfg("snap-tguest"), smp=4)
def snap_tguest(m):
    """tguest mode=snap saved mid-window, stopped, restored: its registers, FP/SIMD,
    sysregs, timer and pending SGIs come back; virtual time carries on from the save."""
    m.wait_prompt()
    m.expect(r"\[snap\] TGUEST-SNAP ready cntvct=\d+", 30)
    cut = len(m.transcript())
    snap_save(m, "snap", "s1")
    text = m.transcript()
    before = ticks_of(text[:text.index("snap: paused", cut)], "snap")
    last = before[-1] if before else (0, 0)
    m.expect(r"\[snap\] TGUEST-SNAP (PASS|FAIL.*)", 30)  # the original carries on
    m.send("stop snap")
    m.expect(r"snap: stopped", 30)
    time.sleep(3)  # a clock that is not frozen jumps by this much
    cut = len(m.transcript())
    snap_restore(m, "s1", "snap")
    res = m.expect(r"\[snap\] TGUEST-SNAP (PASS|FAIL.*)", 30)
    after = ticks_of(m.transcript()[cut:], "snap")
    reject(m.transcript()[cut:], r"TGUEST-SNAP ready|TGUEST: start", "a reboot of the guest")
    check(res.group(1) == "PASS", f"restored guest: {res.group(0)!r}")
    check(after and after[0][0] == last[0] + 1,
          f"restored ticks {after[:3]}, the last before the save {last}: want tick {last[0] + 1}")
    freq_gap = after[0][1] - last[1]
    print(f"  snap_tguest: saved after tick {last[0]}, restored tick {after[0][0]} "
          f"{freq_gap} counter ticks later", flush=True)
    out = m.command("snapshot list")
    m.expect(r"snapshot:\s+s1 part=snap vcpus=1 ram=\d+", 10)
    reject(m.transcript(), r"CRASH", "crash")
    poweroff(m)
    code, out = snaptool("verify", m.dir / "nvme.img", "s1")
    check(code == 0, f"snaptool verify s1: status {code}: {out}")
    code, out = snaptool("list", m.dir / "nvme.img")
    check(code == 0 and re.search(r"\bs1\b", out), f"snaptool list: status {code}: {out}")


# ---- stage-2 dirty tracking (issue 10 groundwork) ----

# unprefixed while the console has the partition's focus
DIRTY_PASS = r"(?:\[dirt\] )?TGUEST-DIRTY pass={} pages=(\d+) ipp=(\d+) bad=(\d+)"
DIRTY_SHOW = r"dirty: dirt: tracking (on|off), (\d+) pages dirty, (\d+) write faults"


def dirty_pass(m, n):
    """Lets tguest mode=dirty run pass n (a byte on its console); its
    pages, its time per page (ps) and the words that did not read back."""
    if n == 0:  # later ones follow the pass before at once (already read)
        m.expect(r"TGUEST-DIRTY-READY pass=0", 30)
    m.send_bytes(b"\x1d")
    m.expect(r"console: partition dirt", 10)
    m.send_bytes(b"g")
    r = m.expect(DIRTY_PASS.format(n), 60)
    for _ in range(4):  # on round the focus cycle, back to the shell
        m.send_bytes(b"\x1d")
        if m.expect(r"\[console: (tessera shell|partition \w+)", 10).group(1) == "tessera shell":
            break
    return int(r.group(1)), int(r.group(2)), int(r.group(3))


def dirty_show(m, args=""):
    m.send(f"dirty dirt{args}")
    r = m.expect(DIRTY_SHOW + r"|dirty: dirt: cannot .*", 30)
    check(r.group(1), f"dirty dirt{args}: {r.group(0)!r}")
    return r.group(1) == "on", int(r.group(2)), int(r.group(3))


def dirty_fault_costs(m):
    """Three passes of tguest mode=dirty: untracked, tracked (a write fault
    per page), tracked again (no faults); checks each and returns the time
    per page (ps) of the first two."""
    pages, ipp0, bad = dirty_pass(m, 0)
    check(bad == 0, f"untracked pass: {bad} bad words")
    check(dirty_show(m) == (False, 0, 0), "tracking before start")
    check(dirty_show(m, " start")[:2] == (True, 0), "start")
    pages, ipp1, bad = dirty_pass(m, 1)
    on, dirty, faults = dirty_show(m)
    check(bad == 0, f"tracked pass: {bad} bad words")
    # the guest's 2048 pages, and the few its stack and data are on
    check(on and pages <= dirty <= pages + 64, f"{dirty} pages dirty for {pages} written")
    check(faults == dirty, f"{faults} write faults for {dirty} dirty pages")
    pages, ipp2, bad = dirty_pass(m, 2)
    again = dirty_show(m)
    check(bad == 0 and again[1] - dirty < 16 and again[2] - faults < 16,
          f"a second tracked pass faulted again: {again} after {(on, dirty, faults)}")
    check(dirty_show(m, " stop") == (False, 0, faults if again[2] == faults else again[2]),
          "stop")
    pages, ipp3, bad = dirty_pass(m, 3)
    check(bad == 0, f"pass after stop: {bad} bad words")
    check(dirty_show(m)[2] == again[2], "write faults after tracking stopped")
    return pages, ipp0, ipp1, faults


@test(config=cfg("tguest-dirty"), smp=4)
def dirty_tracking(m):
    """Stage-2 dirty tracking (`dirty` test command) on a guest writing a word to
    each of 2048 pages per pass: off, the first tracked pass faults once per page
    and every page is counted dirty, the next tracked pass faults no more, after
    stop nothing faults; the guest reads back every word; its neighbour runs on
    and nothing is injected or logged as a fault. Refused on a stopped partition."""
    m.wait_prompt()
    pages, ipp0, ipp1, faults = dirty_fault_costs(m)
    print(f"  dirty_tracking: {faults} write faults for {pages} pages written, "
          f"{(ipp1 - ipp0) / 1000:.0f} ns more per page while tracked (not icount)", flush=True)
    m.send("stop dirt")
    m.expect(r"dirt: stopped", 30)
    m.send("dirty dirt start")
    m.expect(r"dirty: dirt: cannot start \(not running", 10)
    m.expect(r"\[neighbour\] TGUEST-ALIVE \d+", 30)
    reject(m.transcript(), r"injected|CRASH|panic", "a fault injected or a crash")
    poweroff(m)


def snap_error(m, line, what):
    """line gets a `snapshot: error:` line (at once or as the job's result)."""
    m.send(line)
    r = m.expect(r"snapshot: (error: .*|saved .*|restored .*|deleted .*)", 30)
    check(r.group(1).startswith("error:"), f"{line!r} answered {r.group(0)!r}, expected an "
          f"error ({what})")
    return r.group(1)


@test(config=cfg("snap-tguest"), smp=4)
def snap_refuse(m):
    """Refusals, each an error line, and nothing lost: a taken name, a restore into a
    running partition, an unknown partition, a bad name, an unknown snapshot."""
    m.wait_prompt()
    m.expect(r"\[snap\] TGUEST-SNAP ready", 30)
    snap_save(m, "snap", "keep")
    snap_error(m, "snapshot save snap keep", "name already taken")
    snap_error(m, "snapshot restore keep", "restore into a running partition")
    snap_error(m, "snapshot save nosuch other", "unknown partition")
    snap_error(m, "snapshot save snap bad/name!", "bad name")
    snap_error(m, "snapshot restore nosuch", "unknown snapshot")
    need(m.command("list"), r"^\s+snap\s+running\b", "snap still running after the refusals")
    m.send("snapshot verify keep")
    v = m.expect(r"snapshot: verify keep: (OK|BAD).*", 60)
    check(v.group(1) == "OK", f"after the refusals: {v.group(0)!r}")
    m.send("snapshot list")
    m.expect(r"snapshot: 1 snapshot\(s\)", 10)
    m.send("stop snap")
    m.expect(r"snap: stopped", 30)
    snap_restore(m, "keep", "snap")
    res = m.expect(r"\[snap\] TGUEST-SNAP (PASS|FAIL.*)", 30)
    check(res.group(1) == "PASS", f"restored after the refusals: {res.group(0)!r}")
    reject(m.transcript(), r"CRASH", "crash")
    poweroff(m)


@test(config=cfg("snap-tguest"), smp=4, test_timeout=300)
def snap_boot(m):
    """Restore at boot: snapshot s1 saved, QEMU powered off, started again on the
    same disk with `restore = "s1"` on snap: it carries on from the save (ticks, PASS),
    no guest boot; the neighbour names a missing snapshot and boots its kernel."""
    m.wait_prompt()
    m.expect(r"\[snap\] TGUEST-SNAP ready cntvct=\d+", 30)
    cut = len(m.transcript())
    snap_save(m, "snap", "s1")
    text = m.transcript()
    before = ticks_of(text[:text.index("snap: paused", cut)], "snap")
    last = before[-1] if before else (0, 0)
    poweroff(m)
    disk = m.dir / "kept.img"
    shutil.copyfile(m.dir / "nvme.img", disk)
    m2 = Machine("snap_boot-restart", config=cfg("snap-tguest-restore"), smp=4, disk=disk,
                 deadline=m.deadline, efi=m.env.get("EFI_IMAGE"))
    try:
        m2.start()
        m2.expect(r"snap: restoring from snapshot s1", 120)
        m2.expect(r"snapshot: restored s1 into snap: ram=\d+ read=\d+ time_us=\d+", 60)
        res = m2.expect(r"\[snap\] TGUEST-SNAP (PASS|FAIL.*)", 60)
        text = m2.transcript()  # the two partitions' lines come in either order
        need(text, r"^snap: started .*from snapshot s1", "snap started from s1")
        need(text, r"^neighbour: snapshot nope unusable \([^)]+\): booting its kernel",
             "the neighbour's fallback line")
        need(text, r"^\[neighbour\] TGUEST: start mode=idle", "the neighbour's boot")
        reject(text, r"\[snap\] TGUEST: start|\[snap\] TGUEST-SNAP ready", "a boot of snap's kernel")
        check(res.group(1) == "PASS", f"snap restored at boot: {res.group(0)!r}")
        after = ticks_of(text, "snap")
        check(after and after[0][0] == last[0] + 1,
              f"ticks after the boot restore {after[:3]}, the last before the save {last}: "
              f"want tick {last[0] + 1}")
        reject(text, r"CRASH", "crash")
        poweroff(m2)
    finally:
        m2.kill()


# MEMFILL lines of /bin/memfill (tests/guests/memfill), with or without the
# console's partition tag (untagged while the console's focus is on linux)
MEMFILL = r"(?:\[linux\] )?MEMFILL (\d+) ([0-9a-f]{16})"


def memfills(text):
    return [(int(n), c) for n, c in re.findall(MEMFILL, text)]


def linux_memfill_saved(m, name):
    """Linux's shell runs memfill (64 MiB, checksummed every 100 ms); snapshot
    name is saved while it prints. Returns the MEMFILL lines seen before
    `linux: paused` and all seen until after the resume (a few more)."""
    m.wait_prompt()
    m.expect(r"\[linux\] GUEST-LINUX-SHELL", 180)
    m.send_bytes(b"\x1d")
    m.expect(r"console: partition linux")
    shell_answers(m, "echo ready-$((6*7))", r"ready-42")
    m.send("memfill &")
    for _ in range(3):
        m.expect(MEMFILL, 60)
    m.send_bytes(b"\x1d")  # back to the shell
    m.expect(r"console: tessera shell")
    cut = len(m.transcript())
    snap_save(m, "linux", name, timeout=300)
    text = m.transcript()
    before = memfills(text[:text.index("linux: paused", cut)])
    check(before, "no MEMFILL line before the save")
    for _ in range(3):  # the original carries on
        m.expect(MEMFILL, 60)
    return before, memfills(m.transcript())


def check_memfill_restored(text, before, name):
    """The first MEMFILL lines in text (after a restore) carry on from the save:
    the counter after the last one seen before `paused` (or the one after it,
    which the guest may have written just before the pause and the console
    showed after it) and the same checksum."""
    after = memfills(text)
    check(len(after) >= 2, f"{name}: {len(after)} MEMFILL lines after the restore")
    last, csum = before[-1]
    check(after[0][0] in (last + 1, last + 2),
          f"{name}: first MEMFILL after the restore {after[0]}, the last before the save "
          f"{before[-1]}: want counter {last + 1} (or {last + 2})")
    check(all(c == csum for _, c in before + after),
          f"{name}: checksums changed: before {before[-3:]}, after {after[:3]}")
    check(after[1][0] == after[0][0] + 1, f"{name}: counters after the restore {after[:3]}")
    return after


def linux_alive(m):
    m.send_bytes(b"\x1d")
    m.expect(r"console: partition linux")
    shell_answers(m, "echo ALIVE-$((6*7))", r"ALIVE-42")
    m.send_bytes(b"\x1d")
    m.expect(r"console: tessera shell")


@test(config=cfg("snap-linux"), smp=4, test_timeout=900)
def snap_linux(m):
    """Linux (2 vCPUs, 512 MiB) saved while memfill checksums 64 MiB, run on,
    stopped and restored: memfill carries on from the saved counter with the
    same checksum, and the shell answers."""
    before, seen = linux_memfill_saved(m, "s1")
    check(seen[-1][0] >= before[-1][0] + 3, f"the original did not run on: {seen[-3:]}")
    m.send("stop linux")
    m.expect(r"linux: stopped", 60)
    cut = len(m.transcript())
    snap_restore(m, "s1", "linux", timeout=300)
    for _ in range(3):
        m.expect(MEMFILL, 60)
    after = check_memfill_restored(m.transcript()[cut:], before, "snap_linux")
    check(after[0][0] < seen[-1][0], f"restored counter {after[0]} is not a rewind to the save")
    print(f"  snap_linux: saved after MEMFILL {before[-1][0]}, ran on to {seen[-1][0]}, "
          f"restored at {after[0][0]}")
    linux_alive(m)
    reject(m.transcript(), r"CRASH|Oops|BUG:|Kernel panic", "crash")
    poweroff(m)


@test(config=cfg("snap-linux"), smp=4, test_timeout=900)
def snap_linux_boot(m):
    """snap_linux across a power cycle: QEMU started again on the same disk with
    `restore = "s1"` on linux carries memfill on from the save, no kernel boot."""
    before, _ = linux_memfill_saved(m, "s1")
    poweroff(m)
    disk = m.dir / "kept.img"
    shutil.copyfile(m.dir / "nvme.img", disk)
    m2 = Machine("snap_linux_boot-restart", config=cfg("snap-linux-restore"), smp=4,
                 disk=disk, deadline=m.deadline, efi=m.env.get("EFI_IMAGE"))
    try:
        m2.start()
        m2.expect(r"linux: restoring from snapshot s1", 120)
        m2.expect(r"snapshot: restored s1 into linux: ram=\d+ read=\d+ time_us=\d+", 300)
        m2.expect(r"linux: started", 30)
        cut = len(m2.transcript())
        for _ in range(3):
            m2.expect(MEMFILL, 60)
        text = m2.transcript()
        after = check_memfill_restored(text[cut:], before, "snap_linux_boot")
        reject(text, r"GUEST-LINUX-UP|Booting Linux", "a boot of linux's kernel")
        print(f"  snap_linux_boot: saved after MEMFILL {before[-1][0]}, restored at {after[0][0]}")
        linux_alive(m2)
        reject(m2.transcript(), r"CRASH|Oops|BUG:|Kernel panic", "crash")
        poweroff(m2)
    finally:
        m2.kill()


# ---- incremental snapshots (issue 10) ----

CHAIN_LINKS = 5
INCR_SAVED = SAVED + r" parent=(\S+) shared_chunks=(\d+) of (\d+)"


def chain_file(i):
    """What link i's shell writes to /t/r<i>: `seq` output, 40001 lines."""
    return "".join(f"{x}\n" for x in range(i * 1000, i * 1000 + 40001))


def linux_run(m, line, done):
    """A line in linux's shell, with the console focus moved there and back."""
    m.send_bytes(b"\x1d")
    m.expect(r"console: partition linux")
    cut = len(m.transcript())
    shell_answers(m, f"{line}; echo {done}-$((6*7))", rf"{done}-42")
    out = m.transcript()[cut:]
    m.send_bytes(b"\x1d")
    m.expect(r"console: tessera shell")
    return out


def chain_save(m, i):
    """Link i: a file written in linux, then s<i> saved (against s<i-1>)."""
    linux_run(m, f"mkdir -p /t; seq {i * 1000} {i * 1000 + 40000} > /t/r{i}", f"wrote{i}")
    if i == 0:
        return snap_save(m, "linux", "s0", timeout=300)
    m.send(f"snapshot save linux s{i} --parent s{i - 1}")
    m.expect(r"linux: paused", 30)
    r = m.expect(INCR_SAVED.format(name=f"s{i}", part="linux") + r"|snapshot: error: .*", 300)
    check(r.group(0).startswith("snapshot: saved"), f"s{i}: {r.group(0)!r}")
    m.expect(r"linux: resumed", 30)
    return [int(x) if x.isdigit() else x for x in r.groups()]


def chain_check(m, name, link):
    """Restored from name, linux's files are links 0..link's, each whole."""
    snap_restore(m, name, "linux", timeout=300)
    out = linux_run(m, "sha256sum /t/r*", f"summed{link}")
    got = dict((int(k), h) for h, k in re.findall(r"([0-9a-f]{64})  /t/r(\d+)", out))
    want = {i: hashlib.sha256(chain_file(i).encode()).hexdigest() for i in range(link + 1)}
    check(got == want, f"{name}: files {sorted(got)} / hashes differ: want links 0..{link}")
    m.send("stop linux")
    m.expect(r"linux: stopped", 60)


@test(config=cfg("snap-linux"), smp=4, test_timeout=1500)
def snap_chain_linux(m):
    """Issue 10: a chain of five incrementals of Linux (512 MiB), a file
    written by its shell before each link: each incremental writes only what
    changed (most chunks shared with its parent); restored, each link has
    exactly its files (sha256sum in the guest against the host's hashes of
    what it wrote); deleting the base and a middle link and compacting the
    last keep the others whole; a parent the writes are not tracked since is
    refused."""
    m.wait_prompt()
    m.expect(r"\[linux\] GUEST-LINUX-SHELL", 180)
    full = chain_save(m, 0)
    for i in range(1, CHAIN_LINKS + 1):
        r = chain_save(m, i)
        written, shared, chunks = r[2], r[7], r[8]
        print(f"  snap_chain_linux: s{i}: {written} bytes written (full: {full[2]}), "
              f"{shared} of {chunks} chunks shared", flush=True)
        check(shared >= chunks // 2 and written < full[2] // 2,
              f"s{i}: {shared} of {chunks} chunks shared, {written} bytes written: not incremental")
    m.send("snapshot save linux bad --parent s1")
    m.expect(r"linux: paused", 30)
    m.expect(r"snapshot: error: save bad of linux: linux's writes are not tracked since s1", 60)
    m.expect(r"linux: resumed", 30)
    m.send("stop linux")
    m.expect(r"linux: stopped", 60)
    for link in (CHAIN_LINKS, 2, 0, 3):
        chain_check(m, f"s{link}", link)
    for name in ("s0", "s2"):
        m.send(f"snapshot delete {name}")
        m.expect(rf"snapshot: deleted {name}", 60)
    m.send(f"snapshot compact s{CHAIN_LINKS}")
    m.expect(rf"snapshot: compacted s{CHAIN_LINKS}: ", 300)
    for link in (3, CHAIN_LINKS):
        chain_check(m, f"s{link}", link)
    reject(m.transcript(), r"CRASH|Oops|BUG:|Kernel panic", "crash")
    poweroff(m)
    for link in (1, 3, 4, CHAIN_LINKS):
        code, out = snaptool("verify", m.dir / "nvme.img", f"s{link}")
        check(code == 0, f"snaptool verify s{link}: status {code}: {out}")


LIVE_PASS = (r"\[lw\] TGUEST-LIVE pass=(\d+) bad=(\d+) gap_us=(\d+) steal_us=(\d+) "
             r"first_us=(\d+)\r?\n")
LIVE_SAVED = (r"snapshot: saved {name} from lw: ram=\d+ disk=\d+ written=(\d+) zero_pages=\d+ "
              r"pause_us=(\d+) time_us=(\d+)(?: live copied_pages=(\d+))?\r?\n")


def live_save(m, name, live=True):
    """A save of lw; its line's numbers and the guest passes that ended
    while it ran and the one after (the pause falls in one of them)."""
    cut = len(m.transcript())
    m.send(f"snapshot save lw {name}" + (" --live" if live else ""))
    r = m.expect(LIVE_SAVED.format(name=name) + r"|snapshot: error: [^\r\n]*\r?\n", 600)
    check(r.group(0).startswith("snapshot: saved"), f"{name}: {r.group(0).strip()!r}")
    m.expect(LIVE_PASS, 300)
    passes = [tuple(int(x) for x in g) for g in re.findall(LIVE_PASS, m.transcript()[cut:])]
    return [int(x or 0) for x in r.groups()[:4]], passes


@test(config=cfg("snap-live"), smp=4, icount=True, test_timeout=900)
def snap_live(m):
    """Issue 10: a live save of a guest writing 32 MiB as fast as it can
    (tguest mode=livew, each word checked against the pass before): the
    guest runs on while its RAM is written (its passes go on, pages are
    copied aside), tessera's pause (command to the guest running again) is
    under 1 ms where a plain save of the same guest pauses it for the whole
    save, which the guest's own steal shows; restored,
    the guest finds its memory one instant's (no bad word in the passes
    after), and carries on from the pass of the pause. -icount: the
    guest's steal (counter minus its EL1 instructions) is time at EL2."""
    m.wait_prompt()
    for _ in range(2):
        m.expect(LIVE_PASS, 300)
    (written, pause, took, copied), passes = live_save(m, "L")
    at_save = passes[0][0]
    print(f"  snap_live: live save: pause {pause} us, save {took} us, {copied} pages copied "
          f"aside; guest passes meanwhile {[(p[0], p[3], p[4]) for p in passes]} "
          f"(pass, steal_us, first_us)", flush=True)
    check(pause <= 1000, f"live save paused the guest {pause} us, want <= 1000")
    # not checked yet: the guest's own first steal after the save began is
    # ~3.6 ms under -icount (docs/snapshots.md, "Live snapshots": open)
    # its writes during the save needed copies: it ran meanwhile
    check(copied > 0, f"the guest did not run on during the save: {copied} pages copied")
    (_, pause_s, _, _), passes_s = live_save(m, "S", live=False)
    print(f"  snap_live: plain save: pause {pause_s} us, the guest's worst steal "
          f"{max(p[3] for p in passes_s)} us", flush=True)
    check(max(p[3] for p in passes_s) >= pause_s * 0.9,
          f"the guest's steal {passes_s} does not show the plain save's pause {pause_s} us")
    check(all(p[1] == 0 for p in passes + passes_s), f"bad words while saving: {passes}")
    m.send("stop lw")
    m.expect(r"lw: stopped", 60)
    cut = len(m.transcript())
    snap_restore(m, "L", "lw", timeout=300)
    for _ in range(3):
        m.expect(LIVE_PASS, 300)
    after = [tuple(int(x) for x in g) for g in re.findall(LIVE_PASS, m.transcript()[cut:])]
    check(all(p[1] == 0 for p in after), f"restored L: bad words {after}")
    check(after[0][0] == at_save, f"restored L resumed pass {after[0][0]}, saved in {at_save}")
    reject(m.transcript(), r"CRASH", "crash")
    poweroff(m)
    code, out = snaptool("verify", m.dir / "nvme.img", "L")
    check(code == 0, f"snaptool verify L: status {code}: {out}")


# ---- snapshot crash safety and corruption (snap_crash, snap_corrupt) ----

SNAP_ENTRY = r"snapshot:\s+(\S+) part=(\S+) vcpus=\d+ ram=\d+ disk=\d+ gen=(\d+)"


def snap_list(m):
    """`snapshot list`: the names listed, in order."""
    m.send("snapshot list")
    n = int(m.expect(r"snapshot: (\d+) snapshot\(s\), generation \d+", 30).group(1))
    return [m.expect(SNAP_ENTRY, 30).group(1) for _ in range(n)]


def snap_verify(m, name, timeout=120):
    """The verify line; an error line instead (a disk error, busy) fails at once."""
    m.send(f"snapshot verify {name}")
    r = m.expect(rf"snapshot: (?:verify {re.escape(name)}: (OK|BAD).*|error: .*)", timeout)
    check(r.group(1), f"snapshot verify {name}: {r.group(0)!r}")
    return r


def crash_boot(m, i, disk):
    return Machine(f"snap_crash-{i}", config=cfg("snap-crash"), disk=disk, deadline=m.deadline,
                   efi=m.env.get("EFI_IMAGE"), **FIRMWARES["u-boot"][0])


@test(config=cfg("snap-crash"), test_timeout=900, **FIRMWARES["u-boot"][0])
def snap_crash(m):
    """QEMU SIGKILLed at random points of `snapshot save`, 50 times: every boot after
    a kill lists only snapshots that verify OK, keeps the last one whose save
    completed, and a killed save is either absent or whole; the host agrees."""
    seed = int(os.environ.get("SNAP_CRASH_SEED", time.time()))
    print(f"  seed: SNAP_CRASH_SEED={seed}", flush=True)
    rng = random.Random(seed)
    kills = int(os.environ.get("SNAP_CRASH_KILLS", "50"))
    m.wait_prompt()
    m.expect(r"\[g\] TGUEST-FILL mib=12", 60)
    t0 = time.monotonic()
    save_us = snap_save(m, "g", "s0")[5]
    # what a kill's delay must cover is the wall time from the command to
    # the commit (console latency included), not only the save's own clock
    save_us = max(save_us, int((time.monotonic() - t0) * 1e6))
    poweroff(m)
    disk = m.dir / "nvme.img"
    good, before, after, restores, completed = "s0", 0, 0, 0, 0
    killed = None  # the name whose save was killed before its saved line
    for i in range(kills):
        b = crash_boot(m, i, disk)
        with b:
            b.wait_prompt()
            b.expect(r"\[g\] TGUEST-FILL mib=12", 60)
            names = snap_list(b)
            for n in names:
                v = snap_verify(b, n)
                check(v.group(1) == "OK", f"boot {i}: listed {n} after a kill: {v.group(0)!r}")
            check(good in names, f"boot {i}: {good} (saved before a kill) not listed: {names}")
            if killed:
                if killed in names:
                    after += 1
                    good = killed
                else:
                    before += 1
            if i % 10 == 9:
                b.send("stop g")
                b.expect(r"g: stopped", 30)
                snap_restore(b, good, "g")
                restores += 1
            for n in names:
                if n != good:
                    b.send(f"snapshot delete {n}")
                    b.expect(rf"snapshot: deleted {re.escape(n)}", 30)
            name = f"c{i}"
            delay = rng.uniform(0, 1.2 * save_us / 1e6)
            b.send(f"snapshot save g {name}")
            time.sleep(delay)
            b.kill()
            text = b.transcript()
            reject(text, r"CRASH", "crash")
            if re.search(SAVED.format(name=name, part="g"), text):
                good, killed = name, None
                completed += 1
            else:
                killed = name
    code, out = snaptool("list", disk)
    check(code == 0, f"snaptool list after the last kill: status {code}: {out}")
    for n in re.findall(r"^\s*(\S+)\s+part=", out, re.M) or [good]:
        code, vout = snaptool("verify", disk, n)
        check(code == 0, f"snaptool verify {n} after the last kill: status {code}: {vout}")
    print(f"  snap_crash: {kills} kills, save time {save_us} us; {completed} saves printed "
          f"'saved' before the kill; of those killed earlier, {after} landed after the commit "
          f"(present, OK), {before} before it (absent); {restores} restores; last good {good}",
          flush=True)


def snap_entry(disk, name):
    """The directory entry of name in the newest superblock slot (docs/snapshot-format.md)."""
    with open(disk, "rb") as f:
        slots = [f.read(4096), f.read(4096)]
    slots = [s for s in slots if s[:8] == b"TSNAPSB1"]
    sb = max(slots, key=lambda s: int.from_bytes(s[16:24], "little"))
    slot = slots.index(sb) if len(slots) == 2 else 0
    for e in range(int.from_bytes(sb[40:44], "little")):
        ent = sb[64 + 128 * e:64 + 128 * (e + 1)]
        if ent[:48].rstrip(b"\0").decode() == name:
            u = lambda o: int.from_bytes(ent[o:o + 8], "little")  # noqa: E731
            return dict(slot=slot, entry=64 + 128 * e, mblock=u(48),
                        mlen=int.from_bytes(ent[56:60], "little"), lo=u(80), hi=u(88),
                        blocks=u(104) // 4096)
    raise TestFailure(f"{name} not in the superblock of {disk}")


def flip(disk, off, bit):
    with open(disk, "r+b") as f:
        f.seek(off)
        b = f.read(1)[0] ^ (1 << bit)
        f.seek(off)
        f.write(bytes([b]))
        f.flush()
        os.fsync(f.fileno())


def settle_stopped(m, part, what, secs=10):
    """part reaches `stopped` in `list` (a failed restore passes through `stopping`)."""
    end = time.monotonic() + secs
    while True:
        state = need(m.command("list"), rf"^\s+{part}\s+(\S+)", f"{part} in list").group(1)
        if state == "stopped":
            return
        check(time.monotonic() < end, f"{what}: {part} still {state} {secs} s after the refusal")
        time.sleep(0.3)


@test(config=cfg("snap-crash"), test_timeout=600, **FIRMWARES["u-boot"][0])
def snap_corrupt(m):
    """Single bit flips inside a snapshot's payloads, manifest and superblock entry:
    each one makes snaptool verify fail, `snapshot verify` say BAD and `snapshot
    restore` refuse (g stays stopped); flipped back, the snapshot is good again."""
    seed = int(os.environ.get("SNAP_CORRUPT_SEED", time.time()))
    print(f"  seed: SNAP_CORRUPT_SEED={seed}", flush=True)
    rng = random.Random(seed)
    m.wait_prompt()
    m.expect(r"\[g\] TGUEST-FILL mib=12", 60)
    snap_save(m, "g", "s")
    m.send("stop g")
    m.expect(r"g: stopped", 30)
    disk = m.dir / "nvme.img"
    e = snap_entry(disk, "s")
    check(e["hi"] - e["lo"] == e["blocks"], f"s: [lo, hi) is not all its blocks: {e}")
    mfirst, mend = e["mblock"] * 4096, e["mblock"] * 4096 + e["mlen"]
    kinds = {"payload": 0, "manifest": 0, "superblock": 0}
    for t in range(24):
        kind = ["payload", "manifest", "superblock"][t % 3] if t >= 3 else "payload"
        if kind == "payload":
            while True:
                off = rng.randrange(e["lo"] * 4096, e["hi"] * 4096)
                if not mfirst - mfirst % 4096 <= off < mend + 4096:
                    break
        elif kind == "manifest":
            off = rng.randrange(mfirst, mend)
        else:  # the entry's fields, in the slot in use
            off = e["slot"] * 4096 + e["entry"] + rng.randrange(48, 112)
        bit = rng.randrange(8)
        flip(disk, off, bit)
        kinds[kind] += 1
        what = f"flip {t} ({kind}) at byte {off} bit {bit}"
        code, out = snaptool("verify", disk, "s")
        check(code != 0, f"{what}: snaptool verify passed: {out}")
        v = snap_verify(m, "s")
        check(v.group(1) == "BAD", f"{what}: {v.group(0)!r}")
        m.send("snapshot restore s")
        r = m.expect(r"snapshot: (error: restore s: .*|restored s .*)", 120)
        check(r.group(1).startswith("error"), f"{what}: restore answered {r.group(0)!r}")
        settle_stopped(m, "g", what)
        flip(disk, off, bit)
        code, out = snaptool("verify", disk, "s")
        check(code == 0, f"{what}, flipped back: snaptool verify status {code}: {out}")
        v = snap_verify(m, "s")
        check(v.group(1) == "OK", f"{what}, flipped back: {v.group(0)!r}")
    snap_restore(m, "s", "g")
    reject(m.transcript(), r"CRASH", "crash")
    print(f"  snap_corrupt: {sum(kinds.values())} flips {kinds}, all refused, all good "
          f"again once flipped back", flush=True)


# ---- runner ----

print_lock = threading.Lock()


# AAVMF under TCG now and then stalls before its boot manager runs
# (seen about once in fifty boots, the console stopping after the
# firmware banner). That is before any tessera code: such a run is started
# once more, and says so. A run that reached tessera is never retried.
# (harness.FIRMWARE_HANDOVER: each firmware's last line before tessera.)


def attempt(name, efi):
    fn, machine_args = TESTS[name]
    machine_args = dict(machine_args)
    deadline = time.monotonic() + machine_args.pop("test_timeout", TEST_TIMEOUT) * timeout_scale()
    machine = Machine(name, deadline=deadline, efi=efi, **machine_args)
    try:
        with machine:
            fn(machine)
        return machine, True, "", ""
    except TestFailure as e:
        return machine, False, e.reason, e.tail or machine.tail()
    except Exception as e:  # a bug in the test itself
        return machine, False, f"{type(e).__name__}: {e}", machine.tail()


def run_one(name, efi):
    t0 = time.monotonic()
    machine, ok, reason, tail = attempt(name, efi)
    if not ok and FIRMWARE_HANDOVER[machine.firmware] not in machine.transcript():
        print(f"RETRY {name}: the firmware never started tessera ({reason})", flush=True)
        machine, ok, reason, tail = attempt(name, efi)
    report(name, ok, reason, tail, time.monotonic() - t0, machine.log_path)
    return ok


def report(name, ok, reason, tail, secs, log_path):
    with print_lock:
        if ok:
            print(f"PASS {name} ({secs:.1f} s)", flush=True)
            return
        print(f"FAIL {name}: {reason}")
        print(f"---- last lines of {log_path} ----")
        print(tail)
        print("----", flush=True)


def main(argv):
    names = argv or list(TESTS)
    unknown = [n for n in names if n not in TESTS]
    if unknown:
        print(f"unknown test(s): {' '.join(unknown)}; known: {' '.join(TESTS)}")
        return 2
    t0 = time.monotonic()
    efi = snapshot_efi()
    make_rogue_img()
    make_pci_kit()
    pool = ThreadPoolExecutor(PARALLEL)
    try:
        results = list(pool.map(run_one, names, [efi] * len(names)))
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second ^C must not stop the cleanup
        pool.shutdown(wait=False, cancel_futures=True)
        kill_all()  # running tests then fail at once and their threads end
        return 130
    pool.shutdown()
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed "
          f"({time.monotonic() - t0:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
