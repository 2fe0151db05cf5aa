#!/usr/bin/env python3
"""Dumps what QEMU's virt machine tells firmware-booted software about itself,
as test data for the host tests of the hardware description (tests/data/).

  qemu-virt.dtb        QEMU's device tree (-machine dumpdtb=), as AAVMF with
                       acpi=off and U-Boot hand it on
  acpi/APIC.bin, ...   every ACPI table AAVMF installs with acpi=on, as the
                       firmware left them in memory (checksums and pointers
                       patched), read by Linux from /sys/firmware/acpi/tables

The machine is the one tools/qemu.sh starts (virt, EL2, GICv3, SMMUv3, the
ESP as virtio-blk and one NVMe disk), with SMP CPUs (default 4) and 4 GiB.
Linux is the guest kit's (build/linux-guest) started by AAVMF through
-kernel; its shell prints each table in base64.

Usage: tools/dump-fw-tables.py OUTDIR     (run once; the output is checked in)
"""

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
KIT = TOP / "build" / "linux-guest"
MACHINE = "virt,virtualization=on,iommu=smmuv3,gic-version=3"


def qemu_args(run, acpi, smp):
    esp = run / "esp"
    (esp / "EFI" / "BOOT").mkdir(parents=True, exist_ok=True)
    disk = run / "nvme.img"
    with open(disk, "wb") as f:
        f.truncate(16 << 20)
    return [os.environ.get("QEMU", "qemu-system-aarch64"),
            "-M", f"{MACHINE},acpi={'on' if acpi else 'off'}",
            "-cpu", "max,pauth-impdef=on", "-smp", str(smp), "-m", "4G",
            "-drive", f"file=fat:rw:{esp},format=raw,if=none,id=esp",
            "-device", "virtio-blk-pci,drive=esp",
            "-drive", f"file={disk},format=raw,if=none,id=nvme0",
            "-device", "nvme,serial=tessera0,drive=nvme0",
            "-nic", "none", "-nographic"]


def dump_dtb(run, out, smp):
    args = qemu_args(run, False, smp)
    raw = run / "raw.dtb"
    args[2] += f",dumpdtb={raw}"
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL, capture_output=True)
    # QEMU pads the blob to 1 MiB; dtc writes the same tree without the padding
    subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dtb", "-o", str(out / "qemu-virt.dtb"),
                    str(raw)], check=True)


def read_until(proc, buf, pattern, timeout):
    end = time.monotonic() + timeout
    rx = re.compile(pattern)
    while not rx.search(buf[0]):
        if time.monotonic() > end or proc.poll() is not None:
            raise SystemExit(f"dump-fw-tables: no {pattern!r}; console:\n{buf[0][-3000:]}")
        chunk = os.read(proc.stdout.fileno(), 65536)
        buf[0] += chunk.decode("latin-1")
    return rx.search(buf[0])


def monitor(sock, command):
    """Runs one HMP command on QEMU's monitor socket; returns its output."""
    import socket

    def until_prompt(s):
        reply = b""
        while not reply.endswith(b"(qemu) "):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply.decode("latin-1")

    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(sock))
        until_prompt(s)  # the greeting
        s.sendall(command.encode() + b"\n")
        return until_prompt(s)


def dump_acpi(run, out, smp):
    (out / "acpi").mkdir(parents=True, exist_ok=True)
    vars_fd = run / "vars.fd"
    shutil.copyfile("/usr/share/AAVMF/AAVMF_VARS.fd", vars_fd)
    args = qemu_args(run, True, smp) + [
        "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd",
        "-drive", f"if=pflash,format=raw,unit=1,file={vars_fd}",
        "-kernel", str(KIT / "Image"), "-initrd", str(KIT / "initramfs.cpio.gz"),
        "-append", "console=ttyAMA0 guest.mode=shell quiet",
        "-monitor", f"unix:{run / 'mon'},server,nowait"]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    buf = [""]
    try:
        read_until(proc, buf, r"GUEST-LINUX-SHELL", 300)
        script = ("dmesg | grep 'ACPI: [A-Z]... 0x'; "
                  "cd /sys/firmware/acpi/tables; for t in *; do [ -f $t ] || continue; "
                  "echo BEGIN-$t; base64 $t; echo END-$t; done; echo ALL-DONE-$((40+2))\r")
        proc.stdin.write(script.encode())
        proc.stdin.flush()
        read_until(proc, buf, r"ALL-DONE-42", 120)
        text = buf[0].replace("\r", "")
        # RSDP and XSDT are not in sysfs: read them from guest memory
        located = re.findall(r"ACPI: (\w{4}) 0x([0-9A-F]+) ([0-9A-F]+)", text)
        for sig, addr, size in located:
            if sig in ("RSDP", "XSDT"):
                # quoted: HMP would read an unquoted /path as a division
                dest = out / "acpi" / f"{sig}.bin"
                monitor(run / "mon", f'pmemsave 0x{addr} 0x{size} "{dest}"')
    finally:
        proc.kill()
        proc.wait()
    acpi = out / "acpi"
    with open(acpi / "tables.txt", "w") as f:
        f.write("# signature, physical address, length: from Linux's boot log\n")
        for sig, addr, size in dict.fromkeys(located):
            f.write(f"{sig} 0x{int(addr, 16):x} {int(size, 16)}\n")
    for m in re.finditer(r"^BEGIN-(\w+)\n(.*?)^END-\1$", text, re.S | re.M):
        data = base64.b64decode("".join(m.group(2).split()))
        (acpi / f"{m.group(1)}.bin").write_bytes(data)
        print(f"dump-fw-tables: {m.group(1)}: {len(data)} bytes")


def main(argv):
    if len(argv) != 1:
        print(__doc__)
        return 2
    out = Path(argv[0]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    smp = int(os.environ.get("SMP", "4"))
    with tempfile.TemporaryDirectory() as tmp:
        dump_dtb(Path(tmp), out, smp)
        dump_acpi(Path(tmp), out, smp)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
