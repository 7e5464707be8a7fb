"""The opaque mark under its two names (archive/opaque.py)."""

from __future__ import annotations

import os

import pytest

from cove.archive import opaque


def test_user_name_when_trusted_is_refused(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = os.path.join(os.fspath(tmp_path), "d")
    os.mkdir(d)
    assert not opaque.is_opaque(d)
    real = os.setxattr

    def no_trusted(target: int, name: str, value: bytes) -> None:
        if name.startswith("trusted."):
            raise PermissionError(1, "Operation not permitted")
        real(target, name, value)

    monkeypatch.setattr(os, "setxattr", no_trusted)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        opaque.mark_opaque(fd)
    finally:
        os.close(fd)
    assert os.getxattr(d, "user.overlay.opaque") == b"y"
    assert opaque.is_opaque(d)
