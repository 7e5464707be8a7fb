"""The content store: immutable blobs named by their sha256 digest.

Contract: a blob becomes visible under its digest only after its bytes were written to the
ingest area, fsynced and verified against the digest (and size, when one was given); a crash
or a bad digest leaves nothing but a temp file that ``gc_ingest`` removes.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol


class BlobWriter(Protocol):
    def write(self, data: bytes) -> None: ...

    def digest(self) -> str:
        """The digest of the bytes written so far."""
        ...

    def commit(self, expected: str | None = None, size: int | None = None) -> str:
        """Verify, fsync and publish; returns the digest.  A mismatch raises InvalidArgument
        ("digest mismatch ...") and discards the data."""
        ...

    def abort(self) -> None: ...


class BlobProvider(Protocol):
    """The read side, which most callers take."""

    def has(self, digest: str) -> bool: ...

    def open(self, digest: str) -> BinaryIO:
        """Raises NotFound when absent."""
        ...

    def path(self, digest: str) -> str: ...

    def size(self, digest: str) -> int: ...

    def read(self, digest: str) -> bytes: ...


class BlobStore(BlobProvider, Protocol):
    def writer(self) -> BlobWriter: ...

    def put(self, data: bytes, expected: str | None = None) -> str: ...

    def delete(self, digest: str) -> None: ...

    def list(self) -> list[str]: ...

    def gc_ingest(self) -> int:
        """Remove leftovers of interrupted writes; returns how many."""
        ...
