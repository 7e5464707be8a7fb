"""A content store on a local directory: ``root/blobs/sha256/<hex>`` plus ``root/ingest/``.

Contract: bytes are streamed to a temp file in ``ingest/`` while being hashed; ``commit``
fsyncs, checks the digest (and size, when given) and renames the file into ``blobs/``, so a
blob is visible only once it is complete and verified.  A crash or a mismatch leaves at most a
temp file in ``ingest/``, which ``gc_ingest`` removes.  Digests from callers are validated
before they become part of a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from typing import BinaryIO

from cove.errors import InvalidArgument, NotFound
from cove.oci.digest import hex_of, validate
from cove.util.fs import fsync_dir, makedirs

_CHUNK = 1 << 20


class LocalBlobWriter:
    """One ingest in progress; use ``commit`` or ``abort`` exactly once (or as a context
    manager, which aborts when the block did not commit)."""

    def __init__(self, store: LocalBlobStore) -> None:
        self._store = store
        fd, self._tmp = tempfile.mkstemp(dir=store.ingest_dir, prefix="ingest-")
        self._file = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self._size = 0
        self._done = False
        store._active.add(self._tmp)

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def digest(self) -> str:
        """The digest of the bytes written so far."""
        return "sha256:" + self._hash.hexdigest()

    def write(self, data: bytes) -> None:
        if self._done:
            raise InvalidArgument("blob writer already closed")
        self._file.write(data)
        self._hash.update(data)
        self._size += len(data)

    def copy_from(self, src: BinaryIO) -> int:
        """Stream all of ``src`` into the blob; returns the number of bytes copied."""
        n = 0
        while True:
            chunk = src.read(_CHUNK)
            if not chunk:
                return n
            self.write(chunk)
            n += len(chunk)

    def commit(self, expected: str | None = None, size: int | None = None) -> str:
        if self._done:
            raise InvalidArgument("blob writer already closed")
        actual = self.digest()
        try:
            if expected is not None and validate(expected) != actual:
                raise InvalidArgument(f"digest mismatch: expected {expected}, got {actual}")
            if size is not None and size != self._size:
                raise InvalidArgument(
                    f"digest mismatch: size of {expected or actual} is {self._size}, "
                    f"expected {size}"
                )
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.chmod(self._tmp, 0o444)
            final = self._store.path(actual)
            if os.path.exists(final):
                os.unlink(self._tmp)  # already stored: same bytes, nothing to publish
            else:
                os.replace(self._tmp, final)
                fsync_dir(os.path.dirname(final))
        except BaseException:
            self.abort()
            raise
        self._finish()
        return actual

    def abort(self) -> None:
        if self._done:
            return
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)
        self._finish()

    def _finish(self) -> None:
        self._done = True
        self._store._active.discard(self._tmp)

    def __enter__(self) -> LocalBlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


class LocalBlobStore:
    """Implements ``cove.store.base.BlobStore``; safe to share between threads."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.blob_dir = makedirs(os.path.join(root, "blobs", "sha256"))
        self.ingest_dir = makedirs(os.path.join(root, "ingest"), 0o700)
        self._active: set[str] = set()  # temp files of writers alive in this process
        self._lock = threading.Lock()

    # --- read side ------------------------------------------------------------------------
    def path(self, digest: str) -> str:
        return os.path.join(self.blob_dir, hex_of(digest))

    def has(self, digest: str) -> bool:
        return os.path.isfile(self.path(digest))

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def size(self, digest: str) -> int:
        try:
            return os.stat(self.path(digest)).st_size
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def read(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def list(self) -> list[str]:
        return sorted(
            "sha256:" + n
            for n in os.listdir(self.blob_dir)
            if len(n) == 64 and all(c in "0123456789abcdef" for c in n)
        )

    # --- write side -----------------------------------------------------------------------
    def writer(self) -> LocalBlobWriter:
        with self._lock:
            return LocalBlobWriter(self)

    def put(self, data: bytes, expected: str | None = None) -> str:
        w = self.writer()
        w.write(data)
        return w.commit(expected, len(data) if expected is not None else None)

    def put_stream(
        self, src: BinaryIO, expected: str | None = None, size: int | None = None
    ) -> str:
        """Store everything ``src`` yields; verified against ``expected``/``size`` if given."""
        w = self.writer()
        try:
            w.copy_from(src)
        except BaseException:
            w.abort()
            raise
        return w.commit(expected, size)

    def adopt(self, path: str, digest: str) -> str:
        """Publish the file ``path`` (same filesystem, no other links) as blob ``digest``.
        Only for a caller that computed ``digest`` itself over exactly these bytes while
        writing them, as ``LocalBlobWriter`` does: it saves copying a large layer twice."""
        final = self.path(digest)
        if os.path.exists(final):
            os.unlink(path)
            return digest
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(path, 0o444)
        os.replace(path, final)
        fsync_dir(os.path.dirname(final))
        return digest

    def delete(self, digest: str) -> None:
        """Remove a blob; a missing one is not an error (deletion is idempotent)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(digest))

    def gc_ingest(self) -> int:
        n = 0
        with self._lock:
            for name in os.listdir(self.ingest_dir):
                p = os.path.join(self.ingest_dir, name)
                if p in self._active:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(p)
                    n += 1
        return n
