from __future__ import annotations

import io
import os
import tarfile

import pytest

from cove.build.context import BuildContext
from cove.errors import InvalidArgument


def _tree(tmp_path: str) -> BuildContext:
    root = os.path.join(tmp_path, "ctx")
    os.makedirs(os.path.join(root, "src/sub"))
    for rel in ("Dockerfile", "a.txt", "b.txt", "src/x.py", "src/sub/y.py", "skip.log"):
        with open(os.path.join(root, rel), "w") as f:
            f.write(rel)
    with open(os.path.join(root, ".dockerignore"), "w") as f:
        f.write("*.log\n")
    os.symlink("/etc/passwd", os.path.join(root, "out"))
    os.symlink("src", os.path.join(root, "in"))
    os.symlink("../..", os.path.join(root, "src/up"))
    return BuildContext(root)


def test_resolve_stays_inside(tmp_path: str) -> None:
    c = _tree(str(tmp_path))
    assert c.resolve("in/x.py") == os.path.join(c.root, "src/x.py")
    for bad in ("../x", "out", "src/up/etc", "src/../../x"):
        with pytest.raises(InvalidArgument, match="outside the build context"):
            c.resolve(bad)


def test_glob_and_walk_honour_dockerignore(tmp_path: str) -> None:
    c = _tree(str(tmp_path))
    assert c.glob("*.txt") == ["a.txt", "b.txt"]
    assert c.glob("*.log") == []
    assert c.glob("src/*.py") == ["src/x.py"]
    names = [r for r, _, _ in c.walk("src")]
    assert names == ["src/sub", "src/sub/y.py", "src/up", "src/x.py"]


def test_from_tar_and_bare_dockerfile(tmp_path: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        data = b"FROM busybox\n"
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    buf.seek(0)
    c = BuildContext.from_tar(buf, str(tmp_path))
    try:
        assert c.read_dockerfile() == "FROM busybox\n"
    finally:
        c.close()
    assert not os.path.exists(c.root)
    c = BuildContext.from_tar(io.BytesIO(b"FROM scratch\n"), str(tmp_path))
    try:
        assert c.read_dockerfile() == "FROM scratch\n"
    finally:
        c.close()


def test_tar_entries_climbing_out_are_refused(tmp_path: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("../evil")
        tf.addfile(info, io.BytesIO(b""))
    buf.seek(0)
    with pytest.raises(InvalidArgument):
        BuildContext.from_tar(buf, str(tmp_path))
    assert os.listdir(str(tmp_path)) == []
