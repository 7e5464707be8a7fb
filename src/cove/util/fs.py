"""Crash-safe file writes: temp file, fsync, rename, so readers never see half a file."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any


def atomic_write(path: str, data: bytes, mode: int = 0o644, sync: bool = True) -> None:
    """Replace ``path`` with ``data``; after a crash the old or the new content is there."""
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if sync:
        fsync_dir(d)


def atomic_write_json(path: str, obj: Any, mode: int = 0o644, sync: bool = True) -> None:
    atomic_write(path, json.dumps(obj, separators=(",", ":")).encode(), mode, sync)


def read_json(path: str) -> Any:
    with open(path, "rb") as f:
        return json.loads(f.read())


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def makedirs(path: str, mode: int = 0o755) -> str:
    os.makedirs(path, mode=mode, exist_ok=True)
    return path
