"""The build context as a tar, written without ``tarfile`` (whose import pulls in lzma and
costs the CLI ~40 ms): ustar headers, PAX records for long names, regular files, directories
and symlinks, owned by root as docker's CLI sends them."""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

    from cove.util.dockerignore import Matcher

_BLOCK = 512


def _octal(n: int, width: int) -> bytes:
    return (b"%0*o" % (width - 1, n)) + b"\0"


def _header(name: bytes, mode: int, size: int, mtime: int, kind: bytes, link: bytes) -> bytes:
    h = bytearray(_BLOCK)
    h[0 : len(name[:100])] = name[:100]
    h[100:108] = _octal(mode & 0o7777, 8)
    h[108:116] = _octal(0, 8)
    h[116:124] = _octal(0, 8)
    h[124:136] = _octal(size, 12)
    h[136:148] = _octal(max(mtime, 0), 12)
    h[148:156] = b" " * 8
    h[156:157] = kind
    h[157 : 157 + len(link[:100])] = link[:100]
    h[257:265] = b"ustar\x0000"
    chk = sum(h)
    h[148:156] = b"%06o\0 " % chk
    return bytes(h)


def _pax(records: dict[str, bytes]) -> bytes:
    body = b""
    for key, value in records.items():
        core = b" " + key.encode() + b"=" + value + b"\n"
        n = len(core) + 1
        while len(str(n).encode() + core) != n:
            n += 1
        body += str(n).encode() + core
    head = _header(b"././@PaxHeader", 0o644, len(body), 0, b"x", b"")
    return head + body + b"\0" * (-len(body) % _BLOCK)


class TarWriter:
    def __init__(self, out: IO[bytes]) -> None:
        self.out = out

    def add(self, host: str, arcname: str, st: os.stat_result | None = None) -> None:
        st = st or os.lstat(host)
        name = arcname.encode("utf-8", "surrogateescape")
        mode, mtime = stat.S_IMODE(st.st_mode), int(st.st_mtime)
        link = b""
        if stat.S_ISDIR(st.st_mode):
            kind, size, name = b"5", 0, name.rstrip(b"/") + b"/"
        elif stat.S_ISLNK(st.st_mode):
            kind, size = b"2", 0
            link = os.readlink(host).encode("utf-8", "surrogateescape")
        elif stat.S_ISREG(st.st_mode):
            kind, size = b"0", st.st_size
        else:
            return  # devices, fifos and sockets do not travel
        pax: dict[str, bytes] = {}
        if len(name) > 100:
            pax["path"] = name
        if len(link) > 100:
            pax["linkpath"] = link
        if pax:
            self.out.write(_pax(pax))
        self.out.write(_header(name, mode, size, mtime, kind, link))
        if kind == b"0":
            self._copy(host, size)

    def add_bytes(self, arcname: str, data: bytes, mode: int = 0o600) -> None:
        name = arcname.encode()
        if len(name) > 100:
            self.out.write(_pax({"path": name}))
        self.out.write(_header(name, mode, len(data), 0, b"0", b""))
        self.out.write(data + b"\0" * (-len(data) % _BLOCK))

    def _copy(self, host: str, size: int) -> None:
        left = size
        with open(host, "rb") as f:
            while left > 0:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    break
                self.out.write(chunk)
                left -= len(chunk)
        if left > 0:  # the file shrank while we read it: pad to the size we announced
            self.out.write(b"\0" * left)
        self.out.write(b"\0" * (-size % _BLOCK))

    def close(self) -> None:
        self.out.write(b"\0" * (2 * _BLOCK))


def write_context(
    out: IO[bytes], root: str, matcher: Matcher, always: set[str], prefix: str = ""
) -> None:
    """Every path under ``root`` that ``.dockerignore`` keeps (and those in ``always``),
    named ``prefix`` + its path in the tar."""
    tw = TarWriter(out)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        keep = []
        for d in dirnames:
            r = f"{rel_dir}/{d}" if rel_dir else d
            full = os.path.join(dirpath, d)
            excluded = matcher.excluded(r)
            if excluded and not matcher.may_hold_exceptions(r):
                continue
            st = os.lstat(full)
            if not excluded:
                tw.add(full, prefix + r, st)
            if not stat.S_ISLNK(st.st_mode):
                keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            r = f"{rel_dir}/{name}" if rel_dir else name
            if matcher.excluded(r) and r not in always:
                continue
            tw.add(os.path.join(dirpath, name), prefix + r)
    return None


def finish(out: IO[bytes]) -> None:
    TarWriter(out).close()
