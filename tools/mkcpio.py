#!/usr/bin/env python3
"""Writes a newc ("070701") cpio archive, as the Linux initramfs unpacker reads
it, from a small description file. No cpio tool and no root are needed, so the
archive can hold device nodes and root-owned files built by any user.

Usage: mkcpio.py [--gzip] OUTPUT SPEC      (SPEC "-" reads standard input)

SPEC has one entry a line; blank lines and lines starting with # are skipped.
Paths are absolute archive paths; every parent directory must be listed
before anything inside it. Modes are octal permission bits. Owner is 0:0.

    dir   PATH MODE
    file  PATH MODE SOURCE          (SOURCE: a host file; the rest of the line)
    slink PATH TARGET
    nod   PATH MODE c|b MAJOR MINOR

The output is gzip-compressed with --gzip or when OUTPUT ends in .gz. It is
reproducible: inode numbers are assigned in order and every timestamp is
SOURCE_DATE_EPOCH (0 when unset).
"""

import gzip
import os
import stat
import sys

MAGIC = b"070701"
TRAILER = "TRAILER!!!"


class SpecError(Exception):
    pass


def pad4(n):
    return (4 - n % 4) % 4


class Writer:
    def __init__(self, out, mtime):
        self.out = out
        self.mtime = mtime
        self.ino = 0

    def entry(self, name, mode, data=b"", nlink=1, rdev=(0, 0)):
        self.ino += 1
        raw_name = name.encode() + b"\0"
        fields = (
            self.ino, mode, 0, 0, nlink, self.mtime, len(data),
            0, 0, rdev[0], rdev[1], len(raw_name), 0,
        )
        for f in fields:
            if not 0 <= f <= 0xFFFFFFFF:
                raise SpecError(f"{name}: header field out of range: {f}")
        hdr = MAGIC + b"".join(b"%08X" % f for f in fields)
        assert len(hdr) == 110
        self.out.write(hdr + raw_name + b"\0" * pad4(len(hdr) + len(raw_name)))
        self.out.write(data + b"\0" * pad4(len(data)))

    def trailer(self):
        # The trailer takes inode 0 like GNU cpio's, not a fresh number.
        self.ino = -1
        self.entry(TRAILER, 0)


def parse_mode(text, where):
    try:
        mode = int(text, 8)
    except ValueError:
        raise SpecError(f"{where}: bad mode {text!r}") from None
    if mode & ~0o7777:
        raise SpecError(f"{where}: mode {text} has more than permission bits")
    return mode


def parse_int(text, where, what):
    try:
        value = int(text, 0)
    except ValueError:
        raise SpecError(f"{where}: bad {what} {text!r}") from None
    if value < 0:
        raise SpecError(f"{where}: negative {what}")
    return value


def read_spec(lines, origin):
    """Yields (where, kind, archive_name, args) for each entry."""
    for lineno, line in enumerate(lines, 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "file":  # SOURCE, the last field, may hold spaces
            words = line.strip().split(None, 3)
        where = f"{origin}:{lineno}"
        kind, args = words[0], words[1:]
        want = {"dir": 2, "file": 3, "slink": 2, "nod": 5}.get(kind)
        if want is None:
            raise SpecError(f"{where}: unknown entry type {kind!r}")
        if len(args) != want:
            raise SpecError(f"{where}: {kind} takes {want} fields, got {len(args)}")
        path = args[0]
        if not path.startswith("/") or path == "/":
            raise SpecError(f"{where}: path must be absolute and not /: {path!r}")
        parts = path.strip("/").split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise SpecError(f"{where}: path not normalised: {path!r}")
        yield where, kind, "/".join(parts), args[1:]


def build(spec_lines, origin, out, mtime):
    w = Writer(out, mtime)
    dirs, seen = {""}, set()
    for where, kind, name, args in read_spec(spec_lines, origin):
        if name in seen:
            raise SpecError(f"{where}: /{name} listed twice")
        parent = name.rpartition("/")[0]
        if parent not in dirs:
            raise SpecError(f"{where}: parent directory /{parent} not listed before /{name}")
        seen.add(name)
        if kind == "dir":
            dirs.add(name)
            w.entry(name, stat.S_IFDIR | parse_mode(args[0], where), nlink=2)
        elif kind == "file":
            mode = parse_mode(args[0], where)
            try:
                with open(args[1], "rb") as f:
                    data = f.read()
            except OSError as e:
                raise SpecError(f"{where}: {e}") from None
            w.entry(name, stat.S_IFREG | mode, data)
        elif kind == "slink":
            w.entry(name, stat.S_IFLNK | 0o777, args[0].encode())
        else:  # nod
            mode = parse_mode(args[0], where)
            if args[1] not in ("c", "b"):
                raise SpecError(f"{where}: device type must be c or b, not {args[1]!r}")
            ftype = stat.S_IFCHR if args[1] == "c" else stat.S_IFBLK
            rdev = (parse_int(args[2], where, "major"), parse_int(args[3], where, "minor"))
            w.entry(name, ftype | mode, rdev=rdev)
    w.trailer()


def main(argv):
    compress = False
    if argv and argv[0] == "--gzip":
        compress, argv = True, argv[1:]
    if len(argv) != 2 or argv[0].startswith("-"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    output, spec = argv
    compress = compress or output.endswith(".gz")
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH") or 0)
    try:
        if spec == "-":
            lines, origin = sys.stdin.read().splitlines(), "<stdin>"
        else:
            with open(spec, encoding="utf-8") as f:
                lines, origin = f.read().splitlines(), spec
        with open(output, "wb") as raw:
            if compress:
                # mtime=0 and no file name keep the gzip header reproducible.
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                   compresslevel=9, mtime=0) as gz:
                    build(lines, origin, gz, mtime)
            else:
                build(lines, origin, raw, mtime)
    except (SpecError, OSError) as e:
        print(f"mkcpio: error: {e}", file=sys.stderr)
        try:
            os.unlink(output)
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
