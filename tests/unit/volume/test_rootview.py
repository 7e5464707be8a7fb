"""cp's view of a container: symlinks resolve inside the root, never to the host's files."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator

import pytest

from cove.engine.fs.archive import go_file_mode, top_name
from cove.engine.fs.archive_paths import RootView, ViewMount, split
from cove.engine.fs.archive_tar import Extractor, tar_view
from cove.errors import Forbidden, InvalidArgument


@pytest.fixture
def world(tmp_path: str) -> Iterator[tuple[str, str, str]]:
    """(rootfs, a volume source, a host directory with a secret)."""
    base = str(tmp_path)
    root, vol, host = (os.path.join(base, n) for n in ("root", "vol", "host"))
    for d in (root, vol, host, os.path.join(root, "etc"), os.path.join(root, "d")):
        os.makedirs(d)
    with open(os.path.join(host, "secret"), "w") as f:
        f.write("HOST")
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0::/root:/bin/sh\n")
    with open(os.path.join(vol, "v.txt"), "w") as f:
        f.write("vol")
    os.symlink(host, os.path.join(root, "abs"))  # absolute: the container's /<host>
    os.symlink("../../../../../../../../" + host.lstrip("/"), os.path.join(root, "up"))
    os.symlink("/", os.path.join(root, "d", "root"))
    os.symlink("/etc/passwd", os.path.join(root, "pw"))
    yield root, vol, host


def _view(root: str, vol: str, ro: bool = False) -> tuple[RootView, int]:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    return RootView(fd, [ViewMount("/data", vol, ro)]), fd


def test_symlinks_stay_inside(world: tuple[str, str, str]) -> None:
    root, vol, host = world
    view, fd = _view(root, vol)
    try:
        for path in ("/abs/secret", "/up/secret", f"/d/root{host}/secret", "/../../" + host):
            comps = view.resolve(path)
            assert not view.exists(comps), path  # the container has no such file
        assert view.resolve("/pw") == ["etc", "passwd"]
        assert view.resolve("/pw", follow=False) == ["pw"]
        assert view.resolve("/d/root/etc/../etc/passwd") == ["etc", "passwd"]
        assert view.read_text(view.resolve("/data/v.txt")) == "vol"
    finally:
        os.close(fd)


def test_symlink_loop_is_refused(world: tuple[str, str, str]) -> None:
    root, vol, _ = world
    os.symlink("/loop", os.path.join(root, "loop"))
    view, fd = _view(root, vol)
    try:
        with pytest.raises(InvalidArgument, match="too many levels"):
            view.resolve("/loop/x")
    finally:
        os.close(fd)


def _tar(*entries: tarfile.TarInfo, data: bytes = b"x") -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for e in entries:
            if e.isreg():
                e.size = len(data)
                tf.addfile(e, io.BytesIO(data))
            else:
                tf.addfile(e)
    buf.seek(0)
    return buf


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    t = tarfile.TarInfo(name)
    t.type, t.linkname, t.mode = kind, link, 0o644
    return t


def test_extract_cannot_escape(world: tuple[str, str, str]) -> None:
    root, vol, host = world
    view, fd = _view(root, vol)
    try:
        # through an absolute symlink: lands in the container's own path, never the host's
        Extractor(view, []).run(_tar(_entry("abs/planted")))
        assert not os.path.exists(os.path.join(host, "planted"))
        assert os.path.exists(os.path.join(root, host.lstrip("/"), "planted"))
        # a symlink made by the archive itself, then a write through it
        Extractor(view, []).run(_tar(_entry("esc", tarfile.SYMTYPE, host), _entry("esc/planted2")))
        assert not os.path.exists(os.path.join(host, "planted2"))
        with pytest.raises(InvalidArgument, match="leads outside"):
            Extractor(view, []).run(_tar(_entry("../../x")))
        with pytest.raises(InvalidArgument, match="device node"):
            Extractor(view, []).run(_tar(_entry("dev0", tarfile.CHRTYPE)))
        with pytest.raises(InvalidArgument, match="invalid hard link"):
            Extractor(view, ["etc"]).run(_tar(_entry("h", tarfile.LNKTYPE, "nosuch")))
        Extractor(view, []).run(_tar(_entry("data/in-volume")))
        assert os.path.exists(os.path.join(vol, "in-volume"))
        assert not os.path.exists(os.path.join(root, "data", "in-volume"))
        with open(os.path.join(host, "secret")) as f:
            assert f.read() == "HOST"
    finally:
        os.close(fd)


def test_read_only_mount_is_refused(world: tuple[str, str, str]) -> None:
    root, vol, _ = world
    view, fd = _view(root, vol, ro=True)
    try:
        with pytest.raises(Forbidden, match="mounted volume is marked read-only"):
            Extractor(view, ["data"]).run(_tar(_entry("f")))
        ro_root = RootView(fd, [], ro_root=True)
        with pytest.raises(Forbidden, match="container rootfs is marked read-only"):
            Extractor(ro_root, []).run(_tar(_entry("f")))
    finally:
        os.close(fd)


def test_tar_view_follows_mounts_not_links(world: tuple[str, str, str]) -> None:
    root, vol, _ = world
    os.mkfifo(os.path.join(root, "fifo"))  # must be archived, never opened
    view, fd = _view(root, vol)
    try:
        raw = b"".join(tar_view(view, [], "."))
        names = tarfile.open(fileobj=io.BytesIO(raw)).getnames()  # noqa: SIM115
        assert "./data/v.txt" in names and "./fifo" in names
        assert not any("secret" in n for n in names)
        raw = b"".join(tar_view(view, view.resolve("/pw", follow=False), "pw"))
        (m,) = tarfile.open(fileobj=io.BytesIO(raw)).getmembers()  # noqa: SIM115
        assert m.issym() and m.linkname == "/etc/passwd"
    finally:
        os.close(fd)


def test_small_helpers() -> None:
    assert go_file_mode(0o40755) == (1 << 31) | 0o755
    assert go_file_mode(0o120777) == (1 << 27) | 0o777
    assert go_file_mode(0o104755) == (1 << 23) | 0o755
    assert top_name("/data/.") == "." and top_name("/a/b/") == "b" and top_name("/") == "/"
    assert split("//a/./b/") == ["a", ".", "b"]
