"""Drives tessera under QEMU (tools/qemu.sh) for integration tests and benchmarks.

A Machine runs one QEMU in its own process group, with its own RUN_DIR and
NVMe image under build/test-run/<name>/, so machines can run in parallel.
A reader thread collects the serial console into a transcript (latin-1,
nothing stripped) that is also written to build/test-run/<name>/console.log.
expect() searches the transcript from a cursor that each match advances.
"""

import atexit
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
RUN_ROOT = TOP / "build" / "test-run"
QEMU_SH = TOP / "tools" / "qemu.sh"
EFI = TOP / "build" / "tessera.efi"
TEST_CONFIG = TOP / "configs" / "qemu-test.dts"
DEFAULT_CONFIG = TOP / "configs" / "qemu-default.dts"
PLAIN_CONFIG = TOP / "tests" / "qemu" / "configs" / "plain.dts"  # no partitions, no test commands
CONFIGS = TOP / "tests" / "qemu" / "configs"
PROMPT = "tessera> "
# What each firmware prints just before it starts an EFI application.
FIRMWARE_HANDOVER = {"aavmf": "BdsDxe: starting", "u-boot": "Booting /efi"}
# Output after which nothing more will come: expect() gives up at once.
FIRMWARE_EXCEPTION = r"Synchronous Exception at 0x[0-9A-Fa-f]+"
TAIL_LINES = 80


_live = set()  # started Machines not yet killed or exited
_live_lock = threading.Lock()


def kill_all():
    """Kills every running Machine (interrupts, exit of the test process)."""
    with _live_lock:
        machines = list(_live)
    for m in machines:
        m.kill()


atexit.register(kill_all)


def snapshot_efi():
    """Copies build/tessera.efi for a run, so that rebuilds during it do not
    mix binaries; returns the copy's path for Machine(efi=...)."""
    RUN_ROOT.mkdir(parents=True, exist_ok=True)
    copy = RUN_ROOT / "tessera.efi"
    shutil.copyfile(EFI, copy)
    return copy


def timeout_scale():
    """Multiplier for every timeout, from TESSERA_TEST_TIMEOUT_SCALE (slow hosts)."""
    return float(os.environ.get("TESSERA_TEST_TIMEOUT_SCALE", "1"))


def printable(line):
    """line with control characters (firmware escape sequences) shown as \\xNN."""
    return "".join(c if c.isprintable() or c == "\t" else f"\\x{ord(c):02x}" for c in line)


def last_lines(text, n=TAIL_LINES):
    """The last n lines of a transcript, safe to print to a terminal."""
    lines = [printable(line.rstrip("\r")) for line in text.split("\n")]
    return "\n".join(lines[-n:])


class TestFailure(Exception):
    """A failed check; tail holds the end of the console transcript."""

    def __init__(self, reason, tail=""):
        super().__init__(reason)
        self.reason = reason
        self.tail = tail


class Machine:
    """One QEMU running tessera. Use as a context manager: QEMU is always killed."""

    def __init__(self, name, smp=4, mem="4G", config=TEST_CONFIG, icount=False,
                 qemu_extra="", deadline=None, fatal=(FIRMWARE_EXCEPTION,), efi=None,
                 firmware=None, acpi=None, disk=None, esp_extra=""):
        self.name = name
        self.dir = RUN_ROOT / name
        self.log_path = self.dir / "console.log"
        self.env = dict(os.environ, SMP=str(smp), MEM=mem, CONFIG=str(config or ""),
                        RUN_DIR=str(self.dir / "run"),
                        # a disk given outside the run directory outlives it (restarts)
                        DISK=str(disk or self.dir / "nvme.img"),
                        ICOUNT=icount if isinstance(icount, str) else "1" if icount else "0",
                        QEMU_EXTRA=qemu_extra)
        # the files the configs name, as the Makefile lays them out
        self.env.setdefault("ESP_FILES", " ".join([
            "build/linux-guest/Image=tessera/linux/Image",
            "build/linux-guest/initramfs.cpio.gz=tessera/linux/initramfs.gz",
            "build/guests/tguest.elf=tessera/tguest.elf"]))
        if esp_extra:  # more "src=esp/path" pairs for this test's config
            self.env["ESP_FILES"] += " " + esp_extra
        if efi:  # default: build/tessera.efi as it is when QEMU starts
            self.env["EFI_IMAGE"] = str(efi)
        # None: what FIRMWARE / ACPI in the environment say (AAVMF with a DT)
        if firmware is not None:
            self.env["FIRMWARE"] = firmware
        if acpi is not None:
            self.env["ACPI"] = "1" if acpi else "0"
        self.firmware = self.env.get("FIRMWARE", "aavmf")
        self.acpi = self.env.get("ACPI", "0") == "1"
        self.deadline = deadline  # time.monotonic() value the whole test must end by
        self.fatal = [re.compile(f) for f in fatal]
        self.proc = None
        self._text = ""
        self._cursor = 0
        self._eof = False
        self._cond = threading.Condition()
        self._reader = None
        self._log = None

    # ---- lifetime ----

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self._log = open(self.log_path, "w", encoding="latin-1", newline="")
        self.proc = subprocess.Popen([str(QEMU_SH)], cwd=TOP, env=self.env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        with _live_lock:
            _live.add(self)
        self._reader = threading.Thread(target=self._read, name=f"reader-{self.name}",
                                        daemon=True)
        self._reader.start()
        return self

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            text = chunk.decode("latin-1")
            self._log.write(text)
            self._log.flush()
            with self._cond:
                self._text += text
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def kill(self):
        """Kills QEMU (and anything else in its process group) and reaps it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self._finish()

    def _finish(self):
        with _live_lock:
            _live.discard(self)
        if self._reader:
            self._reader.join(timeout=5)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        if self._log and not self._log.closed:
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        return False

    # ---- output ----

    def transcript(self):
        with self._cond:
            return self._text

    def tail(self):
        return last_lines(self.transcript())

    def fail(self, reason):
        raise TestFailure(reason, self.tail())

    def _limit(self, timeout):
        """timeout (scaled), cut short by the test's deadline; returns (secs, cut)."""
        secs = timeout * timeout_scale()
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left < secs:
                return max(left, 0), True
        return secs, False

    def expect(self, regex, timeout=30):
        """Waits for regex after the cursor; returns the match, moves the cursor past it."""
        pattern = re.compile(regex)
        secs, cut = self._limit(timeout)
        end = time.monotonic() + secs
        with self._cond:
            while True:
                m = pattern.search(self._text, self._cursor)
                if m:
                    self._cursor = m.end()
                    return m
                dead = self._fatal_match()
                if self._eof or dead:
                    break
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        if dead:
            self.fail(f"{dead.group(0)!r} while waiting for {regex!r}")
        if self._eof:
            self.proc.wait()
            self.fail(f"QEMU exited (status {self.proc.returncode}) "
                      f"while waiting for {regex!r}")
        what = "test timeout" if cut else f"timeout ({secs:.0f} s)"
        self.fail(f"{what} waiting for {regex!r}")

    def _fatal_match(self):
        for f in self.fatal:
            m = f.search(self._text)
            if m:
                return m
        return None

    def expect_silence(self, regex, seconds):
        """Fails if regex shows up after the cursor within seconds (not scaled)."""
        pattern = re.compile(regex)
        end = time.monotonic() + seconds
        with self._cond:
            while True:
                m = pattern.search(self._text, self._cursor)
                if m:
                    self.fail(f"unexpected {m.group(0)!r} within {seconds} s")
                left = end - time.monotonic()
                if left <= 0 or self._eof:
                    return
                self._cond.wait(left)

    def wait_prompt(self, timeout=90):
        """Waits for the shell prompt (the first one ends the boot)."""
        return self.expect(re.escape(PROMPT), timeout)

    # ---- input ----

    def send(self, line):
        """Types line and Enter (CR, as a terminal sends it)."""
        try:
            self.proc.stdin.write((line + "\r").encode("latin-1"))
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            self.fail(f"QEMU gone; cannot send {line!r}")

    def send_bytes(self, data):
        """Writes data to the console in one write, nothing added (a paste)."""
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            self.fail(f"QEMU gone; cannot send {len(data)} bytes")

    def command(self, line, timeout=30):
        """Sends line at a prompt; returns the output up to the next prompt."""
        start = self._cursor
        self.send(line)
        m = self.expect(re.escape(PROMPT), timeout)
        return self.transcript()[start:m.start()]

    def wait_exit(self, timeout=30):
        """Waits for QEMU to exit by itself; returns its exit status."""
        secs, cut = self._limit(timeout)
        try:
            code = self.proc.wait(secs)
        except subprocess.TimeoutExpired:
            what = "test timeout" if cut else f"QEMU still running after {secs:.0f} s"
            self.fail(f"{what} waiting for exit")
        self._finish()
        return code
