"""The storage driver tiers (snapshot/select.py): which driver a daemon gets when none is
configured, and a configured one that cannot work stopping it with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from cove.errors import InvalidArgument, SystemError_
from cove.snapshot import select

OK, NO = (lambda root: None), (lambda root: "refused here")


def _host(mp: pytest.MonkeyPatch, userns: bool, overlay: object, fuse: object) -> None:
    mp.setattr(select, "in_user_namespace", lambda: userns)
    mp.setattr(select, "check_overlay_supported", overlay)
    mp.setattr(select, "check_fuse_overlay_supported", fuse)


@pytest.mark.parametrize(
    ("userns", "overlay", "fuse", "driver"),
    [
        (True, OK, OK, "overlay2"),
        (True, NO, OK, "fuse-overlayfs"),  # a rootless daemon's second tier
        (True, NO, NO, "native"),
        (False, NO, OK, "native"),  # the root daemon: overlay, else the copy driver
    ],
)
def test_tiers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, userns: bool, overlay: object,
    fuse: object, driver: str,
) -> None:  # fmt: skip
    _host(monkeypatch, userns, overlay, fuse)
    assert select.choose_snapshotter("", str(tmp_path)).name == driver


def test_forced_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _host(monkeypatch, True, OK, NO)
    with pytest.raises(SystemError_, match="'fuse-overlayfs' cannot be used on this host: refused"):
        select.choose_snapshotter("fuse-overlayfs", str(tmp_path))
    _host(monkeypatch, True, NO, OK)
    assert select.choose_snapshotter("fuse-overlayfs", str(tmp_path)).name == "fuse-overlayfs"
    assert select.choose_snapshotter("vfs", str(tmp_path)).name == "native"
    with pytest.raises(SystemError_, match="'overlay2' cannot be used"):
        select.choose_snapshotter("overlay2", str(tmp_path))
    with pytest.raises(InvalidArgument, match="unknown storage driver"):
        select.choose_snapshotter("zfs", str(tmp_path))
