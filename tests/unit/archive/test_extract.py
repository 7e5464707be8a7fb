from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from cove.archive.extract import extract_layer
from cove.errors import InvalidArgument
from tests.unit.archive.tarhelp import (
    build,
    device,
    directory,
    fifo,
    file,
    hardlink,
    opaque,
    symlink,
    whiteout,
)

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    target, outside = tmp_path / "target", tmp_path / "outside"
    target.mkdir()
    outside.mkdir()
    return target, outside


def _extract(data: bytes, target: Path, mode: str = "delete") -> int:
    return extract_layer(io.BytesIO(data), str(target), mode)  # type: ignore[arg-type]


def test_regular_content_and_metadata(dirs: tuple[Path, Path]) -> None:
    target, _ = dirs
    size = _extract(
        build(
            directory("etc", 0o750),
            file("etc/hosts", b"127.0.0.1 localhost\n", 0o640, mtime=1_500_000_000),
            file("usr/bin/tool", b"#!", 0o4755),  # implicit parents
            symlink("bin", "usr/bin"),
            hardlink("usr/bin/tool2", "usr/bin/tool"),
            fifo("run/fifo", 0o600),
        ),
        target,
    )
    assert size == 20 + 2 + len("usr/bin")  # a symlink counts its target, as dockerd's
    st = os.stat(target / "etc/hosts")
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_mtime == 1_500_000_000
    assert stat.S_IMODE(os.stat(target / "etc").st_mode) == 0o750
    assert os.stat(target / "etc").st_mtime == 1_600_000_000  # set after its children
    assert os.readlink(target / "bin") == "usr/bin"
    assert os.stat(target / "usr/bin/tool").st_ino == os.stat(target / "usr/bin/tool2").st_ino
    assert stat.S_ISFIFO(os.lstat(target / "run/fifo").st_mode)
    assert stat.S_IMODE(os.stat(target / "usr/bin/tool").st_mode) == 0o4755


@root_only
def test_owners_devices_and_xattrs(dirs: tuple[Path, Path]) -> None:
    target, _ = dirs
    _extract(
        build(
            file("home/u/f", b"x", uid=1000, gid=1001, xattrs={"user.note": b"\xffhi"}),
            device("dev/null", 1, 3),
            device("dev/loop9", 7, 9, block=True, mode=0o660),
            file("evil", b"", xattrs={"trusted.overlay.redirect": b"/etc"}),
        ),
        target,
    )
    st = os.stat(target / "home/u/f")
    assert (st.st_uid, st.st_gid) == (1000, 1001)
    assert os.getxattr(target / "home/u/f", "user.note") == b"\xffhi"
    st = os.lstat(target / "dev/null")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert stat.S_ISBLK(os.lstat(target / "dev/loop9").st_mode)
    assert "trusted.overlay.redirect" not in os.listxattr(target / "evil")


def test_dotdot_is_refused(dirs: tuple[Path, Path]) -> None:
    target, outside = dirs
    for name in ("../outside/x", "a/../../outside/x", ".."):
        with pytest.raises(InvalidArgument):
            _extract(build(file(name, b"pwned")), target)
    assert list(outside.iterdir()) == []


def test_absolute_names_land_inside(dirs: tuple[Path, Path]) -> None:
    target, outside = dirs
    _extract(build(file(str(outside / "abs"), b"in"), file("/../up", b"in")), target)
    assert (target / str(outside / "abs").lstrip("/")).read_bytes() == b"in"
    assert (target / "up").read_bytes() == b"in"
    assert list(outside.iterdir()) == []


def test_no_write_through_symlink(dirs: tuple[Path, Path]) -> None:
    target, outside = dirs
    rel_outside = str(outside).lstrip("/")
    hostile = [
        (symlink("link", "/"), file(f"link/{rel_outside}/pwned", b"x")),
        (symlink("link", str(outside)), file("link/pwned", b"x")),
        (symlink("link", "../outside"), file("link/pwned", b"x")),
        (symlink("link", "../outside"), directory("link/sub")),
        (symlink("link", "../outside"), whiteout("link/keep")),
        (symlink("link", "../outside"), opaque("link")),
    ]
    (outside / "keep").write_bytes(b"precious")
    for mode in ("delete", "overlay"):
        for entries in hostile:
            t = target / f"{mode}-{len(list(target.iterdir()))}"
            t.mkdir()
            try:
                _extract(build(*entries), t, mode)
            except InvalidArgument:
                pass
    assert sorted(p.name for p in outside.iterdir()) == ["keep"]
    assert (outside / "keep").read_bytes() == b"precious"
    assert os.listxattr(outside) == []


def test_hostile_hardlinks(dirs: tuple[Path, Path]) -> None:
    target, outside = dirs
    (outside / "secret").write_bytes(b"s")
    for t in ("../outside/secret", str(outside / "secret"), "missing"):
        with pytest.raises(InvalidArgument):
            _extract(build(hardlink("h", t)), target)
    with pytest.raises(InvalidArgument):  # through a symlink pointing out
        _extract(build(symlink("l", str(outside)), hardlink("h", "l/secret")), target)
    assert os.stat(outside / "secret").st_nlink == 1


def test_symlink_target_replaced_by_directory(dirs: tuple[Path, Path]) -> None:
    target, outside = dirs
    _extract(build(symlink("d", str(outside)), directory("d"), file("d/f", b"1")), target)
    assert (target / "d").is_dir() and not (target / "d").is_symlink()
    assert list(outside.iterdir()) == []


def test_replacing_entries(dirs: tuple[Path, Path]) -> None:
    target, _ = dirs
    _extract(build(file("a", b"1"), directory("b"), file("b/x", b"2")), target)
    _extract(build(symlink("a", "b"), file("b", b"now a file"), directory("c")), target)
    assert os.readlink(target / "a") == "b"
    assert (target / "b").read_bytes() == b"now a file"


def test_whiteouts_delete_mode(dirs: tuple[Path, Path]) -> None:
    target, _ = dirs
    _extract(
        build(
            file("etc/a", b"a"),
            file("etc/b", b"b"),
            file("opt/old/x", b"x"),
            file("opt/keep", b"k"),
            file("var/old", b"o"),
        ),
        target,
    )
    _extract(
        build(
            whiteout("etc/a"),
            whiteout("missing/nothing"),
            opaque("opt"),  # before this layer's own content of opt/
            file("opt/new", b"n"),
            directory("var"),
            file("var/new", b"n"),
            opaque("var"),  # after it
        ),
        target,
    )
    assert sorted(os.listdir(target / "etc")) == ["b"]
    assert sorted(os.listdir(target / "opt")) == ["new"]
    assert sorted(os.listdir(target / "var")) == ["new"]
    assert not (target / "missing").exists()


def test_opaque_keeps_implicit_parents_of_new_entries(dirs: tuple[Path, Path]) -> None:
    target, _ = dirs
    _extract(build(file("d/sub/old", b"o"), file("d/other", b"o")), target)
    _extract(build(file("d/sub/new", b"n"), opaque("d")), target)
    assert sorted(os.listdir(target / "d")) == ["sub"]
    assert sorted(os.listdir(target / "d/sub")) == ["new"]


@root_only
def test_whiteouts_overlay_mode(dirs: tuple[Path, Path]) -> None:
    target, _ = dirs
    _extract(build(whiteout("etc/gone"), opaque("opt"), file("opt/x", b"x")), target, "overlay")
    st = os.lstat(target / "etc/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(target / "opt", "trusted.overlay.opaque") == b"y"
    assert not (target / "etc/.wh.gone").exists()
    assert not (target / "opt/.wh..wh..opq").exists()


def test_aufs_metadata_entries_are_skipped(dirs: tuple[Path, Path]) -> None:
    target, _ = dirs
    _extract(build(file(".wh..wh.plnk/1.2", b""), file(".wh..wh.aufs", b"")), target)
    assert list(target.iterdir()) == []


def test_garbage_is_invalid(dirs: tuple[Path, Path]) -> None:
    target, _ = dirs
    with pytest.raises(InvalidArgument):
        _extract(b"this is not a tar archive" * 40, target)
