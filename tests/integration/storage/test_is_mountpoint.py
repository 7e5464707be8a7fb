"""``is_mountpoint`` against real mounts: a bind mount of a directory onto itself (the native
driver's container root) stays on one device, so only the mount table or statx's mount-root
attribute can see it; the statx answer must agree with the mount table."""

from __future__ import annotations

import os
import subprocess
import tempfile

import pytest

from cove.snapshot import mount as mounter

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")


def test_bind_mount_within_one_filesystem() -> None:
    d = tempfile.mkdtemp(prefix="cove-ismnt-")
    try:
        assert not mounter.is_mountpoint(d)
        subprocess.run(["mount", "--bind", d, d], check=True)
        try:
            assert os.stat(d).st_dev == os.stat(os.path.dirname(d)).st_dev  # ismount misses it
            assert mounter.is_mountpoint(d)
            assert mounter.is_mountpoint(d + "/")  # the same path spelled another way
            assert not mounter.is_mountpoint(os.path.join(d, "missing"))
        finally:
            subprocess.run(["umount", d], check=True)
        assert not mounter.is_mountpoint(d)
    finally:
        os.rmdir(d)


def test_statx_agrees_with_the_mount_table() -> None:
    table = set(mounter.mountpoints())
    for path in ["/", "/proc", "/sys", "/tmp", "/usr", "/etc", "/dev", "/run"]:
        found = mounter._mount_root_attr(path)
        if found is not None:  # kernels before 5.8 do not report the attribute
            assert found == (os.path.realpath(path) in table), path
