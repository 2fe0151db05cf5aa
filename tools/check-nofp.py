#!/usr/bin/env python3
"""Fails if EL2 code could touch a guest's FP/SIMD or SVE registers.

    check-nofp.py IMAGE.so
    check-nofp.py --self-test   (the scanner against code it must and must not flag)

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
import tempfile

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


def disassemble(path):
    objdump = os.environ.get("CROSS", "aarch64-linux-gnu-") + "objdump"
    return subprocess.run([objdump, "-d", "--no-show-raw-insn", path], check=True,
                          capture_output=True, text=True).stdout


# One function per kind of access that must be found, assembled for real so
# the parsing of objdump's output is tested too; then code that must pass.
SELF_TEST_BAD = {
    "t_vec": "add v0.16b, v1.16b, v31.16b", "t_q": "ldr q3, [x0]",
    "t_d": "fmov d4, x1", "t_s": "fmov w1, s5", "t_h": "ldr h6, [x0]",
    "t_b": "ldr b7, [x0, #1]", "t_lane": "mov x0, v9.d[1]", "t_ld1": "ld1 {v2.4s}, [x0]",
    "t_z": "ldr z8, [x0]", "t_p": "ldr p9, [x0]", "t_pz": "ptrue p15.b",
    "t_ffr": "rdffr p0.b", "t_setffr": "setffr", "t_fpsr": "mrs x0, fpsr",
    "t_fpcr": "msr fpcr, x3", "t_sme": "smstart",
}
SELF_TEST_GOOD = [
    "add x0, x1, x2", "ldp x29, x30, [sp], #16", "mrs x0, s3_4_c1_c2_0",
    "msr s3_0_c1_c2_0, x1", "rdvl x0, #1", "addvl x2, x1, #16", "dc zva, x0",
    "prfm pldl1keep, [x1]", "tbz w0, #3, 1f", "b.hs 1f", "cset w0, hi", "mov x0, #0xd0",
    "1: ret",
]
# objdump prints branch targets as bare hex, which can look like a register
SELF_TEST_LINES = """
0000000000000b00 <t_addr>:
     b04:	b	b10 <t_addr+0x10>
     b08:	bl	d8 <x>
     b0c:	adrp	x0, b0 <y>
     b10:	cbz	x1, d0 <t_addr+0x40>
     b14:	ldr	x2, b8 <z>
     b18:	tbnz	w3, #1, b18 <t_addr+0x18>
"""


def self_test():
    src = ".arch armv8.2-a+sve\n.arch_extension sme\n.text\n"
    for name, insn in SELF_TEST_BAD.items():
        src += f".globl {name}\n{name}:\n\t{insn}\n\tret\n"
    src += ".globl t_good\nt_good:\n" + "".join(f"\t{i}\n" for i in SELF_TEST_GOOD)
    src += ".globl fpsimd_save\nfpsimd_save:\n\tstp q0, q1, [x0]\n\tret\n"
    with tempfile.TemporaryDirectory() as d:
        obj = os.path.join(d, "t.o")
        gas = os.environ.get("CROSS", "aarch64-linux-gnu-") + "as"
        subprocess.run([gas, "-o", obj, "-"], input=src, text=True, check=True)
        found, seen = scan(disassemble(obj) + SELF_TEST_LINES)
    errors = [f"{n} ({i}) not flagged" for n, i in SELF_TEST_BAD.items() if n not in found]
    errors += [f"flagged wrongly: {line}" for f in ("t_good", "t_addr") for line in found.get(f, [])]
    if "fpsimd_save" not in found or "t_addr" not in seen:
        errors.append("the scan lost functions")
    for e in errors:
        print(f"check-nofp: self-test: {e}", file=sys.stderr)
    if not errors:
        print(f"check-nofp: self-test: {len(SELF_TEST_BAD)} kinds of access found, "
              f"{len(SELF_TEST_GOOD) + 6} general-register instructions passed")
    return 1 if errors else 0


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} IMAGE.so | --self-test", file=sys.stderr)
        return 2
    if argv[1] == "--self-test":
        return self_test()
    try:
        dis = disassemble(argv[1])
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
