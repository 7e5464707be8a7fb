"""The record's mount points (Container.mount_points): what create saves under
``_cove.MountPoints`` reads back, and a record from before cove kept them falls back to
its ``Binds``."""

from __future__ import annotations

from cove.engine.fs.mounts import points_of
from cove.engine.record import Container

POINT = {"Type": "volume", "Name": "v1", "Source": "", "Destination": "/data",
         "Driver": "local", "Mode": "", "RW": True, "Propagation": "", "CopyData": True,
         "Anonymous": False}  # fmt: skip


def test_saved_mount_points_read_back() -> None:
    # as create saved them: a key of the record's private notes
    c = Container({"Id": "c" * 64, "HostConfig": {}, "_cove": {"MountPoints": [POINT]}}, "/x")
    assert c.mount_points == [POINT] and points_of(c) == [POINT]
    points_of(c).clear()  # a copy: the record keeps its own
    assert c.mount_points == [POINT]
    c.mount_points = []
    assert c.data["_cove"]["MountPoints"] == []


def test_a_record_without_them_uses_its_binds() -> None:
    c = Container({"Id": "d" * 64, "HostConfig": {"Binds": ["/srv:/srv:ro"]}}, "/x")
    assert c.mount_points is None
    (point,) = points_of(c)
    assert point["Source"] == "/srv" and point["Destination"] == "/srv" and point["RW"] is False
