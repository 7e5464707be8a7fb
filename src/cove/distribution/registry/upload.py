"""Blob uploads (distribution spec): monolithic PUT, or PATCH chunks then the closing PUT.

Small blobs go in one ``PUT ...?digest=``; larger ones as one or more ``PATCH`` requests
with ``Content-Range`` (``chunk_size`` bytes each; None = a single PATCH, as Docker sends
it) followed by a ``PUT`` with no body.  The registry verifies the digest when the upload is
closed; we compute it while compressing, so nothing is read twice.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import BinaryIO
from urllib.parse import urlencode, urljoin

from cove.distribution.registry.session import Session

MONOLITHIC_MAX = 16 << 20
_CHUNK = 1 << 20
_PIECE = 4 << 20


class Slice:
    """``length`` bytes of ``f`` from ``start``, read in big blocks, with a progress hook."""

    def __init__(
        self, f: BinaryIO, start: int, length: int, cb: Callable[[int], None] | None = None
    ) -> None:
        self._f = f
        self._start = start
        self._left = length
        self._length = length
        self._cb = cb
        self._done = start
        f.seek(start)

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if n < 0 else min(n, self._left)
        data = self._f.read(n)
        self._left -= len(data)
        self._done += len(data)
        if self._cb is not None:
            self._cb(self._done)
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        self._f.seek(self._start)
        self._left = self._length
        self._done = self._start
        return 0


def start(sess: Session, params: dict[str, str] | None = None) -> tuple[int, str]:
    """POST an upload; (status, Location).  201 means a mount (or monolithic POST) worked."""
    q = "?" + urlencode(params) if params else ""
    resp = sess.request("POST", "blobs/uploads/" + q, {"Content-Length": "0"}, b"", ok=(201, 202))
    resp.read()
    return resp.status, urljoin(sess.base + "/", resp.headers.get("Location", ""))


def _with_digest(location: str, digest: str) -> str:
    return location + ("&" if "?" in location else "?") + urlencode({"digest": digest})


def push_blob(
    sess: Session,
    f: BinaryIO,
    size: int,
    digest: str,
    cb: Callable[[int], None] | None = None,
    chunk_size: int | None = None,
    location: str | None = None,
) -> None:
    if location is None:
        _, location = start(sess)
    octet = {"Content-Type": "application/octet-stream"}
    if size <= MONOLITHIC_MAX and chunk_size is None:
        body = Slice(f, 0, size, cb)
        hdrs = {**octet, "Content-Length": str(size)}
        sess.request("PUT", _with_digest(location, digest), hdrs, body, ok=(201,)).read()  # type: ignore[arg-type]
        return
    step = chunk_size or size or 1
    offset = 0
    while offset < size:
        n = min(step, size - offset)
        hdrs = {
            **octet,
            "Content-Length": str(n),
            "Content-Range": f"{offset}-{offset + n - 1}",
        }
        body = Slice(f, offset, n, cb)
        resp = sess.request("PATCH", location, hdrs, body, ok=(202,))  # type: ignore[arg-type]
        resp.read()
        location = urljoin(location, resp.headers.get("Location", location))
        offset += n
    hdrs = {"Content-Length": "0", **octet}
    sess.request("PUT", _with_digest(location, digest), hdrs, b"", ok=(201,)).read()


def _member(piece: bytes) -> bytes:
    """One gzip member: deflate when a sample of the piece shrinks, else stored blocks.
    Incompressible data (already compressed files, random bytes) costs ten times more to
    deflate than to store and gains nothing; a per-piece choice keeps both cases fast."""
    sample = piece[:65536]
    level = 1 if len(zlib.compress(sample, 1)) < 0.95 * len(sample) else 0
    z = zlib.compressobj(level, zlib.DEFLATED, 31)
    return z.compress(piece) + z.flush()


def gzip_layer(src: BinaryIO, write: Callable[[bytes], None], workers: int = 2) -> int:
    """Compress ``src`` as a multi-member gzip stream (RFC 1952 allows any number of members;
    Go's, zlib's and Python's readers read them all), pieces compressed in parallel threads
    (zlib releases the GIL).  Deterministic: no names or times in the headers.  Returns the
    compressed size."""
    from concurrent.futures import Future, ThreadPoolExecutor

    size = 0
    pending: list[Future[bytes]] = []
    with ThreadPoolExecutor(max(1, workers)) as pool:
        while True:
            piece = src.read(_PIECE)
            if piece:
                pending.append(pool.submit(_member, piece))
            while pending and (len(pending) > workers * 2 or not piece):
                data = pending.pop(0).result()
                write(data)
                size += len(data)
            if not piece:
                break
    if size == 0:  # an empty layer still needs one member
        data = _member(b"")
        write(data)
        size = len(data)
    return size
