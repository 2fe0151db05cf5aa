#!/usr/bin/env python3
"""snaptool end to end on a disk image: list, inspect, verify, extract, core
(opened by gdb-multiarch: threads, registers, memory), delete, refusals and
damage. Values come from tools/snap/synth.c's rules, computed here again.

usage: test_snaptool.py BUILD/snaptool
"""
import os, re, shutil, subprocess, sys, tempfile

TOOL = sys.argv[1] if len(sys.argv) > 1 else "build/snaptool"
IPA = 0x40000000
fails = 0


def run(*args, rc=0):
    p = subprocess.run([TOOL, *args], capture_output=True, text=True)
    if rc is not None and p.returncode != rc:
        fail(f"snaptool {' '.join(args)}: exit {p.returncode}, wanted {rc}\n{p.stdout}{p.stderr}")
    return p.stdout + p.stderr


def fail(msg):
    global fails
    fails += 1
    print("FAIL:", msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def x_reg(v, i, seed):  # synth.c: x[i] = (v + 1) << 56 | seed << 32 | i
    return (v + 1) << 56 | seed << 32 | i


def gdb(core, *cmds):
    args = ["gdb-multiarch", "-batch", "-nx", "-c", core]
    for c in cmds:
        args += ["-ex", c]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return p.stdout + p.stderr


def flip(path, off):
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x20]))


def main():
    tmp = tempfile.mkdtemp(prefix="snaptool-test.")
    disk = os.path.join(tmp, "disk.img")
    j = lambda n: os.path.join(tmp, n)
    run("format", disk, "32M")
    run("test-write", disk, "one", "--vcpus", "3", "--ram", "4M", "--seed", "5")
    run("test-write", disk, "two", "--ranges", "2", "--ram", "2M", "--seed", "6",
        "--ram-out", j("two.raw"))
    out = run("test-write", disk, "one", "--vcpus", "3", "--ram", "4M", rc=1)
    check("exists" in out, f"a taken name: {out}")
    run("test-write", disk, "one", "--vcpus", "3", "--ram", "4M", "--seed", "9", "--replace",
        "--sve", "32", "--ram-out", j("one.raw"))

    out = run("list", disk)
    check(re.search(r"generation 4, 2 snapshots", out), f"list: {out}")
    check(re.search(r"^one\s+3\s+4 MiB", out, re.M) and re.search(r"^two\s+2\s+2 MiB", out, re.M),
          f"list rows: {out}")
    check("slot 1: valid, generation 4 (in use)" in out, f"list slots: {out}")

    out = run("inspect", disk, "one")
    check(f"x3  0x{x_reg(2, 3, 9):016x}" in out, f"inspect: vCPU 2's x3: {out[:3000]}")
    check("on, CPU_ON pending" in out, "inspect: vCPU 2's power state")
    check("SVE: vector length 32 bytes" in out, "inspect: SVE")
    check("device: PL011 0 at 0x9000000 (INTID 33)" in out, "inspect: PL011")
    check("timers: 62500000 Hz, policy freeze" in out, "inspect: timers")
    check(re.search(r"0x0040000000-0x00403fffff RAM 4 chunks, 1024 pages", out),
          "inspect: memory map")
    m = re.search(r"manifest: (\d+) bytes", out)
    mb = re.search(r"manifest at block (\d+)", out)

    for name in ("one", "two"):
        out = run("verify", disk, name)
        check(f"verify {name}: good" in out, f"verify {name}: {out}")
        run("extract", disk, name, j(name + ".out"))
        check(open(j(name + ".out"), "rb").read() == open(j(name + ".raw"), "rb").read(),
              f"extract {name}: RAM differs from what was saved")
    out = run("extract", disk, "three", j("x"), rc=1)
    check('no snapshot named "three"' in out, f"extract of a missing one: {out}")

    # the core, through gdb
    run("core", disk, "one", j("one.elf"))
    raw = open(j("one.raw"), "rb").read()
    page = next(p for p in range(1, len(raw) // 4096) if any(raw[p * 4096:p * 4096 + 4096]))
    zero = next(p for p in range(1, len(raw) // 4096) if not any(raw[p * 4096:p * 4096 + 4096]))
    out = gdb(j("one.elf"), "info threads", "thread 3", "info registers x3 pc sp cpsr",
              "p/x $v1.d.u", f"x/2gx {IPA + page * 4096:#x}", f"x/gx {IPA + zero * 4096:#x}")
    check(len(re.findall(r"LWP \d", out)) >= 3 and "LWP 3" in out, f"gdb threads: {out}")
    check(re.search(rf"x3\s+0x{x_reg(2, 3, 9):x}\b", out), f"gdb x3 of thread 3: {out}")
    check(re.search(rf"pc\s+0x{IPA + 0x1200:x}\b", out), f"gdb pc: {out}")
    check(re.search(rf"sp\s+0x{IPA + (4 << 20) - 0x20000 - 0x10:x}\b", out), f"gdb sp: {out}")
    check(re.search(r"cpsr\s+0x3c5\b", out), f"gdb cpsr: {out}")
    check(re.search(r"\{0x900020001, 0xf00d000000000001\}", out), f"gdb v1: {out}")
    first = int.from_bytes(raw[page * 4096:page * 4096 + 8], "little")
    check(first == IPA + page * 4096, "synthetic page marker")
    check(re.search(rf"0x{IPA + page * 4096:x}:\s+0x{first:016x}", out), f"gdb x/2gx: {out}")
    check(re.search(rf"0x{IPA + zero * 4096:x}:\s+0x0+\b", out), f"gdb zero page: {out}")
    out = gdb(j("one.elf"), "thread 1", "p/x $x0")
    check(f"0x{x_reg(0, 0, 9):x}" in out, f"gdb thread 1 x0: {out}")

    # damage: the manifest of "one", then the superblock slot not in use
    shutil.copy(disk, j("bad.img"))
    flip(j("bad.img"), int(mb.group(1)) * 4096 + int(m.group(1)) // 2)
    out = run("verify", j("bad.img"), "one", rc=1)
    check("FAILED" in out and "checksum" in out, f"verify of a damaged manifest: {out}")
    run("verify", j("bad.img"), "two")
    shutil.copy(disk, j("bad2.img"))
    flip(j("bad2.img"), 0 * 4096 + 100)  # slot 0 holds generation 3
    out = run("verify", j("bad2.img"), "one", rc=2)
    check("slot 0 is damaged" in out and "verify one: good" in out, f"verify, bad slot: {out}")

    run("delete", disk, "two")
    out = run("list", disk)
    check("1 snapshot," in out and "two" not in out, f"list after delete: {out}")
    run("delete", disk, "two", rc=1)
    out = subprocess.run([os.path.join(os.path.dirname(__file__), "../../tools/snaptool"),
                          "--help"], capture_output=True, text=True).stdout
    check("snaptool COMMAND" in out, "tools/snaptool wrapper")
    shutil.rmtree(tmp)
    print("snaptool: %s" % ("FAILED" if fails else "all checks passed"))
    sys.exit(1 if fails else 0)


main()
