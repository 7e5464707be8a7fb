"""What the reader tests share."""

from __future__ import annotations

from cove.logdriver.reader import LogReader


def read_all(path: str, **kw: object) -> bytes:
    """Everything a reader gives, its streams' bytes joined."""
    r = LogReader(path, **kw)  # type: ignore[arg-type]
    out = b""
    while (chunks := r.step()) is not None:
        out += b"".join(data for _s, data in chunks)
    r.close()
    return out
