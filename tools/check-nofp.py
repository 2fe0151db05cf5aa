#!/usr/bin/env python3
"""Fails if EL2 code could touch a guest's FP/SIMD or SVE registers.

    check-nofp.py IMAGE.so

A guest's V/Z/P/FFR registers, FPSR and FPCR stay live in the CPU while its
vCPU is loaded (kernel/vm/sched.c load/unload): every exit, interrupt,
shell command and lifecycle job on that CPU runs with them in place. So no
instruction in the linked image (our code, newlib, libfdt, zstd, libgcc)
may read or write one of those registers, except in the routines that
save and restore them. This disassembles the image and lists every
instruction naming a B/H/S/D/Q/V register, a Z or P register (or FFR,
ZA, ZT0), or FPSR/FPCR, outside ALLOWED. An allowed routine that is no
longer in the image fails too, so the list stays true.
"""
import os
import re
import subprocess
import sys

# The only code that moves FP/SIMD/SVE state: arch/arm64/fpsimd.S.
ALLOWED = {
    "fpsimd_save": "saves q0-q31, FPSR, FPCR into a vcpu_ctx",
    "fpsimd_load": "loads them from a vcpu_ctx",
    "sve_regs_save": "saves Z0-Z31, P0-P15, FFR into a vCPU's SVE area",
    "sve_regs_load": "loads them from the area",
}

REG = re.compile(
    r"(?<![\w.])("
    r"[bhsdqvz](?:[0-9]|[12][0-9]|3[01])"  # scalar FP, vector, SVE Z
    r"|pn?(?:[0-9]|1[0-5])"  # SVE predicates (and SVE2.1 predicate-as-counter)
    r"|ffr|za\w*|zt0|fpsr|fpcr|fpmr"
    r")(?![\w])",
    re.I,
)
# Instructions that touch SVE/SME state without naming a register.
MNEMONICS = {"setffr", "smstart", "smstop"}
# Mnemonics whose last operand is an address (printed as "hex <symbol>").
ADDRESSED = re.compile(r"^(b|bl|b\.\w+|bc\.\w+|cbn?z|tbn?z|adrp?|ldr|ldrsw|prfm)$")
FUNC = re.compile(r"^[0-9a-f]+ <(.+)>:$")
INSN = re.compile(r"^\s*[0-9a-f]+:\s+(\S+)\s*(.*)$")


def operands(mnemonic, rest):
    rest = rest.split("//")[0]
    rest = re.sub(r"\b[0-9a-f]+ <[^>]*>", "", rest)  # an address with its symbol
    if ADDRESSED.match(mnemonic) and not re.search(r"\[", rest):
        rest = rest.rsplit(",", 1)[0] if "," in rest else ""  # a bare address
    return rest


def scan(dis):
    found = {}  # function -> [instruction lines]
    seen = set()
    func = "?"
    for line in dis.splitlines():
        m = FUNC.match(line)
        if m:
            func = m.group(1)
            seen.add(func)
            continue
        m = INSN.match(line)
        if not m or m.group(1).startswith("."):
            continue
        mnemonic, rest = m.group(1).lower(), m.group(2)
        if mnemonic in MNEMONICS or REG.search(operands(mnemonic, rest)):
            found.setdefault(func, []).append(line.strip())
    return found, seen


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} IMAGE.so", file=sys.stderr)
        return 2
    objdump = os.environ.get("CROSS", "aarch64-linux-gnu-") + "objdump"
    try:
        dis = subprocess.run([objdump, "-d", "--no-show-raw-insn", argv[1]], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"check-nofp: cannot disassemble {argv[1]}: {e}", file=sys.stderr)
        return 1
    found, seen = scan(dis)
    if not seen:
        print(f"check-nofp: no functions in {argv[1]}", file=sys.stderr)
        return 1
    status = 0
    bad = {f: lines for f, lines in found.items() if f not in ALLOWED}
    if bad:
        n = sum(len(v) for v in bad.values())
        print(f"check-nofp: {argv[1]}: {n} instruction(s) in {len(bad)} function(s) use "
              "FP/SIMD/SVE registers, which hold a loaded guest's state at EL2:",
              file=sys.stderr)
        for f in sorted(bad):
            lines = bad[f]
            print(f"  {f}: {len(lines)}, e.g. {lines[0]}", file=sys.stderr)
        status = 1
    gone = sorted(set(ALLOWED) - seen)
    if gone:
        print(f"check-nofp: allowed routines not in the image (update ALLOWED): {gone}",
              file=sys.stderr)
        status = 1
    if status == 0:
        print(f"check-nofp: {argv[1]}: no FP/SIMD/SVE register use outside "
              f"{', '.join(sorted(ALLOWED))}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
