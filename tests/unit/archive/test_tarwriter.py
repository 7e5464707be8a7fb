from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from cove.archive.extract import extract_layer
from cove.archive.tarwriter import tar_directory, tar_stream

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def _tree(p: Path) -> None:
    (p / "etc").mkdir(parents=True)
    (p / "etc/hosts").write_bytes(b"127.0.0.1 localhost\n")
    os.chmod(p / "etc/hosts", 0o600)
    (p / "bin").mkdir()
    (p / "bin/sh").write_bytes(b"#!" * 1000)
    os.link(p / "bin/sh", p / "bin/ash")
    os.symlink("sh", p / "bin/bash")
    os.mkfifo(p / "fifo")
    os.setxattr(p / "etc/hosts", "user.k", b"v")


def test_roundtrip(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    _tree(src)
    dst.mkdir()
    data = b"".join(tar_directory(str(src), chunk=512))
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        names = tf.getnames()
    assert names == sorted(names, key=lambda n: n.split("/")) and "bin/ash" in names
    extract_layer(io.BytesIO(data), str(dst))
    assert (dst / "etc/hosts").read_bytes() == b"127.0.0.1 localhost\n"
    assert stat.S_IMODE(os.stat(dst / "etc/hosts").st_mode) == 0o600
    assert os.getxattr(dst / "etc/hosts", "user.k") == b"v"
    assert os.stat(dst / "bin/sh").st_ino == os.stat(dst / "bin/ash").st_ino
    assert os.readlink(dst / "bin/bash") == "sh"
    assert stat.S_ISFIFO(os.lstat(dst / "fifo").st_mode)


def test_stream_reads_like_a_file(tmp_path: Path) -> None:
    _tree(tmp_path / "src")
    whole = b"".join(tar_directory(str(tmp_path / "src")))
    assert tar_stream(str(tmp_path / "src")).read() == whole


@root_only
def test_overlay_upper_becomes_whiteouts(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "opt").mkdir(parents=True)
    os.setxattr(upper / "opt", "trusted.overlay.opaque", b"y")
    (upper / "opt/new").write_bytes(b"n")
    os.mknod(upper / "gone", stat.S_IFCHR, os.makedev(0, 0))
    with tarfile.open(fileobj=io.BytesIO(b"".join(tar_directory(str(upper), "overlay")))) as tf:
        names = tf.getnames()
    assert names == [".wh.gone", "opt", "opt/.wh..wh..opq", "opt/new"]
