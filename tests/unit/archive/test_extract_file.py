"""Extraction from a plain file (offset copies) gives what extraction from a stream gives."""

from __future__ import annotations

import io
import os
from pathlib import Path

from cove.archive import extract_layer
from tests.unit.archive.tarhelp import build, directory, file, hardlink, symlink

LAYER = build(
    directory("d"), file("d/a", b"x" * 100_000, mode=0o640), hardlink("d/h", "d/a"),
    symlink("d/s", "a"), file("big", os.urandom(3 << 20)), file("empty", b""),
)  # fmt: skip


def _tree(root: Path) -> dict[str, tuple[int, bytes]]:
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        data = p.read_bytes() if p.is_file() and not p.is_symlink() else b""
        out[str(p.relative_to(root))] = (st.st_mode, data)
    return out


def test_file_and_stream_agree(tmp_path: Path) -> None:
    blob = tmp_path / "layer.tar"
    blob.write_bytes(LAYER)
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    with open(blob, "rb") as f:
        size_a = extract_layer(f, str(a))
    size_b = extract_layer(io.BytesIO(LAYER), str(b))
    assert size_a == size_b and _tree(a) == _tree(b)
    assert (a / "big").read_bytes() == (b / "big").read_bytes()


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    import pytest

    from cove.errors import InvalidArgument

    blob = tmp_path / "layer.tar"
    blob.write_bytes(LAYER[: len(LAYER) // 2])
    (tmp_path / "t").mkdir()
    with open(blob, "rb") as f, pytest.raises(InvalidArgument):
        extract_layer(f, str(tmp_path / "t"))
