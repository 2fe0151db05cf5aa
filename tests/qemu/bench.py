#!/usr/bin/env python3
"""Benchmarks for tessera under QEMU (`make bench`).

Runs with ICOUNT=1 (-icount shift=0,align=off): every guest instruction
advances virtual time by exactly 1 ns, so counter ticks measured by tessera
convert to an instruction count that does not depend on the host.
Results are printed and written to build/bench/results.txt.
To add a benchmark, write a function returning a list of result lines and
append it to BENCHMARKS.
"""

import os
import re
import subprocess
import sys
import time

from harness import CONFIGS, PLAIN_CONFIG, TEST_CONFIG, TOP, Machine, TestFailure

RESULTS = TOP / "build" / "bench" / "results.txt"
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


KIT = TOP / "build" / "linux-guest"
KMSG_DONE = r"\[\s*(\d+)\.(\d{6})\] GUEST-LINUX-DONE-KMSG"


def kmsg_ns(match):
    return int(match.group(1)) * 10**9 + int(match.group(2)) * 1000


def linux_under_tessera():
    with Machine("bench_linux", config=CONFIGS / "bench-linux.dts", icount=True,
                 deadline=time.monotonic() + 1200) as m:
        m.wait_prompt(timeout=300)
        done = m.expect(r"\[linux\] " + KMSG_DONE, timeout=900)
        m.expect(r"linux: stopped", timeout=300)
        m.send("poweroff")
        m.wait_exit(60)
        return kmsg_ns(done)


def linux_bare():
    cmd = [os.environ.get("QEMU", "qemu-system-aarch64"), "-M", "virt,gic-version=3",
           "-cpu", "max,pauth-impdef=on", "-smp", "2", "-m", "512", "-nographic",
           "-icount", "shift=0,align=off",
           "-kernel", str(KIT / "Image"), "-initrd", str(KIT / "initramfs.cpio.gz"),
           "-append", "console=ttyAMA0 guest.mode=poweroff"]
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=1200,
                         text=True, errors="replace").stdout
    m = re.search(KMSG_DONE, out)
    if not m:
        raise TestFailure("bare QEMU: no GUEST-LINUX-DONE-KMSG line", out[-3000:])
    return kmsg_ns(m)


def linux_ratio():
    """Linux kit from kernel start to GUEST-LINUX-DONE: tessera vs bare QEMU."""
    t = linux_under_tessera()
    b = linux_bare()
    return [
        f"linux_done_tessera: {t} instructions (kernel clock at GUEST-LINUX-DONE, "
        f"2 vCPUs, 512 MiB, in a partition)",
        f"linux_done_bare: {b} instructions (same kernel, initramfs and command line on "
        f"bare QEMU -M virt,gic-version=3 -smp 2 -m 512)",
        f"linux_ratio: {t / b:.4f}  (tessera / bare; target <= 1.05)",
    ]


def trap_costs(config="bench-tguest.dts", name="bench_traps", what=""):
    """Null HVC round trip and trapped PL011 read, from inside a guest."""
    with Machine(name, config=CONFIGS / config, icount=True,
                 deadline=time.monotonic() + 600) as m:
        r = m.expect(r"TGUEST-BENCH hvc_ns=(\d+) mmio_ns=(\d+) loop_ns=(\d+)", timeout=300)
        m.expect(r"bench: stopped", timeout=60)
        m.send("poweroff")
        m.wait_exit(60)
    hvc, mmio, loop = (int(r.group(i)) / 1000 for i in (1, 2, 3))
    return [
        f"hvc_round_trip{what}: {hvc:.0f} instructions (PSCI_VERSION from EL1 and back, "
        f"average of 10000; loop overhead {loop:.0f})",
        f"pl011_read{what}: {mmio:.0f} instructions (trapped UARTFR read, emulated, average "
        f"of 10000)",
    ]


def trap_costs_sve():
    """The same with SVE in use at the longest vector length (256 bytes): the
    exits save and restore Z/P/FFR instead of q0-q31."""
    return trap_costs("bench-tguest-sve.dts", "bench_traps_sve", "_sve256")


def mib_s(mib, ns):
    return mib * 1e9 / ns


def nvme_smmu():
    """NVMe throughput translated vs bypass, and SMMU map/unmap costs."""
    with Machine("bench_nvme", config=TEST_CONFIG, icount=True,
                 deadline=time.monotonic() + 900) as m:
        m.wait_prompt(timeout=300)
        out = m.command("disk bench", timeout=600)
        m.send("poweroff")
        m.wait_exit(60)
    rows = {k: (int(w), int(r), int(mib)) for k, w, r, mib in re.findall(
        r"disk bench: (translated|bypass): write (\d+) ns, read (\d+) ns for (\d+) MiB", out)}
    cost = re.search(r"map 4K (\d+) ns, unmap 4K (\d+) ns, map 2M (\d+) ns, unmap 2M (\d+) ns "
                     r"\(([^)]*)\)", out)
    if len(rows) != 2 or not cost:
        raise TestFailure("disk bench printed no results", out[-2000:])
    (tw, tr, mib), (bw, br, _) = rows["translated"], rows["bypass"]
    m4, u4, m2, u2 = (int(cost.group(i)) for i in range(1, 5))
    return [
        f"nvme_write_translated: {mib_s(mib, tw):.1f} MiB per 1e9 instructions "
        f"({mib} MiB, {tw} instructions)",
        f"nvme_write_bypass: {mib_s(mib, bw):.1f} MiB per 1e9 instructions ({bw} instructions)",
        f"nvme_read_translated: {mib_s(mib, tr):.1f} MiB per 1e9 instructions ({tr} instructions)",
        f"nvme_read_bypass: {mib_s(mib, br):.1f} MiB per 1e9 instructions ({br} instructions)",
        f"nvme_smmu_ratio: write {bw / tw:.3f}, read {br / tr:.3f} "
        f"(translated throughput / bypass throughput)",
        f"smmu_map_4k: {m4} instructions, smmu_unmap_4k: {u4} instructions "
        f"(each includes TLB invalidation and CMD_SYNC; {cost.group(5)} domains)",
        f"smmu_map_2m: {m2} instructions, smmu_unmap_2m: {u2} instructions (one 2 MiB block)",
    ]

EXIT_ROWS = [  # (key, what, issue 8's target in net instructions)
    ("hvc", "HVC round trip (PSCI_VERSION)", 120),
    ("gicd_read", "emulated GICD register read (TYPER)", 150),
    ("gicr_read", "emulated GICR register read (TYPER)", 150),
    ("sgi_wfi", "SGI to another vCPU in WFI, until its handler ran", 500),
    ("sgi_self", "SGI to self, until the handler ran", 300),
    ("timer", "virtual timer: expiry to guest handler", 150),
    ("eoi", "EOI (ICC_EOIR1_EL1)", 0),
    ("unknown_hvc", "unknown HVC function ID", 120),
]
EXITS_LINE = r"TGUEST-EXITS hvc=(\d+) unknown_hvc=(\d+) gicd_read=(\d+) gicr_read=(\d+)"
EXITS_LINE2 = r"TGUEST-EXITS sgi_wfi=(\d+) sgi_self=(\d+) eoi=(\d+) timer=(\d+) loop=(\d+)"


def parse_exits(text):
    a, b = re.search(EXITS_LINE, text), re.search(EXITS_LINE2, text)
    if not a or not b:
        return None
    keys = ["hvc", "unknown_hvc", "gicd_read", "gicr_read", "sgi_wfi", "sgi_self", "eoi",
            "timer", "loop"]
    vals = [int(x) / 1000 for x in a.groups() + b.groups()]  # ps per iteration -> instructions
    return dict(zip(keys, vals))


def exits_bare():
    dtb = TOP / "build" / "guests" / "virt-smp2-256M.dtb"
    subprocess.run(["make", "-s", str(dtb.relative_to(TOP))], cwd=TOP, check=True)
    cmd = [os.environ.get("QEMU", "qemu-system-aarch64"), "-M", "virt,gic-version=3",
           "-cpu", "max,pauth-impdef=on", "-smp", "2", "-m", "256", "-nographic",
           "-icount", "shift=0,align=off", "-kernel", str(TOP / "build/guests/tguest.elf"),
           "-dtb", str(dtb), "-append", "tguest.mode=exits"]
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=600,
                         text=True, errors="replace").stdout
    r = parse_exits(out)
    if not r:
        raise TestFailure("bare QEMU: no TGUEST-EXITS lines", out[-3000:])
    return r


def exit_costs():
    """Issue 8's exit table: the same guest loop under tessera and on bare QEMU."""
    with Machine("bench_exits", config=CONFIGS / "bench-exits.dts", icount=True,
                 deadline=time.monotonic() + 600) as m:
        m.expect(EXITS_LINE2, timeout=300)
        m.expect(r"exits: stopped", timeout=60)
        t = parse_exits(m.transcript())
        m.send("poweroff")
        m.wait_exit(60)
    b = exits_bare()
    lines = []
    for key, what, target in EXIT_ROWS:
        net = t[key] - b[key]
        lines.append(f"exit_{key}: {net:.0f} net instructions (tessera {t[key]:.0f}, bare "
                     f"{b[key]:.0f}; {what}; target <= {target})")
    return lines


ITS_BENCH = r"TGUEST-ITS-BENCH int_self=(\d+) int_other=(\d+)"


def its_bench_bare():
    dtb = TOP / "build" / "guests" / "virt-smp2-256M.dtb"
    subprocess.run(["make", "-s", str(dtb.relative_to(TOP))], cwd=TOP, check=True)
    cmd = [os.environ.get("QEMU", "qemu-system-aarch64"), "-M", "virt,gic-version=3,its=on",
           "-cpu", "max,pauth-impdef=on", "-smp", "2", "-m", "256", "-nographic",
           "-icount", "shift=0,align=off", "-kernel", str(TOP / "build/guests/tguest.elf"),
           "-dtb", str(dtb), "-append", "tguest.mode=itsbench"]
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=600,
                         text=True, errors="replace").stdout
    m = re.search(ITS_BENCH, out)
    if not m:
        raise TestFailure("bare QEMU: no TGUEST-ITS-BENCH line", out[-3000:])
    return [int(x) / 1000 for x in m.groups()]


def its_latency():
    """An LPI through the virtual ITS: the guest queues INT and writes
    GITS_CWRITER, until its handler has the LPI (to itself, and to its
    other vCPU waiting in WFI), under tessera and on bare QEMU's ITS; the
    difference is what tessera adds (the trap, the command, the kick,
    flush). The virtual half of an assigned device's MSI."""
    with Machine("bench_its", config=CONFIGS / "bench-its.dts", icount=True,
                 deadline=time.monotonic() + 600) as m:
        got = m.expect(r"\[itsbench\] " + ITS_BENCH + r"\r?\n", timeout=300)  # whole line
        t = [int(x) / 1000 for x in got.groups()]
        m.expect(r"itsbench: stopped", timeout=60)
        m.send("poweroff")
        m.wait_exit(60)
    b = its_bench_bare()
    return [f"its_lpi_{what}: {t[i] - b[i]:.0f} net instructions (tessera {t[i]:.0f}, bare "
            f"{b[i]:.0f}; INT command to the LPI's handler, {desc})"
            for i, (what, desc) in enumerate([("self", "on the sending vCPU"),
                                              ("other", "on the other vCPU, in WFI")])]


EDU_MSI = r"TGUEST-EDU-MSI delivered=(\d+)/(\d+) msi_ps=(\d+)"
EDU_DEVICE = ["-device", "edu,addr=03.0,dma_mask=0xffffffffffffffff"]


def edu_msi_latency():
    """An assigned device's MSI end to end: the guest writes edu's raise
    register until its LPI handler runs (100 times, on the vCPU that raised
    it), under tessera (SMMU, physical ITS, LPI taken at EL2, vLPI through
    the virtual ITS) and on bare QEMU (the same guest, edu and ITS, no
    SMMU)."""
    with Machine("bench_edu_msi", config=CONFIGS / "bench-edu-msi.dts", icount=True,
                 qemu_extra=" ".join(EDU_DEVICE), deadline=time.monotonic() + 600) as m:
        got = m.expect(r"\[edumsi\] " + EDU_MSI + r"\r?\n", timeout=300)
        m.expect(r"edumsi: stopped", timeout=60)
        m.send("poweroff")
        m.wait_exit(60)
    if got.group(1) != got.group(2):
        raise TestFailure(f"tessera: {got.group(1)} of {got.group(2)} MSIs delivered", "")
    t = int(got.group(3)) / 1000
    dtb = TOP / "build" / "guests" / "virt-smp2-256M.dtb"
    subprocess.run(["make", "-s", str(dtb.relative_to(TOP))], cwd=TOP, check=True)
    cmd = [os.environ.get("QEMU", "qemu-system-aarch64"), "-M",
           "virt,gic-version=3,its=on,highmem=off", "-cpu", "max,pauth-impdef=on", "-smp", "2",
           "-m", "256", "-nographic", "-icount", "shift=0,align=off",
           "-kernel", str(TOP / "build/guests/tguest.elf"), "-dtb", str(dtb),
           "-append", "tguest.mode=edumsi"] + EDU_DEVICE
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=300,
                         text=True, errors="replace").stdout
    b = re.search(EDU_MSI, out)
    if not b or b.group(1) != b.group(2):
        raise TestFailure("bare QEMU: not every edu MSI delivered", out[-3000:])
    bare = int(b.group(3)) / 1000
    return [f"edu_msi: {t - bare:.0f} net instructions (tessera {t:.0f}, bare {bare:.0f}; an "
            f"assigned edu's MSI, raise-register write to the guest's LPI handler)"]


SNAP_SAVED = (r"snapshot: saved s1 from linux: ram=(\d+) disk=(\d+) written=(\d+) zero_pages=(\d+) "
              r"pause_us=(\d+) time_us=(\d+)")
SNAP_RESTORED = r"snapshot: restored s1 into linux: ram=(\d+) read=(\d+) time_us=(\d+)"
SNAP_TOUCHED_MIB = 128


def snap_save_restore():
    """Snapshot of a 512 MiB Linux with 128 MiB touched by memfill (its
    pattern: non-zero, repeating every 4 KiB, so it compresses), against the
    raw NVMe rates of `disk bench` (bypass) in the same run."""
    with Machine("bench_snap", config=CONFIGS / "bench-snap-linux.dts", icount=True,
                 deadline=time.monotonic() + 1800) as m:
        m.wait_prompt(timeout=300)
        out = m.command("disk bench", timeout=600)
        m.expect(r"\[linux\] GUEST-LINUX-SHELL", 600)
        m.send_bytes(b"\x1d")
        m.expect(r"console: partition linux")
        m.send(f"memfill {SNAP_TOUCHED_MIB} &")
        for _ in range(2):
            m.expect(r"MEMFILL \d+ [0-9a-f]{16}", 600)
        m.send_bytes(b"\x1d")
        m.expect(r"console: tessera shell")
        m.send("snapshot save linux s1")
        saved = m.expect(SNAP_SAVED + r"|snapshot: error: .*", 900)
        m.expect(r"linux: resumed", 60)
        m.send("stop linux")
        m.expect(r"linux: stopped", 120)
        m.send("snapshot restore s1")
        restored = m.expect(SNAP_RESTORED + r"|snapshot: error: .*", 900)
        m.expect(r"linux: started", 60)
        m.send("poweroff")
        m.wait_exit(120)
    rows = {k: (int(w), int(r), int(mib)) for k, w, r, mib in re.findall(
        r"disk bench: (translated|bypass): write (\d+) ns, read (\d+) ns for (\d+) MiB", out)}
    if "bypass" not in rows or not saved.group(0).startswith("snapshot: saved") or \
            not restored.group(0).startswith("snapshot: restored"):
        raise TestFailure("snap_save_restore: no disk bench, save or restore result",
                          f"{out[-1000:]}\n{saved.group(0)}\n{restored.group(0)}")
    bw, br, mib = rows["bypass"]
    ram, disk, written, zero, pause_us, save_us = (int(x) for x in saved.groups())
    _, read, restore_us = (int(x) for x in restored.groups())
    touched = SNAP_TOUCHED_MIB << 20
    raw_w = mib * 1e9 / bw  # MiB per 1e9 instructions
    save_rate = (written / 2**20) * 1e6 / save_us
    raw_read_us = read / 2**20 * br / mib / 1000
    return [
        f"snap_save: {written} bytes written for {ram} bytes of RAM ({zero} zero pages), "
        f"touched {touched} (memfill pattern): touched/written {touched / written:.2f} "
        f"(target >= 2.5)",
        f"snap_save_rate: {save_rate:.1f} MiB written per 1e9 instructions vs raw NVMe write "
        f"{raw_w:.1f}: {save_rate / raw_w:.2f} (target >= 0.70); save {save_us} us, "
        f"pause_us {pause_us}",
        f"snap_restore: {restore_us} us for {read} bytes read, raw read of as many bytes "
        f"{raw_read_us:.0f} us: {restore_us / raw_read_us:.2f}x (target <= 1.2)",
    ]


def dirty_fault():
    """Issue 10's write-fault cost of stage-2 dirty tracking: tguest mode=dirty
    writes a word to each of 2048 pages, untracked and then tracked (every
    page's first write faults), under -icount."""
    from run_tests import dirty_fault_costs
    with Machine("bench_dirty", config=CONFIGS / "tguest-dirty.dts", icount=True,
                 deadline=time.monotonic() + 600) as m:
        m.wait_prompt(timeout=300)
        pages, ipp0, ipp1, faults = dirty_fault_costs(m)
        m.send("poweroff")
        m.wait_exit(60)
    return [f"dirty_write_fault: {(ipp1 - ipp0) / 1000:.0f} instructions per write fault "
            f"({faults} faults for {pages} pages; untracked write {ipp0 / 1000:.0f}, tracked "
            f"{ipp1 / 1000:.0f} per page; target <= 1000)"]



SCHED_LINES, SCHED_PER_LINE = 16, 16  # 256 samples a scenario


def sched_samples(m, part, tag, lines=SCHED_LINES, skip=2):
    """Raw samples (counter ticks) from part's next lines of tag, after
    skipping the first `skip` (the scenario's change settling)."""
    got = []
    for i in range(skip + lines):
        r = m.expect(rf"\[{part}\] {tag}((?: \d+)+)\r?\n", timeout=300)
        v = [int(x) for x in r.group(1).split()]
        if len(v) != SCHED_PER_LINE:
            raise TestFailure(f"sched bench: a {tag} line of {len(v)} samples", r.group(0))
        got += v if i >= skip else []
    return got


def quantiles(ticks, freq):
    """min/median/99th/max in instructions (-icount shift=0: 1 ns each)."""
    v = sorted(t * 10**9 // freq for t in ticks)
    return v[0], v[len(v) // 2], v[min(len(v) - 1, len(v) * 99 // 100)], v[-1]


def sched_cmd(m, line):
    out = m.command(line)
    if re.search(r"cannot |unknown command|usage:|no partition named", out):
        raise TestFailure(f"sched bench: {line!r} answered {out.strip()!r}", m.tail())


def sched_scenarios(m, rt, neighbours):
    """rt's timer lateness alone, beside an idle neighbour, beside a
    flooding one (each started in turn, the previous stopped)."""
    sched_cmd(m, f"start {rt}")
    freq = int(m.expect(rf"\[{rt}\] TGUEST-RTSTAT start freq=(\d+) period=", 120).group(1))
    res = {"alone": sched_samples(m, rt, "TGUEST-RTS")}
    prev = None
    for what, nb in neighbours:
        if prev:
            sched_cmd(m, f"stop {prev}")
        sched_cmd(m, f"start {nb}")
        res[what] = sched_samples(m, rt, "TGUEST-RTS")
        prev = nb
    sched_cmd(m, f"stop {prev}")
    sched_cmd(m, f"stop {rt}")
    return {k: quantiles(v, freq) for k, v in res.items()}, freq


def rt_bare():
    """The same timer loop on bare QEMU (one CPU, -icount sleep=off too):
    the floor, what the hardware and the guest's own handler take."""
    dtb = TOP / "build" / "guests" / "virt-smp2-256M.dtb"
    subprocess.run(["make", "-s", str(dtb.relative_to(TOP))], cwd=TOP, check=True)
    cmd = [os.environ.get("QEMU", "qemu-system-aarch64"), "-M", "virt,gic-version=3",
           "-cpu", "max,pauth-impdef=on", "-smp", "2", "-m", "256", "-nographic", "-nic", "none",
           "-icount", "shift=0,align=off,sleep=off",
           "-kernel", str(TOP / "build/guests/tguest.elf"), "-dtb", str(dtb),
           "-append", "tguest.mode=rtstat"]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                         errors="replace")
    got, freq, lines, t0 = [], 0, 0, time.monotonic()
    try:
        for line in p.stdout:
            r = re.search(r"TGUEST-RTSTAT start freq=(\d+) ", line)
            freq = int(r.group(1)) if r else freq
            r = re.search(r"TGUEST-RTS((?: \d+)+)", line)
            if r:
                lines += 1
                got += [int(x) for x in r.group(1).split()] if lines > 2 else []
            if lines >= 2 + SCHED_LINES or time.monotonic() - t0 > 300:
                break
    finally:
        p.kill()
        p.wait()
    if not freq or len(got) != SCHED_PER_LINE * SCHED_LINES:
        raise TestFailure("bare QEMU: too few TGUEST-RTS lines", "")
    return quantiles(got, freq)


def sched_switch_cost(m):
    """ga and gb spin in back-to-back 10 ms windows of a 20 ms frame: each
    absence is the other's window plus one switch to it back."""
    sched_cmd(m, "start ga")
    sched_cmd(m, "start gb")
    freq = int(m.expect(r"\[gb\] TGUEST-GAP start freq=(\d+)\r?\n", 120).group(1))
    gaps = sched_samples(m, "ga", "TGUEST-GAPS", lines=4, skip=1)
    gaps += sched_samples(m, "gb", "TGUEST-GAPS", lines=4, skip=1)
    sched_cmd(m, "stop ga")
    sched_cmd(m, "stop gb")
    window = 10000 * freq // 10**6
    return quantiles([g - window for g in gaps], freq)


def sched_bench():
    """Issue 12's benchmark (configs/bench-sched.dts): the partition switch
    cost, and a real-time partition's timer lateness on a pinned and on a
    cyclic CPU, alone and beside neighbours (under -icount, instructions)."""
    # sleep=off: an idle machine's clock jumps to the next timer, so a
    # wake-up from WFI costs its instructions, not the host's timing
    with Machine("bench_sched", smp=6, config=CONFIGS / "bench-sched.dts", icount="nosleep",
                 deadline=time.monotonic() + 1500) as m:
        m.wait_prompt(timeout=300)
        switch = sched_switch_cost(m)
        pinned, freq = sched_scenarios(m, "rtp", [("idle", "idlep"), ("flood", "floodp")])
        cyclic, _ = sched_scenarios(m, "rtc", [("idle", "idlec"), ("flood", "floodc")])
        floods = re.findall(r"\[flood[pc]\] TGUEST-FLOOD sent=(\d+) taken=(\d+)",
                            m.transcript())
        m.send("poweroff")
        m.wait_exit(60)
    bare = rt_bare()
    if not floods or min(int(t) for _, t in floods) == 0:
        raise TestFailure("sched bench: the flooding neighbours took no interrupts", str(floods))
    res = 1e9 / freq
    fmt = "min {} / median {} / p99 {} / max {}".format
    lines = [f"sched_switch: {fmt(*switch)} instructions, window boundary to the next "
             f"partition's first instruction (cyclic, two spinning partitions; counter "
             f"resolution {res:.0f})"]
    lines.append(f"sched_bare_timer: {fmt(*bare)} instructions, the same loop on bare QEMU "
                 f"(the floor)")
    for policy, r in (("pinned", pinned), ("cyclic", cyclic)):
        for what, q in r.items():
            lines.append(f"sched_{policy}_timer_{what}: {fmt(*q)} instructions, deadline to "
                         f"handler (256 expiries{', inside its window' if policy == 'cyclic' else ''})")
    lines.append(f"sched_pinned_target: worst beside neighbours {max(pinned['idle'][3], pinned['flood'][3])} "
                 f"vs alone {pinned['alone'][3]} (target: unchanged)")
    lines.append(f"sched_cyclic_target: worst inside its window {max(q[3] for q in cyclic.values())} "
                 f"vs alone worst + one switch {cyclic['alone'][3] + switch[3]} (target: <=)")
    return lines


INCR_SAVED = (r"snapshot: saved {name} from incr: ram=\d+ disk=\d+ written=(\d+) zero_pages=\d+ "
              r"pause_us=(\d+) time_us=(\d+)(?: parent=\S+ shared_chunks=(\d+) of (\d+))?\r?\n")


def incr_save(m, name, parent=None):
    m.send(f"snapshot save incr {name}" + (f" --parent {parent}" if parent else ""))
    r = m.expect(INCR_SAVED.format(name=name) + r"|snapshot: error: [^\r\n]*\r?\n", 1200)
    if not r.group(0).startswith("snapshot: saved"):
        raise TestFailure(f"snap_incremental: {r.group(0).strip()}", m.tail())
    m.expect(r"incr: resumed", 60)
    return [int(x) if x else 0 for x in r.groups()]


def incr_touch(m, key, pages):
    m.send_bytes(b"\x1d")
    m.expect(r"console: partition incr", 30)
    m.send_bytes(key)
    m.expect(rf"TGUEST-DIRTY pass=\d+ pages={pages} ipp=\d+ bad=0", 1200)
    m.send_bytes(b"\x1d")
    m.expect(r"console: tessera shell", 30)


def snap_incremental():
    """Issue 10: an incremental save's cost against the pages written since
    its parent (none: an idle guest; 1; 1024; 102400), after a full save of
    a 512 MiB guest with 64 MiB of noise, under -icount (time_us is
    virtual time: 1000 instructions a microsecond)."""
    with Machine("bench_incr", config=CONFIGS / "bench-incr.dts", icount=True,
                 deadline=time.monotonic() + 3000) as m:
        m.wait_prompt(timeout=600)
        m.expect(r"\[incr\] TGUEST-DIRTY-READY pass=0", 1200)
        full = incr_save(m, "full")
        rows, parent = [], "full"
        for key, pages in ((None, 0), (b"1", 1), (b"k", 1024), (b"h", 102400)):
            if key:
                incr_touch(m, key, pages)
            name = f"i{pages}"
            rows.append((pages, incr_save(m, name, parent)))
            parent = name
        m.send("poweroff")
        m.wait_exit(120)
    lines = [f"snap_full: {full[0]} bytes written, save {full[2]} us, pause {full[1]} us "
             f"(512 MiB RAM, 64 MiB noise)"]
    for pages, (written, pause, took, shared, chunks) in rows:
        lines.append(f"snap_incremental_{pages}: {written} bytes written "
                     f"({100 * written / full[0]:.2f} % of the full save), save {took} us, "
                     f"pause {pause} us, {shared} of {chunks} chunks shared "
                     f"({pages} pages written since the parent)")
    idle = rows[0][1][0]
    lines.append(f"snap_incremental_idle_ratio: {100 * idle / full[0]:.2f} % of the full save "
                 f"(target <= 1 %)")
    return lines


def snap_live():
    """Issue 10: a live save's pause (tessera's measure, command to the
    guest running again, and the guest's first steal after it) for a 128
    MiB and a 1 GiB partition writing 32 MiB flat out, against a plain
    save of the same guest, under -icount."""
    from run_tests import LIVE_PASS, live_save
    lines = []
    for cfg, size in (("snap-live.dts", "128 MiB"), ("bench-live-1g.dts", "1 GiB")):
        with Machine(f"bench_live_{size.split()[0]}", config=CONFIGS / cfg, icount=True,
                     deadline=time.monotonic() + 1200) as m:
            m.wait_prompt(timeout=300)
            for _ in range(2):
                m.expect(LIVE_PASS, 300)
            (_, pause, took, copied), passes = live_save(m, "L")
            (_, pause_s, took_s, _), passes_s = live_save(m, "S", live=False)
            m.send("poweroff")
            m.wait_exit(120)
        lines.append(f"snap_live_{size.replace(' ', '')}: pause {pause} us (guest's first steal "
                     f"{passes[0][4]} us, worst during the save {max(p[3] for p in passes)} us), "
                     f"save {took} us, {copied} pages copied aside; plain save pause "
                     f"{pause_s} us (target: live pause <= 1000 us)")
    return lines


BENCH_MIB = 32
BENCH_DISK = "build/bench/pci-disk.img"  # relative to the repository (QEMU's cwd)
BENCH_INIT = """#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
/bin/busybox --install -s 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in %s; do insmod /lib/vpci/$m.ko || echo "VPCI-INSMOD-FAILED $m"; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
echo VPCI-BENCH-READ-START >/dev/kmsg
dd if=/dev/vda of=/dev/null bs=1M count=%d 2>/dev/null
echo VPCI-BENCH-READ-END >/dev/kmsg
echo VPCI-BENCH-WRITE-START >/dev/kmsg
dd if=/dev/zero of=/dev/vda bs=1M count=%d seek=%d conv=fsync 2>/dev/null
echo VPCI-BENCH-WRITE-END >/dev/kmsg
poweroff -f
while :; do sleep 3600; done
"""
BENCH_VBLK = (f"-drive file={BENCH_DISK},format=raw,if=none,id=vblk "
              "-device virtio-blk-pci,disable-legacy=on,iommu_platform=on,drive=vblk,addr=04.0")


def disk_phases(out, where):
    stamps = {}
    for sec, us, what in re.findall(r"\[\s*(\d+)\.(\d{6})\] VPCI-BENCH-(\w+-\w+)", out):
        stamps[what] = int(sec) * 10**9 + int(us) * 1000
    if len(stamps) != 4:
        raise TestFailure(f"{where}: no VPCI-BENCH lines", out[-3000:])
    return (stamps["READ-END"] - stamps["READ-START"],
            stamps["WRITE-END"] - stamps["WRITE-START"])


def pci_disk():
    """An assigned virtio-blk disk read and written (dd, 1 MiB blocks) by
    Linux in a partition (INTx, then MSI-X through its virtual ITS) and by
    the same kernel on bare QEMU."""
    import run_tests  # the Linux kit's modules and initramfs builder
    run_tests.make_pci_kit()
    mods = run_tests.PCI_KITS["vblk"][0]
    if not run_tests.pci_initrd("bench", mods,
                                BENCH_INIT % (" ".join(mods), BENCH_MIB, BENCH_MIB, BENCH_MIB)):
        raise TestFailure("no Linux kit modules for the disk benchmark", "")
    initrd = f"{run_tests.PCI_KIT}/initramfs-bench.gz"
    (TOP / BENCH_DISK).parent.mkdir(parents=True, exist_ok=True)
    with open(TOP / BENCH_DISK, "wb") as f:
        f.truncate(2 * BENCH_MIB << 20)
    def tessera(name, config):
        with Machine(name, config=CONFIGS / config, icount=True, qemu_extra=BENCH_VBLK,
                     esp_extra=f"{initrd}=tessera/linux/initramfs-bench.gz",
                     deadline=time.monotonic() + 1200) as m:
            m.wait_prompt(timeout=300)
            m.expect(r"\[linux\] \[\s*\d+\.\d+\] VPCI-BENCH-WRITE-END", timeout=900)
            m.expect(r"linux: stopped", timeout=300)
            phases = disk_phases(m.transcript(), "tessera")
            m.send("poweroff")
            m.wait_exit(60)
        return phases

    tr, tw = tessera("bench_pci_disk", "bench-pci-disk.dts")
    mr, mw = tessera("bench_pci_disk_msix", "bench-pci-disk-its.dts")
    cmd = [os.environ.get("QEMU", "qemu-system-aarch64"), "-M", "virt,gic-version=3",
           "-cpu", "max,pauth-impdef=on", "-smp", "1", "-m", "512", "-nographic",
           "-icount", "shift=0,align=off", "-kernel", str(KIT / "Image"),
           "-initrd", str(TOP / initrd), "-append", "console=ttyAMA0"] + BENCH_VBLK.split()
    out = subprocess.run(cmd, cwd=TOP, stdin=subprocess.DEVNULL, capture_output=True,
                         timeout=1200, text=True, errors="replace").stdout
    br, bw = disk_phases(out, "bare QEMU")
    return [
        f"pci_disk_read_tessera: {mib_s(BENCH_MIB, tr):.1f} MiB per 1e9 instructions "
        f"({BENCH_MIB} MiB dd, 1 MiB blocks, assigned virtio-blk, INTx)",
        f"pci_disk_read_bare: {mib_s(BENCH_MIB, br):.1f} MiB per 1e9 instructions "
        f"(same kernel and disk on bare QEMU, MSI-X)",
        f"pci_disk_write_tessera: {mib_s(BENCH_MIB, tw):.1f} MiB per 1e9 instructions",
        f"pci_disk_write_bare: {mib_s(BENCH_MIB, bw):.1f} MiB per 1e9 instructions",
        f"pci_disk_ratio: read {br / tr:.3f}, write {bw / tw:.3f} (tessera throughput / bare; "
        f"target >= 0.90)",
        f"pci_disk_read_tessera_msix: {mib_s(BENCH_MIB, mr):.1f} MiB per 1e9 instructions "
        f"(the same with `its`: MSI-X through the virtual ITS)",
        f"pci_disk_write_tessera_msix: {mib_s(BENCH_MIB, mw):.1f} MiB per 1e9 instructions",
        f"pci_disk_ratio_msix: read {br / mr:.3f}, write {bw / mw:.3f} (tessera with MSI-X / "
        f"bare; target >= 0.90)",
    ]


BENCHMARKS = [boot_instructions, trap_costs, trap_costs_sve, exit_costs, linux_ratio, nvme_smmu,
              snap_save_restore, dirty_fault, its_latency, edu_msi_latency, pci_disk,
              sched_bench, snap_incremental, snap_live]


def main():
    """All benchmarks, or those named on the command line (then nothing is
    written to RESULTS: it always holds one whole run)."""
    lines = []
    names = sys.argv[1:]
    unknown = set(names) - {b.__name__ for b in BENCHMARKS}
    if unknown:
        print(f"unknown benchmark(s) {sorted(unknown)}; known: {[b.__name__ for b in BENCHMARKS]}")
        return 2
    for bench in [b for b in BENCHMARKS if not names or b.__name__ in names]:
        try:
            result = bench()
        except TestFailure as e:
            print(f"FAIL {bench.__name__}: {e.reason}\n{e.tail}")
            return 1
        for line in result:
            print(line, flush=True)
        lines += result
    if names:
        return 0
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"written to {RESULTS.relative_to(TOP)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
