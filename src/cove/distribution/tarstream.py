"""A lean reader of an uncompressed tar stream, for archives of large layer blobs.

``tarfile``'s stream mode copies every byte through its own buffers in record-sized
pieces; for a ``load`` that is most of the time spent.  Here headers are parsed with
``tarfile.TarInfo.frombuf`` (ustar, GNU and the PAX records for long names and sizes) and
member data goes from the stream into one reusable buffer, handed out as memoryviews.
Anything malformed raises ``tarfile.ReadError``; a short stream ``EOFError``.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

BLOCK = 512
_BUF = 1 << 20


def _pad(n: int) -> int:
    return -n % BLOCK


class TarStream:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.buf = bytearray(_BUF)
        self.left = 0  # data bytes of the current member not consumed yet
        self.padding = 0

    def _exact(self, n: int) -> bytes:
        data = self.stream.read(n)
        if len(data) != n:
            raise EOFError("unexpected end of data")
        return data

    def _skip_rest(self) -> None:
        while self.left:
            self.copy(lambda _v: None)
        if self.padding:
            self._exact(self.padding)
            self.padding = 0

    def _pax(self, data: bytes) -> dict[str, str]:
        out: dict[str, str] = {}
        pos = 0
        while pos < len(data):
            sp = data.find(b" ", pos)
            if sp < 0:
                break
            length = int(data[pos:sp])
            if length <= 0:
                raise tarfile.ReadError("invalid pax header")
            key, _, value = data[sp + 1 : pos + length - 1].partition(b"=")
            out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
            pos += length
        return out

    def __iter__(self) -> Iterator[tarfile.TarInfo]:
        pax: dict[str, str] = {}
        long_name = long_link = None
        while True:
            self._skip_rest()
            block = self.stream.read(BLOCK)
            if not block or block == b"\0" * BLOCK:
                return  # the end-of-archive marker (or a tar without one)
            if len(block) != BLOCK:
                raise EOFError("unexpected end of data")
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            if info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE):
                data = self._exact(info.size + _pad(info.size))[: info.size]
                if info.type != tarfile.XGLTYPE:
                    pax = self._pax(data)
                continue
            if info.type in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
                data = self._exact(info.size + _pad(info.size))[: info.size]
                text = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
                if info.type == tarfile.GNUTYPE_LONGNAME:
                    long_name = text
                else:
                    long_link = text
                continue
            if long_name is not None:
                info.name = long_name
            if long_link is not None:
                info.linkname = long_link
            if "path" in pax:
                info.name = pax["path"]
            if "linkpath" in pax:
                info.linkname = pax["linkpath"]
            if "size" in pax:
                info.size = int(pax["size"])
            pax, long_name, long_link = {}, None, None
            has_data = info.isreg() or info.type not in tarfile.SUPPORTED_TYPES
            self.left = info.size if has_data else 0
            self.padding = _pad(self.left)
            yield info

    def copy(self, sink: Callable[[memoryview], object]) -> int:
        """Pass the next piece (up to 1 MiB) of the current member's data to ``sink``;
        returns its length, 0 at the member's end."""
        if not self.left:
            return 0
        view = memoryview(self.buf)[: min(self.left, _BUF)]
        got = 0
        while got < len(view):
            n = self.stream.readinto(view[got:])  # type: ignore[attr-defined]
            if not n:
                raise EOFError("unexpected end of data")
            got += n
        self.left -= got
        sink(view)
        return got
