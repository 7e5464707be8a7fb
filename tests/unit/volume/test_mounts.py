"""Parsing -v / --mount / --tmpfs / --volumes-from into mount points, as dockerd does."""

from __future__ import annotations

from typing import Any

import pytest

from cove.engine.fs import mounts
from cove.errors import InvalidArgument


def _plan(hc: dict[str, Any], image_vols: dict[str, Any] | None = None, others: Any = None):
    return mounts.plan(hc, image_vols, others or (lambda ref: []), lambda p: p == "/exists")


def test_bind_and_modes() -> None:
    mp = mounts.parse_bind("/srv:/data:ro")
    assert (mp["Type"], mp["Source"], mp["Destination"], mp["RW"], mp["Mode"]) == (
        "bind", "/srv", "/data", False, "ro")  # fmt: skip
    assert mp["Propagation"] == "rprivate"
    mp = mounts.parse_bind("/srv/:/data/")
    assert mp["Source"] == "/srv" and mp["Destination"] == "/data" and mp["RW"]
    assert mounts.parse_bind("/a:/b:rshared,ro")["Propagation"] == "rshared"


def test_named_and_anonymous_volumes() -> None:
    mp = mounts.parse_bind("vol:/data")
    assert (mp["Type"], mp["Name"], mp["Mode"], mp["CopyData"], mp["Anonymous"]) == (
        "volume", "vol", "z", True, False)  # fmt: skip
    assert mounts.parse_bind("vol:/data:nocopy")["CopyData"] is False
    anon = mounts.parse_bind("/data")
    assert anon["Type"] == "volume" and anon["Anonymous"] and anon["Name"] == ""


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("/a:b", "invalid volume specification: '/a:b': invalid mount config for type \"bind\""),
        ("/a:/b:bogus", "invalid mode: bogus"),
        ("/a:/b:ro,rw", "invalid mode: ro,rw"),
        ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
        (":/x", "invalid volume specification"),
        ("/data:rw", "invalid volume specification: '/data:rw'"),
        ("/a:/", "destination can't be '/'"),
    ],
)
def test_bad_binds(raw: str, words: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        mounts.parse_bind(raw)
    assert words in e.value.message


def test_mount_objects() -> None:
    exists = lambda p: p == "/srv"  # noqa: E731
    mp = mounts.parse_mount({"Type": "bind", "Source": "/srv", "Target": "/d", "ReadOnly": True},
                            exists)  # fmt: skip
    assert mp["RW"] is False and mp["Mode"] == ""
    with pytest.raises(InvalidArgument, match="bind source path does not exist: /nope"):
        mounts.parse_mount({"Type": "bind", "Source": "/nope", "Target": "/d"}, exists)
    t = mounts.parse_mount(
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o1777}},
        exists,
    )
    assert "size=1024k" in t["Options"] and "mode=1777" in t["Options"]
    with pytest.raises(InvalidArgument, match="must not set ReadOnly mode"):
        mounts.parse_mount({"Type": "volume", "Target": "/v", "ReadOnly": True}, exists)
    with pytest.raises(InvalidArgument, match="mount type unknown"):
        mounts.parse_mount({"Type": "npipe", "Target": "/v"}, exists)
    v = mounts.parse_mount(
        {"Type": "volume", "Source": "n", "Target": "/v",
         "VolumeOptions": {"NoCopy": True, "DriverConfig": {"Options": {"type": "tmpfs"}}}},
        exists,
    )  # fmt: skip
    assert v["CopyData"] is False and v["VolumeOptions"] == {"type": "tmpfs"}


def test_plan_precedence() -> None:
    other = [
        {**mounts.parse_bind("/srv:/shared"), "Source": "/srv"},
        {**mounts.parse_bind("n1:/vol"), "Source": "/var/vol/n1/_data"},
        mounts.parse_tmpfs("/tmp", ""),
    ]
    points = _plan(
        {"VolumesFrom": ["store:ro"], "Binds": ["/x:/vol"], "Tmpfs": {"/run": "size=1m"}},
        {"/data": {}, "/run": {}},
        lambda ref: other if ref == "store" else [],
    )
    by = {mp["Destination"]: mp for mp in points}
    assert set(by) == {"/shared", "/vol", "/run", "/data"}  # the tmpfs is not inherited
    assert by["/shared"]["RW"] is False  # :ro from --volumes-from
    assert by["/vol"]["Type"] == "bind"  # -v replaces the inherited volume
    assert by["/run"]["Type"] == "tmpfs"  # the image's VOLUME yields to --tmpfs
    assert by["/data"]["Anonymous"] and by["/data"]["Mode"] == ""
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /d"):
        _plan({"Binds": ["/a:/d", "v:/d"]})
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /d"):
        _plan({"Binds": ["/a:/d"], "Mounts": [{"Type": "volume", "Target": "/d"}]})


def test_public_and_oci() -> None:
    points = _plan({"Binds": ["/srv:/b:ro", "n:/v"], "Tmpfs": {"/t": ""}})
    points[1]["Source"] = "/vols/n/_data"
    pub = mounts.public(points)
    assert pub == [
        {"Type": "bind", "Source": "/srv", "Destination": "/b", "Mode": "ro", "RW": False,
         "Propagation": "rprivate"},
        {"Type": "volume", "Name": "n", "Source": "/vols/n/_data", "Destination": "/v",
         "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""},
    ]  # fmt: skip
    oci = mounts.oci(points, lambda name: f"/vols/{name}/_data")
    assert oci[0] == {"destination": "/b", "type": "bind", "source": "/srv",
                      "options": ["rbind", "rprivate", "ro"]}  # fmt: skip
    assert oci[1]["source"] == "/vols/n/_data" and "rw" in oci[1]["options"]
    assert oci[2]["type"] == "tmpfs" and "noexec" in oci[2]["options"]


def test_volumes_from_spec() -> None:
    assert mounts.parse_volumes_from("store:ro") == ("store", "ro")
    assert mounts.parse_volumes_from("store") == ("store", "")
    with pytest.raises(InvalidArgument, match="invalid mode: xx"):
        mounts.parse_volumes_from("store:xx")
