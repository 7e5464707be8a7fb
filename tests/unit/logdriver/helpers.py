"""What the reader tests share."""

from __future__ import annotations

import time
from collections.abc import Callable

from cove.logdriver.reader import LogReader


def wait_for(cond: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``cond`` until it is true; fail the test after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def read_all(path: str, **kw: object) -> bytes:
    """Everything a reader gives, its streams' bytes joined."""
    r = LogReader(path, **kw)  # type: ignore[arg-type]
    out = b""
    while (chunks := r.step()) is not None:
        out += b"".join(data for _s, data in chunks)
    r.close()
    return out
