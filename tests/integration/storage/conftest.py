"""Fixtures of the storage tests (real mounts, root)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cove.snapshot import mount as mounter


@pytest.fixture
def root() -> Iterator[Path]:
    """A data root on a real disk (not tmpfs), checked afterwards for leftover mounts."""
    d = Path(tempfile.mkdtemp(prefix="cove-storage-test-", dir="/var/tmp"))
    try:
        yield d
        left = mounter.mounts_under(str(d))
        for m in sorted(left, reverse=True):
            mounter.unmount(m)
        assert left == [], f"mounts left behind: {left}"
    finally:
        shutil.rmtree(d, ignore_errors=True)
