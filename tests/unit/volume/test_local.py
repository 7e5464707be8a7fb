"""The local volume driver: layout, names, options, mount bookkeeping."""

from __future__ import annotations

import os

import pytest

from cove.errors import InvalidArgument, NotFound
from cove.volume import sysmount
from cove.volume.local import LocalVolumeDriver, _mounted


def test_create_get_list_remove(tmp_path: str) -> None:
    d = LocalVolumeDriver(str(tmp_path))
    v = d.create("data1", {}, {"a": "b"})
    assert v.mountpoint == os.path.join(str(tmp_path), "data1", "_data")
    assert os.path.isdir(v.mountpoint)
    assert v.inspect()["Labels"] == {"a": "b"} and v.inspect()["Options"] is None
    assert v.created_at.endswith("Z")
    again = d.create("data1", {}, {})  # a second create returns the existing volume
    assert again.labels == {"a": "b"}
    assert [x.name for x in d.list()] == ["data1"]
    with open(os.path.join(v.mountpoint, "f"), "w") as f:
        f.write("12345")
    assert d.size("data1") == 5
    d.remove("data1")
    assert d.list() == []
    with pytest.raises(NotFound, match="get data1: no such volume"):
        d.get("data1")
    with pytest.raises(NotFound):
        d.get("../etc")


@pytest.mark.parametrize(
    ("name", "opts", "words"),
    [
        ("x", {}, "volume name is too short"),
        ("a/b", {}, "includes invalid characters for a local volume name"),
        ("ok1", {"foo": "bar"}, 'invalid option: "foo"'),
        ("ok2", {"type": "tmpfs"}, 'missing required option: "device"'),
        ("ok3", {"device": "tmpfs"}, 'missing required option: "type"'),
    ],
)
def test_bad_create(tmp_path: str, name: str, opts: dict[str, str], words: str) -> None:
    d = LocalVolumeDriver(str(tmp_path))
    with pytest.raises(InvalidArgument, match=words):
        d.create(name, opts, {})
    assert os.listdir(str(tmp_path)) == []  # nothing half-created


def test_parse_options() -> None:
    flags, data = sysmount.parse_options("size=10m,ro,noexec,uid=1000,exec")
    assert flags & sysmount.MS_RDONLY and not flags & sysmount.MS_NOEXEC
    assert data == "size=10m,uid=1000"
    assert sysmount.parse_options("bind")[0] == sysmount.MS_BIND


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")
def test_tmpfs_volume_mounted_for_its_users(tmp_path: str) -> None:
    d = LocalVolumeDriver(str(tmp_path))
    v = d.create("tv", {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}, {})
    try:
        d.mount("tv", "c1")
        d.mount("tv", "c2")
        assert _mounted(v.mountpoint)
        d.unmount("tv", "c1")
        assert _mounted(v.mountpoint)
        d.unmount("tv", "c2")
        assert not _mounted(v.mountpoint)
        d.mount("tv", "c3")
        d.remove("tv")  # unmounts first
        assert not os.path.exists(v.mountpoint)
    finally:
        if _mounted(v.mountpoint):
            sysmount.unmount(v.mountpoint)
    bad = d.create("bad", {"type": "nosuchfs", "device": "x"}, {})
    with pytest.raises(Exception, match="error while mounting volume"):
        d.mount("bad", "c1")
    assert not _mounted(bad.mountpoint)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")
def test_bind_volume_remove_keeps_the_source(tmp_path: str) -> None:
    """A ``type=none,o=bind`` volume is a bind within one filesystem: removing the volume
    must unmount it and never delete the user's files through it."""
    src = os.path.join(str(tmp_path), "src")
    os.makedirs(src)
    with open(os.path.join(src, "keep"), "w") as f:
        f.write("x")
    d = LocalVolumeDriver(os.path.join(str(tmp_path), "vols"))
    v = d.create("bv", {"type": "none", "o": "bind", "device": src}, {})
    d.mount("bv", "c1")
    try:
        assert _mounted(v.mountpoint)
        assert os.path.exists(os.path.join(v.mountpoint, "keep"))
        d.unmount("bv", "c1")
        assert not _mounted(v.mountpoint)
        d.mount("bv", "c2")
        d.remove("bv")
    finally:
        if _mounted(v.mountpoint):
            sysmount.unmount(v.mountpoint)
    assert os.path.exists(os.path.join(src, "keep"))
